package awsconfig

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
)

// NewHTTPClient returns the HTTP client of a rootctl run: one connection
// pool for every service client of the run, sized for fan-out, with
// every attempt bounded by timeout (connect, TLS handshake (never over
// the SDK's 10 s), response headers, and each wait for more of an
// answer's body: see stallGuard), and with request bodies that outlive
// the SDK's early close of them (see httpClient). Zero means
// DefaultRequestTimeout.
func NewHTTPClient(timeout time.Duration) aws.HTTPClient {
	if timeout == 0 {
		timeout = DefaultRequestTimeout
	}
	return httpClient{timeout: timeout, BuildableClient: awshttp.NewBuildableClient().WithDialerOptions(func(d *net.Dialer) {
		d.Timeout = timeout
	}).WithTransportOptions(func(t *http.Transport) {
		t.MaxIdleConns = 1024
		t.MaxIdleConnsPerHost = 1024
		t.TLSHandshakeTimeout = min(timeout, awshttp.DefaultHTTPTransportTLSHandleshakeTimeout)
		t.ResponseHeaderTimeout = timeout
	})}
}

// httpClient sends each request with a body that net/http can read once
// more after the SDK has closed it, so that an answer is never cut off
// under the reader and its call sent twice; and it ends an answer that
// stops coming (stallGuard).
//
// The SDK hands net/http a body whose WriteTo answers io.EOF once the body
// is closed (smithy-go transport/http/internal/io/safe.go,
// safeWriteToReadCloser), and closes it as soon as the answer's headers
// are in (smithy-go transport/http/client.go), while net/http's writer
// may not be done with it: having sent ContentLength bytes, it reads the
// body to its end with io.CopyBuffer into io.Discard, which prefers
// WriteTo (net/http transfer.go, transferWriter.writeBody). When the
// answer is quicker than that last read (a loaded machine, a nearby
// endpoint) the writer takes the io.EOF for a failed write and closes the
// connection while the answer's body is still being read: the call fails
// with "use of closed network connection" and the SDK sends it again. The
// change it made is then made twice, or found made. That symptom is
// aws/aws-sdk-go-v2#1825 and #2737, where the SDK chose to retry it
// (#2949) and held the early close harmless for buffered calls;
// TestAnAnswerOutlivesItsRequestBody forces the order above and shows
// otherwise. Without WriteTo, the last read goes through Read, which
// answers a closed body with a plain end.
//
// httpClient is not a *awshttp.BuildableClient, so a service client uses
// it as it is: it would otherwise build itself a copy, and "copies of the
// BuildableClient will have their own connection pools" (aws/transport/
// http/client.go), under AWS_DEFAULTS_MODE or the SDK's opt-in 2026 read
// timeouts (resolveHTTPClient in each service package): a pool for each
// of thousands of accounts.
type httpClient struct {
	*awshttp.BuildableClient
	timeout time.Duration // the longest an answer's body may go silent
}

func (c httpClient) Do(r *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithCancel(r.Context()) // for stallGuard
	r = r.WithContext(ctx)                         // a copy, whose Body can change
	// http.NoBody is no body, and is left as it is.
	if _, ok := r.Body.(io.WriterTo); ok && r.Body != http.NoBody {
		r.Body = struct{ io.ReadCloser }{r.Body}
	}
	resp, err := c.BuildableClient.Do(r)
	if err != nil {
		cancel()
		return nil, err
	}
	g := &stallGuard{body: resp.Body, timeout: c.timeout}
	g.timer = time.AfterFunc(time.Hour, func() {
		g.stalled.Store(true) // before the cancel: a read the cancel fails sees it
		cancel()
	})
	g.timer.Stop() // armed by each read
	g.cancel = cancel
	resp.Body = g
	return resp, nil
}

// A stallGuard ends an answer whose body goes silent for longer than
// timeout, as net/http's ResponseHeaderTimeout ends one whose headers do:
// each read must bring data within timeout, so a slow answer that keeps
// coming is read whole. The SDK bounds these reads only when asked to
// (its 2026 read timeouts, opt-in), and net/http never does; without a
// bound, one endpoint that stopped in the middle of an answer would hold
// a run until Ctrl-C. A stall cancels the request's context, which makes
// net/http abandon the read (closing the connection; resetting the stream
// on HTTP/2), and the read answers a StalledError, a timeout the retryer
// retries like any other. An answer that trickles, a byte now and then,
// is not cut off: Ctrl-C ends that run.
type stallGuard struct {
	body    io.ReadCloser
	timeout time.Duration
	cancel  context.CancelFunc // of the request's context
	timer   *time.Timer        // cancels, once a read has waited timeout; set before use
	stalled atomic.Bool        // the timer fired
}

func (g *stallGuard) Read(p []byte) (int, error) {
	g.timer.Reset(g.timeout)
	n, err := g.body.Read(p)
	g.timer.Stop()
	if g.stalled.Load() && err != nil && err != io.EOF { // once cancelled, every read fails
		err = &StalledError{Silence: g.timeout}
	}
	return n, err
}

func (g *stallGuard) Close() error {
	err := g.body.Close()
	g.timer.Stop()
	g.cancel()
	return err
}

// StalledError is an answer whose body went silent for longer than the
// request timeout. It wraps nothing: what the read answered once the
// request was cancelled is context.Canceled, which would read as the
// user's interrupt.
type StalledError struct {
	Silence time.Duration
}

func (e *StalledError) Error() string {
	return fmt.Sprintf("the answer stopped coming: no data for %v", e.Silence)
}

// Timeout tells the retryer, and RequestTimeoutError, that this is a
// timeout.
func (e *StalledError) Timeout() bool { return true }

// trusting is c trusting the certificate authorities in roots, or the
// system's if roots is nil.
func (c httpClient) trusting(roots *x509.CertPool) httpClient {
	if roots == nil {
		return c
	}
	return httpClient{timeout: c.timeout, BuildableClient: c.WithTransportOptions(func(t *http.Transport) {
		if t.TLSClientConfig == nil {
			t.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		t.TLSClientConfig.RootCAs = roots
	})}
}

// rootCAs is the certificate pool client trusts where it is not the
// system's: the SDK adds the custom CA bundle (AWS_CA_BUNDLE, a profile's
// ca_bundle) to the HTTP client of the configuration it loads, as a
// BuildableClient's transport (resolveCustomCABundle, config/resolve.go).
func rootCAs(client aws.HTTPClient) *x509.CertPool {
	b, ok := client.(*awshttp.BuildableClient)
	if !ok {
		return nil
	}
	if tc := b.GetTransport().TLSClientConfig; tc != nil {
		return tc.RootCAs
	}
	return nil
}
