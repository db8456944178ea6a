package telemetryapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// ErrNotSupported means the Telemetry API accepted the request without
// subscribing: the official runtime interface emulator answers 202 this way.
var ErrNotSupported = errors.New("telemetry API not supported by this Lambda environment")

// Subscribe asks Lambda to push platform events to destinationURI.
// runtimeAPI is the value of AWS_LAMBDA_RUNTIME_API.
func Subscribe(ctx context.Context, runtimeAPI, extensionID, destinationURI string) error {
	body, err := json.Marshal(subscribeRequest{
		SchemaVersion: SchemaVersion,
		Types:         []string{"platform"},
		Buffering:     MinimumBuffering,
		Destination:   destination{Protocol: "HTTP", URI: destinationURI},
	})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, "http://"+runtimeAPI+"/2022-07-01/telemetry", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Lambda-Extension-Identifier", extensionID)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("telemetry subscribe: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	switch {
	case resp.StatusCode == http.StatusOK:
		return nil
	case resp.StatusCode == http.StatusAccepted:
		return fmt.Errorf("%w: HTTP 202: %s", ErrNotSupported, bytes.TrimSpace(msg))
	default:
		return fmt.Errorf("telemetry subscribe: HTTP %d: %s", resp.StatusCode, bytes.TrimSpace(msg))
	}
}
