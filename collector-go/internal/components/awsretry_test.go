package components

import (
	"os"
	"strings"
	"testing"
)

func TestUseUpdatedAWSRetriesTurnsTheUpdatedRetriesOnWhenUnset(t *testing.T) {
	t.Setenv(EnvAWSUpdatedRetries, "")
	if err := os.Unsetenv(EnvAWSUpdatedRetries); err != nil {
		t.Fatal(err)
	}
	v, err := UseUpdatedAWSRetries()
	if err != nil || v != "true" || os.Getenv(EnvAWSUpdatedRetries) != "true" {
		t.Fatalf("UseUpdatedAWSRetries() = %q, %v; environment %q, want true", v, err, os.Getenv(EnvAWSUpdatedRetries))
	}
}

func TestUseUpdatedAWSRetriesKeepsAnExplicitChoice(t *testing.T) {
	t.Setenv(EnvAWSUpdatedRetries, "false")
	v, err := UseUpdatedAWSRetries()
	if err != nil || v != "false" || os.Getenv(EnvAWSUpdatedRetries) != "false" {
		t.Fatalf("UseUpdatedAWSRetries() = %q, %v; environment %q, want false kept", v, err, os.Getenv(EnvAWSUpdatedRetries))
	}
}

func TestUseUpdatedAWSRetriesNamesTheVariableTheValueAndTheFixForABadValue(t *testing.T) {
	t.Setenv(EnvAWSUpdatedRetries, "yes")
	_, err := UseUpdatedAWSRetries()
	if err == nil {
		t.Fatal("want an error for yes")
	}
	for _, want := range []string{EnvAWSUpdatedRetries, `"yes"`, "set it to true"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}
