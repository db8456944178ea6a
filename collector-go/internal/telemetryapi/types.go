// Package telemetryapi subscribes to the Lambda Telemetry API and listens for
// the platform events it pushes, to learn when the runtime has finished an
// invoke (https://docs.aws.amazon.com/lambda/latest/dg/telemetry-api.html).
package telemetryapi

import "encoding/json"

// SchemaVersion of the Telemetry API events this package understands.
const SchemaVersion = "2022-12-13"

// Event is one item of the JSON array Lambda POSTs to the subscriber.
type Event struct {
	Time   string          `json:"time"`
	Type   string          `json:"type"`
	Record json.RawMessage `json:"record"`
}

// TypeRuntimeDone is emitted when the runtime finished an invoke, successfully
// or not (https://docs.aws.amazon.com/lambda/latest/dg/telemetry-schema-reference.html).
const TypeRuntimeDone = "platform.runtimeDone"

// RuntimeDoneRecord is the record of a platform.runtimeDone event.
type RuntimeDoneRecord struct {
	RequestID string `json:"requestId"`
	// Status is success, failure, error or timeout.
	Status string `json:"status"`
}

// Buffering limits of a subscription. Lambda pushes a batch when any limit is
// reached; these are the smallest values the Telemetry API accepts, so
// runtimeDone arrives as early as possible
// (https://docs.aws.amazon.com/lambda/latest/dg/telemetry-api.html#telemetry-api-buffering).
type Buffering struct {
	MaxItems  int `json:"maxItems"`
	MaxBytes  int `json:"maxBytes"`
	TimeoutMs int `json:"timeoutMs"`
}

// MinimumBuffering is the smallest buffering Lambda allows.
var MinimumBuffering = Buffering{MaxItems: 1000, MaxBytes: 262144, TimeoutMs: 25}

type destination struct {
	Protocol string `json:"protocol"`
	URI      string `json:"URI"`
}

type subscribeRequest struct {
	SchemaVersion string      `json:"schemaVersion"`
	Types         []string    `json:"types"`
	Buffering     Buffering   `json:"buffering"`
	Destination   destination `json:"destination"`
}
