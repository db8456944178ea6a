package pipeline

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/cdk-lambda-otel-xray/collector-go/internal/components"
	"github.com/cdk-lambda-otel-xray/collector-go/internal/config"
	"github.com/cdk-lambda-otel-xray/collector-go/internal/testsupport"
)

// otlpBackend is an httptest stand-in for an OTLP/HTTP traces endpoint such
// as X-Ray's, recording the SigV4 Authorization header and the span count.
type otlpBackend struct {
	server *httptest.Server
	mu     sync.Mutex
	auth   []string
	spans  int
}

func newOTLPBackend(t *testing.T) *otlpBackend {
	t.Helper()
	b := &otlpBackend{}
	b.server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		req := ptraceotlp.NewExportRequest()
		if r.URL.Path != "/v1/traces" || req.UnmarshalProto(body) != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		b.mu.Lock()
		b.auth = append(b.auth, r.Header.Get("Authorization"))
		b.spans += req.Traces().SpanCount()
		b.mu.Unlock()
		w.Header().Set("Content-Type", "application/x-protobuf")
		out, _ := ptraceotlp.NewExportResponse().MarshalProto()
		_, _ = w.Write(out)
	}))
	t.Cleanup(b.server.Close)
	return b
}

func TestEveryExporterGetsEverySpanAndSigV4SignsOTLP(t *testing.T) {
	testsupport.SetAWSTestEnv(t)
	xray := testsupport.NewXRay(t)
	otlp := newOTLPBackend(t)
	addr := testsupport.FreeLoopbackAddr(t)
	yaml := fmt.Sprintf(`yaml:
receivers: {otlp: {protocols: {http: {endpoint: "%s"}}}}
exporters:
  awsxray: {region: us-east-1, endpoint: "%s"}
  otlphttp/xray:
    traces_endpoint: "%s/v1/traces"
    compression: none
    auth: {authenticator: sigv4auth}
  debug: {verbosity: basic}
extensions:
  sigv4auth: {region: us-east-1, service: xray}
service:
  extensions: [sigv4auth]
  pipelines:
    traces: {receivers: [otlp], exporters: [awsxray, otlphttp/xray, debug]}
`, addr, xray.Server.URL, otlp.server.URL)
	core, logs := observer.New(zapcore.DebugLevel)
	logger := zap.New(core)
	cfg, err := config.Load(context.Background(), yaml, components.New(), logger)
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(context.Background(), cfg, components.New(), Limits{MaxSpans: 1000, MaxBytes: 64 << 20}, logger)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		p.Shutdown(ctx)
	})

	td, _ := testsupport.NewTrace(20)
	testsupport.PostOTLP(t, addr, td)
	res := flush(t, p, 5*time.Second)
	if res.Spans != 3 || res.Exported() != 9 || res.Dropped() != 0 {
		t.Fatalf("flush = %+v, want 3 spans exported by each of 3 exporters", res)
	}
	if got := len(xray.Documents()); got != 3 {
		t.Errorf("X-Ray segments = %d, want 3", got)
	}
	otlp.mu.Lock()
	defer otlp.mu.Unlock()
	if otlp.spans != 3 {
		t.Errorf("OTLP backend spans = %d, want 3", otlp.spans)
	}
	if len(otlp.auth) != 1 || !strings.HasPrefix(otlp.auth[0], "AWS4-HMAC-SHA256 Credential=AKIDTEST/") || !strings.Contains(otlp.auth[0], "/us-east-1/xray/aws4_request") {
		t.Errorf("Authorization = %v, want a SigV4 signature for xray in us-east-1", otlp.auth)
	}
	if len(logs.FilterMessage("Traces").All()) == 0 {
		t.Error("debug exporter logged nothing")
	}
}

// startToDaemon starts a pipeline whose awsxray_daemon exporter sends to a
// UDP socket of the test's, which it returns with the receiver's address.
func startToDaemon(t testing.TB) (p *Pipeline, addr string, daemon net.PacketConn) {
	t.Helper()
	daemon, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = daemon.Close() })
	addr = testsupport.FreeLoopbackAddr(t)
	uri := fmt.Sprintf("yaml:receivers: {otlp: {protocols: {http: {endpoint: '%s'}}}}\n"+
		"exporters: {awsxray_daemon: {endpoint: '%s'}}\n"+
		"service: {pipelines: {traces: {receivers: [otlp], exporters: [awsxray_daemon]}}}", addr, daemon.LocalAddr())
	p, err = StartFromURI(context.Background(), uri, Limits{MaxSpans: 1000, MaxBytes: 8 << 20}, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Shutdown(context.Background()) })
	return p, addr, daemon
}

func TestTheDaemonExporterHandsAFlushToTheXRayDaemonWithoutWaitingForAnAnswer(t *testing.T) {
	p, addr, daemon := startToDaemon(t)
	td, _ := testsupport.NewTrace(4)
	testsupport.PostOTLP(t, addr, td)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if res := p.Flush(ctx); res.Exported() != 3 || res.Dropped() != 0 {
		t.Fatalf("flush = %+v, want 3 handed to the daemon", res)
	}
	buf := make([]byte, 70_000)
	for i := 0; i < 3; i++ {
		_ = daemon.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, _, err := daemon.ReadFrom(buf)
		if err != nil {
			t.Fatalf("datagram %d: %v", i+1, err)
		}
		if !bytes.HasPrefix(buf[:n], []byte("{\"format\":\"json\",\"version\":1}\n{")) {
			t.Fatalf("datagram %q is not the daemon's header and a document", buf[:n])
		}
	}
}
