package commands

import (
	"context"

	"github.com/rootctl/rootctl/orgscan"
	"github.com/rootctl/rootctl/rootsession"
)

// fanOutAccounts runs work over the selected accounts as the listing
// arrives, at most concurrency at once. An organization-wide AssumeRoot
// refusal halts the assumer, and with it the listing: the accounts already
// listed are still passed to work (which sees assumer.Halted and reports
// them not reached), none further is listed. work gets ctx itself, so an
// account in flight is not cut short by the halt. The error is the
// listing's, or nil when the halt ended it.
func fanOutAccounts(ctx context.Context, concurrency int, lister *orgscan.Lister, sel orgscan.Selection,
	assumer *rootsession.Assumer, work func(context.Context, orgscan.Target)) error {
	listCtx, stop := context.WithCancel(ctx)
	defer stop()
	err := orgscan.FanOut(listCtx, concurrency,
		func(emit func(orgscan.Target) error) error { return lister.Each(listCtx, sel, emit) },
		func(_ context.Context, t orgscan.Target) {
			work(ctx, t)
			if assumer.Halted() != nil {
				stop()
			}
		})
	if assumer.Halted() != nil && ctx.Err() == nil {
		return nil
	}
	return err
}
