package awsconfig

import (
	"context"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/ec2rolecreds"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
)

// TestCredentialCheckGivesUp: a metadata service that never answers, to
// an IMDS client without timeouts of its own, still ends the check after
// CredentialCheckTimeout with the one-line error.
func TestCredentialCheckGivesUp(t *testing.T) {
	t.Parallel()
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { silent.Close() })
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	client := imds.New(imds.Options{Endpoint: "http://" + silent.Addr().String(), HTTPClient: &http.Client{}, Retryer: aws.NopRetryer{}})
	cfg := aws.Config{Credentials: aws.NewCredentialsCache(ec2rolecreds.New(func(o *ec2rolecreds.Options) { o.Client = client }))}
	start := time.Now()
	err = CheckCredentials(context.Background(), cfg)
	if d := time.Since(start); err != ErrNoCredentials || d < CredentialCheckTimeout || d > CredentialCheckTimeout+time.Second {
		t.Errorf("after %v: %v", d, err)
	}
}
