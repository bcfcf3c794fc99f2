package awsconfig

import (
	"bytes"
	"context"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
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
		// ListAccounts requests the emulator received: with the SDK's own
		// client, a retry's connection is as exposed as the first.
		least, most int
	}{
		{"rootctl's client", func(dial func(t *http.Transport)) aws.HTTPClient {
			c := NewHTTPClient(0).(httpClient)
			c.BuildableClient = c.BuildableClient.WithTransportOptions(dial)
			return c
		}, 1, 1},
		{"the SDK's own client", func(dial func(t *http.Transport)) aws.HTTPClient {
			return awshttp.NewBuildableClient().WithTransportOptions(dial)
		}, 2, MaxAttempts},
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

			w := &written{done: make(chan struct{})}
			trace := &httptrace.ClientTrace{WroteRequest: w.record}
			var dials atomic.Int32
			dial := func(tr *http.Transport) {
				var d net.Dialer
				tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
					c, err := d.DialContext(ctx, network, addr)
					if err != nil || dials.Add(1) > 1 {
						return c, err // a retry's connection is left alone
					}
					return &lateWriter{Conn: c, release: make(chan struct{}), written: w, closed: make(chan struct{})}, nil
				}
			}
			creds := srv.ManagementCredentials()
			cfg := aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL()),
				Credentials: credentials.NewStaticCredentialsProvider(creds.AccessKeyID, creds.SecretAccessKey, ""),
				HTTPClient:  traced{tt.client(dial), trace},
				Retryer: func() aws.Retryer {
					return retry.NewStandard(func(o *retry.StandardOptions) {
						o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
						o.MaxAttempts = MaxAttempts
					})
				}}
			out, err := organizations.NewFromConfig(cfg).ListAccounts(context.Background(), &organizations.ListAccountsInput{})
			if err != nil {
				t.Fatalf("ListAccounts: %v", err)
			}
			if len(out.Accounts) != len(org.Accounts) {
				t.Errorf("%d accounts listed, want %d", len(out.Accounts), len(org.Accounts))
			}
			if sent := len(srv.Calls()); sent < tt.least || sent > tt.most {
				t.Errorf("ListAccounts sent %d times, want %d to %d", sent, tt.least, tt.most)
			}
		})
	}
}

// lateWriter is a connection on which net/http's writer, once it has sent
// a request's body, waits until the answer's headers have been read and
// its body is wanted, which is after the SDK has closed the request's
// body; the rest of the answer then waits until the writer is done with
// the request, and has closed the connection if it failed. Data read but
// not yet handed on is then lost, as it would be in the kernel's buffer.
type lateWriter struct {
	net.Conn
	release  chan struct{} // closed: the writer may go on
	released bool          // (by the reader)
	written  *written      // how the writer ended
	writes   int           // the headers, then the body
	unread   []byte        // read from the connection, not yet handed on
	headers  int           // of unread, the bytes of the answer's headers left
	inBody   bool          // the answer's headers are handed on
	closed   chan struct{} // closed by Close
	closing  sync.Once
}

func (c *lateWriter) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	if c.writes++; c.writes == 2 {
		await(c.release) // the reader's error, if it never comes
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
		if err := await(c.written.done); err != nil {
			return 0, err
		}
		if c.written.err != nil { // the writer closes the connection: wait for it to
			if err := await(c.closed); err != nil {
				return 0, err
			}
		}
	}
	select {
	case <-c.closed:
		return c.Conn.Read(p)
	default:
	}
	if len(c.unread) == 0 {
		return c.Conn.Read(p)
	}
	n := copy(p, c.unread)
	c.unread = c.unread[n:]
	return n, nil
}

// await waits for ch to close, or ten seconds: no hang if the order never
// comes.
func await(ch <-chan struct{}) error {
	select {
	case <-ch:
		return nil
	case <-time.After(10 * time.Second):
		return errors.New("what the connection waited for never came")
	}
}

func (c *lateWriter) Close() error {
	err := c.Conn.Close() // before the reader is told: no read may find it open
	c.closing.Do(func() { close(c.closed) })
	return err
}

// written is how the writer ended the first request.
type written struct {
	once sync.Once
	done chan struct{} // closed once it has
	err  error         // set before done is closed
}

func (w *written) record(info httptrace.WroteRequestInfo) {
	w.once.Do(func() {
		w.err = info.Err
		close(w.done)
	})
}

// traced sends each request with trace.
type traced struct {
	next  aws.HTTPClient
	trace *httptrace.ClientTrace
}

func (c traced) Do(r *http.Request) (*http.Response, error) {
	return c.next.Do(r.WithContext(httptrace.WithClientTrace(r.Context(), c.trace)))
}

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

// TestACABundleReachesEveryCall: the certificate authorities of a custom CA
// bundle (AWS_CA_BUNDLE, a profile's ca_bundle), which the SDK gives the
// HTTP client of the configuration it loads, are trusted by the client
// Finish puts in its place; without a bundle, only the system's are.
func TestACABundleReachesEveryCall(t *testing.T) {
	t.Setenv("AWS_CA_BUNDLE", "") // the machine's own, if any, is not this test's
	srv := httptest.NewTLSServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()
	bundle := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	tests := []struct {
		name string
		load []func(*config.LoadOptions) error
		err  string // what the call's error says, "" for none
	}{
		{"the server's CA in the bundle", []func(*config.LoadOptions) error{config.WithCustomCABundle(bytes.NewReader(bundle))}, ""},
		{"no bundle", nil, "certificate signed by unknown authority"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			load := append([]func(*config.LoadOptions) error{config.WithRegion("us-east-1"),
				config.WithSharedConfigFiles([]string{}), config.WithSharedCredentialsFiles([]string{})}, tt.load...)
			cfg, err := config.LoadDefaultConfig(context.Background(), load...)
			if err != nil {
				t.Fatal(err)
			}
			Finish(&cfg, 0)
			req, err := http.NewRequest(http.MethodGet, srv.URL, nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := cfg.HTTPClient.Do(req)
			if err == nil {
				resp.Body.Close()
			}
			if got := fmt.Sprint(err); (tt.err == "") != (err == nil) || !strings.Contains(got, tt.err) {
				t.Errorf("the call: %v, want %q", err, tt.err)
			}
		})
	}
}

// TestAnAnswerThatStopsComingEnds: an answer whose body goes silent for
// longer than the request timeout ends in a StalledError, a timeout (so
// retried, and worded as RequestTimeoutError once no attempt is left);
// one that keeps coming, however slowly, is read whole.
func TestAnAnswerThatStopsComingEnds(t *testing.T) {
	t.Parallel()
	const part = `<GetCallerIdentityResponse><GetCallerIdentityResult><Arn>arn:aws:iam::111111111111:user/a</Arn>`
	const rest = `<UserId>AIDA</UserId><Account>111111111111</Account></GetCallerIdentityResult></GetCallerIdentityResponse>`
	tests := []struct {
		name    string
		timeout time.Duration
		send    func(w http.ResponseWriter, r *http.Request) // after the headers and part
		stalled bool
	}{
		{"an answer that stops", 100 * time.Millisecond, func(w http.ResponseWriter, r *http.Request) {
			<-r.Context().Done() // until the client gives up on it, or the server closes
		}, true},
		{"an answer that keeps coming slowly", 250 * time.Millisecond, func(w http.ResponseWriter, r *http.Request) {
			for _, b := range []byte(rest) { // a byte each 5 ms: over 0.5 s in all, twice the timeout
				time.Sleep(5 * time.Millisecond)
				w.Write([]byte{b})
				http.NewResponseController(w).Flush()
			}
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/xml")
				w.Write([]byte(part))
				http.NewResponseController(w).Flush()
				tt.send(w, r)
			}))
			defer srv.Close()
			defer srv.CloseClientConnections() // first: a handler still sending ends
			cfg := aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
				Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "")}
			Finish(&cfg, tt.timeout)
			cfg.Retryer = func() aws.Retryer { return aws.NopRetryer{} } // one attempt
			done := make(chan error, 1)
			go func() { done <- callSTS(context.Background(), cfg) }()
			var err error
			select {
			case err = <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("the call hung on an answer that stopped coming")
			}
			var stalled *StalledError
			var timedOut *RequestTimeoutError
			switch {
			case !tt.stalled && err != nil:
				t.Fatalf("the call: %v, want it read whole", err)
			case tt.stalled && (!errors.As(err, &stalled) || stalled.Silence != tt.timeout || !errors.As(err, &timedOut)):
				t.Fatalf("the call: %v (%T), want a RequestTimeoutError over a StalledError after %v", err, err, tt.timeout)
			}
		})
	}
}

// TestAnAnswerClosedWhileReadEnds: closing an answer from one goroutine
// while another waits to read it ends the read (and, under -race, shares
// nothing unguarded).
func TestAnAnswerClosedWhileReadEnds(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("part"))
		http.NewResponseController(w).Flush()
		<-r.Context().Done()
	}))
	defer srv.Close()
	defer srv.CloseClientConnections()
	req, err := http.NewRequest(http.MethodGet, srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := NewHTTPClient(time.Hour).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	read := make(chan error, 1)
	go func() {
		_, err := io.ReadAll(resp.Body)
		read <- err
	}()
	resp.Body.Close()
	select {
	case err := <-read:
		if err == nil {
			t.Error("the read of a closed answer ended with no error")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("closing the answer did not end its read")
	}
}
