package rootsession

import (
	"context"
	"strings"
)

// OrgError is an AssumeRoot refusal that belongs to the organization or to
// the caller, not to one account: a feature or trusted access is off, the
// caller is neither the management account nor the IAM delegated
// administrator, its credentials are not valid, or the endpoint is the
// global one. Every account would get the same answer, so a run stops at
// the first one with one message instead of one error per account.
type OrgError struct {
	Missing []Fix // what is missing, each with its fix
	// Err is the refusal AWS gave this call; nil when a halted Assumer
	// answered without asking AWS.
	Err *AssumeError
}

func (e *OrgError) Error() string {
	var parts []string
	for _, f := range e.Missing {
		parts = append(parts, f.Missing+" (run: "+f.Command+")")
	}
	return "AssumeRoot is refused for every account, so the run stopped; missing: " + strings.Join(parts, "; ")
}

func (e *OrgError) Unwrap() error {
	if e.Err == nil {
		return nil
	}
	return e.Err
}

// callerCodes are the codes STS answers when the caller's own credentials
// are at fault; every account would get them.
var callerCodes = map[string]bool{
	"ExpiredToken": true, "ExpiredTokenException": true, "InvalidClientTokenId": true,
	"UnrecognizedClientException": true, "SignatureDoesNotMatch": true, "IncompleteSignature": true,
}

// Fix is one missing prerequisite of AssumeRoot and the command that
// fixes it.
type Fix struct {
	Missing string `json:"missing"`
	Command string `json:"command"`
}

// classify decides whether a refused AssumeRoot is the organization's. It
// goes by the error code and by the prerequisites rootctl can read itself
// (the Assumer's Prerequisites), never by the wording of AWS's message
// (which AWS may change): an AccessDenied is the organization's only when
// a prerequisite of the task is missing. What the caller may not read
// leaves the refusal to the one account.
func (a *Assumer) classify(ctx context.Context, ae *AssumeError) error {
	code := ae.Code()
	switch {
	case code == "InvalidAction":
		return &OrgError{Err: ae, Missing: []Fix{{Missing: "a Regional STS endpoint (the global one refuses AssumeRoot)",
			Command: "rootctl with --region REGION"}}}
	case callerCodes[code]:
		return &OrgError{Err: ae, Missing: []Fix{{Missing: "valid credentials for the caller (STS answered " + code + ")",
			Command: "aws sso login, or check --profile"}}}
	case code != "AccessDenied" && code != "AccessDeniedException":
		return ae
	}
	if a.Prerequisites == nil {
		return ae
	}
	if missing, err := a.Prerequisites(ctx, ae.Task); err == nil && len(missing) > 0 {
		return &OrgError{Err: ae, Missing: missing}
	}
	return ae
}

// Halted returns the organization-wide refusal that stopped the Assumer, or
// nil. Once halted, Assume answers every account with a copy of it (Err
// nil) without asking AWS.
func (a *Assumer) Halted() *OrgError {
	a.haltMu.Lock()
	defer a.haltMu.Unlock()
	return a.halt
}

// stop keeps the first organization-wide refusal.
func (a *Assumer) stop(e *OrgError) *OrgError {
	a.haltMu.Lock()
	defer a.haltMu.Unlock()
	if a.halt == nil {
		a.halt = e
	}
	return a.halt
}
