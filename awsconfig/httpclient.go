package awsconfig

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
)

// NewHTTPClient returns the HTTP client of a rootctl run: one connection
// pool for every service client of the run, sized for fan-out, with
// every attempt bounded by timeout (connect, TLS handshake (never over
// the SDK's 10 s), response headers), and with request bodies that
// outlive the SDK's early close of them (see httpClient). Zero means
// DefaultRequestTimeout.
func NewHTTPClient(timeout time.Duration) aws.HTTPClient {
	if timeout == 0 {
		timeout = DefaultRequestTimeout
	}
	return httpClient{awshttp.NewBuildableClient().WithDialerOptions(func(d *net.Dialer) {
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
// under the reader and its call sent twice.
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
type httpClient struct{ *awshttp.BuildableClient }

func (c httpClient) Do(r *http.Request) (*http.Response, error) {
	if _, ok := r.Body.(io.WriterTo); ok && r.Body != http.NoBody { // NoBody is no body: left as it is
		rc := *r
		rc.Body = struct{ io.ReadCloser }{r.Body}
		r = &rc
	}
	return c.BuildableClient.Do(r)
}

// trusting is c trusting the certificate authorities in roots, or the
// system's if roots is nil.
func (c httpClient) trusting(roots *x509.CertPool) httpClient {
	if roots == nil {
		return c
	}
	return httpClient{c.WithTransportOptions(func(t *http.Transport) {
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
