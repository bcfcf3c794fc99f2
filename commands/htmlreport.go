package commands

import (
	_ "embed"
	"html/template"
	"io"
	"sort"
	"strings"

	"github.com/rootctl/rootctl/evidence"
	"github.com/rootctl/rootctl/orgrun"
	"github.com/rootctl/rootctl/orgscan"
)

// auditPageSource is the page of `audit -o html`: one self-contained file
// (inline CSS and SVG, no script, nothing fetched) that is also well-formed
// XML, so that a test can parse it. html/template escapes every value
// from AWS and from the exceptions file.
//
//go:embed auditreport.html
var auditPageSource string

var auditPage = template.Must(template.New("audit").Funcs(template.FuncMap{"join": strings.Join}).Parse(auditPageSource))

// htmlAuditPage is what the page shows.
type htmlAuditPage struct {
	Version    string
	Org        orgscan.Organization
	When       string
	Summary    AuditSummary
	Chart      htmlChart
	Checks     []htmlCheck
	Rows       []htmlRow
	Exceptions *ExceptionsReport
	Drift      *DriftReport
	LeftJudged bool
}

type htmlRow struct {
	ID, Name, OU, Result, Class string
	Credentials, Exception      []string
	Drift                       []string
}

type htmlCheck struct {
	Title, CIS, SecurityHub       string
	Pass, Fail, Accepted, Unknown int
}

// htmlChart is a horizontal bar chart of findings by OU: open in red,
// accepted in amber.
type htmlChart struct {
	Width, Height int
	Bars          []htmlBar
}

type htmlBar struct {
	OU                                     string
	Open, Accepted                         int
	X, Y, TextY, OpenW, AccX, AccW, CountX int
}

// The chart's geometry, in pixels.
const (
	chartLabel = 280 // the OU names
	chartBars  = 360 // the longest bar
	chartRow   = 26
)

func (r *AuditReport) writeHTML(w io.Writer) error {
	p := htmlAuditPage{Version: currentVersion().Version, Org: r.Organization, Summary: r.Summary,
		When: r.GeneratedAt.UTC().Format("2006-01-02 15:04:05 UTC"), Exceptions: r.Exceptions, Drift: r.Drift,
		LeftJudged: r.Drift != nil && r.Drift.AccountsLeft != nil}
	byOU := map[string]*htmlBar{}
	for _, a := range r.Accounts {
		ou := ouOf(a.Account)
		if ou == "" {
			ou = "(OU not known)"
		}
		row := htmlRow{ID: a.ID, Name: a.Name, OU: ou, Result: resultCell(a), Class: "other",
			Exception: cellLines(exceptionCell(a)), Drift: cellLines(driftCell(a))}
		switch {
		case allAccepted(a):
			row.Class = "accepted"
		case a.Status == orgrun.StatusRootCredentials:
			row.Class = "open"
		case a.Status == orgrun.StatusCompliant:
			row.Class = "compliant"
		}
		c := evidence.Count(a.Items)
		for _, f := range a.Items {
			if f.Status != evidence.StatusResolved {
				row.Credentials = append(row.Credentials, credLine(a, f))
			}
		}
		if c.Open+c.Accepted > 0 {
			b := byOU[ou]
			if b == nil {
				b = &htmlBar{OU: ou}
				byOU[ou] = b
			}
			b.Open += c.Open
			b.Accepted += c.Accepted
		}
		p.Rows = append(p.Rows, row)
	}
	p.Chart = chart(byOU)
	p.Checks = checkTotals(r.compliance())
	return auditPage.Execute(w, p)
}

// credLine describes one credential for the page: kind, ID, and the dates
// the audit read.
func credLine(a AccountResult, f evidence.Finding) string {
	s := credShort(f.Credential)
	switch f.Kind {
	case evidence.KindPassword:
		if a.Findings != nil && a.Findings.Password != nil {
			s += ", set " + day(a.Findings.Password.Created)
		}
	case evidence.KindAccessKey:
		for _, k := range a.Findings.AccessKeys {
			if k.ID == f.ID {
				use := "never used"
				if k.LastUsed != nil {
					use = "last used " + day(*k.LastUsed)
				}
				s += ", " + k.Status + ", " + use
			}
		}
	}
	if f.Status == evidence.StatusAccepted {
		s += " (accepted)"
	}
	if f.Drift == evidence.DriftNew {
		s += " (new)"
	}
	return s
}

// chart lays out one bar per OU with findings, sorted by OU.
func chart(byOU map[string]*htmlBar) htmlChart {
	var bars []htmlBar
	most := 0
	for _, b := range byOU {
		bars = append(bars, *b)
		most = max(most, b.Open+b.Accepted)
	}
	sort.Slice(bars, func(i, j int) bool { return bars[i].OU < bars[j].OU })
	for i := range bars {
		b := &bars[i]
		b.Y = 10 + i*chartRow
		b.TextY = b.Y + 13
		b.X = chartLabel
		b.OpenW = b.Open * chartBars / most
		b.AccX = b.X + b.OpenW
		b.AccW = b.Accepted * chartBars / most
		b.CountX = b.AccX + b.AccW + 8
	}
	return htmlChart{Width: chartLabel + chartBars + 160, Height: 20 + len(bars)*chartRow, Bars: bars}
}

// checkTotals counts each check's results over the accounts.
func checkTotals(set complianceSet) []htmlCheck {
	out := make([]htmlCheck, len(evidence.Checks))
	for i, c := range evidence.Checks {
		out[i] = htmlCheck{Title: c.Title, CIS: c.CIS.Benchmark() + " " + c.CIS.ID, SecurityHub: orDashText(c.SecurityHub)}
	}
	for _, a := range set.Accounts {
		for i, r := range a.Results {
			switch {
			case r.Status == evidence.CheckPass:
				out[i].Pass++
			case r.Status == evidence.CheckUnknown:
				out[i].Unknown++
			case r.Accepted != nil:
				out[i].Accepted++
			default:
				out[i].Fail++
			}
		}
	}
	return out
}

// cellLines are a table cell's lines, none for "-".
func cellLines(t termText) []string {
	if t == "-" {
		return nil
	}
	return strings.Split(string(t), "\n")
}

func orDashText(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
