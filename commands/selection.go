package commands

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/rootctl/rootctl/awserr"
	"github.com/rootctl/rootctl/orgscan"
)

// selectionFlags choose the accounts of every multi-account command.
func selectionFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringSliceFlag{Name: "accounts", Category: "Account selection", Usage: "only these account IDs (`ID,…`; the IDs may also be given as arguments)"},
		&cli.StringFlag{Name: "ou", Category: "Account selection", Usage: "only accounts under `OU_ID`, recursively (ou-xxxx-xxxxxxxx, or a root r-xxxx)"},
		&cli.StringSliceFlag{Name: "tag", Category: "Account selection", Usage: "only accounts tagged `KEY=VALUE` (repeat for several; all must match)"},
		&cli.BoolFlag{Name: "all-accounts", Category: "Account selection", Usage: "every account of the organization (commands that change accounts need a selection: this, --accounts, --ou or --tag)"},
		&cli.StringSliceFlag{Name: "exclude", Category: "Account selection", Usage: "never these account IDs (`ID,…`)"},
	}
}

// selection reads the selection flags and the account IDs given as
// arguments, and rejects what is empty or conflicting; the command
// function validates the IDs' shapes.
func selection(c *cli.Context) (orgscan.Selection, error) {
	sel := orgscan.Selection{OU: strings.TrimSpace(c.String("ou")), All: c.Bool("all-accounts")}
	var err error
	if sel.Accounts, err = idList(c, "accounts"); err != nil {
		return sel, err
	}
	if sel.Exclude, err = idList(c, "exclude"); err != nil {
		return sel, err
	}
	args, err := accountArgs(c)
	if err != nil {
		return sel, err
	}
	if c.IsSet("ou") && sel.OU == "" {
		return sel, usageErrorf("--ou is empty: pass an OU ID such as ou-ab12-cdef3456")
	}
	for _, kv := range c.StringSlice("tag") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return sel, usageErrorf("--tag %q: want KEY=VALUE", kv)
		}
		if sel.Tags == nil {
			sel.Tags = map[string]string{}
		}
		sel.Tags[strings.TrimSpace(k)] = v
	}
	switch {
	case len(args) > 0 && len(sel.Accounts) > 0:
		return sel, usageErrorf("account IDs as arguments and --accounts conflict: pass the IDs one way")
	case len(args) > 0 && sel.OU != "":
		return sel, usageErrorf("account IDs as arguments and --ou conflict: pass one")
	case len(sel.Accounts) > 0 && sel.OU != "":
		return sel, usageErrorf("--accounts and --ou conflict: pass one")
	case sel.All && (len(args) > 0 || len(sel.Accounts) > 0 || sel.OU != "" || len(sel.Tags) > 0):
		return sel, usageErrorf("--all-accounts conflicts with account IDs, --accounts, --ou and --tag: pass one selection (--exclude may go with it)")
	}
	if len(args) > 0 {
		sel.Accounts = args
	}
	return sel, nil // the IDs' shapes are checked by the command itself
}

// idList reads a list of account IDs, refusing an empty list and an empty
// element (a doubled or trailing comma), which would silently select less.
func idList(c *cli.Context, flag string) ([]string, error) {
	if !c.IsSet(flag) {
		return nil, nil
	}
	var ids []string
	for _, s := range c.StringSlice(flag) {
		ids = append(ids, strings.TrimSpace(s))
	}
	switch {
	case !slices.ContainsFunc(ids, func(s string) bool { return s != "" }):
		return nil, usageErrorf("--%s is empty: pass one or more 12-digit account IDs", flag)
	case slices.Contains(ids, ""):
		return nil, usageErrorf("--%s %q has an empty ID (a doubled or trailing comma?): pass 12-digit account IDs separated by single commas", flag, strings.Join(ids, ","))
	}
	return ids, nil
}

// requireSelection refuses to change accounts without an explicit
// selection: every account must be asked for (--all-accounts), never
// implied by a forgotten flag.
func requireSelection(command string, sel orgscan.Selection) error {
	if sel.Explicit() {
		return nil
	}
	return usageErrorf("%s needs a selection: pass account IDs (or --accounts ID,…), --ou OU_ID, --tag KEY=VALUE, or --all-accounts", command)
}

// checkSelection makes sure, before anything is written or any session is
// assumed, that the selection's OU exists and that its account IDs are
// accounts of the organization.
func checkSelection(ctx context.Context, lister *orgscan.Lister, sel orgscan.Selection) error {
	err := lister.Check(ctx, sel)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, orgscan.ErrUnknownOU):
		return usageErrorf("--ou %v (list OUs with: aws organizations list-organizational-units-for-parent)", err)
	case errors.Is(err, orgscan.ErrNotMember):
		return usageErrorf("%v: check the IDs (list them with: aws organizations list-accounts)", err)
	}
	return fmt.Errorf("checking the selection: %s", awserr.Describe(err))
}

// selectionText renders a selection as the flags that make it.
func selectionText(sel orgscan.Selection) string {
	var parts []string
	if sel.All {
		parts = append(parts, "--all-accounts")
	}
	if len(sel.Accounts) > 0 {
		parts = append(parts, "--accounts "+strings.Join(sel.Accounts, ","))
	}
	if sel.OU != "" {
		parts = append(parts, "--ou "+sel.OU)
	}
	var tags []string
	for k, v := range sel.Tags {
		tags = append(tags, "--tag "+k+"="+v)
	}
	slices.Sort(tags)
	parts = append(parts, tags...)
	if len(sel.Exclude) > 0 {
		parts = append(parts, "--exclude "+strings.Join(sel.Exclude, ","))
	}
	if len(parts) == 0 {
		return "every account"
	}
	return strings.Join(parts, " ")
}
