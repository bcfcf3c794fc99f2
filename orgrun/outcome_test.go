package orgrun

import (
	"errors"
	"testing"
)

func TestDecidePicksTheMostImportantOutcome(t *testing.T) {
	t.Parallel()
	interrupted, failed, partial, findings := errors.New("interrupted"), errors.New("log"), errors.New("2 of 5 failed"), errors.New("held")
	tests := []struct {
		name      string
		outcomes  []Outcome
		wantClass Class // OK: nil
		wantErr   error
	}{
		{"nothing applies: success", []Outcome{If(false, Interrupted, interrupted), Fail(nil)}, OK, nil},
		{"Ctrl-C beats a failed account", []Outcome{If(true, Partial, partial), If(true, Interrupted, interrupted)}, Interrupted, interrupted},
		{"a failed run beats failed accounts", []Outcome{If(true, Partial, partial), Fail(failed)}, Failure, failed},
		{"failed accounts beat findings", []Outcome{If(true, Findings, findings), If(true, Partial, partial)}, Partial, partial},
		{"the first of one class wins", []Outcome{Fail(failed), Fail(partial)}, Failure, failed},
		{"findings alone end silently", []Outcome{If(true, Findings, nil)}, Findings, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := Decide(tt.outcomes...)
			if tt.wantClass == OK {
				if err != nil {
					t.Fatalf("Decide = %v, want nil", err)
				}
				return
			}
			var o *Outcome
			if !errors.As(err, &o) || o.Class != tt.wantClass || o.Err != tt.wantErr {
				t.Fatalf("Decide = %#v, want class %d with %v", err, tt.wantClass, tt.wantErr)
			}
		})
	}
}
