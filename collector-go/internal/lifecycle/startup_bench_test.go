package lifecycle

import (
	"context"
	"fmt"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/cdk-lambda-otel-xray/collector-go/internal/components"
	"github.com/cdk-lambda-otel-xray/collector-go/internal/config"
	"github.com/cdk-lambda-otel-xray/collector-go/internal/contract"
	"github.com/cdk-lambda-otel-xray/collector-go/internal/pipeline"
	"github.com/cdk-lambda-otel-xray/collector-go/internal/testsupport"
)

// BenchmarkStartToReady measures Run from its start to the first
// /extension/event/next (registered, receiver listening, subscribed), with
// the Runtime API answering registration at once and after 15 ms (about
// what the project's emulator takes behind its forwarder). A figure to
// compare, not a pass/fail check.
func BenchmarkStartToReady(b *testing.B) {
	for _, delay := range []time.Duration{0, 15 * time.Millisecond} {
		b.Run(fmt.Sprintf("register_delay=%v", delay), func(b *testing.B) {
			testsupport.SetAWSTestEnv(b)
			b.Setenv(components.EnvAWSUpdatedRetries, "true")
			xray := testsupport.NewXRay(b)
			var total time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				api := testsupport.NewRuntimeAPI(b, true)
				api.RegisterDelay = delay
				otlpAddr := testsupport.FreeLoopbackAddr(b)
				uri := fmt.Sprintf("yaml:receivers: {otlp: {protocols: {http: {endpoint: '%s'}}}}\n"+
					"exporters: {awsxray: {region: us-east-1, endpoint: '%s'}}\n"+
					"service: {pipelines: {traces: {receivers: [otlp], exporters: [awsxray]}}}", otlpAddr, xray.Server.URL)
				s := config.DefaultSettings()
				s.TelemetryListen = "127.0.0.1:0"
				ctx, cancel := context.WithCancel(context.Background())
				done := make(chan error, 1)
				b.StartTimer()
				start := time.Now()
				go func() {
					done <- Run(ctx, Options{
						RuntimeAPI: api.Addr, ExtensionName: contract.ExtensionName, Settings: s, Logger: zap.NewNop(),
						StartPipeline: func(ctx context.Context) (Pipeline, error) {
							return pipeline.StartFromURI(ctx, uri, pipeline.Limits{MaxSpans: 1000, MaxBytes: 8 << 20}, zap.NewNop())
						},
					})
				}()
				ready := api.WaitNext(b, 10*time.Second)
				total += ready.Sub(start)
				b.StopTimer()
				cancel()
				<-done
			}
			b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms/ready")
		})
	}
}
