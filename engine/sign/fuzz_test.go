package sign

import (
	"crypto"
	"testing"

	"github.com/opencontainers/go-digest"
)

// FuzzParsePublicKey: any bytes are refused or accepted, never a panic.
func FuzzParsePublicKey(f *testing.F) {
	f.Add(sample(f, "keys/cosign.pub"))
	f.Add([]byte("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"))
	f.Fuzz(func(t *testing.T, b []byte) { _, _ = ParsePublicKey(b) })
}

// FuzzStatement: hostile statements and envelopes never panic the checks.
func FuzzStatement(f *testing.F) {
	f.Add(sample(f, "bundle-sign/dsse-payload-statement.json"), "sig")
	f.Add([]byte(`{"_type":"https://in-toto.io/Statement/v1","subject":[{"digest":null,"annotations":{"a":[1]}}]}`), "")
	d := digest.Digest("sha256:d8ba31e376d76b82ec1d8d86574815a38e9cd3466e552fc386f9cddcbe551b74")
	keys := []crypto.PublicKey{samplePub(f)}
	f.Fuzz(func(t *testing.T, payload []byte, sig string) {
		_, _, _ = checkStatement(payload, d)
		_, _, _ = verifyDSSE(&Envelope{Payload: string(payload), PayloadType: PayloadTypeInToto, Signatures: []Signature{{Sig: sig}}}, keys)
	})
}
