package awserr

import (
	"errors"
	"fmt"
	"testing"

	"github.com/aws/smithy-go"
)

func TestReadsAWSErrorsThroughWrapping(t *testing.T) {
	t.Parallel()
	denied := fmt.Errorf("GetLoginProfile: %w", &smithy.GenericAPIError{Code: "NoSuchEntity", Message: "no login profile"})
	tests := []struct {
		name         string
		err          error
		code, text   string
		noSuchEntity bool
	}{
		{"an AWS answer wrapped by the caller", denied, "NoSuchEntity", "NoSuchEntity: no login profile", true},
		{"a transport error has no code", errors.New("dial tcp: connection refused"), "", "dial tcp: connection refused", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := Code(tt.err); got != tt.code {
				t.Errorf("Code = %q, want %q", got, tt.code)
			}
			if got := Describe(tt.err); got != tt.text {
				t.Errorf("Describe = %q, want %q", got, tt.text)
			}
			if got := IsNoSuchEntity(tt.err); got != tt.noSuchEntity {
				t.Errorf("IsNoSuchEntity = %v, want %v", got, tt.noSuchEntity)
			}
		})
	}
	if Is(nil, "") {
		t.Error(`Is(nil, "") = true: a nil error is no AWS answer`)
	}
}

func TestValidAccountID(t *testing.T) {
	t.Parallel()
	for id, want := range map[string]bool{"111122223333": true, "11112222333": false, "1111222233334": false, "11112222333a": false, "": false} {
		if got := ValidAccountID(id); got != want {
			t.Errorf("ValidAccountID(%q) = %v, want %v", id, got, want)
		}
	}
}
