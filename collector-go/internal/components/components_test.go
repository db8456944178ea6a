package components

import (
	"slices"
	"testing"

	"go.opentelemetry.io/collector/component"
)

func typeNames[F any](m map[component.Type]F) []string {
	var out []string
	for t := range m {
		out = append(out, t.String())
	}
	slices.Sort(out)
	return out
}

func TestFactoriesComeFromTheTableUnderTheirTypeAndFormerType(t *testing.T) {
	f := New()
	for kind, tt := range map[string]struct{ got, want []string }{
		"receivers":  {typeNames(f.Receivers), []string{"otlp"}},
		"exporters":  {typeNames(f.Exporters), []string{"awsxray", "awsxray_daemon", "debug", "otlp_http", "otlphttp"}},
		"extensions": {typeNames(f.Extensions), []string{"sigv4auth"}},
	} {
		if !slices.Equal(tt.got, tt.want) {
			t.Errorf("%s = %v, want %v", kind, tt.got, tt.want)
		}
	}
}

func TestExportPolicyIsTheExportersOwnOrOneCall(t *testing.T) {
	f := New()
	xray := component.MustNewType("awsxray")
	if p := f.ExportPolicy(xray, f.Exporters[xray].CreateDefaultConfig()); p.MaxDocuments != maxDocumentsPerPutTraceSegments {
		t.Errorf("awsxray policy = %+v, want batches of %d documents", p, maxDocumentsPerPutTraceSegments)
	}
	for _, name := range []string{"otlphttp", "otlp_http", "debug"} {
		typ := component.MustNewType(name)
		p := f.ExportPolicy(typ, f.Exporters[typ].CreateDefaultConfig())
		if p.MaxDocuments != 0 || p.Workers != 1 || p.Documents == nil {
			t.Errorf("%s policy = %+v, want the whole flush in one call", name, p)
		}
	}
}

func TestModulesListEveryTableEntryUnderTheTypeConfigsUse(t *testing.T) {
	var got []string
	for _, m := range Modules() {
		got = append(got, m.Kind+" "+m.Type.String())
	}
	want := []string{"receiver otlp", "exporter awsxray", "exporter awsxray_daemon", "exporter otlphttp", "exporter debug", "extension sigv4auth"}
	if !slices.Equal(got, want) {
		t.Errorf("modules = %v, want %v", got, want)
	}
}
