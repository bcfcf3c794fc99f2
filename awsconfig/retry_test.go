package awsconfig

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// TestBackoff: full jitter of 10 ms × 2^(retry−1) after a 500 or 503
// answer, 50 ms × 2^(retry−1) after any other transient failure and 1 s ×
// 2^(retry−1) after a throttling answer, never over 20 s; with the jitter
// drawing 0.5, exactly half of that.
func TestBackoff(t *testing.T) {
	t.Parallel()
	answered := func(status int, code string) error {
		return &awshttp.ResponseError{ResponseError: &smithyhttp.ResponseError{
			Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}},
			Err:      &smithy.GenericAPIError{Code: code},
		}}
	}
	unavailable := answered(503, "ServiceUnavailable")
	throttling := answered(400, "Throttling")
	tooMany := answered(400, "TooManyRequestsException")
	p := NewPacer(newFakeClock(), half)
	for _, tc := range []struct {
		name  string
		retry int
		err   error
		want  time.Duration
	}{
		{"first retry after a 503", 1, unavailable, 5 * time.Millisecond},
		{"second retry after a 503", 2, unavailable, 10 * time.Millisecond},
		{"fourth retry after a 500", 4, answered(500, "InternalFailure"), 40 * time.Millisecond},
		{"first retry after a broken connection", 1, io.ErrUnexpectedEOF, 25 * time.Millisecond},
		{"first retry after a 502 from a proxy", 1, answered(502, "BadGateway"), 25 * time.Millisecond},
		{"second retry after a 504 from a proxy", 2, answered(504, "GatewayTimeout"), 50 * time.Millisecond},
		{"fourth retry after a timed-out attempt", 4, &smithyhttp.RequestSendError{Err: &url.Error{Op: "Post", URL: "https://iam.amazonaws.com/",
			Err: errors.New("net/http: timeout awaiting response headers")}}, 200 * time.Millisecond},
		{"a retry numbered 0 is the first", 0, unavailable, 5 * time.Millisecond},
		{"first retry after a retryable 4xx answer", 1, answered(400, "RequestTimeout"), 25 * time.Millisecond},
		{"first retry after throttling", 1, throttling, 500 * time.Millisecond},
		{"third retry after Organizations' TooManyRequestsException", 3, tooMany, 2 * time.Second},
		{"a throttling code with a 503 is throttling", 1, answered(503, "SlowDown"), 500 * time.Millisecond},
		{"sixth retry after throttling reaches the 20 s ceiling", 6, throttling, 10 * time.Second},
		{"a retry number that would overflow the shift", 100, unavailable, 10 * time.Second},
	} {
		if got := p.Backoff(tc.retry, tc.err); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestRetriesWaitTheSameWhateverTheEnvironment: AWS_NEW_RETRIES_2026
// changes how the SDK numbers retries and its backoff; rootctl's waits do
// not change with it. The errors come through the SDK, as in a run.
func TestRetriesWaitTheSameWhateverTheEnvironment(t *testing.T) {
	for _, env := range []string{"", "false", "true"} {
		t.Run("AWS_NEW_RETRIES_2026="+env, func(t *testing.T) {
			t.Setenv("AWS_NEW_RETRIES_2026", env)
			clock := newFakeClock()
			cfg := testConfig(&scripted{answers: []string{"ServiceUnavailable", "InternalFailure", "broken", "Throttling"}}, NewPacer(clock, half))
			if err := callSTS(context.Background(), cfg); err != nil {
				t.Fatal(err)
			}
			want := []time.Duration{5 * time.Millisecond, 10 * time.Millisecond, 100 * time.Millisecond, 4 * time.Second}
			if got := clock.sleeps(); !equalDurations(got, want) {
				t.Fatalf("waits %v, want %v", got, want)
			}
		})
	}
}

func equalDurations(a, b []time.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestNoRetryQuota: a storm never turns into "retry quota exceeded": the
// retryer grants every retry (the SDK's default would refuse after 100 at
// most), and a call still ends after MaxAttempts requests.
func TestNoRetryQuota(t *testing.T) {
	t.Parallel()
	r := newRetryer().(aws.RetryerV2)
	unavailable := &smithy.GenericAPIError{Code: "ServiceUnavailable"}
	for i := range 10000 {
		if _, err := r.GetRetryToken(context.Background(), unavailable); err != nil {
			t.Fatalf("retry %d refused: %v", i+1, err)
		}
	}
	if d, _ := r.RetryDelay(1, unavailable); d != 0 {
		t.Fatalf("the SDK's own delay is %v, want 0: the Pacer waits", d)
	}

	script := make([]string, MaxAttempts+1)
	for i := range script {
		script[i] = "ServiceUnavailable"
	}
	client := &scripted{answers: script}
	err := callSTS(context.Background(), testConfig(client, NewPacer(newFakeClock(), half)))
	var maxErr *retry.MaxAttemptsError
	if !errors.As(err, &maxErr) || client.requests != MaxAttempts {
		t.Fatalf("a call answered 503 every time: %v after %d requests, want to give up after %d", err, client.requests, MaxAttempts)
	}
}

// TestFinishPacesAndRetries: Finish's configuration carries the retryer
// and the pacing: a throttled call is retried after a backoff.
func TestFinishPacesAndRetries(t *testing.T) {
	t.Parallel()
	cfg := aws.Config{}
	Finish(&cfg, time.Second)
	if n := cfg.Retryer().MaxAttempts(); n != MaxAttempts {
		t.Fatalf("%d attempts, want %d", n, MaxAttempts)
	}
	client := &scripted{answers: []string{"Throttling"}}
	cfg.HTTPClient, cfg.BaseEndpoint = client, aws.String("http://127.0.0.1:1")
	cfg.Credentials = credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "")
	if err := callSTS(context.Background(), cfg); err != nil || client.requests != 2 {
		t.Fatalf("%v after %d requests, want success after 2", err, client.requests)
	}
}
