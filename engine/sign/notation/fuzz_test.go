package notation

import (
	"context"
	"testing"

	"github.com/stevedore-dev/stevedore/engine/sign"
)

// FuzzVerifyNotation: hostile envelopes are refused with a check named,
// never a panic; the seeds are the real vectors.
func FuzzVerifyNotation(f *testing.F) {
	for _, s := range []string{"jws_signature.sig", "cose_signature.sig", "jwsWithTimestamp.sig", "coseWithTimestamp.sig"} {
		f.Add(read(f, s))
	}
	v := testVerifier(f)
	f.Fuzz(func(t *testing.T, env []byte) {
		for _, mt := range []string{sign.MediaTypeJWS, sign.MediaTypeCOSE} {
			_, _ = v.VerifyNotation(context.Background(), alpine, "registry.example/alpine", mt, env)
		}
	})
}

// FuzzTrustStoreAdd: any certificate file is added or refused, never a
// panic.
func FuzzTrustStoreAdd(f *testing.F) {
	f.Add(read(f, "truststore/x509/ca/alpine/alpine.pem"))
	f.Add(read(f, "truststore/x509/tsa/test-timestamp/globalsignRoot.cer"))
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"))
	f.Fuzz(func(t *testing.T, file []byte) {
		s := NewTrustStore()
		_ = s.Add("ca", "x", file)
		_ = s.Add("tsa", "y", file)
	})
}
