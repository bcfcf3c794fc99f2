package provision

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// The event AWS Organizations writes to CloudTrail when an account creation
// ends, and that EventBridge delivers with detail-type "AWS Service Event
// via CloudTrail" and source "aws.organizations". Shape: AWS Organizations
// User Guide, "Logging and monitoring in Organizations", the
// CreateAccountResult example: detail.serviceEventDetails.createAccountStatus
// holds id, state, accountName (masked "****"), accountId and timestamps.
type cloudTrailRecord struct {
	EventName           string          `json:"eventName"`
	EventSource         string          `json:"eventSource"`
	ServiceEventDetails json.RawMessage `json:"serviceEventDetails"`
}

type eventBridgeEnvelope struct {
	DetailType string            `json:"detail-type"`
	Source     string            `json:"source"`
	Detail     *cloudTrailRecord `json:"detail"`
}

type serviceEventDetails struct {
	CreateAccountStatus *struct {
		ID            string `json:"id"`
		State         string `json:"state"`
		AccountID     string `json:"accountId"`
		FailureReason string `json:"failureReason"`
	} `json:"createAccountStatus"`
}

// ParseEvent reads a CreateAccountResult event: the EventBridge event, or
// the CloudTrail record alone. Some log pipelines carry
// serviceEventDetails as a JSON string; both forms are read.
func ParseEvent(data []byte) (Creation, error) {
	var env eventBridgeEnvelope
	if err := json.Unmarshal(data, &env); err != nil {
		return Creation{}, fmt.Errorf("not a JSON event: %w", err)
	}
	rec := env.Detail
	if rec == nil {
		rec = new(cloudTrailRecord)
		if err := json.Unmarshal(data, rec); err != nil {
			return Creation{}, fmt.Errorf("not a JSON event: %w", err)
		}
	}
	if rec.EventName != "CreateAccountResult" {
		name := rec.EventName
		if name == "" {
			name = "no eventName"
		}
		return Creation{}, fmt.Errorf("the event is %s, not CreateAccountResult (match it with an EventBridge rule on source aws.organizations, detail.eventName CreateAccountResult)", name)
	}
	details := rec.ServiceEventDetails
	var s string
	if json.Unmarshal(details, &s) == nil {
		details = json.RawMessage(s)
	}
	var d serviceEventDetails
	if err := json.Unmarshal(details, &d); err != nil || d.CreateAccountStatus == nil {
		return Creation{}, errors.New("the CreateAccountResult event has no serviceEventDetails.createAccountStatus")
	}
	st := d.CreateAccountStatus
	c := Creation{RequestID: st.ID, State: strings.ToUpper(st.State), AccountID: st.AccountID, FailureReason: st.FailureReason}
	if c.State == Succeeded && c.AccountID == "" {
		return Creation{}, errors.New("the CreateAccountResult event says SUCCEEDED but has no accountId")
	}
	return c, nil
}
