// Package extensionapi is a client of the Lambda Extensions API
// (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-extensions-api.html).
package extensionapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// EnvRuntimeAPI is the environment variable in which Lambda gives extensions
// the host:port of its APIs.
const EnvRuntimeAPI = "AWS_LAMBDA_RUNTIME_API"

// Header names defined by the Extensions API.
const (
	// HeaderExtensionName carries the extension name on Register; it must be
	// the file name of the extension in /opt/extensions.
	HeaderExtensionName = "Lambda-Extension-Name"
	// HeaderExtensionID is returned by Register and sent on every later call.
	HeaderExtensionID = "Lambda-Extension-Identifier"
	// HeaderFunctionErrorType carries the error type on init/error and exit/error.
	HeaderFunctionErrorType = "Lambda-Extension-Function-Error-Type"
)

// EventType is a lifecycle event an extension can register for.
type EventType string

// Event types of the Extensions API.
const (
	Invoke   EventType = "INVOKE"
	Shutdown EventType = "SHUTDOWN"
)

// RegisterResponse is the body Lambda returns on Register.
type RegisterResponse struct {
	FunctionName    string `json:"functionName"`
	FunctionVersion string `json:"functionVersion"`
	Handler         string `json:"handler"`
}

// Event is the body of /extension/event/next.
type Event struct {
	EventType EventType `json:"eventType"`
	// DeadlineMs is the invoke (or shutdown) deadline in milliseconds since the epoch.
	DeadlineMs         int64  `json:"deadlineMs"`
	RequestID          string `json:"requestId"`
	InvokedFunctionArn string `json:"invokedFunctionArn"`
	// ShutdownReason is spindown, timeout or failure on SHUTDOWN.
	ShutdownReason string `json:"shutdownReason"`
	// Tracing is the invocation's trace header on INVOKE.
	Tracing *Tracing `json:"tracing,omitempty"`
}

// Tracing is the tracing object of an INVOKE event: Type is
// X-Amzn-Trace-Id and Value the header, such as
// "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1".
type Tracing struct {
	Type  string `json:"type"`
	Value string `json:"value"`
}

// Unsampled reports whether the invocation's trace header says Sampled=0:
// the function's tracer then records no span for it. A header without a
// sampling decision, or no header, counts as sampled.
func (e Event) Unsampled() bool {
	if e.Tracing == nil || (e.Tracing.Type != "" && !strings.EqualFold(e.Tracing.Type, "X-Amzn-Trace-Id")) {
		return false
	}
	for _, part := range strings.Split(e.Tracing.Value, ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if ok && k == "Sampled" {
			return strings.TrimSpace(v) == "0"
		}
	}
	return false
}

// Deadline returns DeadlineMs as a time (zero if Lambda sent none).
func (e Event) Deadline() time.Time {
	if e.DeadlineMs <= 0 {
		return time.Time{}
	}
	return time.UnixMilli(e.DeadlineMs)
}

// ErrorRequest is the body of init/error and exit/error.
type ErrorRequest struct {
	ErrorMessage string   `json:"errorMessage"`
	ErrorType    string   `json:"errorType"`
	StackTrace   []string `json:"stackTrace"`
}

// Client talks to the Extensions API at AWS_LAMBDA_RUNTIME_API.
type Client struct {
	baseURL     string
	http        *http.Client
	extensionID string
}

// NewClient returns a client for the API at runtimeAPI (host:port, the value
// of AWS_LAMBDA_RUNTIME_API).
func NewClient(runtimeAPI string) *Client {
	return &Client{
		baseURL: "http://" + runtimeAPI + "/2020-01-01/extension",
		// No client timeout: /event/next blocks for as long as the environment
		// is frozen or idle; callers bound calls with a context instead.
		http: &http.Client{},
	}
}

// ExtensionID returns the identifier Lambda assigned on Register.
func (c *Client) ExtensionID() string { return c.extensionID }

// Register registers the extension named name for events.
func (c *Client) Register(ctx context.Context, name string, events ...EventType) (*RegisterResponse, error) {
	body, err := json.Marshal(map[string][]EventType{"events": events})
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.baseURL+"/register", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set(HeaderExtensionName, name)
	req.Header.Set("Content-Type", "application/json")
	var out RegisterResponse
	resp, err := c.do(req, &out)
	if err != nil {
		return nil, fmt.Errorf("register: %w", err)
	}
	c.extensionID = resp.Header.Get(HeaderExtensionID)
	if c.extensionID == "" {
		return nil, fmt.Errorf("register: response has no %s header", HeaderExtensionID)
	}
	return &out, nil
}

// NextEvent blocks until Lambda sends the next event. Calling it tells Lambda
// this extension is done with the current one.
func (c *Client) NextEvent(ctx context.Context) (*Event, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.baseURL+"/event/next", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set(HeaderExtensionID, c.extensionID)
	var ev Event
	if _, err := c.do(req, &ev); err != nil {
		return nil, fmt.Errorf("event/next: %w", err)
	}
	return &ev, nil
}

// InitError reports a failure during initialisation. Lambda fails the
// environment's init; the extension should exit afterwards.
func (c *Client) InitError(ctx context.Context, errorType string, cause error) error {
	return c.reportError(ctx, "/init/error", errorType, cause)
}

// ExitError reports a fatal failure before the extension exits.
func (c *Client) ExitError(ctx context.Context, errorType string, cause error) error {
	return c.reportError(ctx, "/exit/error", errorType, cause)
}

func (c *Client) reportError(ctx context.Context, path, errorType string, cause error) error {
	body, err := json.Marshal(ErrorRequest{ErrorMessage: cause.Error(), ErrorType: errorType, StackTrace: []string{}})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.baseURL+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set(HeaderExtensionID, c.extensionID)
	req.Header.Set(HeaderFunctionErrorType, errorType)
	req.Header.Set("Content-Type", "application/json")
	if _, err := c.do(req, nil); err != nil {
		return fmt.Errorf("%s: %w", path[1:], err)
	}
	return nil
}

// do sends req, checks for a 2xx answer and decodes a JSON body into out.
func (c *Client) do(req *http.Request, out any) (*http.Response, error) {
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, fmt.Errorf("HTTP %d: %s", resp.StatusCode, bytes.TrimSpace(body))
	}
	if out != nil && len(body) > 0 {
		if err := json.Unmarshal(body, out); err != nil {
			return nil, fmt.Errorf("decoding response: %w", err)
		}
	}
	return resp, nil
}
