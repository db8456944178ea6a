// Package xraydoc checks and repairs X-Ray segment documents after the
// collector-contrib translator made them, so that only documents X-Ray
// accepts are sent. The rules come from the X-Ray segment document reference
// (https://docs.aws.amazon.com/xray/latest/devguide/xray-api-segmentdocuments.html)
// and the PutTraceSegments API
// (https://docs.aws.amazon.com/xray/latest/api/API_PutTraceSegments.html).
//
// What can be repaired is repaired in a documented way (see README, "Segment
// documents"); a document that cannot be made valid is refused with a reason,
// and its span is counted dropped.
package xraydoc

import "regexp"

// Limits of the segment document reference
// (https://docs.aws.amazon.com/xray/latest/devguide/xray-api-segmentdocuments.html).
const (
	// MaxDocumentBytes: "A segment document can be up to 64 kB". Taken as
	// 64,000 bytes, the smaller reading of kB.
	MaxDocumentBytes = 64_000
	// MaxNameChars: name, "up to 200 characters".
	MaxNameChars = 200
	// MaxAnnotationKeyChars: annotation keys, "up to 500 alphanumeric
	// characters. No spaces or symbols except underscores".
	MaxAnnotationKeyChars = 500
	// MaxAnnotationValueChars: annotation values, "up to 1,000 Unicode
	// characters".
	MaxAnnotationValueChars = 1000
	// MaxAnnotations: "up to 50 annotations per trace". One document can only
	// be held to it on its own; the excess moves to metadata.
	MaxAnnotations = 50
	// MaxUserChars bounds user, "a string that identifies the user who sent
	// the request", to what X-Ray indexes as a user ID.
	MaxUserChars = 250
	// ReservedMetadataPrefix: metadata namespaces "starting with AWS. are
	// reserved for use by AWS-provided SDKs and clients".
	ReservedMetadataPrefix = "AWS."
	// unknownName replaces a name with no allowed character left.
	unknownName = "unknown"
	// cutMarker ends every string the repair shortened.
	cutMarker = "...[cut]"
	// longStringChars: when a document is over MaxDocumentBytes, strings
	// outside the required fields are cut to this many characters, longest
	// first.
	longStringChars = 1024
)

var (
	// id: "A 64-bit identifier for the segment ... in 16 hexadecimal digits";
	// parent_id has the same form.
	reID = regexp.MustCompile(`^[0-9a-f]{16}$`)
	// trace_id: "three numbers separated by hyphens": the version 1, the
	// time in 8 hexadecimal digits, a 96-bit identifier in 24 hexadecimal digits.
	reTraceID = regexp.MustCompile(`^1-[0-9a-f]{8}-[0-9a-f]{24}$`)
	// name: "Unicode letters, numbers, and whitespace, and the following
	// symbols: _, ., :, /, %, &, #, =, +, \, -, @".
	reNameInvalid = regexp.MustCompile(`[^\p{L}\p{N}\s_.:/%&#=+\\\-@]`)
	// annotation keys: alphanumeric and underscore.
	reAnnotationKeyInvalid = regexp.MustCompile(`[^A-Za-z0-9_]`)
)

// namespaces a subsegment may declare: "aws for AWS SDK calls; remote for
// other downstream calls".
var namespaces = map[string]bool{"aws": true, "remote": true}
