package commands

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"
	"github.com/urfave/cli/v2"
)

// The output formats, each exported in one place (export).
const (
	formatTable  = "table"  // for a person: tables and lines
	formatJSON   = "json"   // one document
	formatCSV    = "csv"    // a rowReport's rows
	formatNDJSON = "ndjson" // a rowReport's records, one a line
	formatOCSF   = "ocsf"   // a complianceReport's checks: OCSF Compliance Finding events
	formatASFF   = "asff"   // a complianceReport's checks: AWS Security Finding Format
	formatHTML   = "html"   // an htmlReport: one self-contained page
)

// outputFlags are -o/--output, with the formats a command supports (the
// first is the default), and, for a command whose tables may be narrowed to
// the terminal, --wide.
func outputFlags(wide *bool, formats ...string) []cli.Flag {
	flags := []cli.Flag{&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Value: formats[0],
		Usage: "output `FORMAT`: " + strings.Join(formats, ", ")}}
	if wide != nil {
		flags = append(flags, &cli.BoolFlag{Name: "wide", Destination: wide,
			Usage: fmt.Sprintf("show every column of the tables, even on a terminal narrower than %d columns", wideScreen)})
	}
	return flags
}

// checkOutput rejects a format the command does not support.
func checkOutput(format string, formats ...string) error {
	return checkOption("--output", format, formats...)
}

// schemaVersion numbers the shape of rootctl's JSON documents and NDJSON
// lines. 2: every document and line opens with schema_version,
// organization_id and generated_at, and an account a run did not finish is
// "interrupted" in every report (audit and locks said "cancelled").
const schemaVersion = 2

// Header opens every JSON document and every NDJSON line: the schema it
// follows, the organization it is about, and when it was made.
type Header struct {
	SchemaVersion  int       `json:"schema_version"`
	OrganizationID string    `json:"organization_id"`
	GeneratedAt    time.Time `json:"generated_at"`
}

// newHeader is the header of a document about organization org, made now
// (to the second, in UTC).
func newHeader(org string, now time.Time) Header {
	return Header{OrganizationID: org, GeneratedAt: now.UTC().Truncate(time.Second)}
}

func (h *Header) header() *Header { return h }

// report is what a command hands to the output layer: a value that is its
// own JSON document (it embeds Header) and renders itself for a person.
type report interface {
	header() *Header
	// render writes the report for a person: its tables, fitted to the
	// screen, and its lines. Write errors are the screen's to keep.
	render(s *screen) error
}

// rowReport is a report with one record per account or event: it exports
// as CSV (a header line, then a row per record) and as NDJSON (a line per
// record).
type rowReport interface {
	report
	csvHeader() []string
	csvRows() [][]string
	records() []any
}

// htmlReport is a report that renders itself as one HTML page.
type htmlReport interface {
	report
	writeHTML(w io.Writer) error
}

// export writes r to stdout in format: json (one document), csv or ndjson
// (a rowReport's records), ocsf or asff (a complianceReport's checks, as a
// JSON array of events or findings), html (an htmlReport's page), or a
// table and lines for a person. The schema version is stamped here, and
// every write error is returned.
func export(io *IOStreams, format string, wide bool, r report) error {
	h := r.header()
	h.SchemaVersion = schemaVersion
	out := &errWriter{w: io.Out}
	var err error
	switch format {
	case formatJSON:
		err = printJSON(out, r)
	case formatOCSF, formatASFF:
		c, ok := r.(complianceReport)
		if !ok {
			return fmt.Errorf("-o %s: this report has no compliance checks (use -o json)", format)
		}
		if format == formatOCSF {
			err = printJSON(out, ocsfEvents(*h, c.compliance()))
		} else {
			err = printJSON(out, asffFindings(*h, c.compliance()))
		}
	case formatHTML:
		p, ok := r.(htmlReport)
		if !ok {
			return fmt.Errorf("-o html: this report has no page (use -o json)")
		}
		err = p.writeHTML(out)
	case formatCSV, formatNDJSON:
		rows, ok := r.(rowReport)
		if !ok {
			return fmt.Errorf("-o %s: this report has no rows (use -o json)", format)
		}
		if format == formatCSV {
			err = writeCSV(out, rows.csvHeader(), rows.csvRows())
			break
		}
		nd := newNDJSON(out, *h)
		for _, rec := range rows.records() {
			if err = nd.Write(rec); err != nil {
				break
			}
		}
	default:
		err = r.render(&screen{io: io, out: out, wide: wide})
	}
	if err == nil {
		err = out.err
	}
	if err != nil {
		return fmt.Errorf("writing the report: %w", err)
	}
	return nil
}

func printJSON(w io.Writer, v any) error {
	if b, ok := v.(bulkJSON); ok {
		return printBulkJSON(w, b)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// bulkJSON is a report with a long top-level "accounts" list, which
// printJSON writes one account at a time: the document, some 2 KB an
// account, is never encoded whole in memory (encoding/json would hold it
// twice, once encoded and once indented: the peak of a 10,000-account
// audit), only its accounts, as they are or as indentedItems.
type bulkJSON interface {
	// takeAccounts empties the report's accounts and returns how many
	// there were, each one to encode, and how to put them back.
	takeAccounts() (n int, account func(i int) any, restore func())
}

// indentedItem is one item of a bulkJSON report's accounts encoded ahead
// of the document, as printBulkJSON encodes an item (indentItem), so that
// writing the document copies it rather than encodes it: a report can
// encode each account as it is reported, during the run, instead of
// 10,000 at its end (50 ms of a 10,000-account audit's 11.5 s).
type indentedItem []byte

// indentItem encodes v as an item of the accounts list of a document that
// printJSON writes, in a slice of its own length (the encoder's spare
// capacity would be kept with it for the whole run).
func indentItem(v any) (indentedItem, error) {
	b, err := json.MarshalIndent(v, "    ", "  ")
	return bytes.Clone(b), err
}

// takeList is a bulkJSON's takeAccounts of its list *list.
func takeList[T any](list *[]T) (n int, item func(i int) any, restore func()) {
	items := *list
	*list = nil
	return len(items), func(i int) any { return &items[i] }, func() { *list = items }
}

// printBulkJSON writes b as printJSON's encoder would, byte for byte: the
// rest of the report encoded with its accounts emptied, and in place of
// that null, each account indented as the encoder indents it.
func printBulkJSON(w io.Writer, b bulkJSON) error {
	n, account, restore := b.takeAccounts()
	defer restore()
	var rest bytes.Buffer
	enc := json.NewEncoder(&rest)
	enc.SetIndent("", "  ")
	if err := enc.Encode(b); err != nil {
		return err
	}
	doc := rest.Bytes()
	const field = "\n  \"accounts\": " // a top-level field: a string's newlines are escaped
	at := bytes.Index(doc, []byte(field+"null"))
	if at < 0 {
		return errors.New("the report has no top-level accounts field")
	}
	at += len(field)
	out := bufio.NewWriter(w)
	out.Write(doc[:at])
	if n == 0 {
		out.WriteString("[]")
	} else {
		out.WriteString("[")
		for i := range n {
			if i > 0 {
				out.WriteString(",")
			}
			a, ok := account(i).(indentedItem)
			if !ok {
				var err error
				if a, err = indentItem(account(i)); err != nil {
					return err
				}
			}
			out.WriteString("\n    ")
			out.Write(a)
		}
		out.WriteString("\n  ]")
	}
	out.Write(doc[at+len("null"):])
	return out.Flush()
}

// ndjson writes one JSON object per line, each opening with the run's
// Header, as records arrive: memory stays flat however many there are.
type ndjson struct {
	mu   sync.Mutex
	w    io.Writer
	head []byte // the header's fields, without the closing brace
}

func newNDJSON(w io.Writer, h Header) *ndjson {
	h.SchemaVersion = schemaVersion
	head, _ := json.Marshal(h) // a struct of a number, a string and a time
	return &ndjson{w: w, head: head[:len(head)-1]}
}

// Write writes rec, a value that encodes as a JSON object, as one line
// after the header's fields.
func (n *ndjson) Write(rec any) error {
	body, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	line := append(append([]byte{}, n.head...), ',')
	if len(body) > 2 { // not "{}"
		line = append(line, body[1:]...)
	} else {
		line[len(line)-1] = '}'
	}
	line = append(line, '\n')
	n.mu.Lock()
	defer n.mu.Unlock()
	_, err = n.w.Write(line)
	return err
}

// errWriter keeps the first write error; once one failed, it writes no
// more (a renderer that prints line by line learns of it at the end).
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}

// wideScreen is the width from which a table shows all its columns; on a
// narrower terminal the low-value ones are dropped, unless --wide.
const wideScreen = 120

// screen is where a report renders itself for a person: stdout, its
// width, and whether every column is wanted.
type screen struct {
	io   *IOStreams
	out  io.Writer
	wide bool
}

// narrow reports whether low-value columns are to be dropped: stdout is a
// terminal narrower than wideScreen and --wide was not given.
func (s *screen) narrow() bool { return !s.wide && s.io.Width > 0 && s.io.Width < wideScreen }

// printf writes a line of the report, every argument made safe.
func (s *screen) printf(format string, args ...any) { printf(s.out, format, args...) }

// color is text in colour when stdout takes it (IOStreams.Color).
func (s *screen) color(code, text string) termText { return s.io.Color(code, text) }

// column is a table's column; an optional one is dropped on a narrow
// screen.
type column struct {
	name     string
	optional bool
}

// cols are columns that are always shown.
func cols(names ...string) []column {
	out := make([]column, len(names))
	for i, n := range names {
		out[i] = column{name: n}
	}
	return out
}

// optional are columns that a narrow screen drops.
func optional(names ...string) []column {
	out := cols(names...)
	for i := range out {
		out[i].optional = true
	}
	return out
}

// table returns a table of the columns that fit the screen; its Append
// takes a cell for every column and drops those not shown.
func (s *screen) table(columns ...[]column) *table {
	var all []column
	for _, c := range columns {
		all = append(all, c...)
	}
	var headers []string
	var keep []bool
	for _, c := range all {
		shown := !c.optional || !s.narrow()
		keep = append(keep, shown)
		if shown {
			headers = append(headers, c.name)
		}
	}
	t := newTable(s.out, headers...)
	t.keep = keep
	return t
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
type table struct {
	t    *tablewriter.Table
	keep []bool // the cells Append keeps (nil: all)
}

// newTable returns a table with headers as given (not upper-cased).
func newTable(w io.Writer, headers ...string) *table {
	t := tablewriter.NewTable(w, tablewriter.WithHeaderAutoFormat(tw.Off), tablewriter.WithRowAutoWrap(tw.WrapNone))
	t.Header(toAny(headers)...)
	return &table{t: t}
}

// Append adds a row. A cell is any value; text is escaped with termSafe
// unless it is termText (rootctl's own colour or line breaks).
func (t *table) Append(cells ...any) error {
	row := make([]string, 0, len(cells))
	for i, c := range cells {
		if t.keep == nil || i >= len(t.keep) || t.keep[i] {
			row = append(row, fmt.Sprint(safeArg(c)))
		}
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

// writeCSV writes a header line and the rows, every cell neutralised.
func writeCSV(w io.Writer, header []string, rows [][]string) error {
	cw := newCSV(w)
	cw.Write(header...)
	for _, r := range rows {
		cw.Write(r...)
	}
	return cw.Flush()
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
