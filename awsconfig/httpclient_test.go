package awsconfig

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/organizations"

	"github.com/rootctl/rootctl/fixtures"
)

// TestAnAnswerOutlivesItsRequestBody: an answer whose headers are in
// before net/http is done with the request's body (which the SDK closes
// then) is read whole, and its call is sent once. The order is forced on
// the connection (lateWriter), with no timing. The SDK's own client cuts
// the answer off and sends the call again (see httpClient): should that
// row fail, the SDK has mended its body and httpClient can go.
func TestAnAnswerOutlivesItsRequestBody(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		client func(dial func(t *http.Transport)) aws.HTTPClient
		sent   int // ListAccounts requests the emulator received
	}{
		{"rootctl's client", func(dial func(t *http.Transport)) aws.HTTPClient {
			c := NewHTTPClient(0).(httpClient)
			c.BuildableClient = c.BuildableClient.WithTransportOptions(dial)
			return c
		}, 1},
		{"the SDK's own client", func(dial func(t *http.Transport)) aws.HTTPClient {
			return awshttp.NewBuildableClient().WithTransportOptions(dial)
		}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			org, err := fixtures.Load("demo")
			if err != nil {
				t.Fatal(err)
			}
			srv := fixtures.New(org, fixtures.Options{})
			if err := srv.Start("127.0.0.1:0"); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { srv.Close() })

			wrote := make(chan struct{}) // the first request is written, or its writer gave up
			var once sync.Once
			trace := &httptrace.ClientTrace{WroteRequest: func(httptrace.WroteRequestInfo) { once.Do(func() { close(wrote) }) }}
			var dials atomic.Int32
			dial := func(tr *http.Transport) {
				var d net.Dialer
				tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
					c, err := d.DialContext(ctx, network, addr)
					if err != nil || dials.Add(1) > 1 {
						return c, err // a retry's connection is left alone
					}
					return &lateWriter{Conn: c, release: make(chan struct{}), wrote: wrote}, nil
				}
			}
			creds := srv.ManagementCredentials()
			cfg := aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL()),
				Credentials: credentials.NewStaticCredentialsProvider(creds.AccessKeyID, creds.SecretAccessKey, ""),
				HTTPClient:  traced{tt.client(dial), trace},
				Retryer: func() aws.Retryer {
					return retry.NewStandard(func(o *retry.StandardOptions) { o.Backoff = noDelay{} })
				}}
			out, err := organizations.NewFromConfig(cfg).ListAccounts(context.Background(), &organizations.ListAccountsInput{})
			if err != nil {
				t.Fatalf("ListAccounts: %v", err)
			}
			if len(out.Accounts) != len(org.Accounts) {
				t.Errorf("%d accounts listed, want %d", len(out.Accounts), len(org.Accounts))
			}
			if sent := len(srv.Calls()); sent != tt.sent {
				t.Errorf("ListAccounts sent %d times, want %d", sent, tt.sent)
			}
		})
	}
}

// lateWriter is a connection on which net/http's writer, once it has sent
// a request's body, waits until the answer's headers have been read and
// its body is wanted, which is after the SDK has closed the request's
// body; the rest of the answer then waits until the writer is done with
// the request (wrote). Data read but not yet handed on is lost if the
// connection is closed meanwhile, as it would be in the kernel's buffer.
type lateWriter struct {
	net.Conn
	release  chan struct{}   // closed: the writer may go on
	released bool            // (by the reader)
	wrote    <-chan struct{} // closed once the writer is done
	writes   int             // the headers, then the body
	unread   []byte          // read from the connection, not yet handed on
	headers  int             // of unread, the bytes of the answer's headers left
	inBody   bool            // the answer's headers are handed on
	closed   atomic.Bool
}

func (c *lateWriter) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	if c.writes++; c.writes == 2 {
		select {
		case <-c.release:
		case <-time.After(10 * time.Second): // no hang if the order never comes
		}
	}
	return n, err
}

func (c *lateWriter) Read(p []byte) (int, error) {
	if !c.inBody {
		for c.headers == 0 {
			if end := bytes.Index(c.unread, []byte("\r\n\r\n")); end >= 0 {
				c.headers = end + 4
				break
			}
			buf := make([]byte, 4096)
			n, err := c.Conn.Read(buf)
			c.unread = append(c.unread, buf[:n]...)
			if err != nil {
				return 0, err
			}
		}
		n := copy(p, c.unread[:c.headers])
		c.unread, c.headers = c.unread[n:], c.headers-n
		c.inBody = c.headers == 0
		return n, nil
	}
	if !c.released {
		close(c.release)
		c.released = true
		select {
		case <-c.wrote:
		case <-time.After(10 * time.Second):
			return 0, errors.New("the request was never written")
		}
	}
	if len(c.unread) == 0 || c.closed.Load() {
		return c.Conn.Read(p)
	}
	n := copy(p, c.unread)
	c.unread = c.unread[n:]
	return n, nil
}

func (c *lateWriter) Close() error {
	c.closed.Store(true)
	return c.Conn.Close()
}

// traced sends each request with trace.
type traced struct {
	next  aws.HTTPClient
	trace *httptrace.ClientTrace
}

func (c traced) Do(r *http.Request) (*http.Response, error) {
	return c.next.Do(r.WithContext(httptrace.WithClientTrace(r.Context(), c.trace)))
}

// noDelay is a retry backoff of nothing.
type noDelay struct{}

func (noDelay) BackoffDelay(int, error) (time.Duration, error) { return 0, nil }

// TestABodylessRequestStaysBodyless: http.NoBody, which has a WriteTo of
// its own, is sent as no body (no length, no chunks), not as a body of
// unknown length.
func TestABodylessRequestStaysBodyless(t *testing.T) {
	t.Parallel()
	got := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- fmt.Sprintf("length %d, transfer encoding %q", r.ContentLength, r.TransferEncoding)
	}))
	defer srv.Close()
	req, err := http.NewRequest(http.MethodPut, srv.URL, http.NoBody)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := NewHTTPClient(0).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if g, want := <-got, `length 0, transfer encoding []`; g != want {
		t.Errorf("the server saw %s, want %s", g, want)
	}
}
