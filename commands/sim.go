package commands

import (
	"context"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/rootctl/rootctl/fixtures"
)

// SimServeInput holds the options of `rootctl sim serve`.
type SimServeInput struct {
	Addr      string
	Org       string
	Accounts  int
	Latency   time.Duration
	Throttle  float64
	ErrorRate float64
	Quotas    bool
	PageSize  int
	NoPaths   bool
}

func simCommand(deps *Deps) *cli.Command {
	var in SimServeInput
	return &cli.Command{
		Name:  "sim",
		Usage: "run the simulated AWS organization",
		Description: `The simulated organization serves the AWS APIs rootctl uses on loopback. Every
AWS command also takes --sim to start it in-process for one run.

Examples:
   rootctl sim serve
   rootctl sim serve --accounts 10000 --latency 20ms --aws-quotas`,
		Subcommands: []*cli.Command{{
			Name:  "serve",
			Usage: "serve the simulated organization on loopback for the AWS CLI or any SDK",
			Description: `Runs the AWS emulator in the foreground and prints the environment that points
the AWS CLI or an SDK at it. Every service answers on the one endpoint.

Examples:
   rootctl sim serve --addr 127.0.0.1:4566 &
   # paste the export lines it prints, then:
   aws sts get-caller-identity
   rootctl sim serve --org my-org.json --throttle 50 --error-rate 0.1`,
			Flags: []cli.Flag{
				&cli.StringFlag{Name: "addr", Value: "127.0.0.1:4566", Destination: &in.Addr, Usage: "listen on `HOST:PORT` (loopback only)"},
				&cli.StringFlag{Name: "org", Value: "demo", Destination: &in.Org, Usage: "fixture organization: `NAME` (demo, fresh) or a JSON file"},
				&cli.IntFlag{Name: "accounts", Destination: &in.Accounts, Usage: "serve a synthetic organization of `N` member accounts instead of --org"},
				&cli.DurationFlag{Name: "latency", Destination: &in.Latency, Usage: "make every request take at least `DURATION` from its arrival"},
				&cli.Float64Flag{Name: "throttle", Destination: &in.Throttle, Usage: "limit every API to `RPS` requests per second for each calling account, as AWS's quotas count"},
				&cli.Float64Flag{Name: "error-rate", Destination: &in.ErrorRate, Usage: "answer a fraction `P` (0..1) of requests with a 503"},
				&cli.BoolFlag{Name: "aws-quotas", Destination: &in.Quotas, Usage: "apply AWS's published Organizations and CloudTrail request-rate quotas"},
				&cli.IntFlag{Name: "page-size", Destination: &in.PageSize, Usage: "cap list pages at `N` items to exercise pagination"},
				&cli.BoolFlag{Name: "no-paths", Destination: &in.NoPaths, Usage: "answer without Account.Paths and OU paths, as Organizations did before March 2026 (clients walk the tree)"},
			},
			Action: func(c *cli.Context) error {
				if err := noArgs(c); err != nil {
					return err
				}
				if c.IsSet("org") && c.IsSet("accounts") {
					return usageErrorf("--org and --accounts conflict: pass one")
				}
				return SimServe(c.Context, in, deps.IO.Out)
			},
		}},
	}
}

// SimServe runs the emulator until ctx is cancelled.
func SimServe(ctx context.Context, in SimServeInput, out io.Writer) error {
	if !(in.ErrorRate >= 0 && in.ErrorRate <= 1) { // NaN is neither
		return usageErrorf("--error-rate %v: want a fraction from 0 to 1", in.ErrorRate)
	}
	if math.IsNaN(in.Throttle) || math.IsInf(in.Throttle, 0) {
		return usageErrorf("--throttle %v: want a number of requests per second (0: no limit)", in.Throttle)
	}
	if in.Throttle < 0 || in.Latency < 0 || in.Accounts < 0 || in.PageSize < 0 {
		return usageErrorf("--throttle, --latency, --accounts and --page-size must not be negative")
	}
	if err := fixtures.CheckLoopback(in.Addr); err != nil {
		return usageErrorf("--addr %v; anyone who reaches it may use the credentials it prints (use 127.0.0.1:PORT)", err)
	}
	var org *fixtures.Org
	if in.Accounts > 0 {
		org = fixtures.Synthetic(in.Accounts)
	} else {
		var err error
		if org, err = fixtures.Load(in.Org); err != nil {
			return usageErrorf("--org: %v", err)
		}
	}
	opts := fixtures.Options{
		Latency: in.Latency, ErrorRate: in.ErrorRate, PageSize: in.PageSize, NoPaths: in.NoPaths,
		Throttle: fixtures.Limit{Rate: in.Throttle, Burst: max(1, int(in.Throttle))},
	}
	if in.Quotas {
		opts.Limits = fixtures.AWSQuotas()
	}
	srv := fixtures.New(org, opts)
	if err := srv.Start(in.Addr); err != nil {
		return err
	}
	defer srv.Close()
	mgmt := srv.ManagementCredentials()
	printf(out, `# rootctl simulator: organization %s, management account %s, %d accounts
# Every service answers on one endpoint. Paste these lines into a shell:
export AWS_ENDPOINT_URL=%s
export AWS_ACCESS_KEY_ID=%s
export AWS_SECRET_ACCESS_KEY=%s
export AWS_REGION=%s
export AWS_DEFAULT_REGION=%s
unset AWS_SESSION_TOKEN AWS_PROFILE
# Then, for example: aws sts get-caller-identity; rootctl audit
# (AWS CLI v1 ignores AWS_ENDPOINT_URL for SQS: pass --endpoint-url to aws sqs commands.)
`, org.ID, org.ManagementAccount, len(org.Accounts), srv.URL(), mgmt.AccessKeyID, mgmt.SecretAccessKey, defaultRegion, defaultRegion)
	printCallers(out, srv, org)
	printf(out, "# Serving until interrupted (Ctrl-C).\n")
	<-ctx.Done()
	return nil
}

// printCallers prints, as comments, the keys of every other kind of caller
// and the global STS endpoint, each with the answer to AssumeRoot it
// shows, so that the AWS CLI can reproduce every refusal.
func printCallers(out io.Writer, srv *fixtures.Server, org *fixtures.Org) {
	member := ""
	for _, a := range org.Accounts {
		if a.ID != org.ManagementAccount && a.State == fixtures.StateActive && !delegatedAdmin(org, a.ID) {
			member = a.ID
			break
		}
	}
	target := member
	if target == "" {
		target = "ACCOUNT_ID"
	}
	outsider := ""
	for n := 999999999999; outsider == "" || inOrg(org, outsider); n-- {
		outsider = fmt.Sprintf("%012d", n)
	}
	assumeRoot := "aws sts assume-root --target-principal " + target +
		" --task-policy-arn arn=arn:aws:iam::aws:policy/root-task/IAMAuditRootUserCredentials"
	printf(out, `#
# Every other caller, to see each answer of AssumeRoot; put the caller's keys before the command:
#   AWS_ACCESS_KEY_ID=… AWS_SECRET_ACCESS_KEY=… %s
`, assumeRoot)
	caller := func(what, answer string, c fixtures.Credentials) {
		printf(out, "# %s: %s\n#   AWS_ACCESS_KEY_ID=%s AWS_SECRET_ACCESS_KEY=%s\n", what, answer, c.AccessKeyID, c.SecretAccessKey)
	}
	for _, d := range org.DelegatedAdmins {
		caller(fmt.Sprintf("Delegated administrator %s (%s)", d.AccountID, d.ServicePrincipal), "succeeds", srv.Credentials(d.AccountID))
	}
	if member != "" {
		caller("Administrator of member account "+member+" (neither the management account nor a delegated administrator)",
			"AccessDenied", srv.Credentials(member))
		caller("Root user of member account "+member+", with long-term access keys (a root user may not call AssumeRoot)",
			"AccessDenied", srv.RootUserCredentials(member))
	}
	caller("Administrator of account "+outsider+", outside the organization", "AccessDenied", srv.Credentials(outsider))
	printf(out, "# The global STS endpoint (sts.amazonaws.com), with the management keys: InvalidAction (AssumeRoot needs a Regional endpoint)\n#   %s --endpoint-url %s\n",
		assumeRoot, srv.GlobalSTSURL())
}

func delegatedAdmin(org *fixtures.Org, id string) bool {
	for _, d := range org.DelegatedAdmins {
		if d.AccountID == id {
			return true
		}
	}
	return false
}

func inOrg(org *fixtures.Org, id string) bool {
	for _, a := range org.Accounts {
		if a.ID == id {
			return true
		}
	}
	return false
}
