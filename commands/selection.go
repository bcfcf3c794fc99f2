package commands

import (
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/rootctl/rootctl/orgscan"
)

// selectionFlags choose the accounts of every multi-account command.
func selectionFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringSliceFlag{Name: "accounts", Category: "Account selection", Usage: "only these account IDs (`ID,…`)"},
		&cli.StringFlag{Name: "ou", Category: "Account selection", Usage: "only accounts under `OU_ID`, recursively (ou-xxxx-xxxxxxxx, or a root r-xxxx)"},
		&cli.StringSliceFlag{Name: "tag", Category: "Account selection", Usage: "only accounts tagged `KEY=VALUE` (repeat for several; all must match)"},
		&cli.StringSliceFlag{Name: "exclude", Category: "Account selection", Usage: "never these account IDs (`ID,…`)"},
	}
}

// selection reads the selection flags and rejects what is empty or
// conflicting; the command function validates the IDs' shapes.
func selection(c *cli.Context) (orgscan.Selection, error) {
	sel := orgscan.Selection{
		Accounts: trimAll(c.StringSlice("accounts")),
		OU:       strings.TrimSpace(c.String("ou")),
		Exclude:  trimAll(c.StringSlice("exclude")),
	}
	if c.IsSet("accounts") && len(sel.Accounts) == 0 {
		return sel, usageErrorf("--accounts is empty: pass one or more 12-digit account IDs")
	}
	if c.IsSet("ou") && sel.OU == "" {
		return sel, usageErrorf("--ou is empty: pass an OU ID such as ou-ab12-cdef3456")
	}
	if len(sel.Accounts) > 0 && sel.OU != "" {
		return sel, usageErrorf("--accounts and --ou conflict: pass one")
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
	return sel, nil // the IDs' shapes are checked by the command itself
}

func trimAll(in []string) []string {
	var out []string
	for _, s := range in {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}
