package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cdk-lambda-otel-xray/collector-go/internal/components"
	"github.com/cdk-lambda-otel-xray/collector-go/internal/contract"
	"github.com/cdk-lambda-otel-xray/collector-go/internal/extensionapi"
	"github.com/cdk-lambda-otel-xray/collector-go/internal/testsupport"
)

var (
	buildOnce sync.Once
	binary    string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binary != "" {
		_ = os.RemoveAll(filepath.Dir(filepath.Dir(binary)))
	}
	os.Exit(code)
}

// buildTags returns the tags build.sh ships with, from the file it reads them from.
func buildTags() (string, error) {
	b, err := os.ReadFile("build-tags")
	return strings.TrimSpace(string(b)), err
}

// extensionBinary builds the collector once, named as Lambda would find it
// in /opt/extensions. OTEL_XRAY_COLLECTOR_TEST_BINARY selects an existing
// binary instead (for example the output of build.sh), to test the artifact
// that ships.
func extensionBinary(t testing.TB) string {
	t.Helper()
	if prebuilt := os.Getenv("OTEL_XRAY_COLLECTOR_TEST_BINARY"); prebuilt != "" {
		return prebuilt
	}
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "otel-xray-collector-test")
		if err != nil {
			buildErr = err
			return
		}
		binary = filepath.Join(dir, "extensions", contract.ExtensionName)
		tags, err := buildTags()
		if err != nil {
			buildErr = err
			return
		}
		cmd := exec.Command("go", "build", "-tags", tags, "-trimpath", "-o", binary, ".")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binary
}

func TestVersionPrintsCollectorAndComponentVersions(t *testing.T) {
	out, err := exec.Command(extensionBinary(t), "--version").Output()
	if err != nil {
		t.Fatal(err)
	}
	text := string(out)
	for _, want := range []string{
		contract.ExtensionName + " ",
		"go.opentelemetry.io/collector/component v1.",
		"otlp      go.opentelemetry.io/collector/receiver/otlpreceiver v0.",
		"awsxray   github.com/open-telemetry/opentelemetry-collector-contrib/exporter/awsxrayexporter v0.",
		"awsxray_daemon github.com/cdk-lambda-otel-xray/collector-go/internal/components ",
		"otlphttp  go.opentelemetry.io/collector/exporter/otlphttpexporter v0.",
		"debug     go.opentelemetry.io/collector/exporter/debugexporter v0.",
		"sigv4auth github.com/open-telemetry/opentelemetry-collector-contrib/extension/sigv4authextension v0.",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("--version lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "not in build info") {
		t.Errorf("a version is missing:\n%s", text)
	}
}

func TestWithoutRuntimeAPIExitsWithAClearMessage(t *testing.T) {
	cmd := exec.Command(extensionBinary(t))
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	if exit, ok := err.(*exec.ExitError); !ok || exit.ExitCode() != 1 {
		t.Fatalf("exit = %v, want code 1", err)
	}
	if !strings.Contains(stderr.String(), extensionapi.EnvRuntimeAPI+" is not set") {
		t.Errorf("stderr = %s", stderr.String())
	}
}

// TestBinaryServesOneInvokeAgainstTheLambdaAPIs runs the real binary the way
// Lambda does: name from the file name, config from the environment, spans
// exported to X-Ray after runtimeDone and before the next event.
func TestBinaryServesOneInvokeAgainstTheLambdaAPIs(t *testing.T) {
	testsupport.SetAWSTestEnv(t)
	api := testsupport.NewRuntimeAPI(t, true)
	xray := testsupport.NewXRay(t)
	otlpAddr := testsupport.FreeLoopbackAddr(t)

	cmd := exec.Command(extensionBinary(t))
	cmd.Env = append(os.Environ(),
		extensionapi.EnvRuntimeAPI+"="+api.Addr,
		contract.EnvConfigURI+"=env:TEST_COLLECTOR_CONFIG",
		"TEST_COLLECTOR_CONFIG="+fmt.Sprintf(`
receivers: {otlp: {protocols: {http: {endpoint: "%s"}}}}
exporters: {awsxray: {region: "${env:AWS_REGION}", endpoint: "%s"}}
service: {pipelines: {traces: {receivers: [otlp], exporters: [awsxray]}}}
`, otlpAddr, xray.Server.URL),
		contract.EnvTelemetryListen+"=127.0.0.1:0",
		contract.EnvLogLevel+"=debug",
	)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	var logs []map[string]any
	var logsMu sync.Mutex
	scanDone := make(chan struct{})
	go func() {
		defer close(scanDone)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			var entry map[string]any
			if err := json.Unmarshal(sc.Bytes(), &entry); err != nil {
				t.Errorf("log line is not JSON: %s", sc.Text())
				continue
			}
			logsMu.Lock()
			logs = append(logs, entry)
			logsMu.Unlock()
		}
	}()
	started := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })

	ready := api.WaitNext(t, 10*time.Second)
	t.Logf("process start to first /event/next (registered, receiver listening, subscribed): %v", ready.Sub(started))
	if name, _ := api.Registered(); name != contract.ExtensionName {
		t.Errorf("registered as %q, want the file name", name)
	}

	api.Invoke("req-1", 5*time.Second)
	td, ids := testsupport.NewTrace(9)
	if resp := testsupport.PostOTLP(t, otlpAddr, td); resp.StatusCode != http.StatusOK {
		t.Fatalf("OTLP POST: HTTP %d", resp.StatusCode)
	}
	doneAt := time.Now()
	api.RuntimeDone(t, "req-1")
	nextAt := api.WaitNext(t, 10*time.Second)
	t.Logf("runtimeDone pushed to /event/next, including the export to the local X-Ray stand-in: %v", nextAt.Sub(doneAt))
	docs := xray.Documents()
	if len(docs) != 3 || docs[0]["trace_id"] != testsupport.XRayTraceID(ids.TraceID) {
		t.Fatalf("X-Ray received %v", docs)
	}

	if status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", cmd.Process.Pid)); err == nil {
		for _, line := range strings.Split(string(status), "\n") {
			if strings.HasPrefix(line, "VmHWM:") || strings.HasPrefix(line, "VmRSS:") {
				t.Logf("collector memory after one invoke: %s", strings.Join(strings.Fields(line), " "))
			}
		}
	}

	api.Shutdown("spindown", 2*time.Second)
	waitErr := make(chan error, 1)
	go func() { waitErr <- cmd.Wait() }()
	select {
	case err := <-waitErr:
		if err != nil {
			t.Fatalf("exit: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the extension did not exit after SHUTDOWN")
	}
	<-scanDone

	logsMu.Lock()
	defer logsMu.Unlock()
	var flushed bool
	for _, l := range logs {
		if l["msg"] == "flush" && l["exported_spans"] == float64(3) && l["dropped_spans"] == float64(0) && l["request_id"] == "req-1" {
			flushed = true
		}
	}
	if !flushed {
		t.Errorf("no flush log line with exported_spans=3, dropped_spans=0: %v", logs)
	}
}

// TestBinaryGivesUpOnARefusedConnectionBeforeTheFlushDeadline checks the
// binary retries a refused X-Ray connection briefly (the AWS SDK's updated
// retry behaviour, which main turns on) instead of until the deadline.
func TestBinaryGivesUpOnARefusedConnectionBeforeTheFlushDeadline(t *testing.T) {
	testsupport.SetAWSTestEnv(t)
	api := testsupport.NewRuntimeAPI(t, true)
	otlpAddr := testsupport.FreeLoopbackAddr(t)
	refused := "http://" + testsupport.FreeLoopbackAddr(t)

	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, components.EnvAWSUpdatedRetries+"=") {
			env = append(env, kv)
		}
	}
	cmd := exec.Command(extensionBinary(t))
	cmd.Env = append(env,
		extensionapi.EnvRuntimeAPI+"="+api.Addr,
		contract.EnvConfigURI+"=env:TEST_COLLECTOR_CONFIG",
		"TEST_COLLECTOR_CONFIG="+fmt.Sprintf(`
receivers: {otlp: {protocols: {http: {endpoint: "%s"}}}}
exporters: {awsxray: {region: "${env:AWS_REGION}", endpoint: "%s", max_retries: 3}}
service: {pipelines: {traces: {receivers: [otlp], exporters: [awsxray]}}}
`, otlpAddr, refused),
		contract.EnvTelemetryListen+"=127.0.0.1:0",
		contract.EnvFlushTimeout+"="+contract.DefaultFlushTimeout.String(),
	)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	api.WaitNext(t, 10*time.Second)

	api.Invoke("req-1", 30*time.Second)
	td, _ := testsupport.NewTrace(9)
	if resp := testsupport.PostOTLP(t, otlpAddr, td); resp.StatusCode != http.StatusOK {
		t.Fatalf("OTLP POST: HTTP %d", resp.StatusCode)
	}
	doneAt := time.Now()
	api.RuntimeDone(t, "req-1")
	nextAt := api.WaitNext(t, 10*time.Second)
	t.Logf("runtimeDone to /event/next with X-Ray refusing connections: %v", nextAt.Sub(doneAt))

	api.Shutdown("spindown", 2*time.Second)
	_ = cmd.Wait()
	var flush map[string]any
	for _, line := range strings.Split(stderr.String(), "\n") {
		var entry map[string]any
		if json.Unmarshal([]byte(line), &entry) == nil && entry["msg"] == "flush kept spans for a retry" && entry["request_id"] == "req-1" {
			flush = entry
		}
	}
	if flush == nil || flush["retained_spans"] != float64(3) || flush["dropped_spans"] != float64(0) {
		t.Fatalf("no 'flush kept spans for a retry' line with retained_spans=3 for req-1:\n%s", stderr.String())
	}
	errText, _ := flush["error"].(string)
	if !strings.Contains(errText, "connection refused") || strings.Contains(errText, "deadline exceeded") {
		t.Errorf("the export should end on the refused connection, not at the flush deadline: %q", errText)
	}
}
