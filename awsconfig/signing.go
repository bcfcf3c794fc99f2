package awsconfig

import (
	"context"
	"strings"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/smithy-go/middleware"
)

// signGlobalServices is an APIOptions entry that signs IAM and
// Organizations requests for the Region their global endpoint answers in,
// whatever --region says. The SDK's endpoint rules do this for AWS's own
// endpoints (iam.amazonaws.com and organizations.us-east-1.amazonaws.com
// take a us-east-1 signature in the aws partition), but not for a custom
// endpoint (--endpoint-url, AWS_ENDPOINT_URL, --sim): there the SDK signs
// with the client's Region, which AWS refuses ("Credential should be
// scoped to a valid region").
func signGlobalServices(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("rootctl.SignGlobalServices",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			if region := globalSigningRegion(awsmiddleware.GetServiceID(ctx), awsmiddleware.GetRegion(ctx)); region != "" {
				ctx = awsmiddleware.SetSigningRegion(ctx, region)
			}
			return next.HandleInitialize(ctx, in)
		}), middleware.After)
}

// globalSigningRegion is the Region a request of the global service
// serviceID signs with when the client is in region, as the endpoint rules
// of aws-sdk-go-v2's IAM and Organizations clients give it; "" for any
// other service, and for a partition whose global Region rootctl does not
// know (the SDK's own resolution then stands).
func globalSigningRegion(serviceID, region string) string {
	if serviceID != iam.ServiceID && serviceID != organizations.ServiceID {
		return ""
	}
	switch {
	case strings.HasPrefix(region, "cn-"):
		if serviceID == iam.ServiceID {
			return "cn-north-1"
		}
		return "cn-northwest-1"
	case strings.HasPrefix(region, "us-gov-"):
		return "us-gov-west-1"
	case strings.HasPrefix(region, "us-iso"), strings.HasPrefix(region, "eu-iso"), strings.HasPrefix(region, "eusc-"):
		return ""
	}
	return "us-east-1"
}
