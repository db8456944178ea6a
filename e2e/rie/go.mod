// Builds the official Lambda runtime interface emulator for the e2e suite (see e2e/setup.sh).
// The emulator's module declares its path as go.amzn.com; this module points that path at the
// GitHub repository at a pinned commit.
module otel-xray-e2e/rie

go 1.24

require go.amzn.com v0.0.0-00010101000000-000000000000

replace go.amzn.com => github.com/aws/aws-lambda-runtime-interface-emulator v0.0.0-20250423173140-3a0772eae98d
