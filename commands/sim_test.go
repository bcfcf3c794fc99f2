package commands

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// syncBuffer is a bytes.Buffer safe for one writer and one reader.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestSimServePrintsAWorkingEnvironment(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	var out syncBuffer
	done := make(chan error, 1)
	go func() { done <- SimServe(ctx, SimServeInput{Addr: "127.0.0.1:0", Org: "demo"}, &out) }()
	env := map[string]string{}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "Serving until interrupted") {
		if time.Now().After(deadline) {
			t.Fatalf("sim serve printed:\n%s", out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, m := range regexp.MustCompile(`(?m)^export (\w+)=(\S+)$`).FindAllStringSubmatch(out.String(), -1) {
		env[m[1]] = m[2]
	}
	cfg := aws.Config{
		Region:       env["AWS_REGION"],
		BaseEndpoint: aws.String(env["AWS_ENDPOINT_URL"]),
		Credentials:  credentials.NewStaticCredentialsProvider(env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"], ""),
	}
	id, err := sts.NewFromConfig(cfg).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if err != nil || aws.ToString(id.Account) != "111111111111" {
		t.Fatalf("the printed environment does not reach the simulator: %v %v", id, err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("sim serve after Ctrl-C: %v", err)
	}
}

func TestSimServeBadInput(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   SimServeInput
		want string
	}{
		{SimServeInput{Addr: "127.0.0.1:0", Org: "demo", ErrorRate: 1.5}, "--error-rate"},
		{SimServeInput{Addr: "127.0.0.1:0", Org: "demo", Latency: -time.Second}, "must not be negative"},
		{SimServeInput{Addr: "127.0.0.1:0", Org: "/no/such.json"}, "--org"},
	}
	for _, tt := range tests {
		err := SimServe(context.Background(), tt.in, &bytes.Buffer{})
		if exitCode(err) != ExitUsage || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("SimServe(%+v) = %v, want a usage error about %s", tt.in, err, tt.want)
		}
	}
}

// TestSimServeListensOnLoopbackOnly: an --addr that another machine could
// reach is refused with exit 2 and one line, before anything listens.
func TestSimServeListensOnLoopbackOnly(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, addr string }{
		{"every IPv4 address", "0.0.0.0:4566"},
		{"every IPv6 address", "[::]:4566"},
		{"an empty host, which means every address", ":4566"},
		{"a LAN address", "192.168.1.10:4566"},
		{"a host name other than localhost", "example.com:4566"},
		{"a name that starts with localhost", "localhost.example.com:4566"},
		{"no port", "127.0.0.1"},
	} {
		var out, errOut bytes.Buffer
		code := Run(context.Background(), []string{"rootctl", "sim", "serve", "--addr", tc.addr}, &Deps{IO: &IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}})
		if code != ExitUsage || out.Len() != 0 || strings.Count(errOut.String(), "\n") != 1 || !strings.Contains(errOut.String(), "--addr") {
			t.Errorf("%s (%s): exit %d, stdout %q, stderr %q", tc.name, tc.addr, code, out.String(), errOut.String())
		}
	}
}
