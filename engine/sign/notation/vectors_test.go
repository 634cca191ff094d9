package notation

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"os"
	"testing"

	"github.com/notaryproject/notation-core-go/signature"
	_ "github.com/notaryproject/notation-core-go/signature/cose" // envelope formats
	_ "github.com/notaryproject/notation-core-go/signature/jws"
	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/sign"
)

// The subjects the real vectors (testdata/README.md) sign.
var (
	alpine = oci.Descriptor{MediaType: oci.MediaTypeImageManifest, Digest: "sha256:19dbd2e48e921426ee8ace4dc892edfb2ecdc1d1a72d5416c83670c30acecef0", Size: 481}
	docker = oci.Descriptor{MediaType: "application/vnd.docker.distribution.manifest.v2+json", Digest: "sha256:c0669ef34cdc14332c0f1ab0c2c01acb91d96014b172f1a76f3a39e63d1f0bda", Size: 528}
)

func testVerifier(t testing.TB) *Verifier {
	t.Helper()
	store, err := LoadTrustStore("testdata/truststore")
	if err != nil {
		t.Fatal(err)
	}
	policy, err := os.ReadFile("testdata/trustpolicy.json")
	if err != nil {
		t.Fatal(err)
	}
	v, err := New(Options{TrustPolicy: policy, TrustStore: store})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func read(t testing.TB, name string) []byte {
	t.Helper()
	raw, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// envelopeParts returns the parts of envelope a mutation targets: the
// payload, the leaf certificate, the signature and the timestamp token.
func envelopeParts(t *testing.T, mediaType string, env []byte) map[string][]byte {
	t.Helper()
	e, err := signature.ParseEnvelope(mediaType, env)
	if err != nil {
		t.Fatal(err)
	}
	c, err := e.Content()
	if err != nil {
		t.Fatal(err)
	}
	return map[string][]byte{
		"payload":     c.Payload.Content,
		"certificate": c.SignerInfo.CertificateChain[0].Raw,
		"signature":   c.SignerInfo.Signature,
		"timestamp":   c.SignerInfo.UnsignedAttributes.TimestampSignature,
	}
}

// mutate changes one byte of part in env: near the end of a certificate,
// signature or timestamp (their signature value), in the digest of a
// payload. A JWS carries the parts base64url-encoded in its JSON.
func mutate(t *testing.T, mediaType string, env []byte, part string) []byte {
	t.Helper()
	orig := envelopeParts(t, mediaType, env)[part]
	changed := bytes.Clone(orig)
	i := len(changed) - 2
	if part == "payload" {
		i = bytes.Index(changed, []byte("sha256:")) + 10
	}
	changed[i] ^= 0x01
	if mediaType == sign.MediaTypeCOSE {
		if bytes.Count(env, orig) != 1 {
			t.Fatalf("%s found %d times", part, bytes.Count(env, orig))
		}
		return bytes.Replace(env, orig, changed, 1)
	}
	out := env
	for _, enc := range []*base64.Encoding{base64.RawURLEncoding, base64.StdEncoding} {
		out = bytes.Replace(out, []byte(enc.EncodeToString(orig)), []byte(enc.EncodeToString(changed)), 1)
	}
	if bytes.Equal(out, env) {
		t.Fatalf("%s not found in the JWS", part)
	}
	return out
}

func TestRealVectors(t *testing.T) {
	v := testVerifier(t)
	ctx := context.Background()
	for _, c := range []struct {
		file, mediaType, scope string
		subject                oci.Descriptor
		signer                 string
		parts                  map[string]string // part mutated -> check failed
	}{
		{"jws_signature.sig", sign.MediaTypeJWS, "registry.example/alpine", alpine, "C=US, ST=WA, L=Seattle, O=Notary, CN=alpine",
			map[string]string{"payload": sign.CheckPayload, "certificate": sign.CheckChain, "signature": sign.CheckPayload}},
		{"cose_signature.sig", sign.MediaTypeCOSE, "registry.example/alpine", alpine, "C=US, ST=WA, L=Seattle, O=Notary, CN=alpine",
			map[string]string{"payload": sign.CheckPayload, "certificate": sign.CheckChain, "signature": sign.CheckPayload}},
		{"jwsWithTimestamp.sig", sign.MediaTypeJWS, "registry.example/timestamped", docker, "C=US, ST=WA, L=Seattle, O=Notary, CN=alpine",
			map[string]string{"payload": sign.CheckPayload, "certificate": sign.CheckChain, "signature": sign.CheckPayload, "timestamp": sign.CheckTimestamp}},
		{"coseWithTimestamp.sig", sign.MediaTypeCOSE, "registry.example/timestamped", docker, "C=US, ST=WA, L=Seattle, O=Notary, CN=alpine",
			map[string]string{"payload": sign.CheckPayload, "certificate": sign.CheckChain, "signature": sign.CheckPayload, "timestamp": sign.CheckTimestamp}},
	} {
		t.Run(c.file, func(t *testing.T) {
			env := read(t, c.file)
			res, err := v.VerifyNotation(ctx, c.subject, c.scope, c.mediaType, env)
			if err != nil {
				t.Fatalf("the real signature does not verify: %v", err)
			}
			if res.Certificate == nil || res.Certificate.Subject != "CN=alpine,O=Notary,L=Seattle,ST=WA,C=US" {
				t.Errorf("signer %+v", res.Certificate)
			}
			for part, check := range c.parts {
				_, err := v.VerifyNotation(ctx, c.subject, c.scope, c.mediaType, mutate(t, c.mediaType, env, part))
				expectCheck(t, "one byte of the "+part, err, check)
			}
			other := c.subject
			other.Digest = digest.FromString("another image")
			_, err = v.VerifyNotation(ctx, other, c.scope, c.mediaType, env)
			expectCheck(t, "another subject", err, sign.CheckPayload)
			_, err = v.VerifyNotation(ctx, c.subject, "registry.example/other", c.mediaType, env)
			expectCheck(t, "another trusted identity", err, sign.CheckIdentity)
			_, err = v.VerifyNotation(ctx, c.subject, "registry.example/unknown", c.mediaType, env)
			expectCheck(t, "no trust policy for the repository", err, sign.CheckPolicy)
		})
	}
}

func expectCheck(t *testing.T, what string, err error, check string) {
	t.Helper()
	var ce *sign.CheckError
	switch {
	case err == nil:
		t.Errorf("%s: verified", what)
	case !errors.As(err, &ce):
		t.Errorf("%s: %v is not a CheckError", what, err)
	case ce.Check != check:
		t.Errorf("%s: check %q failed (%v), want %q", what, ce.Check, err, check)
	}
}
