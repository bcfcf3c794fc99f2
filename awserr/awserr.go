// Package awserr reads what every layer of rootctl needs from an AWS error
// (its code, message and request ID) and checks the shape of account IDs.
// It is the one place that knows the SDK's error interfaces.
package awserr

import (
	"errors"
	"regexp"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
)

var accountIDPattern = regexp.MustCompile(`^\d{12}$`)

// ValidAccountID reports whether id has the shape of an AWS account ID.
func ValidAccountID(id string) bool { return accountIDPattern.MatchString(id) }

// Code returns the AWS error code of err, or "" when err is not an AWS
// answer (nil, a transport error, a call never sent).
func Code(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// Is reports whether err is an AWS answer with one of the codes.
func Is(err error, codes ...string) bool {
	code := Code(err)
	if code == "" {
		return false
	}
	for _, c := range codes {
		if code == c {
			return true
		}
	}
	return false
}

// IsNoSuchEntity reports whether IAM answered that the entity does not
// exist (no password, a key already deleted).
func IsNoSuchEntity(err error) bool { return Is(err, "NoSuchEntity") }

// Describe renders an AWS error as "Code: message" for one-line reports,
// without the SDK's operation and request-ID wrapping; any other error as
// its own text.
func Describe(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode() + ": " + ae.ErrorMessage()
	}
	return err.Error()
}

// RequestID is the AWS request ID of a failed call, or "" when the call
// never got an answer.
func RequestID(err error) string {
	var re interface{ ServiceRequestID() string }
	if errors.As(err, &re) {
		return re.ServiceRequestID()
	}
	return ""
}

// ResultRequestID is the AWS request ID of a successful call's result
// metadata, or "".
func ResultRequestID(md middleware.Metadata) string {
	id, _ := awsmiddleware.GetRequestIDMetadata(md)
	return id
}
