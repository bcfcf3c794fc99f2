package evidence

import (
	"strings"
	"testing"
	"time"
)

var today = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

const goodEntry = `
  - account: "333333333303"
    accept: [password, mfa_hardware]
    reason: break-glass account; hardware MFA in the safe
    approved_by: security@example.com
    approved_on: 2026-11-02
    expires: 2027-04-30
`

func TestParseExceptionsReadsEveryForm(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, file string
		want       []Entry
	}{
		{"YAML with an account and unquoted dates", "version: 1\nexceptions:" + goodEntry, []Entry{{
			Index: 1, Account: "333333333303", Accept: []string{KindPassword, KindMFAHardware},
			Reason: "break-glass account; hardware MFA in the safe", ApprovedBy: "security@example.com",
			ApprovedOn: mustDate("2026-11-02"), Expires: mustDate("2027-04-30")}}},
		{"JSON with an OU ID, kinds sorted", `{"version": 1, "exceptions": [{"ou": "ou-d3m0-sandbox1", "accept": ["mfa_fido", "password"],
			"reason": "r", "approved_by": "a", "approved_on": "2026-01-01", "expires": "2027-01-02"}]}`, []Entry{{
			Index: 1, OU: "ou-d3m0-sandbox1", Accept: []string{KindPassword, KindMFAFIDO}, Reason: "r", ApprovedBy: "a",
			ApprovedOn: mustDate("2026-01-01"), Expires: mustDate("2027-01-02")}}},
		{"an OU path of names and quoted dates", "version: 1\nexceptions:\n- ou: Root/Production/Production-EU\n  accept: [access_key]\n  reason: r\n  approved_by: a\n  approved_on: \"2026-11-25\"\n  expires: \"2026-11-25\"\n",
			[]Entry{{Index: 1, OU: "Root/Production/Production-EU", Accept: []string{KindAccessKey}, Reason: "r", ApprovedBy: "a",
				ApprovedOn: mustDate("2026-11-25"), Expires: mustDate("2026-11-25")}}},
		{"an expired entry is read (and reported expired)", "version: 1\nexceptions:\n- account: \"444444444405\"\n  accept: [signing_certificate]\n  reason: r\n  approved_by: a\n  approved_on: 2025-01-01\n  expires: 2025-12-31\n",
			[]Entry{{Index: 1, Account: "444444444405", Accept: []string{KindSigningCertificate}, Reason: "r", ApprovedBy: "a",
				ApprovedOn: mustDate("2025-01-01"), Expires: mustDate("2025-12-31")}}},
		{"no exceptions at all", "version: 1\nexceptions: []\n", []Entry{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			x, err := ParseExceptions([]byte(tt.file), today)
			if err != nil {
				t.Fatal(err)
			}
			if len(x.Entries) != len(tt.want) {
				t.Fatalf("%d entries, want %d", len(x.Entries), len(tt.want))
			}
			for i, e := range x.Entries {
				e.line = 0
				if got, want := *e, tt.want[i]; !equalEntry(got, want) {
					t.Errorf("entry %d:\n got %+v\nwant %+v", i+1, got, want)
				}
			}
		})
	}
}

func equalEntry(a, b Entry) bool {
	return a.Index == b.Index && a.Account == b.Account && a.OU == b.OU && strings.Join(a.Accept, ",") == strings.Join(b.Accept, ",") &&
		a.Reason == b.Reason && a.ApprovedBy == b.ApprovedBy && a.ApprovedOn == b.ApprovedOn && a.Expires == b.Expires
}

func mustDate(s string) Date {
	d, err := ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

// entry is one entry with a field replaced (or removed, with value "").
func entry(field, value string) string {
	lines := map[string]string{
		"account": `"333333333303"`, "accept": "[password]", "reason": "break-glass", "approved_by": "security@example.com",
		"approved_on": "2026-11-02", "expires": "2027-04-30",
	}
	order := []string{"account", "accept", "reason", "approved_by", "approved_on", "expires"}
	if _, ok := lines[field]; !ok && field != "" {
		order = append(order, field)
	}
	lines[field] = value
	var b strings.Builder
	b.WriteString("version: 1\nexceptions:\n")
	lead := "  - "
	for _, f := range order {
		if lines[f] == "" {
			continue
		}
		b.WriteString(lead + f + ": " + lines[f] + "\n")
		lead = "    "
	}
	return b.String()
}

// TestParseExceptionsRefusesWithTheFix: every malformed file is refused
// with one message that names the entry, the line and what to write.
func TestParseExceptionsRefusesWithTheFix(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, file, want string }{
		{"an empty file", "", "the file is empty: want version: 1 and a list of exceptions"},
		{"not YAML", "version: [1\n", "not YAML or JSON: line 1: did not find expected ',' or ']'"},
		{"two documents", "version: 1\nexceptions: []\n---\nversion: 1\n", "more than one YAML document (a second ---): keep one"},
		{"a list at the top", "- 1\n", "line 1: the file: want a mapping with the fields version, exceptions"},
		{"an unknown top-level field", "version: 1\nexceptions: []\nowner: me\n", `line 3: unknown field "owner": want version, exceptions`},
		{"no version", "exceptions: []\n", "line 1: version is missing: want version: 1"},
		{"another version", "version: 2\nexceptions: []\n", "line 1: version 2: want 1, the only version of this format"},
		{"no list", "version: 1\n", "line 1: exceptions is missing: want a list of entries (it may be empty: exceptions: [])"},
		{"a list that is not one", "version: 1\nexceptions: {}\n", "line 2: exceptions: want a list of entries"},
		{"an unknown field in an entry", entry("expiry", "2027-01-01"), `entry 1 (line 3): line 9: unknown field "expiry": want account, ou, accept, reason, approved_by, approved_on, expires`},
		{"a field given twice", entry("account", `"333333333303"`+"\n    account: \"333333333304\""), "entry 1 (line 3): line 4: account is given twice"},
		{"an unknown credential kind", entry("accept", "[password, mfa]"), `entry 1 (line 3): accept: unknown credential kind "mfa": want password, access_key, mfa_virtual, mfa_hardware, mfa_fido, signing_certificate`},
		{"the old kind of MFA", entry("accept", "[mfa_device]"), `accept: unknown credential kind "mfa_device"`},
		{"an empty accept list", entry("accept", "[]"), "accept: want a list of one or more credential kinds"},
		{"a kind listed twice", entry("accept", "[password, password]"), "accept: password is listed twice"},
		{"an unquoted account ID", entry("account", "333333333303"), `account 333333333303: write the account ID in quotes ("333333333303"): unquoted, YAML reads it as a number`},
		{"an account ID that is too short", entry("account", `"3333"`), `account "3333": want an account ID of 12 digits`},
		{"an account and an OU", entry("ou", "ou-d3m0-sandbox1"), "name either an account or an ou, not both and not neither"},
		{"neither an account nor an OU", entry("account", ""), "name either an account or an ou, not both and not neither"},
		{"a malformed OU ID", strings.Replace(entry("account", ""), "- accept", "- ou: ou-bad\n    accept", 1), `ou "ou-bad": want an OU ID ou-xxxx-xxxxxxxx, a root ID r-xxxx, or a path of OU names from the root (Root/Production)`},
		{"an OU path with an empty name", strings.Replace(entry("account", ""), "- accept", "- ou: Root//Prod\n    accept", 1), `ou "Root//Prod": a path of OU names from the root`},
		{"no reason", entry("reason", ""), "entry 1 (line 3): reason is missing (every entry has ou, accept, reason, approved_by, approved_on, expires)"},
		{"a blank reason", entry("reason", `"  "`), "reason is empty: say it in one line"},
		{"a reason of two lines", entry("reason", `"one\ntwo"`), "reason: one line without control or invisible characters (found U+000A)"},
		{"a reason with a bidi override", entry("reason", "\"ok \u202e kO\""), "reason: one line without control or invisible characters (found U+202E)"},
		{"a reason too long", entry("reason", strings.Repeat("x", 513)), "reason is longer than 512 characters"},
		{"no approver", entry("approved_by", ""), "approved_by is missing"},
		{"an approver as a number", entry("approved_by", "42"), "approved_by: want a string"},
		{"a date that is not one", entry("expires", "2027-02-30"), `expires "2027-02-30" is not a date of the calendar`},
		{"a date in another format", entry("expires", "30/04/2027"), `expires "30/04/2027": want a date YYYY-MM-DD`},
		{"a date with a time", entry("expires", "2027-04-30T10:00:00Z"), `expires "2027-04-30T10:00:00Z": want a date YYYY-MM-DD`},
		{"an approval in the future", entry("approved_on", "2026-11-26"), "approved_on 2026-11-26 is in the future: write the day it was approved"},
		{"an expiry before the approval: past-dated when made", entry("expires", "2026-11-01"), "expires 2026-11-01 is before approved_on 2026-11-02: an exception cannot expire before it is approved"},
		{"an exception of more than 366 days", entry("expires", "2027-11-04"), "expires 2027-11-04 is 367 days after approved_on 2026-11-02: an exception lasts at most 366 days; approve it again before then"},
		{"a YAML alias", "version: 1\nexceptions:\n  - &a {account: \"333333333303\"}\n  - *a\n", "line 3: YAML anchors and aliases are not accepted: write each entry out"},
		{"an entry that is a string", "version: 1\nexceptions:\n  - account 333333333303\n", "entry 1 (line 3): line 3: an entry: want a mapping with the fields"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := ParseExceptions([]byte(tt.file), today)
			if err == nil {
				t.Fatalf("accepted:\n%s", tt.file)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q\nwant it to contain %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error of more than one line: %q", err)
			}
		})
	}
}

func TestAnExceptionLastsThroughItsExpiryDay(t *testing.T) {
	t.Parallel()
	e := &Entry{Expires: mustDate("2026-11-25")}
	for _, tc := range []struct {
		at   time.Time
		live bool
	}{
		{time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC), true},
		{time.Date(2026, 11, 25, 23, 59, 59, 0, time.UTC), true},
		{time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC), false},
	} {
		if got := e.Live(tc.at); got != tc.live {
			t.Errorf("Live(%v) = %v, want %v", tc.at, got, tc.live)
		}
	}
}

func parse(t *testing.T, file string) *Exceptions {
	t.Helper()
	x, err := ParseExceptions([]byte(file), today)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// TestExceptionsAcceptWhatTheyNameUntilTheyExpire applies a file to
// accounts and judges every entry at the end of the run.
func TestExceptionsAcceptWhatTheyNameUntilTheyExpire(t *testing.T) {
	t.Parallel()
	x := parse(t, `version: 1
exceptions:
  - account: "333333333303"          # 1: break-glass, hardware MFA only
    accept: [password, mfa_hardware]
    reason: break-glass
    approved_by: ciso
    approved_on: 2026-11-02
    expires: 2027-04-30
  - account: "444444444405"          # 2: expired
    accept: [signing_certificate]
    reason: legacy signing
    approved_by: ciso
    approved_on: 2025-11-01
    expires: 2026-10-31
  - ou: ou-d3m0-sandbox1             # 3: an OU by ID, nothing to accept there
    accept: [access_key]
    reason: sandbox keys
    approved_by: ciso
    approved_on: 2026-11-01
    expires: 2027-01-31
  - account: "999999999999"          # 4: not in the organization
    accept: [password]
    reason: gone
    approved_by: ciso
    approved_on: 2026-11-01
    expires: 2027-01-31
  - ou: Root/Production              # 5: an OU path of names, covering an OU below
    accept: [password]
    reason: prod passwords
    approved_by: ciso
    approved_on: 2026-11-01
    expires: 2027-01-31
  - account: "111111111111"          # 6: the management account, never audited
    accept: [password]
    reason: management
    approved_by: ciso
    approved_on: 2026-11-01
    expires: 2027-01-31
`)
	tally := x.NewTally()
	prodEU := Path{Names: "Root/Production/Production-EU", IDs: "r-d3m0/ou-d3m0-prod0001/ou-d3m0-prodeu01"}
	f303 := Open([]Credential{{KindPassword, "2022-03-01T00:00:00Z"}, {KindMFAHardware, "GAHT12345678"}, {KindMFAVirtual, "arn:aws:iam::333333333303:mfa/x"}})
	x.Apply(tally, today, "333333333303", prodEU, true, f303)
	f405 := Open([]Credential{{KindSigningCertificate, "CERT"}})
	x.Apply(tally, today, "444444444405", Path{Names: "Root/Development", IDs: "r-d3m0/ou-d3m0-dev00001"}, true, f405)
	x.Apply(tally, today, "555555555501", Path{Names: "Root/Sandbox", IDs: "r-d3m0/ou-d3m0-sandbox1"}, true, nil)
	x.Apply(tally, today, "111111111111", Path{Names: "Root", IDs: "r-d3m0"}, false, nil)

	brief := func(fs []Finding) string {
		var parts []string
		for _, f := range fs {
			s := f.Kind + "=" + f.Status
			if f.Exception != nil {
				s += "(" + f.Exception.Expires.String()
				if f.Exception.Expired {
					s += " expired"
				}
				s += ")"
			}
			parts = append(parts, s)
		}
		return strings.Join(parts, " ")
	}
	// The password is accepted by entry 1, which outlasts entry 5.
	if got, want := brief(f303), "password=accepted(2027-04-30) mfa_hardware=accepted(2027-04-30) mfa_virtual=open"; got != want {
		t.Errorf("333333333303: %s\nwant %s", got, want)
	}
	if got, want := brief(f405), "signing_certificate=open(2026-10-31 expired)"; got != want {
		t.Errorf("444444444405: %s\nwant %s", got, want)
	}
	var got []string
	for _, r := range x.Judge(tally, today, true) {
		got = append(got, r.Status+": "+r.Detail)
	}
	want := []string{
		"accepted: accepts 2 findings until 2027-04-30",
		"expired: expired on 2026-10-31: remove the credentials, or renew the exception (a new approved_on and expires)",
		"unmatched: no account under OU ou-d3m0-sandbox1 holds any of access_key: delete the entry",
		"unmatched: 999999999999 is not an account of the organization: correct or delete the entry",
		"unmatched: no account under OU Root/Production holds any of password: delete the entry",
		"not_audited: no account it names was audited in this run (skipped, or an error)",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("judged:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// Entry 5 accepted nothing because entry 1 took the password; the
	// staleness of each is what Stale says.
	stale := 0
	for _, r := range x.Judge(tally, today, true) {
		if r.Stale() {
			stale++
		}
	}
	if stale != 4 {
		t.Errorf("%d stale entries, want 4", stale)
	}
	// A run of part of the organization cannot tell that 999999999999 is
	// not in it.
	if r := x.Judge(tally, today, false)[3]; r.Status != ExceptionNotAudited || r.Detail != "outside this run's selection" {
		t.Errorf("entry 4 in a selected run: %s: %s", r.Status, r.Detail)
	}
	// The day after entry 1 expires, its findings are open again and it is stale.
	later := mustDate("2027-05-01").t
	f303 = Open([]Credential{{KindPassword, "2022-03-01T00:00:00Z"}})
	tally = x.NewTally()
	x.Apply(tally, later, "333333333303", prodEU, true, f303)
	if got, want := brief(f303), "password=open(2027-04-30 expired)"; got != want {
		t.Errorf("after the expiry: %s, want %s", got, want)
	}
	if r := x.Judge(tally, later, true)[0]; r.Status != ExceptionExpired {
		t.Errorf("entry 1 after its expiry: %s", r.Status)
	}
}

func TestOUEntriesWithoutPathsAreNotJudged(t *testing.T) {
	t.Parallel()
	x := parse(t, "version: 1\nexceptions:\n- ou: Root/Sandbox\n  accept: [password]\n  reason: r\n  approved_by: a\n  approved_on: 2026-11-01\n  expires: 2027-01-01\n")
	tally := x.NewTally()
	x.Apply(tally, today, "555555555502", Path{IDs: "r-d3m0/ou-d3m0-sandbox1"}, true, Open([]Credential{{KindPassword, "t"}}))
	r := x.Judge(tally, today, true)[0]
	if r.Status != ExceptionNotAudited || r.Stale() {
		t.Errorf("an OU path of names with no names known: %s: %s", r.Status, r.Detail)
	}
}
