package sign

import (
	"bytes"
	"context"
	"encoding/json"
	"regexp"
	"testing"
	"time"
)

// TestSameBytesAsCosign: what we write is what cosign v3.1.3 wrote for the
// same image and key, byte for byte, except for the ECDSA signatures (which
// are randomised) and what contains them.
func TestSameBytesAsCosign(t *testing.T) {
	ctx := context.Background()
	key := samplePriv(t)
	x := newLay(t)
	created, _ := time.Parse(time.RFC3339, "2026-11-26T19:31:06Z")

	stmt, err := signStatement(x.image.Digest, nil)
	if err != nil || !bytes.Equal(stmt, bytes.TrimSpace(sample(t, "bundle-sign/dsse-payload-statement.json"))) {
		t.Errorf("statement\n%s\nwant\n%s", stmt, sample(t, "bundle-sign/dsse-payload-statement.json"))
	}
	res, err := Sign(ctx, x.l, "v1", key, SignOptions{Now: func() time.Time { return created }})
	if err != nil {
		t.Fatal(err)
	}
	got, err := fetch(ctx, x.l, res[0].Signature)
	if err != nil {
		t.Fatal(err)
	}
	sigLayer := regexp.MustCompile(`"size":\d+,"digest":"sha256:[0-9a-f]{64}"\}\],"annotations"`)
	norm := func(b []byte) string { return sigLayer.ReplaceAllString(string(bytes.TrimSpace(b)), "LAYER") }
	if norm(got) != norm(sample(t, "bundle-sign/bundle-manifest.json")) {
		t.Errorf("bundle manifest\n%s\nwant\n%s", got, sample(t, "bundle-sign/bundle-manifest.json"))
	}
	m, _ := fetchManifest(ctx, x.l, res[0].Signature)
	b, _ := fetch(ctx, x.l, m.Layers[0])
	sigField := regexp.MustCompile(`"sig":"[^"]+"`)
	want := sample(t, "bundle-sign/bundle.sigstore.json")
	if sigField.ReplaceAllString(string(b), "SIG") != sigField.ReplaceAllString(string(bytes.TrimSpace(want)), "SIG") {
		t.Errorf("bundle\n%s\nwant\n%s", b, want)
	}

	res, err = Sign(ctx, x.l, "v1", key, SignOptions{Format: FormatLegacy, Identity: "127.0.0.1:5010/demo/legacy"})
	if err != nil {
		t.Fatal(err)
	}
	got, _ = fetch(ctx, x.l, res[0].Signature)
	annSig := regexp.MustCompile(`"dev.cosignproject.cosign/signature":"[^"]+"`)
	if annSig.ReplaceAllString(string(got), "SIG") != annSig.ReplaceAllString(string(bytes.TrimSpace(sample(t, "legacy-sign/sig-manifest.json"))), "SIG") {
		t.Errorf("legacy manifest\n%s\nwant\n%s", got, sample(t, "legacy-sign/sig-manifest.json"))
	}

	// The attestation statement cosign wrote, from the same predicate.
	var st struct {
		Predicate json.RawMessage `json:"predicate"`
	}
	_ = json.Unmarshal(sample(t, "bundle-attest/statement.json"), &st)
	att, err := attestStatement("127.0.0.1:5010/demo/att-bundle", x.image.Digest, "https://example.com/stevedore/test/v1", st.Predicate)
	if err != nil || !bytes.Equal(att, bytes.TrimSpace(sample(t, "bundle-attest/statement.json"))) {
		t.Errorf("attestation statement\n%s\nwant\n%s", att, sample(t, "bundle-attest/statement.json"))
	}
}
