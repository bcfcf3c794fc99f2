package commands

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

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

// Everything rootctl prints on a terminal comes in part from AWS (account
// names, tags, e-mails, bucket and queue names, policies, error messages,
// CloudTrail fields), where anyone with write access to the organization
// can put control characters: a name with "\n" or "\x1b[2J" could forge a
// row of a plan the user confirms. termSafe is the one function that
// renders such characters visible; table, printf, Infof, Color, orDash and
// the top-level error line go through it, so a renderer cannot forget. A
// test (TestRenderersPrintOnlyThroughTermSafe) keeps printing out of reach
// of anything else. JSON, NDJSON and CSV are data, not terminal text: the
// encoders escape what their format needs.

// termText is text that is safe to write to a terminal: escaped by
// termSafe, or built here from escaped parts with rootctl's own line
// breaks and colour codes. Only output.go and iostreams.go make one.
type termText string

// termSafe renders the characters that a terminal would act on or hide as
// visible escapes: C0 controls and DEL as \n, \r, \t or \xHH; C1 controls
// and Unicode format characters (bidi overrides and isolates U+202A–U+202E
// and U+2066–U+2069, zero-width characters U+200B–U+200F, and every other
// character of category Cf) and the line and paragraph separators as
// \uHHHH; bytes that are not UTF-8 as \xHH. Backslashes are kept as they
// are: the result is for reading, not for parsing (use -o json for that).
func termSafe(s string) string {
	i := 0
	for i < len(s) && s[i] >= 0x20 && s[i] < 0x7f {
		i++
	}
	if i == len(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	b.WriteString(s[:i])
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case unicode.Is(unicode.Cc, r) || unicode.Is(unicode.Cf, r) || r == '\u2028' || r == '\u2029':
			if r > 0xffff {
				fmt.Fprintf(&b, `\U%08x`, r)
			} else {
				fmt.Fprintf(&b, `\u%04x`, r)
			}
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// safeArg makes one value safe to print: text (strings, errors, Stringers,
// anything else formatted with %v) goes through termSafe; numbers, booleans,
// times' own formatting and termText are kept.
func safeArg(a any) any {
	switch v := a.(type) {
	case termText:
		return string(v)
	case string:
		return termSafe(v)
	case error:
		return termSafe(v.Error())
	case fmt.Stringer:
		return termSafe(v.String())
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, float32, float64, bool, nil:
		return v
	}
	return termSafe(fmt.Sprint(a))
}

// printf writes format with every argument made safe by termSafe (the
// format itself is rootctl's own text). Use %s, %d and %v: %q would quote
// the escapes a second time.
func printf(w io.Writer, format string, args ...any) {
	safe := make([]any, len(args))
	for i, a := range args {
		safe[i] = safeArg(a)
	}
	fmt.Fprintf(w, format, safe...)
}

// lines joins escaped lines with line breaks: a multi-line table cell or
// block of text whose breaks are rootctl's, not the data's.
func lines(ss ...string) termText {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = termSafe(s)
	}
	return termText(strings.Join(out, "\n"))
}

// table is a terminal table whose every cell is made safe by termSafe.
type table struct{ t *tablewriter.Table }

// newTable returns a table with headers as given (not upper-cased).
func newTable(w io.Writer, headers ...string) *table {
	t := tablewriter.NewTable(w, tablewriter.WithHeaderAutoFormat(tw.Off), tablewriter.WithRowAutoWrap(tw.WrapNone))
	t.Header(toAny(headers)...)
	return &table{t: t}
}

// Append adds a row. A cell is any value; text is escaped with termSafe
// unless it is termText (rootctl's own colour or line breaks).
func (t *table) Append(cells ...any) error {
	row := make([]string, len(cells))
	for i, c := range cells {
		row[i] = fmt.Sprint(safeArg(c))
	}
	return t.t.Append(row)
}

// Render writes the table.
func (t *table) Render() error { return t.t.Render() }

func toAny(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// csvWriter writes CSV whose every cell is neutralised by csvCell.
type csvWriter struct{ w *csv.Writer }

func newCSV(w io.Writer) *csvWriter { return &csvWriter{w: csv.NewWriter(w)} }

// Write writes one record.
func (c *csvWriter) Write(cells ...string) {
	row := make([]string, len(cells))
	for i, s := range cells {
		row[i] = csvCell(s)
	}
	c.w.Write(row)
}

// Flush writes what is buffered and returns the first error of any write.
func (c *csvWriter) Flush() error {
	c.w.Flush()
	return c.w.Error()
}

// csvCell neutralises a cell that a spreadsheet would read as a formula
// (OWASP "CSV injection"): one starting with =, +, -, @, a tab or a
// carriage return gets a leading single quote. Account names may start
// with = on AWS, and error messages with anything. rootctl's CSV reports
// have no negative numbers (only counts, booleans, times and text), so
// nothing legitimate changes meaning.
func csvCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// day formats a time as a date for tables; zero is "-".
func day(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02")
}

// canConfirm refuses, before anything is asked of AWS, a run that would
// change something but could not be confirmed: no --yes, no --dry-run, and
// no terminal to ask on.
func canConfirm(io *IOStreams, yes, dryRun bool) error {
	if yes || dryRun || io.InTTY {
		return nil
	}
	return usageErrorf("refusing to change anything without confirmation: pass --yes (or run on a terminal), or --dry-run to only see the plan")
}

// confirm asks before a change: --yes skips the question; on a terminal
// the user must type n, the count of what will change, to agree to what
// ("delete 14 credentials in 7 accounts"), which the question names;
// otherwise the change is refused.
func confirm(io *IOStreams, yes bool, n int, what string) error {
	if yes {
		return nil
	}
	if err := canConfirm(io, yes, false); err != nil {
		return err
	}
	printf(io.ErrOut, "Type %d to %s: ", n, what)
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
