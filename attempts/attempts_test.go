package attempts

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/aws/smithy-go"

	"github.com/rootctl/rootctl/fixtures"
	"github.com/rootctl/rootctl/internal/simtest"
)

// scripted answers each attempt with the next of its answers: an HTTP
// status and IAM error code, or a transport error.
type scripted struct {
	answers []answer
	n       int
}

type answer struct {
	status int
	code   string
	err    error
}

func (s *scripted) Do(r *http.Request) (*http.Response, error) {
	a := s.answers[s.n]
	s.n++
	if a.err != nil {
		return nil, a.err
	}
	body := `<DeleteAccessKeyResponse><ResponseMetadata><RequestId>req-` + a.code + `</RequestId></ResponseMetadata></DeleteAccessKeyResponse>`
	if a.code != "" {
		body = `<ErrorResponse><Error><Type>Sender</Type><Code>` + a.code + `</Code><Message>m</Message></Error><RequestId>req</RequestId></ErrorResponse>`
	}
	return &http.Response{StatusCode: a.status, Header: http.Header{"Content-Type": {"text/xml"}}, Body: io.NopCloser(strings.NewReader(body)), Request: r}, nil
}

// noBackoff retries at once, up to the SDK's standard three attempts.
func noBackoff() aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
	})
}

func TestLostTellsAttemptsThatMayHaveReachedAWS(t *testing.T) {
	t.Parallel()
	notFound := answer{status: 404, code: "NoSuchEntity"}
	tests := []struct {
		name     string
		answers  []answer
		wantLost string
		attempts int
	}{
		{"one answer: nothing was lost", []answer{notFound}, "", 1},
		{"a connection closed after the request was sent", []answer{{err: io.EOF}, notFound}, "an earlier attempt's response was lost", 2},
		{"a connection reset", []answer{{err: &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}}, notFound}, "an earlier attempt's response was lost", 2},
		{"a server error", []answer{{status: 500, code: "ServiceFailure"}, notFound}, "an earlier attempt was answered with a server error (HTTP 500)", 2},
		{"a 503 that is not throttling", []answer{{status: 503, code: "ServiceUnavailable"}, notFound}, "an earlier attempt was answered with a server error (HTTP 503)", 2},
		{"throttling is refused before AWS acts", []answer{{status: 400, code: "Throttling"}, notFound}, "", 2},
		{"a 503 throttling answer (S3's SlowDown) is refused before AWS acts", []answer{{status: 503, code: "SlowDown"}, notFound}, "", 2},
		{"throttling then a lost response", []answer{{status: 400, code: "Throttling"}, {err: io.EOF}, notFound}, "an earlier attempt's response was lost", 3},
		{"a connection never made", []answer{{err: &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}}, notFound}, "", 2},
		{"a lost response whose retry succeeds", []answer{{err: io.EOF}, {status: 200}}, "an earlier attempt's response was lost", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var rec Record
			c := iam.NewFromConfig(aws.Config{
				Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "secret", ""),
				HTTPClient: &scripted{answers: tt.answers}, Retryer: noBackoff,
			}, func(o *iam.Options) { o.APIOptions = append(o.APIOptions, rec.AddTo) })
			_, err := c.DeleteAccessKey(context.Background(), &iam.DeleteAccessKeyInput{AccessKeyId: aws.String("AKIA1")})
			want := tt.answers[len(tt.answers)-1].code
			if got := errorCode(err); got != want {
				t.Fatalf("call: %v, want code %q", err, want)
			}
			if rec.Attempts() != tt.attempts || rec.Lost() != tt.wantLost {
				t.Fatalf("attempts %d, Lost %q; want %d, %q", rec.Attempts(), rec.Lost(), tt.attempts, tt.wantLost)
			}
		})
	}
}

// Through the emulator: a DeleteAccessKey whose response is dropped after
// the key was deleted.
func TestLostThroughTheEmulator(t *testing.T) {
	t.Parallel()
	for _, drop := range []int{0, 1} {
		srv := simtest.Demo(t, fixtures.Options{DropAfterApply: map[string]int{"iam:DeleteAccessKey": drop}})
		base := simtest.Config(srv, srv.ManagementCredentials())
		base.Retryer = noBackoff
		out, err := sts.NewFromConfig(base).AssumeRoot(context.Background(), &sts.AssumeRootInput{TargetPrincipal: aws.String("444444444405"),
			TaskPolicyArn: &ststypes.PolicyDescriptorType{Arn: aws.String(fixtures.TaskPolicyARNPrefix + "IAMDeleteRootUserCredentials")}})
		if err != nil {
			t.Fatal(err)
		}
		sess := base.Copy()
		sess.Credentials = credentials.NewStaticCredentialsProvider(*out.Credentials.AccessKeyId, *out.Credentials.SecretAccessKey, *out.Credentials.SessionToken)
		var rec Record
		_, err = iam.NewFromConfig(sess, func(o *iam.Options) { o.APIOptions = append(o.APIOptions, rec.AddTo) }).
			DeleteAccessKey(context.Background(), &iam.DeleteAccessKeyInput{AccessKeyId: aws.String("AKIA3DEMO0DEVEVERY01")})
		wantCode, wantLost := "", ""
		if drop == 1 {
			wantCode, wantLost = "NoSuchEntity", "an earlier attempt's response was lost"
		}
		if errorCode(err) != wantCode || rec.Lost() != wantLost || rec.Attempts() != drop+1 {
			t.Fatalf("%d dropped: %v, Lost %q after %d attempts", drop, err, rec.Lost(), rec.Attempts())
		}
	}
}

func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}
