package components

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/xray"
	"github.com/aws/aws-sdk-go-v2/service/xray/types"
	"github.com/open-telemetry/opentelemetry-collector-contrib/exporter/awsxrayexporter"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// The X-Ray daemon's UDP protocol
// (https://docs.aws.amazon.com/xray/latest/devguide/xray-api-sendingdata.html#xray-api-daemon):
// each datagram is this header, a newline, and one segment document.
const (
	daemonHeader = `{"format":"json","version":1}` + "\n"
	// maxDatagramBytes is the most the daemon reads of one datagram: its
	// 64 kB receive buffer.
	maxDatagramBytes = 64 * 1024
	// EnvDaemonAddress is where Lambda's X-Ray daemon listens for the
	// function (https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime).
	EnvDaemonAddress = "AWS_XRAY_DAEMON_ADDRESS"
	// defaultDaemonAddress is the daemon's own default.
	defaultDaemonAddress = "127.0.0.1:2000"
)

// Unprocessed error code of a document the daemon cannot take.
const codeDatagramTooLarge = "DatagramTooLarge"

// daemonType is the exporter that hands segment documents to the X-Ray
// daemon, the one Lambda runs for every sampled invocation, instead of
// calling PutTraceSegments: a UDP datagram per document, no answer
// awaited. The daemon batches them to X-Ray with the function's role.
var daemonType = component.MustNewType("awsxray_daemon")

// DaemonConfig configures the awsxray_daemon exporter.
type DaemonConfig struct {
	// Endpoint is the daemon's host:port. Empty: AWS_XRAY_DAEMON_ADDRESS
	// (set by Lambda), else 127.0.0.1:2000.
	Endpoint string `mapstructure:"endpoint"`
	// IndexedAttributes and IndexAllAttributes become X-Ray annotations,
	// LogGroupNames the segments' log groups, as for the awsxray exporter.
	IndexedAttributes  []string `mapstructure:"indexed_attributes"`
	IndexAllAttributes bool     `mapstructure:"index_all_attributes"`
	LogGroupNames      []string `mapstructure:"aws_log_groups"`
}

// Validate checks the endpoint when it is given.
func (c *DaemonConfig) Validate() error {
	if c.Endpoint == "" {
		return nil
	}
	return validDaemonAddress("endpoint", c.Endpoint)
}

// validDaemonAddress checks that address is host:port with a port number.
func validDaemonAddress(field, address string) error {
	host, port, err := net.SplitHostPort(address)
	n, convErr := strconv.Atoi(port)
	if err != nil || host == "" || convErr != nil || n < 1 || n > 65535 {
		return fmt.Errorf("%s %q is not host:port: give the X-Ray daemon's address, for example %s", field, address, defaultDaemonAddress)
	}
	return nil
}

// daemonAddress is the address the exporter sends to.
func daemonAddress(cfg *DaemonConfig) (string, error) {
	if cfg.Endpoint != "" {
		return cfg.Endpoint, nil
	}
	if v := os.Getenv(EnvDaemonAddress); v != "" {
		// Lambda's value; another one set by hand may be wrong.
		if err := validDaemonAddress(EnvDaemonAddress, v); err != nil {
			return "", err
		}
		return v, nil
	}
	return defaultDaemonAddress, nil
}

// newDaemonFactory is the awsxray_daemon exporter's factory.
func newDaemonFactory() exporter.Factory {
	return exporter.NewFactory(daemonType,
		func() component.Config { return &DaemonConfig{} },
		exporter.WithTraces(func(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Traces, error) {
			s, err := newDaemonSender(ctx, set, cfg)
			if err != nil {
				return nil, err
			}
			return senderExporter{s}, nil
		}, component.StabilityLevelAlpha))
}

// daemonPolicy sends batches of 50 documents (the daemon's own batch), one
// at a time: a datagram is written in microseconds.
func daemonPolicy(component.Config) ExportPolicy {
	return ExportPolicy{MaxDocuments: maxDocumentsPerPutTraceSegments, Documents: xrayDocuments, Workers: 1, NewSender: newDaemonSender, HandsOff: true}
}

// newDaemonSender is the awsxray sender (translation, document repair,
// accounting) with the daemon in place of PutTraceSegments.
func newDaemonSender(_ context.Context, set exporter.Settings, cfg component.Config) (Sender, error) {
	c, ok := cfg.(*DaemonConfig)
	if !ok {
		return nil, fmt.Errorf("awsxray_daemon: unexpected configuration type %T", cfg)
	}
	address, err := daemonAddress(c)
	if err != nil {
		return nil, err
	}
	x := awsxrayexporter.NewFactory().CreateDefaultConfig().(*awsxrayexporter.Config)
	x.IndexedAttributes, x.IndexAllAttributes, x.LogGroupNames = c.IndexedAttributes, c.IndexAllAttributes, c.LogGroupNames
	// One round: a datagram is not answered, so nothing comes back to retry.
	x.AWSSessionSettings.MaxRetries = 0
	x.AWSSessionSettings.NumberOfWorkers = 1
	return &daemonSender{xraySender: newXRaySenderWithClient(x, &daemonClient{address: address}, set.Logger)}, nil
}

// daemonSender closes the daemon's socket on Shutdown.
type daemonSender struct{ *xraySender }

func (s *daemonSender) Shutdown(context.Context) error {
	return s.client.(*daemonClient).close()
}

// daemonClient writes each document of a PutTraceSegments input as one
// datagram. A document too large for a datagram is listed as unprocessed
// (dropped, counted); a failed write fails the call.
type daemonClient struct {
	address string
	mu      sync.Mutex
	conn    net.Conn
	buf     []byte
}

func (d *daemonClient) PutTraceSegments(ctx context.Context, in *xray.PutTraceSegmentsInput, _ ...func(*xray.Options)) (*xray.PutTraceSegmentsOutput, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.conn == nil {
		var dialer net.Dialer
		conn, err := dialer.DialContext(ctx, "udp", d.address)
		if err != nil {
			return nil, err
		}
		d.conn = conn
	}
	out := &xray.PutTraceSegmentsOutput{}
	for _, doc := range in.TraceSegmentDocuments {
		if len(daemonHeader)+len(doc) > maxDatagramBytes {
			out.UnprocessedTraceSegments = append(out.UnprocessedTraceSegments, types.UnprocessedTraceSegment{
				Id: aws.String(documentID(doc)), ErrorCode: aws.String(codeDatagramTooLarge),
				Message: aws.String(fmt.Sprintf("%d bytes with the header, over the daemon's %d", len(daemonHeader)+len(doc), maxDatagramBytes)),
			})
			continue
		}
		d.buf = append(append(d.buf[:0], daemonHeader...), doc...)
		if _, err := d.conn.Write(d.buf); err != nil {
			// A refused datagram (nothing listens) shows on a later
			// write of a connected socket: the call fails, and the
			// sender keeps its spans for a later flush.
			_ = d.conn.Close()
			d.conn = nil
			return nil, fmt.Errorf("writing to the X-Ray daemon at %s: %w", d.address, err)
		}
	}
	return out, nil
}

func (d *daemonClient) close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.conn == nil {
		return nil
	}
	err := d.conn.Close()
	d.conn = nil
	return err
}

// documentID reads the "id" of a segment document without decoding it all.
func documentID(doc string) string {
	const key = `"id":"`
	for i := 0; i+len(key)+16 <= len(doc); i++ {
		if doc[i:i+len(key)] == key {
			return doc[i+len(key) : i+len(key)+16]
		}
	}
	return ""
}

// senderExporter is a Sender as a collector exporter, for a factory whose
// exporter is built outside this distribution's pipeline.
type senderExporter struct{ sender Sender }

func (senderExporter) Start(context.Context, component.Host) error { return nil }
func (e senderExporter) Shutdown(ctx context.Context) error        { return e.sender.Shutdown(ctx) }
func (senderExporter) Capabilities() consumer.Capabilities {
	return consumer.Capabilities{MutatesData: true}
}

func (e senderExporter) ConsumeTraces(ctx context.Context, td ptrace.Traces) error {
	r := e.sender.Send(ctx, td)
	if n := r.DroppedSpans() + r.RetrySpans; n > 0 {
		return errors.Join(fmt.Errorf("%d spans not delivered", n), r.Err)
	}
	return nil
}
