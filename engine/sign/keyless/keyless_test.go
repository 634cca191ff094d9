package keyless

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stevedore-dev/stevedore/engine/sign"
)

// Identities of the real vectors (testdata/SOURCES.md).
var (
	beacon = sign.Identity{
		Subject: "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main",
		Issuer:  "https://token.actions.githubusercontent.com",
	}
	githubLogin = "https://github.com/login/oauth"
)

// vector is a real bundle with the trust material and identity it
// verifies with.
type vector struct {
	name     string
	bundle   string // under testdata/
	root     string // trusted root under testdata/; "" is the embedded public-good root
	artifact string // the signed content of a message signature; "" for DSSE
	id       sign.Identity
	tsa      bool // carries an RFC 3161 timestamp
}

var vectors = []vector{
	{"conformance v0.1 message signature", "conformance/happy-path-v0.1/bundle.sigstore.json", "", "conformance/a.txt", beacon, false},
	{"conformance v0.2 message signature", "conformance/happy-path-v0.2/bundle.sigstore.json", "", "conformance/a.txt", beacon, false},
	{"conformance v0.3 message signature", "conformance/happy-path-v0.3/bundle.sigstore.json", "", "conformance/a.txt", beacon, false},
	{"conformance v0.3 DSSE", "conformance/happy-path-intoto-in-dsse-v3/bundle.sigstore.json", "", "", beacon, false},
	{"conformance Rekor v2 + TSA", "conformance/rekor2-happy-path/bundle.sigstore.json", "conformance/rekor2-happy-path/trusted_root.json", "conformance/a.txt", beacon, true},
	{"sigstore-go v0.1 DSSE (intoto)", "sigstore-go/dsse.sigstore.json", "sigstore-go/public-good.json", "", sign.Identity{Subject: "brian@dehamer.com", Issuer: githubLogin}, false},
	{"cosign v0.3 OCI attestation", "cosign/oci-attestation.sigstore.json", "cosign/trusted_root_pgi.json", "", sign.Identity{Subject: "cody@soyland.com", Issuer: githubLogin}, false},
}

func testdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (v vector) verifier(t *testing.T) *Verifier {
	t.Helper()
	var o Options
	if v.root != "" {
		o.TrustedRoot = testdata(t, v.root)
	}
	ver, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return ver
}

func (v vector) artifactBytes(t *testing.T) []byte {
	if v.artifact == "" {
		return nil
	}
	return testdata(t, v.artifact)
}

// TestVectors: each real bundle verifies with its trust material and names
// its signer; the signer matches its identity and not another one.
func TestVectors(t *testing.T) {
	for _, v := range vectors {
		t.Run(v.name, func(t *testing.T) {
			c, err := v.verifier(t).VerifyBundle(testdata(t, v.bundle), v.artifactBytes(t))
			if err != nil {
				t.Fatalf("VerifyBundle: %v", err)
			}
			if err := v.id.Match(c); err != nil {
				t.Fatalf("identity: %v (certificate %+v)", err, c)
			}
			if len(c.Timestamps) == 0 {
				t.Error("no verified timestamp reported")
			}
			other := v.id
			other.Subject = "someone@example.com"
			wantCheck(t, other.Match(c), sign.CheckIdentity)
			other = v.id
			other.Issuer = "https://accounts.google.com"
			wantCheck(t, other.Match(c), sign.CheckIssuer)
			other = v.id
			other.Subject, other.SubjectRegexp = "", "^https://github.com/evil/"
			wantCheck(t, other.Match(c), sign.CheckIdentity)
		})
	}
}

// TestPublicGoodRoot: the embedded root verifies a production bundle.
func TestPublicGoodRoot(t *testing.T) {
	v, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.VerifyBundle(testdata(t, "conformance/happy-path-v0.3/bundle.sigstore.json"), testdata(t, "conformance/a.txt")); err != nil {
		t.Fatal(err)
	}
}

// TestTamper: one byte changed in the payload, the certificate, the log
// entry or the timestamp of each vector is rejected, and the error names
// the check that failed.
func TestTamper(t *testing.T) {
	for _, v := range vectors {
		mutations := []struct {
			name, check string
			edit        func(b map[string]any, artifact []byte) []byte
		}{
			{"payload", sign.CheckPayload, tamperPayload},
			{"certificate", sign.CheckChain, func(b map[string]any, a []byte) []byte {
				c, k := certField(b)
				flipB64(c, k, 20) // in the serial number: parses, no longer signed by the CA
				return a
			}},
			{"log entry", sign.CheckTlog, func(b map[string]any, a []byte) []byte {
				e := path(b, "verificationMaterial", "tlogEntries").([]any)[0].(map[string]any)
				if p, ok := e["inclusionPromise"].(map[string]any); ok {
					flipB64(p, "signedEntryTimestamp", 20)
				} else {
					hashes := e["inclusionProof"].(map[string]any)["hashes"].([]any)
					h := map[string]any{"h": hashes[0]}
					flipB64(h, "h", 3)
					hashes[0] = h["h"]
				}
				return a
			}},
		}
		if v.tsa {
			mutations = append(mutations, struct {
				name, check string
				edit        func(b map[string]any, artifact []byte) []byte
			}{"timestamp", sign.CheckTimestamp, func(b map[string]any, a []byte) []byte {
				ts := path(b, "verificationMaterial", "timestampVerificationData", "rfc3161Timestamps").([]any)[0].(map[string]any)
				flipB64(ts, "signedTimestamp", -10)
				return a
			}})
		}
		for _, m := range mutations {
			t.Run(v.name+"/"+m.name, func(t *testing.T) {
				var b map[string]any
				if err := json.Unmarshal(testdata(t, v.bundle), &b); err != nil {
					t.Fatal(err)
				}
				art := m.edit(b, v.artifactBytes(t))
				raw, err := json.Marshal(b)
				if err != nil {
					t.Fatal(err)
				}
				_, err = v.verifier(t).VerifyBundle(raw, art)
				wantCheck(t, err, m.check)
			})
		}
	}
}

// tamperPayload changes one byte of what was signed: the DSSE payload, or
// the artifact of a message signature.
func tamperPayload(b map[string]any, artifact []byte) []byte {
	if env, ok := b["dsseEnvelope"].(map[string]any); ok {
		p, _ := base64.StdEncoding.DecodeString(env["payload"].(string))
		p[len(p)/2] ^= 1
		env["payload"] = base64.StdEncoding.EncodeToString(p)
		return artifact
	}
	a := append([]byte(nil), artifact...)
	a[0] ^= 1
	return a
}

// certField returns the leaf certificate's {"rawBytes": ...} object.
func certField(b map[string]any) (map[string]any, string) {
	vm := b["verificationMaterial"].(map[string]any)
	if c, ok := vm["certificate"].(map[string]any); ok {
		return c, "rawBytes"
	}
	return vm["x509CertificateChain"].(map[string]any)["certificates"].([]any)[0].(map[string]any), "rawBytes"
}

// flipB64 flips one bit of byte i (from the end when negative) of the
// base64 field key of m.
func flipB64(m map[string]any, key string, i int) {
	raw, err := base64.StdEncoding.DecodeString(m[key].(string))
	if err != nil {
		panic(err)
	}
	if i < 0 {
		i += len(raw)
	}
	raw[i] ^= 1
	m[key] = base64.StdEncoding.EncodeToString(raw)
}

func path(m map[string]any, keys ...string) any {
	var cur any = m
	for _, k := range keys {
		cur = cur.(map[string]any)[k]
	}
	return cur
}

func wantCheck(t *testing.T, err error, check string) {
	t.Helper()
	var ce *sign.CheckError
	if !errors.As(err, &ce) {
		t.Fatalf("error %v, want a %s check failure", err, check)
	}
	if ce.Check != check {
		t.Fatalf("check %q failed (%v), want %q", ce.Check, ce.Err, check)
	}
}
