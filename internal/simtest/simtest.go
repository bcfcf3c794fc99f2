// Package simtest serves the simulated organization (fixtures) to the
// tests of rootctl's packages, and reaches it as a rootctl run does:
// through rootctl's HTTP client (awsconfig.NewHTTPClient), with the SDK's
// own retries. It is for tests only.
package simtest

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/rootctl/rootctl/awsconfig"
	"github.com/rootctl/rootctl/fixtures"
)

// Start serves org with opts on loopback until the test ends.
func Start(t testing.TB, org *fixtures.Org, opts fixtures.Options) *fixtures.Server {
	t.Helper()
	srv := fixtures.New(org, opts)
	if err := srv.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

// Demo serves the demo organization with opts until the test ends.
func Demo(t testing.TB, opts fixtures.Options) *fixtures.Server {
	t.Helper()
	org, err := fixtures.Load("demo")
	if err != nil {
		t.Fatal(err)
	}
	return Start(t, org, opts)
}

// Config is the configuration of a caller with creds in srv's
// organization, in us-east-1.
func Config(srv *fixtures.Server, creds fixtures.Credentials) aws.Config {
	return aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL()),
		Credentials: credentials.NewStaticCredentialsProvider(creds.AccessKeyID, creds.SecretAccessKey, creds.SessionToken),
		HTTPClient:  awsconfig.NewHTTPClient(0)}
}
