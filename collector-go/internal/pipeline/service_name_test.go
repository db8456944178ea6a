package pipeline

import (
	"net/http"
	"testing"
	"time"

	"github.com/cdk-lambda-otel-xray/collector-go/internal/testsupport"
)

func TestSpansWhoseSDKKnowsNoServiceNameAreNamedAfterTheFunction(t *testing.T) {
	r := startWith(t, 1000, "", "", nil, WithFallbackServiceName("orders-fn"))
	names := map[byte]string{1: "unknown_service:python3.13", 2: "", 3: "checkout", 4: "unknown_service"}
	for seed, name := range names {
		td, _ := testsupport.NewTrace(seed)
		attrs := td.ResourceSpans().At(0).Resource().Attributes()
		if name == "" {
			attrs.Remove(serviceNameAttribute)
		} else {
			attrs.PutStr(serviceNameAttribute, name)
		}
		if resp := testsupport.PostOTLP(t, r.addr, td); resp.StatusCode != http.StatusOK {
			t.Fatalf("OTLP POST: HTTP %d", resp.StatusCode)
		}
	}
	if res := flush(t, r.pipeline, 5*time.Second); res.Exported() != 12 {
		t.Fatalf("exported %d spans, want 12", res.Exported())
	}
	byName := map[string]int{}
	for _, doc := range r.xray.Documents() {
		byName[doc["name"].(string)]++
	}
	// The server (handler) span of each trace is a segment named after the service.
	if byName["orders-fn"] != 3 || byName["checkout"] != 1 {
		t.Fatalf("segment names = %v, want orders-fn for the three unnamed services and checkout kept", byName)
	}
	for name := range byName {
		if name == "unknown_service" || name == "unknown_service:python3.13" {
			t.Errorf("a segment is still named %q: %v", name, byName)
		}
	}
}

func TestWithoutAFunctionNameServiceNamesAreLeftAlone(t *testing.T) {
	r := start(t, 1000, "")
	td, _ := testsupport.NewTrace(5)
	td.ResourceSpans().At(0).Resource().Attributes().PutStr(serviceNameAttribute, "unknown_service:java")
	testsupport.PostOTLP(t, r.addr, td)
	flush(t, r.pipeline, 5*time.Second)
	found := false
	for _, doc := range r.xray.Documents() {
		if doc["name"] == "unknown_service:java" {
			found = true
		}
	}
	if !found {
		t.Error("the SDK's service name was changed without a function name to replace it")
	}
}
