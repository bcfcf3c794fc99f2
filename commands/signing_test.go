package commands

import (
	"slices"
	"testing"
	"time"

	"github.com/rootctl/rootctl/fixtures"
)

// rootctl run in another Region still reaches the global services: IAM and
// Organizations requests are signed for us-east-1, as their AWS endpoints
// require, even through a custom endpoint, where the SDK alone would sign
// them for --region and AWS would refuse them.
func TestTheGlobalServicesAreSignedForTheirOwnRegionWhateverTheRegion(t *testing.T) {
	t.Parallel()
	h := newHarness(t, demoOrg(t), fixtures.Options{})
	code, out, stderr := h.run("audit", "--region", "eu-west-1", "--accounts", "333333333301", "-o", "json")
	if code != ExitFindings {
		t.Fatalf("exit %d, want %d; stderr: %s", code, ExitFindings, stderr)
	}
	r := parseJSON[AuditReport](t, out)
	if len(r.Accounts) != 1 || brief(r.Accounts[0]) != "password 2022-01-10 used 2025-06-01" {
		t.Fatalf("report %+v", r.Accounts)
	}
	services := map[string]bool{}
	for _, c := range h.srv.Calls() {
		if c.Code != "" {
			t.Errorf("%s:%s refused: %s", c.Service, c.Operation, c.Code)
		}
		services[c.Service] = true
	}
	if !services["organizations"] || !services["iam"] || !services["sts"] {
		t.Errorf("services called: %v, want organizations, iam and sts", services)
	}
}

// AWS's clock is 20 minutes ahead of the machine's. AWS refuses the first
// request of each SDK client as signed too long ago; the SDK reads AWS's
// clock from the answer's Date header, signs again with the corrected
// time, and the audit completes as it would with the clocks in step.
func TestAnAuditCompletesAgainstAnAWSClockTwentyMinutesAhead(t *testing.T) {
	t.Parallel()
	h := newHarness(t, demoOrg(t), fixtures.Options{})
	h.srv.Advance(20 * time.Minute)
	code, out, stderr := h.run("audit", "--accounts", "333333333301", "-o", "json")
	if code != ExitFindings {
		t.Fatalf("exit %d, want %d; stderr: %s", code, ExitFindings, stderr)
	}
	r := parseJSON[AuditReport](t, out)
	if len(r.Accounts) != 1 || brief(r.Accounts[0]) != "password 2022-01-10 used 2025-06-01" {
		t.Fatalf("report %+v", r.Accounts)
	}
	var refused []string
	for _, c := range h.srv.Calls() {
		if c.Code != "" {
			refused = append(refused, c.Code)
		}
	}
	slices.Sort(refused)
	refused = slices.Compact(refused)
	if !slices.Equal(refused, []string{"InvalidSignatureException", "SignatureDoesNotMatch"}) {
		t.Errorf("refusals %v, want the skewed first requests refused (InvalidSignatureException, SignatureDoesNotMatch) and nothing else", refused)
	}
}
