package evidence

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"
)

// exceptionsSchema compiles docs/exceptions.schema.json, the JSON Schema
// published for editors and CI checks of exceptions files.
func exceptionsSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	const path = "../docs/exceptions.schema.json"
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(path, doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile(path)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// asJSON reads a YAML document as the JSON value a schema validator sees:
// YAML's unquoted dates are the strings they were written as.
func asJSON(t *testing.T, file string) any {
	t.Helper()
	var v any
	if err := yaml.Unmarshal([]byte(file), &v); err != nil {
		t.Fatal(err)
	}
	var conv func(any) any
	conv = func(v any) any {
		switch x := v.(type) {
		case time.Time:
			return x.Format(time.DateOnly)
		case map[string]any:
			for k, e := range x {
				x[k] = conv(e)
			}
		case []any:
			for i, e := range x {
				x[i] = conv(e)
			}
		case int:
			return jsonschemaNumber(x)
		}
		return v
	}
	return conv(v)
}

// jsonschemaNumber is a YAML integer as the validator's JSON number.
func jsonschemaNumber(n int) any {
	v, _ := jsonschema.UnmarshalJSON(strings.NewReader(fmt.Sprint(n)))
	return v
}

// TestTheJSONSchemaAgreesWithTheParser: the published schema accepts what
// rootctl accepts and refuses what it refuses, but for the rules a schema
// cannot express (docs/exceptions.md lists them), which only rootctl checks.
func TestTheJSONSchemaAgreesWithTheParser(t *testing.T) {
	t.Parallel()
	schema := exceptionsSchema(t)
	demo, err := os.ReadFile("../fixtures/orgs/demo-exceptions.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name         string
		file         string
		schemaAccept bool
		parserAccept bool
	}{
		{"the demo organization's file", string(demo), true, true},
		{"a good entry", entry("", ""), true, true},
		{"an OU path of names", entry("account", "") + "    ou: Root/Production\n", true, true},
		{"an unknown field", entry("owner", "me"), false, false},
		{"an unknown kind", entry("accept", "[password, mfa]"), false, false},
		{"an empty accept list", entry("accept", "[]"), false, false},
		{"a kind twice", entry("accept", "[password, password]"), false, false},
		{"an unquoted account ID", entry("account", "333333333303"), false, false},
		{"a short account ID", entry("account", `"3333"`), false, false},
		{"an account and an OU", entry("ou", "ou-d3m0-sandbox1"), false, false},
		{"neither an account nor an OU", entry("account", ""), false, false},
		{"no reason", entry("reason", ""), false, false},
		{"a blank reason", entry("reason", `"  "`), false, false},
		{"a reason of two lines", entry("reason", `"a\nb"`), false, false},
		{"a reason too long", entry("reason", strings.Repeat("x", 513)), false, false},
		{"a date in another format", entry("expires", "30/04/2027"), false, false},
		{"another version", "version: 2\nexceptions: []\n", false, false},
		{"no exceptions list", "version: 1\n", false, false},
		// Beyond the schema: only rootctl checks these.
		{"a date not on the calendar", entry("expires", "2027-02-30"), true, false},
		{"an expiry before the approval", entry("expires", "2026-11-01"), true, false},
		{"an exception of more than 366 days", entry("expires", "2027-11-04"), true, false},
		{"an approval after the day of the run", entry("approved_on", "2026-11-26"), true, false},
		{"a reason with a bidi override", entry("reason", "\"ok \u202e kO\""), true, false},
		{"an OU ID that is malformed", entry("account", "") + "    ou: ou-bad\n", true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, perr := ParseExceptions([]byte(tt.file), today)
			if (perr == nil) != tt.parserAccept {
				t.Errorf("rootctl: accepted %v (%v), want %v", perr == nil, perr, tt.parserAccept)
			}
			serr := schema.Validate(asJSON(t, tt.file))
			if (serr == nil) != tt.schemaAccept {
				t.Errorf("schema: accepted %v (%v), want %v", serr == nil, serr, tt.schemaAccept)
			}
		})
	}
}
