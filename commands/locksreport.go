package commands

import (
	"github.com/rootctl/rootctl/orgrun"
	"github.com/rootctl/rootctl/unlock"
)

// LocksAccount is one account of `rootctl locks`.
type LocksAccount struct {
	orgrun.Result
	Buckets int                   `json:"buckets"`
	Locked  []unlock.LockedBucket `json:"locked_buckets"`
}

// LocksReport is `rootctl locks -o json`.
type LocksReport struct {
	Header
	Accounts []LocksAccount `json:"accounts"`
	Locked   int            `json:"locked_buckets"`
	Errors   int            `json:"errors"`
	Blocked  int            `json:"blocked"`
}

func (report *LocksReport) render(s *screen) error {
	t := s.table(cols("Account"), optional("Name"), cols("Bucket"), optional("Region"), cols("Locking statement"))
	for _, a := range report.Accounts {
		for _, b := range a.Locked {
			for _, l := range b.Locks {
				t.Append(a.ID, a.Name, b.Name, b.Region, l.String())
			}
		}
		if a.Status == orgrun.StatusError {
			t.Append(a.ID, a.Name, "-", "-", "error: "+a.Error)
		}
		if a.Status == orgrun.StatusBlocked {
			t.Append(a.ID, a.Name, "-", "-", blockedCell(a.Result))
		}
	}
	if err := t.Render(); err != nil {
		return err
	}
	s.printf("%d accounts: %d locked buckets, %d errors%s\n", len(report.Accounts), report.Locked, report.Errors, blockedNote(report.Blocked))
	return nil
}
