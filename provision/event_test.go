package provision

import (
	"strings"
	"testing"
)

func TestParseEvent(t *testing.T) {
	const details = `{"createAccountStatus":{"id":"car-1234567890abcdef","state":"SUCCEEDED","accountName":"****","accountId":"444455556666"}}`
	for _, tc := range []struct {
		name, event string
		want        Creation
		err         string
	}{
		{"eventbridge", `{"detail-type":"AWS Service Event via CloudTrail","source":"aws.organizations","detail":{"eventName":"CreateAccountResult","serviceEventDetails":` + details + `}}`,
			Creation{RequestID: "car-1234567890abcdef", State: Succeeded, AccountID: "444455556666"}, ""},
		{"cloudtrail record", `{"eventSource":"organizations.amazonaws.com","eventName":"CreateAccountResult","serviceEventDetails":` + details + `}`,
			Creation{RequestID: "car-1234567890abcdef", State: Succeeded, AccountID: "444455556666"}, ""},
		{"details as a string", `{"eventName":"CreateAccountResult","serviceEventDetails":` + strings.ReplaceAll(`"`+strings.ReplaceAll(details, `"`, `\"`)+`"`, "\n", "") + `}`,
			Creation{RequestID: "car-1234567890abcdef", State: Succeeded, AccountID: "444455556666"}, ""},
		{"failed", `{"detail":{"eventName":"CreateAccountResult","serviceEventDetails":{"createAccountStatus":{"id":"car-1","state":"FAILED","failureReason":"EMAIL_ALREADY_EXISTS"}}}}`,
			Creation{RequestID: "car-1", State: Failed, FailureReason: "EMAIL_ALREADY_EXISTS"}, ""},
		{"not json", `{`, Creation{}, "not a JSON event"},
		{"other event", `{"detail":{"eventName":"CreateAccount"}}`, Creation{}, "CreateAccount, not CreateAccountResult"},
		{"no event name", `{}`, Creation{}, "no eventName"},
		{"no details", `{"eventName":"CreateAccountResult"}`, Creation{}, "no serviceEventDetails"},
		{"succeeded without account", `{"eventName":"CreateAccountResult","serviceEventDetails":{"createAccountStatus":{"state":"SUCCEEDED"}}}`, Creation{}, "no accountId"},
	} {
		got, err := ParseEvent([]byte(tc.event))
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: error %v, want %q", tc.name, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s: got %+v, %v; want %+v", tc.name, got, err, tc.want)
		}
	}
}
