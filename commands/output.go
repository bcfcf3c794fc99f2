package commands

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"
	"github.com/urfave/cli/v2"
)

// outputFlag is -o/--output, with the formats a command supports.
func outputFlag(formats ...string) *cli.StringFlag {
	return &cli.StringFlag{Name: "output", Aliases: []string{"o"}, Value: formats[0],
		Usage: "output `FORMAT`: " + strings.Join(formats, ", ")}
}

// checkOutput rejects a format the command does not support.
func checkOutput(format string, formats ...string) error {
	return checkOption("--output", format, formats...)
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// newTable returns a table with headers as given (not upper-cased).
func newTable(w io.Writer, headers ...string) *tablewriter.Table {
	t := tablewriter.NewTable(w, tablewriter.WithHeaderAutoFormat(tw.Off), tablewriter.WithRowAutoWrap(tw.WrapNone))
	t.Header(toAny(headers)...)
	return t
}

func toAny(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// day formats a time as a date for tables; zero is "-".
func day(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02")
}

// confirm asks before a change: --yes skips the question; on a terminal
// the user must type n, the count of what will change, to agree to what
// ("delete 14 credentials in 7 accounts"), which the question names;
// otherwise the change is refused.
func confirm(io *IOStreams, yes bool, n int, what string) error {
	if yes {
		return nil
	}
	if !io.InTTY {
		return usageErrorf("refusing to change anything without confirmation: pass --yes (or run on a terminal), or --dry-run to only see the plan")
	}
	fmt.Fprintf(io.ErrOut, "Type %d to %s: ", n, what)
	line, err := io.ReadLine()
	if err != nil || strings.TrimSpace(line) != strconv.Itoa(n) {
		return &exitError{code: ExitFailure, err: fmt.Errorf("not confirmed; nothing was changed")}
	}
	return nil
}

// plural counts n things: "1 account", "7 accounts".
func plural(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return strconv.Itoa(n) + " " + thing + "s"
}
