package main

import (
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/cdk-lambda-otel-xray/collector-go/internal/contract"
	"github.com/cdk-lambda-otel-xray/collector-go/internal/extensionapi"
	"github.com/cdk-lambda-otel-xray/collector-go/internal/testsupport"
)

// BenchmarkBinaryStartToReady measures the real binary from exec to its
// first /extension/event/next (registered, receiver listening, subscribed),
// with the Runtime API answering registration at once and after 15 ms.
// OTEL_XRAY_COLLECTOR_TEST_BINARY selects the build.sh output. A figure to
// compare, not a pass/fail check:
//
//	go test -tags "$(cat build-tags)" -run '^$' -bench BinaryStartToReady -benchtime 25x .
func BenchmarkBinaryStartToReady(b *testing.B) {
	testsupport.SetAWSTestEnv(b)
	xray := testsupport.NewXRay(b)
	binary := extensionBinary(b)
	for _, delay := range []time.Duration{0, 15 * time.Millisecond} {
		b.Run(fmt.Sprintf("register_delay=%v", delay), func(b *testing.B) {
			var total time.Duration
			for i := 0; i < b.N; i++ {
				api := testsupport.NewRuntimeAPI(b, true)
				api.RegisterDelay = delay
				otlpAddr := testsupport.FreeLoopbackAddr(b)
				cmd := exec.Command(binary)
				cmd.Env = append(os.Environ(),
					extensionapi.EnvRuntimeAPI+"="+api.Addr,
					contract.EnvConfigURI+"=env:TEST_COLLECTOR_CONFIG",
					"TEST_COLLECTOR_CONFIG="+fmt.Sprintf(`
receivers: {otlp: {protocols: {http: {endpoint: "%s"}}}}
exporters: {awsxray: {region: "${env:AWS_REGION}", endpoint: "%s"}}
service: {pipelines: {traces: {receivers: [otlp], exporters: [awsxray]}}}
`, otlpAddr, xray.Server.URL),
					contract.EnvTelemetryListen+"=127.0.0.1:0",
				)
				start := time.Now()
				if err := cmd.Start(); err != nil {
					b.Fatal(err)
				}
				total += api.WaitNext(b, 10*time.Second).Sub(start)
				_ = cmd.Process.Kill()
				_ = cmd.Wait()
			}
			b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms/ready")
		})
	}
}
