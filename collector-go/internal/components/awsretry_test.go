package awsretry

import (
	"os"
	"strings"
	"testing"
)

func TestEnableTurnsTheUpdatedRetriesOnWhenUnset(t *testing.T) {
	t.Setenv(EnvUpdatedRetries, "")
	if err := os.Unsetenv(EnvUpdatedRetries); err != nil {
		t.Fatal(err)
	}
	v, err := Enable()
	if err != nil || v != "true" || os.Getenv(EnvUpdatedRetries) != "true" {
		t.Fatalf("Enable() = %q, %v; environment %q, want true", v, err, os.Getenv(EnvUpdatedRetries))
	}
}

func TestEnableKeepsAnExplicitChoice(t *testing.T) {
	t.Setenv(EnvUpdatedRetries, "false")
	v, err := Enable()
	if err != nil || v != "false" || os.Getenv(EnvUpdatedRetries) != "false" {
		t.Fatalf("Enable() = %q, %v; environment %q, want false kept", v, err, os.Getenv(EnvUpdatedRetries))
	}
}

func TestEnableNamesTheVariableTheValueAndTheFixForABadValue(t *testing.T) {
	t.Setenv(EnvUpdatedRetries, "yes")
	_, err := Enable()
	if err == nil {
		t.Fatal("want an error for yes")
	}
	for _, want := range []string{EnvUpdatedRetries, `"yes"`, "set it to true"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}
