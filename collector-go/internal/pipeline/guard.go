package pipeline

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configmiddleware"
	"go.opentelemetry.io/collector/extension/extensionmiddleware"
	"go.opentelemetry.io/collector/receiver/otlpreceiver"
)

// guardID names the HTTP middleware the pipeline puts in front of every
// OTLP/HTTP receiver. It is not configurable and not listed by --version.
var guardID = component.MustNewID("otel_xray_collector_receiver_guard")

// guard answers what the OTLP/HTTP receiver would answer less precisely:
//   - a body (after decompression) over max_request_body_size gets 413
//     Content Too Large (https://www.rfc-editor.org/rfc/rfc9110#status.413)
//     instead of 400;
//   - a refusal because the buffer is full (503) always carries Retry-After.
//
// It also counts the requests in progress, so that an invocation is known
// complete only when no request of its flush is still being read.
type guard struct{ invocations *invocations }

var _ extensionmiddleware.HTTPServer = guard{}

func (guard) Start(context.Context, component.Host) error { return nil }
func (guard) Shutdown(context.Context) error              { return nil }

func (g guard) GetHTTPHandler(context.Context) (extensionmiddleware.WrapHTTPHandlerFunc, error) {
	return func(_ context.Context, next http.Handler) (http.Handler, error) {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if g.invocations != nil {
				g.invocations.requestStarted()
				defer g.invocations.requestDone()
			}
			// confighttp has wrapped the body in an http.MaxBytesReader with
			// max_request_body_size (after decompression): read it here so
			// that going over the limit is answered with 413.
			body, err := io.ReadAll(r.Body)
			_ = r.Body.Close()
			if err != nil {
				var tooLarge *http.MaxBytesError
				if errors.As(err, &tooLarge) {
					http.Error(w, fmt.Sprintf("request body over max_request_body_size (%d bytes)", tooLarge.Limit), http.StatusRequestEntityTooLarge)
					return
				}
				http.Error(w, "reading the request body failed", http.StatusBadRequest)
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			r.ContentLength = int64(len(body))
			next.ServeHTTP(&retryAfterWriter{ResponseWriter: w}, r)
		}), nil
	}, nil
}

// retryAfterWriter adds Retry-After to a 503 or 429 that lacks one.
type retryAfterWriter struct{ http.ResponseWriter }

func (w *retryAfterWriter) WriteHeader(status int) {
	if (status == http.StatusServiceUnavailable || status == http.StatusTooManyRequests) && w.Header().Get("Retry-After") == "" {
		w.Header().Set("Retry-After", strconv.Itoa(int(retryAfter.Seconds())))
	}
	w.ResponseWriter.WriteHeader(status)
}

// boundedDecoders are the request encodings the receiver accepts by
// default: confighttp's defaults without zstd.
var boundedDecoders = []string{"", "gzip", "zlib", "deflate", "snappy"}

// useGuard puts the guard first among the middlewares of cfg's HTTP server
// when cfg is an OTLP receiver with HTTP enabled.
func useGuard(cfg component.Config) {
	c, ok := cfg.(*otlpreceiver.Config)
	if !ok || !c.Protocols.HTTP.HasValue() {
		return
	}
	server := &c.Protocols.HTTP.Get().ServerConfig
	// zstd is not accepted: its decoder allocates whatever window the
	// sender declares (a 22 KB body can claim 512 MiB). The others have
	// bounded windows, and max_request_body_size bounds what they inflate.
	algorithms := []string{}
	for _, a := range server.CompressionAlgorithms {
		if a != "zstd" {
			algorithms = append(algorithms, a)
		}
	}
	if server.CompressionAlgorithms == nil {
		algorithms = boundedDecoders
	}
	server.CompressionAlgorithms = algorithms
	server.Middlewares = append([]configmiddleware.Config{{ID: guardID}}, server.Middlewares...)
}
