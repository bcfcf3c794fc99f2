package commands

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"

	"github.com/rootctl/rootctl/awsconfig"
	"github.com/rootctl/rootctl/awserr"
	"github.com/rootctl/rootctl/evidence"
	"github.com/rootctl/rootctl/orgscan"
)

// complianceReport is a report whose accounts are judged by compliance
// checks (evidence.Checks): it exports as OCSF and as ASFF.
type complianceReport interface {
	report
	compliance() complianceSet
}

// complianceSet is every check of every account of a report.
type complianceSet struct {
	Region   string // the region the ASFF findings are imported into
	Importer string // the account that imports them (ASFF), "" when not needed
	Accounts []complianceAccount
}

type complianceAccount struct {
	Account orgscan.Account
	Results []evidence.CheckResult
}

// findingID is the stable ID of one check of one account: the same
// organization, account and check give the same ID in every run, so that a
// platform updates its finding instead of adding one.
func findingID(org, account string, c *evidence.Check) string {
	return "rootctl/" + org + "/" + account + "/" + c.ID
}

// acceptedNote says which exception accepts a failure.
func acceptedNote(a *evidence.Acceptance) string {
	return fmt.Sprintf("Accepted by exception %d until %s: %s (approved by %s).", a.Entry, a.Expires, a.Reason, a.ApprovedBy)
}

// ocsfVersion is the OCSF schema version of -o ocsf.
const ocsfVersion = "1.3.0"

// ocsfEvent is an OCSF Compliance Finding (class_uid 2003) with the cloud
// profile. Field names and types follow the OCSF 1.3.0 schema; a test
// validates every event against it (testdata/ocsf-1.3.0-compliance_finding.schema.json).
type ocsfEvent struct {
	ActivityID   int    `json:"activity_id"`
	ActivityName string `json:"activity_name"`
	CategoryUID  int    `json:"category_uid"`
	CategoryName string `json:"category_name"`
	ClassUID     int    `json:"class_uid"`
	ClassName    string `json:"class_name"`
	TypeUID      int    `json:"type_uid"`
	TypeName     string `json:"type_name"`
	SeverityID   int    `json:"severity_id"`
	Severity     string `json:"severity"`
	Time         int64  `json:"time"`
	Message      string `json:"message"`
	// Status is the finding's workflow: New (open), Suppressed (accepted
	// by an exception), Resolved (passing).
	StatusID     int    `json:"status_id"`
	Status       string `json:"status"`
	StatusDetail string `json:"status_detail"`
	Comment      string `json:"comment,omitempty"`

	Metadata    ocsfMetadata    `json:"metadata"`
	FindingInfo ocsfFindingInfo `json:"finding_info"`
	Compliance  ocsfCompliance  `json:"compliance"`
	Remediation ocsfRemediation `json:"remediation"`
	Resources   []ocsfResource  `json:"resources"`
	Cloud       ocsfCloud       `json:"cloud"`
}

type ocsfMetadata struct {
	Version  string      `json:"version"`
	Product  ocsfProduct `json:"product"`
	Profiles []string    `json:"profiles"`
}

type ocsfProduct struct {
	Name       string `json:"name"`
	VendorName string `json:"vendor_name"`
	Version    string `json:"version"`
}

type ocsfFindingInfo struct {
	UID         string   `json:"uid"`
	Title       string   `json:"title"`
	Desc        string   `json:"desc"`
	Types       []string `json:"types"`
	CreatedTime int64    `json:"created_time"`
}

type ocsfCompliance struct {
	Standards    []string `json:"standards"`
	Requirements []string `json:"requirements"`
	Control      string   `json:"control"`
	StatusID     int      `json:"status_id"`
	Status       string   `json:"status"`
	StatusDetail string   `json:"status_detail"`
}

type ocsfRemediation struct {
	Desc       string   `json:"desc"`
	References []string `json:"references"`
}

type ocsfResource struct {
	Type           string     `json:"type"`
	UID            string     `json:"uid"`
	Name           string     `json:"name,omitempty"`
	CloudPartition string     `json:"cloud_partition"`
	Group          *ocsfGroup `json:"group,omitempty"`
}

type ocsfGroup struct {
	UID  string `json:"uid,omitempty"`
	Name string `json:"name,omitempty"`
}

type ocsfCloud struct {
	Provider string      `json:"provider"`
	Region   string      `json:"region,omitempty"`
	Account  ocsfAccount `json:"account"`
	Org      ocsfOrg     `json:"org"`
}

type ocsfAccount struct {
	UID    string `json:"uid"`
	Name   string `json:"name,omitempty"`
	TypeID int    `json:"type_id"`
	Type   string `json:"type"`
}

type ocsfOrg struct {
	UID    string `json:"uid"`
	OUUID  string `json:"ou_uid,omitempty"`
	OUName string `json:"ou_name,omitempty"`
}

// OCSF enumerations rootctl uses.
var (
	ocsfComplianceStatus = map[string]struct {
		id      int
		caption string
	}{evidence.CheckPass: {1, "Pass"}, evidence.CheckFail: {3, "Fail"}, evidence.CheckUnknown: {2, "Warning"}}
	ocsfSeverity = map[string]struct {
		id      int
		caption string
	}{"INFORMATIONAL": {1, "Informational"}, "HIGH": {4, "High"}, "CRITICAL": {5, "Critical"}}
)

// controlOf is the control a check is: its Security Hub control, or
// rootctl's own.
func controlOf(c *evidence.Check) string {
	if c.SecurityHub != "" {
		return c.SecurityHub
	}
	return "rootctl/" + c.ID
}

// ocsfEvents is one Compliance Finding per account and check.
func ocsfEvents(h Header, set complianceSet) []ocsfEvent {
	at := h.GeneratedAt.UnixMilli()
	version := currentVersion().Version
	out := []ocsfEvent{}
	for _, a := range set.Accounts {
		path := ouPathOf(a.Account)
		ouID := path.IDs[strings.LastIndex(path.IDs, "/")+1:]
		var group *ocsfGroup
		if path.IDs != "" || path.Names != "" {
			group = &ocsfGroup{UID: ouID, Name: path.Names}
		}
		for _, r := range a.Results {
			c := r.Check
			sev, status, statusID := "INFORMATIONAL", "Resolved", 4
			switch {
			case r.Status == evidence.CheckFail && r.Accepted != nil:
				sev, status, statusID = c.Severity, "Suppressed", 3
			case r.Status == evidence.CheckFail:
				sev, status, statusID = c.Severity, "New", 1
			case r.Status == evidence.CheckUnknown:
				status, statusID = "New", 1
			}
			comp := ocsfComplianceStatus[r.Status]
			e := ocsfEvent{
				ActivityID: 1, ActivityName: "Create", CategoryUID: 2, CategoryName: "Findings",
				ClassUID: 2003, ClassName: "Compliance Finding", TypeUID: 200301, TypeName: "Compliance Finding: Create",
				SeverityID: ocsfSeverity[sev].id, Severity: ocsfSeverity[sev].caption, Time: at,
				Message:  fmt.Sprintf("%s: %s (account %s)", c.Title, comp.caption, a.Account.ID),
				StatusID: statusID, Status: status, StatusDetail: r.Detail,
				Metadata: ocsfMetadata{Version: ocsfVersion, Profiles: []string{"cloud"},
					Product: ocsfProduct{Name: "rootctl", VendorName: "rootctl", Version: version}},
				FindingInfo: ocsfFindingInfo{UID: findingID(h.OrganizationID, a.Account.ID, c), Title: c.Title,
					Desc: c.Title + " (" + c.CIS.String() + ")", Types: []string{"Root credentials"}, CreatedTime: at},
				Compliance: ocsfCompliance{Standards: []string{c.CIS.Benchmark()}, Requirements: []string{c.CIS.String()},
					Control: controlOf(c), StatusID: comp.id, Status: comp.caption, StatusDetail: r.Detail},
				Remediation: ocsfRemediation{Desc: c.Remediation(a.Account.ID), References: c.References},
				Resources: []ocsfResource{{Type: "AWS::::Account", UID: a.Account.ID, Name: a.Account.Name,
					CloudPartition: partitionOf(set.Region), Group: group}},
				Cloud: ocsfCloud{Provider: "AWS", Region: set.Region,
					Account: ocsfAccount{UID: a.Account.ID, Name: a.Account.Name, TypeID: 10, Type: "AWS Account"},
					Org:     ocsfOrg{UID: h.OrganizationID, OUUID: ouID, OUName: path.Names}},
			}
			if r.Accepted != nil {
				e.Comment = acceptedNote(r.Accepted)
			}
			out = append(out, e)
		}
	}
	return out
}

// asffFinding is an AWS Security Finding Format finding (SchemaVersion
// 2018-10-08), as aws securityhub batch-import-findings --findings takes it.
type asffFinding struct {
	SchemaVersion string            `json:"SchemaVersion"`
	ID            string            `json:"Id"`
	ProductArn    string            `json:"ProductArn"`
	ProductName   string            `json:"ProductName"`
	CompanyName   string            `json:"CompanyName"`
	GeneratorID   string            `json:"GeneratorId"`
	AwsAccountID  string            `json:"AwsAccountId"`
	Types         []string          `json:"Types"`
	CreatedAt     string            `json:"CreatedAt"`
	UpdatedAt     string            `json:"UpdatedAt"`
	Severity      asffSeverity      `json:"Severity"`
	Title         string            `json:"Title"`
	Description   string            `json:"Description"`
	Remediation   asffRemediation   `json:"Remediation"`
	ProductFields map[string]string `json:"ProductFields"`
	Resources     []asffResource    `json:"Resources"`
	Compliance    asffCompliance    `json:"Compliance"`
	Workflow      asffWorkflow      `json:"Workflow"`
	RecordState   string            `json:"RecordState"`
	Note          *asffNote         `json:"Note,omitempty"`
}

type asffSeverity struct {
	Label string `json:"Label"`
}

type asffRemediation struct {
	Recommendation struct {
		Text string `json:"Text"`
		URL  string `json:"Url"`
	} `json:"Recommendation"`
}

type asffResource struct {
	Type      string `json:"Type"`
	ID        string `json:"Id"`
	Partition string `json:"Partition"`
	Region    string `json:"Region"`
}

type asffCompliance struct {
	Status              string   `json:"Status"`
	RelatedRequirements []string `json:"RelatedRequirements"`
}

type asffWorkflow struct {
	Status string `json:"Status"`
}

type asffNote struct {
	Text      string `json:"Text"`
	UpdatedBy string `json:"UpdatedBy"`
	UpdatedAt string `json:"UpdatedAt"`
}

// ASFF's limits on text fields.
const (
	asffTitleMax       = 256
	asffDescriptionMax = 1024
	asffTextMax        = 512
)

var asffStatus = map[string]string{evidence.CheckPass: "PASSED", evidence.CheckFail: "FAILED", evidence.CheckUnknown: "NOT_AVAILABLE"}

// asffFindings is one finding per account and check. With the default
// product ARN of a custom integration, BatchImportFindings accepts only
// findings whose AwsAccountId is the importing account: every finding names
// that account, and the member account in Resources (AwsAccount) and
// ProductFields.
func asffFindings(h Header, set complianceSet) []asffFinding {
	at := h.GeneratedAt.UTC().Format(time.RFC3339)
	part := partitionOf(set.Region)
	product := fmt.Sprintf("arn:%s:securityhub:%s:%s:product/%s/default", part, set.Region, set.Importer, set.Importer)
	version := currentVersion().Version
	out := []asffFinding{}
	for _, a := range set.Accounts {
		path := ouPathOf(a.Account)
		for _, r := range a.Results {
			c := r.Check
			f := asffFinding{
				SchemaVersion: "2018-10-08", ID: findingID(h.OrganizationID, a.Account.ID, c), ProductArn: product,
				ProductName: "rootctl", CompanyName: "rootctl", GeneratorID: "rootctl/" + c.ID, AwsAccountID: set.Importer,
				Types:     []string{"Software and Configuration Checks/Industry and Regulatory Standards/CIS AWS Foundations Benchmark"},
				CreatedAt: at, UpdatedAt: at, Severity: asffSeverity{Label: "INFORMATIONAL"},
				Title:       clip(fmt.Sprintf("%s: account %s (%s)", c.Title, a.Account.ID, a.Account.Name), asffTitleMax),
				Description: clip(r.Detail, asffDescriptionMax),
				ProductFields: map[string]string{
					"ProviderName": "rootctl", "ProviderVersion": version, "rootctl/Check": c.ID,
					"rootctl/AccountId": a.Account.ID, "rootctl/AccountName": a.Account.Name, "rootctl/OrganizationId": h.OrganizationID,
				},
				Resources:   []asffResource{{Type: "AwsAccount", ID: "AWS::::Account:" + a.Account.ID, Partition: part, Region: set.Region}},
				Compliance:  asffCompliance{Status: asffStatus[r.Status], RelatedRequirements: []string{c.CIS.String()}},
				Workflow:    asffWorkflow{Status: "RESOLVED"},
				RecordState: "ACTIVE",
			}
			f.Remediation.Recommendation.Text = clip(c.Remediation(a.Account.ID), asffTextMax)
			f.Remediation.Recommendation.URL = c.References[0]
			if c.SecurityHub != "" {
				f.ProductFields["rootctl/SecurityHubControl"] = c.SecurityHub
			}
			if path.IDs != "" {
				f.ProductFields["rootctl/OUIds"] = path.IDs
			}
			if path.Names != "" {
				f.ProductFields["rootctl/OUPath"] = path.Names
			}
			switch {
			case r.Status == evidence.CheckFail && r.Accepted != nil:
				f.Severity.Label, f.Workflow.Status = c.Severity, "SUPPRESSED"
				f.Note = &asffNote{Text: clip(acceptedNote(r.Accepted), asffTextMax), UpdatedBy: "rootctl", UpdatedAt: at}
				f.ProductFields["rootctl/ExceptionExpires"] = r.Accepted.Expires.String()
			case r.Status == evidence.CheckFail:
				f.Severity.Label, f.Workflow.Status = c.Severity, "NEW"
			case r.Status == evidence.CheckUnknown:
				f.Workflow.Status = "NEW"
			}
			out = append(out, f)
		}
	}
	return out
}

// clip keeps s within n characters, ending with "…" when cut.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// partitionOf is the AWS partition of a region.
func partitionOf(region string) string {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return "aws-cn"
	case strings.HasPrefix(region, "us-gov-"):
		return "aws-us-gov"
	case strings.HasPrefix(region, "us-iso-"):
		return "aws-iso"
	case strings.HasPrefix(region, "us-isob-"):
		return "aws-iso-b"
	}
	return "aws"
}

// importer learns, for -o asff, the account that will import the findings
// (the caller's: sts:GetCallerIdentity, which needs no permission) and the
// region, both part of the ProductArn.
func (s *auditSink) importer(ctx context.Context, cfg aws.Config) error {
	if cfg.Region == "" {
		return usageErrorf("-o asff needs a region for the ProductArn: pass --region (the region of Security Hub that imports the findings)")
	}
	caller, err := awsconfig.CallerARN(ctx, cfg)
	if err != nil {
		return fmt.Errorf("-o asff: learning the importing account (sts:GetCallerIdentity): %s", awserr.Describe(err))
	}
	a, err := arn.Parse(caller)
	if err != nil || !awserr.ValidAccountID(a.AccountID) {
		return fmt.Errorf("-o asff: the caller's ARN %q names no account", caller)
	}
	s.report.region, s.report.importer = cfg.Region, a.AccountID
	return nil
}
