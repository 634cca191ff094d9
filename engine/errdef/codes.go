package errdef

// OCI error codes: the "code" of a distribution-spec error envelope, which
// registryhttp answers with, the engine's registry client reads, and the gRPC
// API carries as the google.rpc.ErrorInfo reason. One set, so a code means the
// same thing on every edge.
//
// A 4xx answer in JSON must use one of the fourteen codes of
// distribution-spec v1.1.1 §Error Codes:
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#error-codes
const (
	CodeBlobUnknown         = "BLOB_UNKNOWN"          // code-1
	CodeBlobUploadInvalid   = "BLOB_UPLOAD_INVALID"   // code-2
	CodeBlobUploadUnknown   = "BLOB_UPLOAD_UNKNOWN"   // code-3
	CodeDigestInvalid       = "DIGEST_INVALID"        // code-4
	CodeManifestBlobUnknown = "MANIFEST_BLOB_UNKNOWN" // code-5
	CodeManifestInvalid     = "MANIFEST_INVALID"      // code-6
	CodeManifestUnknown     = "MANIFEST_UNKNOWN"      // code-7
	CodeNameInvalid         = "NAME_INVALID"          // code-8
	CodeNameUnknown         = "NAME_UNKNOWN"          // code-9
	CodeSizeInvalid         = "SIZE_INVALID"          // code-10
	CodeUnauthorized        = "UNAUTHORIZED"          // code-11
	CodeDenied              = "DENIED"                // code-12
	CodeUnsupported         = "UNSUPPORTED"           // code-13
	CodeTooManyRequests     = "TOOMANYREQUESTS"       // code-14
)

// Registry-specific codes. The spec constrains the codes of 4xx answers
// only, so these are sent with 5xx statuses alone.
const (
	// CodeUnknown is a server fault (500), as distribution names it.
	CodeUnknown = "UNKNOWN"
	// CodeInsufficientStorage: the registry's storage is full (507), or under
	// the free space it keeps in reserve; retrying helps once space is freed.
	CodeInsufficientStorage = "INSUFFICIENT_STORAGE"
	// CodeUnavailable: a registry this one depends on (a pull-through
	// cache's upstream) cannot answer (503), as distribution names it.
	CodeUnavailable = "UNAVAILABLE"
)
