package keyless_test

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stevedore-dev/stevedore/engine/sign"
	"github.com/stevedore-dev/stevedore/engine/sign/keyless"
	"github.com/stevedore-dev/stevedore/engine/sign/keyless/keylesstest"
	"github.com/stevedore-dev/stevedore/engine/store"
	"github.com/stevedore-dev/stevedore/engine/transport/layout"
)

func openLayout(t *testing.T, dir string) *layout.Layout {
	t.Helper()
	fs, err := store.OpenFS(dir)
	if err != nil {
		t.Fatal(err)
	}
	return layout.New(fs)
}

func verifier(t *testing.T, root string) *keyless.Verifier {
	t.Helper()
	var o keyless.Options
	if root != "" {
		b, err := os.ReadFile(keylesstest.TestData(root))
		if err != nil {
			t.Fatal(err)
		}
		o.TrustedRoot = b
	}
	v, err := keyless.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestImageVectors: the real keyless signatures stored as cosign stores
// them — a legacy .sig tag and a bundle referrer — verify through
// sign.Verify / sign.VerifyAttestation for their signer only.
func TestImageVectors(t *testing.T) {
	ctx := context.Background()
	v := keylesstest.Write(t, filepath.Join(t.TempDir(), "oci"), nil)
	l := openLayout(t, v.Dir)
	other := sign.Identity{Subject: "someone@example.com", Issuer: "https://github.com/login/oauth"}
	otherIssuer := keylesstest.LegacyIdentity
	otherIssuer.Issuer = "https://accounts.google.com"
	tests := []struct {
		name  string
		att   bool
		ref   string
		root  string
		id    sign.Identity
		check string // "" when it must verify
	}{
		{"legacy signature", false, "legacy", "", keylesstest.LegacyIdentity, ""},
		{"legacy signature, regexp identity", false, "legacy", "", sign.Identity{SubjectRegexp: "@redhat\\.com$", IssuerRegexp: "^https://github\\.com/"}, ""},
		{"legacy signature, other identity", false, "legacy", "", other, sign.CheckIdentity},
		{"legacy signature, other issuer", false, "legacy", "", otherIssuer, sign.CheckIssuer},
		{"bundle attestation", true, "empty", "cosign/trusted_root_pgi.json", keylesstest.BundleIdentity, ""},
		{"bundle attestation, other identity", true, "empty", "cosign/trusted_root_pgi.json", other, sign.CheckIdentity},
		{"bundle attestation, untrusted root", true, "empty", "conformance/rekor2-happy-path/trusted_root.json", keylesstest.BundleIdentity, sign.CheckChain},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts := sign.VerifyOptions{Certs: verifier(t, tc.root), Identities: []sign.Identity{tc.id}, PredicateType: keylesstest.BundlePredicateType}
			fn := sign.Verify
			if tc.att {
				fn = sign.VerifyAttestation
			}
			rep, err := fn(ctx, l, tc.ref, opts)
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Findings) != 1 {
				t.Fatalf("findings %+v, want 1", rep.Findings)
			}
			f := rep.Findings[0]
			if tc.check == "" {
				if !rep.Verified || f.Certificate == nil || f.Certificate.Subject != tc.id.Subject && tc.id.Subject != "" {
					t.Fatalf("not verified: %+v", f)
				}
				return
			}
			if rep.Verified || f.Check != tc.check {
				t.Fatalf("finding %+v, want a %s failure", f, tc.check)
			}
		})
	}
}

// TestLegacyTamper: one byte changed in the legacy signature's payload,
// certificate or log entry is rejected, naming the check.
func TestLegacyTamper(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name, check string
		edit        func(ann map[string]string, payload []byte) []byte
	}{
		{"payload", sign.CheckPayload, func(_ map[string]string, p []byte) []byte {
			p = append([]byte(nil), p...)
			i := strings.Index(string(p), "sha256:") + 10
			p[i] ^= 1
			return p
		}},
		{"certificate", sign.CheckChain, func(ann map[string]string, p []byte) []byte {
			b, _ := pem.Decode([]byte(ann[sign.AnnotationCertificate]))
			b.Bytes[20] ^= 1
			ann[sign.AnnotationCertificate] = string(pem.EncodeToMemory(b))
			return p
		}},
		{"log entry", sign.CheckTlog, func(ann map[string]string, p []byte) []byte {
			var rb map[string]any
			if err := json.Unmarshal([]byte(ann[sign.AnnotationRekorBundle]), &rb); err != nil {
				panic(err)
			}
			rb["SignedEntryTimestamp"] = keylesstest.FlipB64(rb["SignedEntryTimestamp"].(string), 20)
			raw, _ := json.Marshal(rb)
			ann[sign.AnnotationRekorBundle] = string(raw)
			return p
		}},
		{"log entry body", sign.CheckTlog, func(ann map[string]string, p []byte) []byte {
			var rb map[string]any
			if err := json.Unmarshal([]byte(ann[sign.AnnotationRekorBundle]), &rb); err != nil {
				panic(err)
			}
			pl := rb["Payload"].(map[string]any)
			pl["integratedTime"] = pl["integratedTime"].(float64) + 1
			raw, _ := json.Marshal(rb)
			ann[sign.AnnotationRekorBundle] = string(raw)
			return p
		}},
		{"signature", sign.CheckPayload, func(ann map[string]string, p []byte) []byte {
			ann[sign.AnnotationSignature] = keylesstest.FlipB64(ann[sign.AnnotationSignature], -3)
			return p
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := keylesstest.Write(t, filepath.Join(t.TempDir(), "oci"), tc.edit)
			rep, err := sign.Verify(ctx, openLayout(t, v.Dir), "legacy", sign.VerifyOptions{Certs: verifier(t, ""), Identities: []sign.Identity{keylesstest.LegacyIdentity}})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Verified || len(rep.Findings) != 1 || rep.Findings[0].Check != tc.check {
				t.Fatalf("findings %+v, want one %s failure", rep.Findings, tc.check)
			}
		})
	}
}
