package commands

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/rootctl/rootctl/fixtures"
	"github.com/rootctl/rootctl/internal/simtest"
)

// harness is one emulator and a command line pointed at it.
type harness struct {
	t       *testing.T
	srv     *fixtures.Server
	creds   fixtures.Credentials
	stdin   string
	tty     bool
	errTTY  bool
	outTTY  bool // stdout is a terminal: colour, unless noColor
	noColor bool
	state   string // rootctl's state directory: audit log and backups
	// env, when set, is the process environment rootctl sees (Deps.Environ
	// and Deps.Getenv); nil leaves the test's own.
	env []string
}

func newHarness(t *testing.T, org *fixtures.Org, opts fixtures.Options) *harness {
	t.Helper()
	srv := simtest.Start(t, org, opts)
	return &harness{t: t, srv: srv, creds: srv.ManagementCredentials(), state: t.TempDir()}
}

func demoOrg(t *testing.T) *fixtures.Org {
	t.Helper()
	org, err := fixtures.Load("demo")
	if err != nil {
		t.Fatal(err)
	}
	return org
}

// deps returns Deps whose AWS config reaches the harness's emulator with
// the harness's credentials.
func (h *harness) deps(stdout, stderr *bytes.Buffer) *Deps {
	io := &IOStreams{In: strings.NewReader(h.stdin), Out: stdout, ErrOut: stderr, InTTY: h.tty, ErrTTY: h.errTTY, OutTTY: h.outTTY, NoColor: h.noColor}
	d := &Deps{IO: io, StateDir: h.state, LoadAWS: loadStatic(h.srv.URL(), h.creds, h.srv.Now)}
	if h.env != nil {
		env := slices.Clone(h.env)
		d.Environ = func() []string { return slices.Clone(env) }
		d.Getenv = func(key string) string {
			for _, kv := range env {
				if k, v, _ := strings.Cut(kv, "="); k == key {
					return v
				}
			}
			return ""
		}
	}
	return d
}

// loadStatic is a Deps.LoadAWS that reaches the emulator at endpoint with
// creds (us-east-1 unless --region says otherwise), on the clock now.
func loadStatic(endpoint string, creds fixtures.Credentials, now func() time.Time) func(context.Context, AWSOptions, *IOStreams) (*Env, error) {
	return func(ctx context.Context, opts AWSOptions, io *IOStreams) (*Env, error) {
		region := opts.Region
		if region == "" {
			region = "us-east-1"
		}
		cfg := aws.Config{
			Region:       region,
			Credentials:  credentials.NewStaticCredentialsProvider(creds.AccessKeyID, creds.SecretAccessKey, ""),
			BaseEndpoint: aws.String(endpoint),
		}
		if err := finishConfig(&cfg, opts); err != nil {
			return nil, err
		}
		return &Env{IO: io, AWS: cfg, Now: now}, nil
	}
}

// run runs rootctl with args and returns its exit code and output.
func (h *harness) run(args ...string) (int, string, string) {
	h.t.Helper()
	return h.runCtx(context.Background(), args...)
}

// runCtx is run with a context the test may cancel (Ctrl-C).
func (h *harness) runCtx(ctx context.Context, args ...string) (int, string, string) {
	h.t.Helper()
	var out, errOut bytes.Buffer
	code := Run(ctx, append([]string{"rootctl"}, args...), h.deps(&out, &errOut))
	return code, out.String(), errOut.String()
}

// writeCalls counts the calls that change state.
func writeCalls(calls []fixtures.Call) []string {
	var out []string
	for _, c := range calls {
		op := c.Operation
		if strings.HasPrefix(op, "Enable") || strings.HasPrefix(op, "Disable") || strings.HasPrefix(op, "Register") ||
			strings.HasPrefix(op, "Delete") || strings.HasPrefix(op, "Create") || strings.HasPrefix(op, "Put") ||
			strings.HasPrefix(op, "Set") || strings.HasPrefix(op, "Deactivate") || strings.HasPrefix(op, "Move") {
			out = append(out, c.Service+":"+op)
		}
	}
	return out
}

// parseJSON decodes a command's output, which must be one JSON document
// of T.
func parseJSON[T any](t *testing.T, out string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("output is not one JSON document of %T: %v\n%s", v, err, out)
	}
	return v
}

// reportOrg is the demo organization without the two OUs whose guardrails
// block root sessions (Legacy, Restricted-Data) and their accounts: for
// tests of reports (exceptions, drift, formats, OU paths) that are not
// about guardrails, so that their figures do not move with the demo's
// guardrails. The guardrails are tested with the whole demo.
func reportOrg(t *testing.T) *fixtures.Org {
	t.Helper()
	org := demoOrg(t)
	gone := map[string]bool{"ou-d3m0-legacy01": true, "ou-d3m0-restrict": true}
	var ous []fixtures.OU
	for _, ou := range org.OUs {
		if !gone[ou.ID] {
			ous = append(ous, ou)
		}
	}
	var accounts []fixtures.Account
	for _, a := range org.Accounts {
		if !gone[a.Parent] {
			accounts = append(accounts, a)
		}
	}
	var policies []fixtures.OrgPolicy
	for _, p := range org.Policies {
		var targets []string
		for _, tg := range p.Targets {
			if !gone[tg] {
				targets = append(targets, tg)
			}
		}
		if len(targets) > 0 || len(p.Targets) == 0 {
			p.Targets = targets
			policies = append(policies, p)
		}
	}
	org.OUs, org.Accounts, org.Policies = ous, accounts, policies
	return org
}
