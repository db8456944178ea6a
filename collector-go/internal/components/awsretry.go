package components

import (
	"fmt"
	"os"
)

// EnvAWSUpdatedRetries is the AWS SDK's switch for its updated retry
// behaviour, which the awsxray exporter and sigv4auth run with.
//
// The AWS SDKs' updated standard retry behaviour
// (https://aws.amazon.com/blogs/developer/announcing-updated-retry-behavior-for-aws-sdks-and-tools/,
// opt-in through AWS_NEW_RETRIES_2026, the default from November 2026)
// waits 50 ms times 2^attempt (with full jitter) before retrying a transient
// error such as a refused connection, and 1 s times 2^attempt for a
// throttling error. The legacy behaviour of the pinned SDK waits up to 2 s,
// then up to 4 s, for every retryable error: with X-Ray refusing connections
// an export then sits out most of the flush deadline before giving up.
const EnvAWSUpdatedRetries = "AWS_NEW_RETRIES_2026"

// UseUpdatedAWSRetries turns the updated retry behaviour on for this process
// unless the environment already sets EnvAWSUpdatedRetries, and returns the
// value in effect. It must run before the exporters are created.
func UseUpdatedAWSRetries() (string, error) {
	if v, ok := os.LookupEnv(EnvAWSUpdatedRetries); ok {
		if v == "true" || v == "false" {
			return v, nil
		}
		// The AWS SDK for Go reads exactly "true"; anything else means false.
		return v, fmt.Errorf("%s is %q, which the AWS SDK reads as false: set it to true (quick retries of refused connections, the default) or false (the SDK's legacy backoff)", EnvAWSUpdatedRetries, v)
	}
	if err := os.Setenv(EnvAWSUpdatedRetries, "true"); err != nil {
		return "", fmt.Errorf("setting %s: %w", EnvAWSUpdatedRetries, err)
	}
	return "true", nil
}
