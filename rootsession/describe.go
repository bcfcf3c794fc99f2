package rootsession

import (
	"errors"

	"github.com/rootctl/rootctl/awserr"
)

// Describe renders an error for a report or the audit log: a refused
// AssumeRoot with its hint (AssumeError), anything else as "Code: message".
func Describe(err error) string {
	var ae *AssumeError
	if errors.As(err, &ae) {
		return ae.Error()
	}
	return awserr.Describe(err)
}
