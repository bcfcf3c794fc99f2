// Package activity reads the record of centralized root access from
// CloudTrail: every sts:AssumeRoot call made from an account, with who
// asked, for which member account and task, whether it worked, and the
// session's access key ID, which leads to what the session then did in
// the member account's own trail.
package activity

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"

	"github.com/rootctl/rootctl/awsconfig"
)

// MaxHistory is how far back CloudTrail's event history goes.
const MaxHistory = 90 * 24 * time.Hour

// RequestsPerSecond is CloudTrail's quota for LookupEvents: 2 requests per
// second per account and region (CloudTrail API reference, LookupEvents).
const RequestsPerSecond = 2

// Success is Event.Result for an AssumeRoot that issued a session.
const Success = "success"

// Event is one AssumeRoot call.
type Event struct {
	Time          time.Time `json:"time"`
	Caller        string    `json:"caller"`
	Account       string    `json:"target_account"`
	Task          string    `json:"task"`
	TaskPolicyARN string    `json:"task_policy_arn"`
	// Result is "success" or the AWS error code.
	Result       string `json:"result"`
	ErrorMessage string `json:"error_message,omitempty"`
	SourceIP     string `json:"source_ip"`
	UserAgent    string `json:"user_agent"`
	// SessionKeyID is the access key ID of the session issued: the
	// member account's trail records the session's calls under it.
	SessionKeyID string `json:"session_access_key_id,omitempty"`
	Region       string `json:"region"`
	EventID      string `json:"event_id"`
}

// Filter narrows a lookup. Account and TaskPolicyARN are matched on the
// events read, as LookupEvents takes one attribute only (the event name).
type Filter struct {
	Since, Until  time.Time
	Account       string
	TaskPolicyARN string
}

func (f Filter) match(e Event) bool {
	return (f.Account == "" || e.Account == f.Account) && (f.TaskPolicyARN == "" || e.TaskPolicyARN == f.TaskPolicyARN)
}

// Lookup calls fn for every AssumeRoot event in the window, newest first,
// reading every page, in CloudTrail of cfg's account and region, paced to
// RequestsPerSecond.
func Lookup(ctx context.Context, cfg aws.Config, f Filter, fn func(Event) error) error {
	cfg = cfg.Copy()
	awsconfig.LimitRate(&cfg, RequestsPerSecond)
	c := cloudtrail.NewFromConfig(cfg)
	in := &cloudtrail.LookupEventsInput{
		LookupAttributes: []cttypes.LookupAttribute{{AttributeKey: cttypes.LookupAttributeKeyEventName, AttributeValue: aws.String("AssumeRoot")}},
		StartTime:        aws.Time(f.Since),
		EndTime:          aws.Time(f.Until),
		MaxResults:       aws.Int32(50),
	}
	p := cloudtrail.NewLookupEventsPaginator(c, in)
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("LookupEvents: %w", err)
		}
		for _, raw := range out.Events {
			e, err := parse(raw)
			if err != nil {
				return err
			}
			if f.match(e) {
				if err := fn(e); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// record is the part of a CloudTrail record (CloudTrailEvent) read here;
// see the CloudTrail record contents reference.
type record struct {
	EventID      string `json:"eventID"`
	EventTime    string `json:"eventTime"`
	AWSRegion    string `json:"awsRegion"`
	SourceIP     string `json:"sourceIPAddress"`
	UserAgent    string `json:"userAgent"`
	ErrorCode    string `json:"errorCode"`
	ErrorMessage string `json:"errorMessage"`
	UserIdentity struct {
		ARN       string `json:"arn"`
		Type      string `json:"type"`
		AccountID string `json:"accountId"`
	} `json:"userIdentity"`
	RequestParameters struct {
		TargetPrincipal string          `json:"targetPrincipal"`
		TaskPolicyARN   json.RawMessage `json:"taskPolicyArn"`
	} `json:"requestParameters"`
	ResponseElements *struct {
		Credentials struct {
			AccessKeyID string `json:"accessKeyId"`
		} `json:"credentials"`
	} `json:"responseElements"`
}

var accountIDIn = regexp.MustCompile(`\d{12}`)

func parse(raw cttypes.Event) (Event, error) {
	var r record
	if err := json.Unmarshal([]byte(aws.ToString(raw.CloudTrailEvent)), &r); err != nil {
		return Event{}, fmt.Errorf("CloudTrail event %s: %w", aws.ToString(raw.EventId), err)
	}
	e := Event{
		Time: aws.ToTime(raw.EventTime).UTC(), Caller: r.UserIdentity.ARN, Result: Success,
		SourceIP: r.SourceIP, UserAgent: r.UserAgent, Region: r.AWSRegion, EventID: aws.ToString(raw.EventId),
		// The target is an account ID; accept an ARN naming one too.
		Account:       accountIDIn.FindString(r.RequestParameters.TargetPrincipal),
		TaskPolicyARN: policyARN(r.RequestParameters.TaskPolicyARN),
	}
	if e.Caller == "" {
		e.Caller = r.UserIdentity.Type + " " + r.UserIdentity.AccountID
	}
	e.Task = e.TaskPolicyARN[strings.LastIndex(e.TaskPolicyARN, "/")+1:]
	if r.ErrorCode != "" {
		e.Result, e.ErrorMessage = r.ErrorCode, r.ErrorMessage
	}
	if r.ResponseElements != nil {
		e.SessionKeyID = r.ResponseElements.Credentials.AccessKeyID
	}
	return e, nil
}

// policyARN reads taskPolicyArn, which CloudTrail records as the API's
// PolicyDescriptorType ({"arn": "..."}); a plain string is read too.
func policyARN(raw json.RawMessage) string {
	var d struct {
		ARN string `json:"arn"`
	}
	if json.Unmarshal(raw, &d) == nil && d.ARN != "" {
		return d.ARN
	}
	var s string
	json.Unmarshal(raw, &s)
	return s
}

// Count is how many calls one caller or task made, and how many failed.
type Count struct {
	Name     string `json:"name"`
	Calls    int    `json:"calls"`
	Failed   int    `json:"failed"`
	Accounts int    `json:"accounts"` // distinct target accounts
}

// Summary counts events by caller and by task.
type Summary struct {
	Events    int     `json:"events"`
	Succeeded int     `json:"succeeded"`
	Failed    int     `json:"failed"`
	ByCaller  []Count `json:"by_caller"`
	ByTask    []Count `json:"by_task"`
}

// Summarize counts events; each list is sorted by calls, most first.
func Summarize(events []Event) Summary {
	s := Summary{ByCaller: []Count{}, ByTask: []Count{}}
	type tally struct {
		Count
		accounts map[string]bool
	}
	callers, tasks := map[string]*tally{}, map[string]*tally{}
	add := func(m map[string]*tally, name string, e Event) {
		t := m[name]
		if t == nil {
			t = &tally{Count: Count{Name: name}, accounts: map[string]bool{}}
			m[name] = t
		}
		t.Calls++
		if e.Result != Success {
			t.Failed++
		}
		t.accounts[e.Account] = true
		t.Accounts = len(t.accounts)
	}
	for _, e := range events {
		s.Events++
		if e.Result == Success {
			s.Succeeded++
		} else {
			s.Failed++
		}
		add(callers, e.Caller, e)
		add(tasks, e.Task, e)
	}
	sorted := func(m map[string]*tally) []Count {
		out := make([]Count, 0, len(m))
		for _, t := range m {
			out = append(out, t.Count)
		}
		sort.Slice(out, func(i, j int) bool {
			if out[i].Calls != out[j].Calls {
				return out[i].Calls > out[j].Calls
			}
			return out[i].Name < out[j].Name
		})
		return out
	}
	s.ByCaller, s.ByTask = sorted(callers), sorted(tasks)
	return s
}
