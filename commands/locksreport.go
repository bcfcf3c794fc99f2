package commands

import (
	"regexp"
	"strings"

	"github.com/rootctl/rootctl/orgrun"
	"github.com/rootctl/rootctl/unlock"
)

// LocksAccount is one account of `rootctl locks`.
type LocksAccount struct {
	orgrun.Result
	Buckets      int              `json:"buckets"`
	Queues       int              `json:"queues"`
	Locked       []LockedResource `json:"locked_buckets"`
	LockedQueues []LockedResource `json:"locked_queues"`
}

// LockedResource is a bucket or queue whose policy locks everyone out, as
// locks reports it: which kind it is, and the command that repairs it.
type LockedResource struct {
	unlock.LockedResource
	Kind    string `json:"kind"`           // bucket or queue
	Command string `json:"unlock_command"` // rootctl unlock s3|sqs …, for a POSIX shell
}

// LocksReport is `rootctl locks -o json`.
type LocksReport struct {
	Header
	QueueRegions []string       `json:"queue_regions"` // where queues were listed
	Accounts     []LocksAccount `json:"accounts"`
	Locked       int            `json:"locked_buckets"`
	LockedQueues int            `json:"locked_queues"`
	Errors       int            `json:"errors"`
	Blocked      int            `json:"blocked"`
}

func (r *LocksReport) takeAccounts() (int, func(int) any, func()) { return takeList(&r.Accounts) }

func (report *LocksReport) render(s *screen) error {
	t := s.table(cols("Account"), optional("Name", "OU"), cols("Resource", "Kind"), optional("Region"), cols("Locking statement"))
	var commands []string
	for _, a := range report.Accounts {
		for _, r := range append(append([]LockedResource{}, a.Locked...), a.LockedQueues...) {
			for _, l := range r.Locks {
				t.Append(a.ID, a.Name, orDash(nonEmpty(a.OUPath)), r.Name, r.Kind, r.Region, l.String())
			}
			commands = append(commands, r.Command)
		}
		if a.Status == orgrun.StatusError {
			t.Append(a.ID, a.Name, orDash(nonEmpty(a.OUPath)), "-", "-", "-", "error: "+a.Error)
		}
		if a.Status == orgrun.StatusBlocked {
			t.Append(a.ID, a.Name, "-", "-", blockedCell(a.Result))
		}
	}
	if err := t.Render(); err != nil {
		return err
	}
	s.printf("%d accounts: %d locked buckets, %d locked queues (queues read in %s), %d errors%s\n",
		len(report.Accounts), report.Locked, report.LockedQueues, strings.Join(report.QueueRegions, ", "), report.Errors, blockedNote(report.Blocked))
	if len(commands) > 0 {
		s.printf("To unlock each (add --dry-run to see the change first):\n")
		for _, c := range commands {
			s.printf("  %s\n", c)
		}
	}
	return nil
}

// unlockCommandLine is the rootctl command that repairs r, reaching the same
// organization as this run (its --sim, --profile and --endpoint-url) and
// giving reason; a queue's command names its region. Every value from AWS
// or the user is quoted for a POSIX shell unless it is a plain word.
func unlockCommandLine(r unlock.Resource, aws AWSOptions, reason string) string {
	args := []string{"rootctl", "unlock", r.Service}
	switch {
	case aws.Sim == "demo":
		args = append(args, "--sim")
	case aws.Sim != "":
		args = append(args, "--sim="+shellWord(aws.Sim))
	}
	if aws.Profile != "" {
		args = append(args, flagWord("profile", aws.Profile))
	}
	if aws.EndpointURL != "" {
		args = append(args, flagWord("endpoint-url", aws.EndpointURL))
	}
	args = append(args, flagWord("account", r.Account))
	if r.Service == unlock.SQS {
		args = append(args, flagWord("queue", r.Name), flagWord("region", r.Region))
	} else {
		args = append(args, flagWord("bucket", r.Name))
	}
	return strings.Join(append(args, flagWord("reason", reason)), " ")
}

// flagWord is --name value for a shell, or --name=value when value starts
// with "-" (which the flag parser would take for a flag).
func flagWord(name, value string) string {
	if strings.HasPrefix(value, "-") {
		return "--" + name + "=" + shellWord(value)
	}
	return "--" + name + " " + shellWord(value)
}

var plainWord = regexp.MustCompile(`^[A-Za-z0-9_./:@%+,=-]+$`)

// shellWord is s as one word of a POSIX shell command: as it is when it
// holds nothing a shell would read, else in single quotes.
func shellWord(s string) string {
	if plainWord.MatchString(s) {
		return s
	}
	return shellQuote(s)
}
