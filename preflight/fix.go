package preflight

import (
	"strings"

	"github.com/rootctl/rootctl/rootsession"
)

// exemption is the condition AWS's own sample SCP uses to spare root
// sessions: aws:AssumedRoot is "true" in them and absent otherwise.
const exemption = `"Null": {"aws:AssumedRoot": "true"}`

// ControlTower says whether a policy is AWS Control Tower's root-user
// restriction (control AWS-GR_RESTRICT_ROOT_USER): Control Tower names its
// SCPs aws-guardrails-…, and this control's statement GRRESTRICTROOTUSER.
func ControlTower(policyName, sid string) bool {
	return strings.HasPrefix(policyName, "aws-guardrails-") && sid == "GRRESTRICTROOTUSER"
}

// fix says what lifts a cause.
func fix(c Cause, task rootsession.Task) string {
	stmt := "the statement"
	if c.Sid != "" {
		stmt = "statement " + c.Sid
	}
	switch {
	case c.Verdict == Unknown:
		return "rootctl cannot evaluate " + c.Unsupported + ": read " + describePolicy(c) + " and decide; a run still tries this account"
	case c.Caller:
		return CallerChange(c, task) + ", or run rootctl from the management account, which SCPs never bind"
	case c.Deny == Implicit:
		return "attach FullAWSAccess to " + c.AttachedTo + ", or allow the actions in an SCP attached there"
	case c.PolicyType == SCP && ControlTower(c.PolicyName, c.Sid):
		return "this is AWS Control Tower's control AWS-GR_RESTRICT_ROOT_USER: enable it again on " + c.AttachedTo +
			" with the parameter ExemptAssumeRoot set to true (Control Tower console, or UpdateEnabledControl); do not edit the SCP, which Control Tower manages"
	case c.PolicyType == RCP:
		return "add " + exemption + " to the Condition of " + stmt + " of RCP " + c.PolicyID +
			" (whether AWS exempts root sessions from RCPs is not documented), or have the policy changed by a principal the RCP exempts"
	}
	return "add " + exemption + " to the Condition of " + stmt + " of SCP " + c.PolicyID + ", as AWS's sample SCP does, so that it spares root sessions"
}

// CallerChange is the change to the caller's own SCPs that lifts a cause
// on its sts:AssumeRoot for task.
func CallerChange(c Cause, task rootsession.Task) string {
	if c.Deny == Implicit {
		return "allow sts:AssumeRoot in an SCP attached to " + c.AttachedTo + " (or attach FullAWSAccess there)"
	}
	stmt := "the statement"
	if c.Sid != "" {
		stmt = "statement " + c.Sid
	}
	return "allow " + task.ARN() + " in " + stmt + " of SCP " + c.PolicyID + " (its sts:TaskPolicyArn condition)"
}

func describePolicy(c Cause) string {
	s := c.PolicyID
	if c.Sid != "" {
		s = "statement " + c.Sid + " of " + s
	}
	if s == "" {
		return "the SCPs attached to " + c.AttachedTo
	}
	return s
}
