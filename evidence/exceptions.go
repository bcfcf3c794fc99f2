package evidence

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/rootctl/rootctl/awserr"
	"github.com/rootctl/rootctl/orgscan"
)

// ExceptionsLimit is the largest exceptions file rootctl reads (1 MiB:
// thousands of entries).
const ExceptionsLimit = 1 << 20

// MaxExceptionDays is how long an exception may last: its expiry is at
// most this many days after its approval, so that every exception is
// looked at again within a year.
const MaxExceptionDays = 366

// ExceptionsVersion is the version of the exceptions file format.
const ExceptionsVersion = 1

// Exceptions is a parsed exceptions file (docs/exceptions.md): the
// findings an organization accepts, each until an expiry date.
type Exceptions struct {
	Entries []*Entry
}

// Entry is one exception: the root credentials of the kinds in Accept are
// accepted in one account, or in every account under an OU, from
// ApprovedOn through Expires (UTC days, both included).
type Entry struct {
	Index      int      `json:"entry"`             // position in the file, from 1
	Account    string   `json:"account,omitempty"` // an account ID, or
	OU         string   `json:"ou,omitempty"`      // an OU (or root) ID, or an OU path of names from the root
	Accept     []string `json:"accept"`            // credential kinds (Kinds)
	Reason     string   `json:"reason"`
	ApprovedBy string   `json:"approved_by"`
	ApprovedOn Date     `json:"approved_on"`
	Expires    Date     `json:"expires"`
	line       int
}

// Names says what the entry covers: "account 333333333303", "OU Root/Sandbox".
func (e *Entry) Names() string {
	if e.Account != "" {
		return "account " + e.Account
	}
	return "OU " + e.OU
}

// Live reports whether the entry is in force at now: through the whole of
// its expiry day, UTC.
func (e *Entry) Live(now time.Time) bool { return now.Before(e.Expires.End()) }

func (e *Entry) accepts(kind string) bool { return slices.Contains(e.Accept, kind) }

// matches reports whether the entry names an account with this ID and path.
func (e *Entry) matches(account string, path Path) bool {
	if e.Account != "" {
		return e.Account == account
	}
	if orgscan.ValidParentID(e.OU) {
		return slices.Contains(strings.Split(path.IDs, "/"), e.OU)
	}
	return path.Names != "" && (path.Names == e.OU || strings.HasPrefix(path.Names, e.OU+"/"))
}

func (e *Entry) acceptance(expired bool) *Acceptance {
	return &Acceptance{Entry: e.Index, Reason: e.Reason, ApprovedBy: e.ApprovedBy, Expires: e.Expires, Expired: expired}
}

// Path is where an account sits in the organization: its OU path of names
// from the root ("Root/Production/Production-EU") and of IDs
// ("r-d3m0/ou-d3m0-prod0001"); either is "" when unknown.
type Path struct {
	Names, IDs string
}

// Date is a calendar day, written YYYY-MM-DD.
type Date struct{ t time.Time }

// ParseDate reads YYYY-MM-DD.
func ParseDate(s string) (Date, error) {
	if !datePattern.MatchString(s) {
		return Date{}, fmt.Errorf("%q: want a date YYYY-MM-DD", s)
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return Date{}, fmt.Errorf("%q is not a date of the calendar", s)
	}
	return Date{t}, nil
}

var datePattern = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)

// DateOf is the UTC day of t.
func DateOf(t time.Time) Date {
	y, m, d := t.UTC().Date()
	return Date{time.Date(y, m, d, 0, 0, 0, 0, time.UTC)}
}

func (d Date) String() string { return d.t.Format(time.DateOnly) }

// End is the first instant after the day, UTC.
func (d Date) End() time.Time { return d.t.AddDate(0, 0, 1) }

// MarshalJSON writes "YYYY-MM-DD".
func (d Date) MarshalJSON() ([]byte, error) { return []byte(`"` + d.String() + `"`), nil }

// UnmarshalJSON reads "YYYY-MM-DD".
func (d *Date) UnmarshalJSON(b []byte) error {
	var s string
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return fmt.Errorf("date %s: want \"YYYY-MM-DD\"", b)
	}
	s = string(b[1 : len(b)-1])
	v, err := ParseDate(s)
	*d = v
	return err
}

// days is the number of days from d to e.
func (d Date) days(e Date) int { return int(e.t.Sub(d.t).Hours() / 24) }

var (
	topFields   = []string{"version", "exceptions"}
	entryFields = []string{"account", "ou", "accept", "reason", "approved_by", "approved_on", "expires"}
)

// ParseExceptions reads an exceptions file, YAML or JSON (one format:
// JSON is YAML's flow style). today is the day the run starts: an entry
// approved after it is refused. Every problem is an error naming the entry,
// its line and the field, worded as the fix.
func ParseExceptions(data []byte, today time.Time) (*Exceptions, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("the file is empty: want version: %d and a list of exceptions", ExceptionsVersion)
		}
		return nil, fmt.Errorf("not YAML or JSON: %s", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	var more yaml.Node
	if err := dec.Decode(&more); !errors.Is(err, io.EOF) {
		return nil, errors.New("more than one YAML document (a second ---): keep one")
	}
	if len(doc.Content) != 1 {
		return nil, fmt.Errorf("the file is empty: want version: %d and a list of exceptions", ExceptionsVersion)
	}
	if err := noAliases(doc.Content[0]); err != nil {
		return nil, err
	}
	top, err := fields(doc.Content[0], "the file", topFields)
	if err != nil {
		return nil, err
	}
	v, ok := top["version"]
	if !ok {
		return nil, fmt.Errorf("line %d: version is missing: want version: %d", doc.Content[0].Line, ExceptionsVersion)
	}
	if v.Kind != yaml.ScalarNode || v.Tag != "!!int" || v.Value != fmt.Sprint(ExceptionsVersion) {
		return nil, fmt.Errorf("line %d: version %s: want %d, the only version of this format", v.Line, v.Value, ExceptionsVersion)
	}
	list, ok := top["exceptions"]
	if !ok {
		return nil, fmt.Errorf("line %d: exceptions is missing: want a list of entries (it may be empty: exceptions: [])", doc.Content[0].Line)
	}
	if list.Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("line %d: exceptions: want a list of entries", list.Line)
	}
	x := &Exceptions{Entries: []*Entry{}}
	for i, n := range list.Content {
		e, err := parseEntry(n, i+1, DateOf(today))
		if err != nil {
			return nil, fmt.Errorf("entry %d (line %d): %w", i+1, n.Line, err)
		}
		x.Entries = append(x.Entries, e)
	}
	return x, nil
}

func noAliases(n *yaml.Node) error {
	if n.Kind == yaml.AliasNode || n.Anchor != "" {
		return fmt.Errorf("line %d: YAML anchors and aliases are not accepted: write each entry out", n.Line)
	}
	for _, c := range n.Content {
		if err := noAliases(c); err != nil {
			return err
		}
	}
	return nil
}

// fields reads a mapping whose keys must be among known, each given once.
func fields(n *yaml.Node, what string, known []string) (map[string]*yaml.Node, error) {
	if n.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("line %d: %s: want a mapping with the fields %s", n.Line, what, strings.Join(known, ", "))
	}
	m := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode || k.Tag != "!!str" || !slices.Contains(known, k.Value) {
			return nil, fmt.Errorf("line %d: unknown field %q: want %s", k.Line, k.Value, strings.Join(known, ", "))
		}
		if _, dup := m[k.Value]; dup {
			return nil, fmt.Errorf("line %d: %s is given twice", k.Line, k.Value)
		}
		m[k.Value] = v
	}
	return m, nil
}

func parseEntry(n *yaml.Node, index int, today Date) (*Entry, error) {
	m, err := fields(n, "an entry", entryFields)
	if err != nil {
		return nil, err
	}
	for _, f := range []string{"accept", "reason", "approved_by", "approved_on", "expires"} {
		if _, ok := m[f]; !ok {
			return nil, fmt.Errorf("%s is missing (every entry has %s)", f, strings.Join(entryFields[1:], ", "))
		}
	}
	e := &Entry{Index: index, line: n.Line}
	_, hasAccount := m["account"]
	_, hasOU := m["ou"]
	switch {
	case hasAccount == hasOU:
		return nil, errors.New("name either an account or an ou, not both and not neither")
	case hasAccount:
		v := m["account"]
		if v.Kind == yaml.ScalarNode && (v.Tag == "!!int" || v.Tag == "!!float") {
			return nil, fmt.Errorf("account %s: write the account ID in quotes (\"%s\"): unquoted, YAML reads it as a number", v.Value, v.Value)
		}
		if e.Account, err = text(v, "account"); err != nil {
			return nil, err
		}
		if !awserr.ValidAccountID(e.Account) {
			return nil, fmt.Errorf("account %q: want an account ID of 12 digits", e.Account)
		}
	default:
		if e.OU, err = text(m["ou"], "ou"); err != nil {
			return nil, err
		}
		if err := checkOU(e.OU); err != nil {
			return nil, err
		}
	}
	if e.Accept, err = kinds(m["accept"]); err != nil {
		return nil, err
	}
	if e.Reason, err = line(m["reason"], "reason", 512); err != nil {
		return nil, err
	}
	if e.ApprovedBy, err = line(m["approved_by"], "approved_by", 256); err != nil {
		return nil, err
	}
	if e.ApprovedOn, err = date(m["approved_on"], "approved_on"); err != nil {
		return nil, err
	}
	if e.Expires, err = date(m["expires"], "expires"); err != nil {
		return nil, err
	}
	switch days := e.ApprovedOn.days(e.Expires); {
	case today.days(e.ApprovedOn) > 0:
		return nil, fmt.Errorf("approved_on %s is in the future: write the day it was approved", e.ApprovedOn)
	case days < 0:
		return nil, fmt.Errorf("expires %s is before approved_on %s: an exception cannot expire before it is approved", e.Expires, e.ApprovedOn)
	case days > MaxExceptionDays:
		return nil, fmt.Errorf("expires %s is %d days after approved_on %s: an exception lasts at most %d days; approve it again before then", e.Expires, days, e.ApprovedOn, MaxExceptionDays)
	}
	return e, nil
}

func text(n *yaml.Node, field string) (string, error) {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!str" {
		return "", fmt.Errorf("%s: want a string", field)
	}
	return n.Value, nil
}

// line reads a string of one line, without control or invisible format
// characters, of at most max characters.
func line(n *yaml.Node, field string, max int) (string, error) {
	s, err := text(n, field)
	if err != nil {
		return "", err
	}
	switch {
	case strings.TrimSpace(s) == "":
		return "", fmt.Errorf("%s is empty: say it in one line", field)
	case utf8.RuneCountInString(s) > max:
		return "", fmt.Errorf("%s is longer than %d characters: shorten it (link a ticket for the details)", field, max)
	case !utf8.ValidString(s):
		return "", fmt.Errorf("%s is not UTF-8 text", field)
	}
	for _, r := range s {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == '\u2028' || r == '\u2029' {
			return "", fmt.Errorf("%s: one line without control or invisible characters (found %U)", field, r)
		}
	}
	return s, nil
}

func date(n *yaml.Node, field string) (Date, error) {
	if n.Kind != yaml.ScalarNode || (n.Tag != "!!str" && n.Tag != "!!timestamp") {
		return Date{}, fmt.Errorf("%s: want a date YYYY-MM-DD", field)
	}
	d, err := ParseDate(n.Value)
	if err != nil {
		return Date{}, fmt.Errorf("%s %w", field, err)
	}
	return d, nil
}

func kinds(n *yaml.Node) ([]string, error) {
	want := strings.Join(Kinds, ", ")
	if n.Kind != yaml.SequenceNode || len(n.Content) == 0 {
		return nil, fmt.Errorf("accept: want a list of one or more credential kinds: %s", want)
	}
	var out []string
	for _, k := range n.Content {
		s, err := text(k, "accept")
		if err != nil || !slices.Contains(Kinds, s) {
			return nil, fmt.Errorf("accept: unknown credential kind %q: want %s", k.Value, want)
		}
		if slices.Contains(out, s) {
			return nil, fmt.Errorf("accept: %s is listed twice", s)
		}
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b string) int { return kindOrder(a) - kindOrder(b) })
	return out, nil
}

// checkOU accepts an OU or root ID (ou-…, r-…) or a path of OU names from
// the root, "Root/Production".
func checkOU(ou string) error {
	if orgscan.ValidParentID(ou) {
		return nil
	}
	if strings.HasPrefix(ou, "ou-") || strings.HasPrefix(ou, "r-") {
		return fmt.Errorf("ou %q: want an OU ID ou-xxxx-xxxxxxxx, a root ID r-xxxx, or a path of OU names from the root (Root/Production)", ou)
	}
	for _, seg := range strings.Split(ou, "/") {
		if strings.TrimSpace(seg) == "" {
			return fmt.Errorf("ou %q: a path of OU names from the root, separated by / with no empty name (Root/Production)", ou)
		}
	}
	if _, err := line(&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: ou}, "ou", 1024); err != nil {
		return err
	}
	return nil
}

// Tally counts, as a run goes, what each entry matched and covered: what
// Judge needs to tell a used exception from a stale one. It is not safe for
// concurrent use.
type Tally struct {
	matched, audited, covered []int
	names, ids                bool // some account's path of names, of IDs, was known
	unnamed                   bool // some account's path was known by IDs only (its OU names were not)
}

// NewTally starts the counts of a run.
func (x *Exceptions) NewTally() *Tally {
	n := len(x.Entries)
	return &Tally{matched: make([]int, n), audited: make([]int, n), covered: make([]int, n)}
}

// Apply decides the findings of one account at now: a credential that a
// live entry naming the account accepts is accepted (by the entry that
// lasts longest), any other open; one that only an expired entry accepted
// keeps that entry, marked expired. audited says whether the account was
// audited (only then are its findings known). Resolved findings are left
// as they are.
func (x *Exceptions) Apply(t *Tally, now time.Time, account string, path Path, audited bool, fs []Finding) {
	t.names = t.names || path.Names != ""
	t.ids = t.ids || path.IDs != ""
	t.unnamed = t.unnamed || (path.Names == "" && path.IDs != "")
	var matching []*Entry
	for _, e := range x.Entries {
		if e.matches(account, path) {
			matching = append(matching, e)
			t.matched[e.Index-1]++
			if audited {
				t.audited[e.Index-1]++
			}
		}
	}
	for i := range fs {
		f := &fs[i]
		if f.Status == StatusResolved {
			continue
		}
		var live, expired *Entry
		for _, e := range matching {
			if !e.accepts(f.Kind) {
				continue
			}
			if e.Live(now) {
				if live == nil || e.Expires.t.After(live.Expires.t) {
					live = e
				}
			} else if expired == nil || e.Expires.t.After(expired.Expires.t) {
				expired = e
			}
		}
		switch {
		case live != nil:
			f.Status, f.Exception = StatusAccepted, live.acceptance(false)
			t.covered[live.Index-1]++
		case expired != nil:
			f.Status, f.Exception = StatusOpen, expired.acceptance(true)
		default:
			f.Status, f.Exception = StatusOpen, nil
		}
	}
}

// The status of an exception in a run.
const (
	ExceptionAccepted   = "accepted"    // live, and accepts at least one finding
	ExceptionExpired    = "expired"     // past its expiry: stale
	ExceptionUnmatched  = "unmatched"   // live, but accepts nothing: stale
	ExceptionNotAudited = "not_audited" // live; no account it names was audited in this run
)

// EntryResult is how one exception fared in a run.
type EntryResult struct {
	*Entry
	Status   string `json:"status"`
	Detail   string `json:"detail"`
	Findings int    `json:"findings"` // the findings it accepts
}

// Stale reports whether the exception is itself a finding: expired, or
// accepting nothing.
func (r EntryResult) Stale() bool {
	return r.Status == ExceptionExpired || r.Status == ExceptionUnmatched
}

// Judge decides every entry at the end of a run. wholeOrganization says
// the run covered every account, so that an entry naming none of them
// names no account of the organization.
func (x *Exceptions) Judge(t *Tally, now time.Time, wholeOrganization bool) []EntryResult {
	out := make([]EntryResult, 0, len(x.Entries))
	for i, e := range x.Entries {
		r := EntryResult{Entry: e, Findings: t.covered[i]}
		switch {
		case !e.Live(now):
			r.Status = ExceptionExpired
			r.Detail = fmt.Sprintf("expired on %s: remove the credentials, or renew the exception (a new approved_on and expires)", e.Expires)
		case t.covered[i] > 0:
			r.Status = ExceptionAccepted
			r.Detail = fmt.Sprintf("accepts %s until %s", countOf(t.covered[i], "finding"), e.Expires)
		case t.audited[i] > 0 && e.Account != "":
			r.Status = ExceptionUnmatched
			r.Detail = fmt.Sprintf("account %s holds none of %s: delete the entry", e.Account, strings.Join(e.Accept, ", "))
		case t.audited[i] > 0:
			r.Status = ExceptionUnmatched
			r.Detail = fmt.Sprintf("no account under OU %s holds any of %s: delete the entry", e.OU, strings.Join(e.Accept, ", "))
		case t.matched[i] > 0:
			r.Status = ExceptionNotAudited
			r.Detail = "no account it names was audited in this run (skipped, or an error)"
		case e.OU != "" && !t.known(e.OU):
			r.Status = ExceptionNotAudited
			r.Detail = "the OU paths by name were not all known in this run, so accounts could not be matched to the OU"
		case wholeOrganization && e.Account != "":
			r.Status = ExceptionUnmatched
			r.Detail = fmt.Sprintf("%s is not an account of the organization: correct or delete the entry", e.Account)
		case wholeOrganization:
			r.Status = ExceptionUnmatched
			r.Detail = fmt.Sprintf("no account of the organization is under OU %s: correct or delete the entry", e.OU)
		default:
			r.Status = ExceptionNotAudited
			r.Detail = "outside this run's selection"
		}
		out = append(out, r)
	}
	return out
}

// known reports whether accounts' paths of the form ou is written in were
// known in the run: by names, every account's (an account whose OU names
// could not be read might be under the OU).
func (t *Tally) known(ou string) bool {
	if orgscan.ValidParentID(ou) {
		return t.ids
	}
	return t.names && !t.unnamed
}

func countOf(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return fmt.Sprintf("%d %ss", n, thing)
}
