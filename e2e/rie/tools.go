//go:build tools

// Package rie records the runtime interface emulator as a build dependency of this module.
package rie

import _ "go.amzn.com/cmd/aws-lambda-rie"
