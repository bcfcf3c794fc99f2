package commands

import (
	"bytes"
	"context"
	"encoding/csv"
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"

	"github.com/rootctl/rootctl/fixtures"
	"github.com/rootctl/rootctl/unlock"
)

func TestTermSafe(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, in, want string
	}{
		{"plain ASCII is kept", "prod-app 333333333304 a@b.c", "prod-app 333333333304 a@b.c"},
		{"letters of any script are kept", "Produktion é 日本 🚀", "Produktion é 日本 🚀"},
		{"backslashes are kept", `C:\x1b`, `C:\x1b`},
		{"a line feed would start a new row", "a\nb", `a\nb`},
		{"a carriage return would overwrite the row", "a\rb", `a\rb`},
		{"a tab is shown", "a\tb", `a\tb`},
		{"escape sequences are shown, not run", "\x1b[2J\x1b]0;title\x07", `\x1b[2J\x1b]0;title\x07`},
		{"NUL, backspace and DEL are shown", "\x00\b\x7f", `\x00\x08\x7f`},
		{"C1 controls (8-bit CSI, NEL) are shown", "a\u009b2Jb\u0085", `a\u009b2Jb\u0085`},
		{"bidi overrides are shown", "\u202aa\u202bb\u202cc\u202dd\u202ee", `\u202aa\u202bb\u202cc\u202dd\u202ee`},
		{"bidi isolates are shown", "\u2066a\u2067b\u2068c\u2069", `\u2066a\u2067b\u2068c\u2069`},
		{"zero-width characters and marks are shown", "a\u200bb\u200cc\u200dd\u200ee\u200ff", `a\u200bb\u200cc\u200dd\u200ee\u200ff`},
		{"other invisible format characters are shown", "\ufeffa\u2060b\u00adc\U000e0001", `\ufeffa\u2060b\u00adc\U000e0001`},
		{"line and paragraph separators are shown", "a\u2028b\u2029c", `a\u2028b\u2029c`},
		{"bytes that are not UTF-8 are shown", "a\x9b2J\xffb", `a\x9b2J\xffb`},
	} {
		if got := termSafe(tc.in); got != tc.want {
			t.Errorf("%s: termSafe(%q) = %q, want %q", tc.name, tc.in, got, tc.want)
		}
		if got := termSafe(tc.in); !terminalSafe(got) {
			t.Errorf("%s: %q is not safe for a terminal", tc.name, got)
		}
	}
}

func TestCSVCell(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, in, want string
	}{
		{"a formula is quoted", "=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"},
		{"a plus sign starts a formula", "+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"},
		{"a minus sign starts a formula", "-2+3", "'-2+3"},
		{"an at sign starts a formula", "@SUM(A1)", "'@SUM(A1)"},
		{"a leading tab is quoted", "\t=1", "'\t=1"},
		{"a leading carriage return is quoted", "\r=1", "'\r=1"},
		{"an equals sign inside is kept", "team=a", "team=a"},
		{"a number is kept", "42", "42"},
		{"empty stays empty", "", ""},
	} {
		if got := csvCell(tc.in); got != tc.want {
			t.Errorf("%s: csvCell(%q) = %q, want %q", tc.name, tc.in, got, tc.want)
		}
	}
}

// terminalSafe reports whether s holds nothing a terminal acts on or hides
// but line breaks.
func terminalSafe(s string) bool {
	for i, r := range s {
		if r == utf8.RuneError && !strings.HasPrefix(s[i:], "\uFFFD") {
			return false
		}
		if r != '\n' && (unicode.Is(unicode.Cc, r) || unicode.Is(unicode.Cf, r) || r == '\u2028' || r == '\u2029') {
			return false
		}
	}
	return true
}

// hostileName is an account name that tries to forge a plan row, clear the
// screen and reverse the text after it.
const (
	hostileName    = "evil\n  222222222299 forged row\x1b[2J\u202egnp.exe\u200b"
	hostileEscaped = `evil\n  222222222299 forged row\x1b[2J\u202egnp.exe\u200b`
)

// hostileOrg is the demo organization with a hostile name, e-mail and OU
// name on account 333333333304, which has root credentials, and a locked
// bucket whose policy's Sid holds bidi and zero-width characters.
func hostileOrg(t *testing.T) *fixtures.Org {
	org := demoOrg(t)
	for i := range org.Accounts {
		a := &org.Accounts[i]
		switch a.ID {
		case "333333333304":
			a.Name, a.Email = hostileName, "=cmd|' /C calc'!A0@example.com"
		case "444444444402":
			a.Name = "=HYPERLINK(\"http://evil\")"
			a.Buckets[0].Policy = `{"Version":"2012-10-17","Statement":[{"Sid":"Deny` + "\u202e\u200b" + `All","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::dev-tools-artifacts","arn:aws:s3:::dev-tools-artifacts/*"]}]}`
		}
	}
	return org
}

// TestHostileNamesAreEscapedInEveryTable runs every command that prints a
// table or a plan with names from the organization: the hostile name
// appears escaped on the row of its own account, and the output holds no
// control or format character but line breaks.
func TestHostileNamesAreEscapedInEveryTable(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		args []string
		want []string // each on the line of account 333333333304 or 444444444402
	}{
		{"audit table", []string{"audit", "--accounts", "333333333304"}, []string{"333333333304 │ " + hostileEscaped}},
		{"delete plan and table", []string{"delete", "--accounts", "333333333304", "--reason", "r", "--dry-run"},
			[]string{"  333333333304 " + hostileEscaped, "333333333304 │ " + hostileEscaped}},
		{"recovery plan", []string{"recovery", "--accounts", "333333333304", "--reason", "r", "--dry-run"}, []string{"  333333333304 " + hostileEscaped}},
		{"locks table", []string{"locks", "--accounts", "444444444402", "--reason", "r"}, []string{`444444444402 │ =HYPERLINK("http://evil") │ Root/Development │ dev-tools-artifacts`, `Deny\u202e\u200bAll`}},
		{"unlock shows the policy", []string{"unlock", "s3", "--account", "444444444402", "--bucket", "dev-tools-artifacts", "--reason", "r", "--dry-run"},
			[]string{`"Sid": "Deny\u202e\u200bAll"`}},
		{"hook report", []string{"hook", "account-created", "--account-id", "333333333304", "-o", "table"}, []string{"Account:   333333333304 " + hostileEscaped + " =cmd|' /C calc'!A0@example.com ACTIVE"}},
	} {
		h := newHarness(t, hostileOrg(t), fixtures.Options{})
		_, out, stderr := h.run(tc.args...)
		if !terminalSafe(out) || !terminalSafe(stderr) {
			t.Errorf("%s: output holds control or format characters:\n%q\n%q", tc.name, out, stderr)
		}
		for _, w := range tc.want {
			if !strings.Contains(out, w) {
				t.Errorf("%s: no line with %q in\n%s", tc.name, w, out)
			}
		}
		if strings.Contains(out, "\n  222222222299 forged") {
			t.Errorf("%s: the name forged a row:\n%s", tc.name, out)
		}
	}
}

// TestHostileTextFromCloudTrail: a user agent with bidi, C1 and formula
// characters (what a caller can put in the User-Agent header of an
// AssumeRoot call) is escaped in the activity table and neutralised in
// its CSV.
func TestHostileTextFromCloudTrail(t *testing.T) {
	t.Parallel()
	h := newHarness(t, demoOrg(t), fixtures.Options{})
	const ua = "=HYPERLINK(\"http://evil\")\t\u202e\u009b2J"
	cfg := aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(h.srv.URL()),
		Credentials: credentials.NewStaticCredentialsProvider(h.creds.AccessKeyID, h.creds.SecretAccessKey, ""),
		HTTPClient: clientFunc(func(r *http.Request) (*http.Response, error) {
			r.Header.Set("User-Agent", ua)
			return http.DefaultClient.Do(r)
		})}
	_, err := sts.NewFromConfig(cfg).AssumeRoot(context.Background(), &sts.AssumeRootInput{TargetPrincipal: aws.String("333333333304"),
		TaskPolicyArn: &ststypes.PolicyDescriptorType{Arn: aws.String("arn:aws:iam::aws:policy/root-task/IAMAuditRootUserCredentials")}})
	if err != nil {
		t.Fatal(err)
	}
	// activity's window ends at the current second: the event must be older.
	h.srv.Advance(time.Minute)

	code, out, stderr := h.run("activity")
	if code != ExitOK || !terminalSafe(out) || !strings.Contains(out, `=HYPERLINK("http://evil")\t\u202e\u009b2J`) {
		t.Errorf("activity table: exit %d, %s\n%q", code, stderr, out)
	}
	code, out, stderr = h.run("activity", "-o", "csv")
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if code != ExitOK || err != nil || len(rows) != 2 || rows[1][7] != "'"+ua {
		t.Errorf("activity CSV: exit %d, %v, %s\n%q", code, err, stderr, out)
	}
}

type clientFunc func(*http.Request) (*http.Response, error)

func (f clientFunc) Do(r *http.Request) (*http.Response, error) { return f(r) }

// TestAuditCSVNeutralisesFormulas: names and e-mails that a spreadsheet
// would run as formulas get a leading quote; nothing else changes.
func TestAuditCSVNeutralisesFormulas(t *testing.T) {
	t.Parallel()
	h := newHarness(t, hostileOrg(t), fixtures.Options{})
	code, out, stderr := h.run("audit", "--accounts", "333333333304,444444444402", "-o", "csv")
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if code != ExitFindings || err != nil || len(rows) != 3 {
		t.Fatalf("exit %d, %v, %s\n%s", code, err, stderr, out)
	}
	if got := rows[1][:3]; got[0] != "333333333304" || got[1] != hostileName || got[2] != "'=cmd|' /C calc'!A0@example.com" {
		t.Errorf("row of 333333333304 = %q", got)
	}
	if got := rows[2][:2]; got[0] != "444444444402" || got[1] != "'=HYPERLINK(\"http://evil\")" {
		t.Errorf("row of 444444444402 = %q", got)
	}
}

// TestShowPolicyEscapesTextThatIsNotJSON: a policy that is not JSON (which
// json.Indent would leave as it is) is printed escaped on one line.
func TestShowPolicyEscapesTextThatIsNotJSON(t *testing.T) {
	t.Parallel()
	policy := "not json\n\x1b[2JAnalysis: no statement locks everyone out."
	var out bytes.Buffer
	showPolicy(&out, &unlock.State{Resource: unlock.Resource{Service: unlock.S3, Account: "444444444402", Name: "b"}, Policy: &policy})
	want := `  not json\n\x1b[2JAnalysis: no statement locks everyone out.` + "\n"
	if !strings.Contains(out.String(), want) || !terminalSafe(out.String()) {
		t.Errorf("showPolicy printed\n%q\nwant the line %q", out.String(), want)
	}
}

// TestErrorLinesAreEscaped: the one error line rootctl prints holds no
// control character, even when the error's text (here from AWS) does.
func TestErrorLinesAreEscaped(t *testing.T) {
	t.Parallel()
	var out, errOut bytes.Buffer
	code := Run(context.Background(), []string{"rootctl", "status"}, &Deps{IO: &IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut},
		LoadAWS: func(context.Context, AWSOptions, *IOStreams) (*Env, error) {
			return nil, &exitError{code: ExitFailure, err: errorString("AccessDenied: no\n\x1b[2Jrootctl: all good")}
		}})
	if code != ExitFailure || errOut.String() != `rootctl: AccessDenied: no\n\x1b[2Jrootctl: all good`+"\n" {
		t.Errorf("exit %d, stderr %q", code, errOut.String())
	}
}

type errorString string

func (e errorString) Error() string { return string(e) }

// TestRenderersPrintOnlyThroughTermSafe keeps printing in one place: in
// the commands package only output.go may call fmt's printing functions or
// use tablewriter and encoding/csv, and only output.go and iostreams.go may
// make termText. Every other file prints with printf, Infof, table or
// csvWriter, which escape what they are given.
func TestRenderersPrintOnlyThroughTermSafe(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	printing := map[string]bool{"Print": true, "Printf": true, "Println": true, "Fprint": true, "Fprintf": true, "Fprintln": true}
	for _, file := range files {
		base := filepath.Base(file)
		if strings.HasSuffix(base, "_test.go") || base == "output.go" {
			continue
		}
		src, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(token.NewFileSet(), file, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			if p := strings.Trim(imp.Path.Value, `"`); p == "encoding/csv" || strings.HasPrefix(p, "github.com/olekukonko/tablewriter") {
				t.Errorf("%s imports %s: write tables with newTable and CSV with newCSV (output.go), which escape every cell", file, p)
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			switch fn := call.Fun.(type) {
			case *ast.SelectorExpr:
				if x, ok := fn.X.(*ast.Ident); ok && x.Name == "fmt" && printing[fn.Sel.Name] {
					t.Errorf("%s calls fmt.%s: print with printf (output.go), which makes every argument safe with termSafe", file, fn.Sel.Name)
				}
			case *ast.Ident:
				if fn.Name == "termText" && base != "iostreams.go" {
					t.Errorf("%s makes termText: only output.go and iostreams.go may declare text safe", file)
				}
			}
			return true
		})
	}
}

// TestColorEscapesItsText: colour is rootctl's own escape sequence around
// text that is escaped, on a terminal or not.
func TestColorEscapesItsText(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		io   IOStreams
		want termText
	}{
		{"on a colour terminal", IOStreams{OutTTY: true}, "\x1b[31mAccessDenied\\x1b[2J\\u202e\x1b[0m"},
		{"in a pipe", IOStreams{}, `AccessDenied\x1b[2J\u202e`},
		{"with NO_COLOR", IOStreams{OutTTY: true, NoColor: true}, `AccessDenied\x1b[2J\u202e`},
	} {
		if got := tc.io.Color(colorRed, "AccessDenied\x1b[2J\u202e"); got != tc.want {
			t.Errorf("%s: Color = %q, want %q", tc.name, got, tc.want)
		}
	}
}
