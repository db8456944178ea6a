package config

import (
	"fmt"
	"reflect"
	"slices"
	"strings"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
)

// fieldByTag finds the field of the struct behind cfg whose mapstructure
// name is tag (for example an exporter's sending_queue), whatever the
// component's configuration type.
func fieldByTag(cfg any, tag string) (reflect.Value, bool) {
	v := reflect.ValueOf(cfg)
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return reflect.Value{}, false
		}
		v = v.Elem()
	}
	return fieldByTagValue(v, tag)
}

func fieldByTagValue(v reflect.Value, tag string) (reflect.Value, bool) {
	if v.Kind() != reflect.Struct {
		return reflect.Value{}, false
	}
	for i := 0; i < v.NumField(); i++ {
		f := v.Type().Field(i)
		if f.IsExported() && strings.Split(f.Tag.Get("mapstructure"), ",")[0] == tag {
			return v.Field(i), true
		}
	}
	return reflect.Value{}, false
}

func unsupported(kind string, id component.ID, supported []string) error {
	return fmt.Errorf("%s %q is not built into this collector: use one of %v", kind, id.String(), supported)
}

func typesOf[F any](m map[component.Type]F) []string {
	out := make([]string, 0, len(m))
	for t := range m {
		out = append(out, t.String())
	}
	slices.Sort(out)
	return out
}

func topLevelKeys(c *confmap.Conf) []string {
	keys := make([]string, 0)
	for k := range c.ToStringMap() {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
