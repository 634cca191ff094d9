package sign

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"strings"
	"testing"

	"golang.org/x/crypto/nacl/secretbox"

	"github.com/stevedore-dev/stevedore/engine/errdef"
)

// TestSampleKey: cosign's encrypted key decrypts with its password to the
// key of cosign.pub, and our encoding of a key reads back.
func TestSampleKey(t *testing.T) {
	priv := samplePriv(t)
	pub := samplePub(t).(*ecdsa.PublicKey)
	if !priv.PublicKey.Equal(pub) {
		t.Fatal("cosign.key does not match cosign.pub")
	}
	var env keyEnvelope
	block, _ := pem.Decode(sample(t, "keys/cosign.key"))
	if err := json.Unmarshal(block.Bytes, &env); err != nil {
		t.Fatal(err)
	}
	if KeyHint(pub) != "9mA8aVQV6cVMYctNfSszaNfjAWPEMZjzYdXu6FiZgxA=" {
		t.Errorf("hint %s, want the one cosign wrote in the sample bundles", KeyHint(pub))
	}

	kp, err := GenerateKeyPair([]byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(kp.PrivatePEM), "-----BEGIN "+PEMPrivateKey+"-----\n") || !strings.HasPrefix(string(kp.PublicPEM), "-----BEGIN PUBLIC KEY-----\n") {
		t.Errorf("PEM types:\n%s\n%s", kp.PrivatePEM, kp.PublicPEM)
	}
	block, _ = pem.Decode(kp.PrivatePEM)
	var ours map[string]any
	if err := json.Unmarshal(block.Bytes, &ours); err != nil {
		t.Fatal(err)
	}
	if got := mustJSON(t, ours["kdf"].(map[string]any)["params"]); got != `{"N":65536,"p":1,"r":8}` {
		t.Errorf("kdf params %s", got)
	}
	back, err := DecryptPrivateKey(kp.PrivatePEM, []byte("pw"))
	if err != nil || !back.Equal(kp.Key) {
		t.Fatalf("round trip: %v", err)
	}
	pub2, err := ParsePublicKey(kp.PublicPEM)
	if err != nil || !pub2.Equal(&kp.Key.PublicKey) {
		t.Fatalf("public round trip: %v", err)
	}
	// The empty password is allowed, as cosign allows it.
	kp, err = GenerateKeyPair(nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := DecryptPrivateKey(kp.PrivatePEM, []byte("")); err != nil {
		t.Fatal(err)
	}
}

// TestBadKeys: wrong password, corrupt files and unsupported keys fail
// with a class and a reason.
func TestBadKeys(t *testing.T) {
	good := sample(t, "keys/cosign.key")
	block, _ := pem.Decode(good)
	var env map[string]any
	if err := json.Unmarshal(block.Bytes, &env); err != nil {
		t.Fatal(err)
	}
	withEnv := func(mut func(map[string]any)) []byte {
		var e map[string]any
		_ = json.Unmarshal(block.Bytes, &e)
		mut(e)
		b, _ := json.Marshal(e)
		return pem.EncodeToMemory(&pem.Block{Type: PEMPrivateKey, Bytes: b})
	}
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	p384der, _ := x509.MarshalPKCS8PrivateKey(p384)
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 1024)
	rsaPub, _ := x509.MarshalPKIXPublicKey(&rsaKey.PublicKey)
	edEnc := func() []byte {
		// An Ed25519 key in cosign's envelope: decrypts, then is refused.
		der, _ := x509.MarshalPKCS8PrivateKey(edKey)
		return sealForTest(t, der, []byte("x"))
	}()
	tests := []struct {
		name     string
		key      []byte
		password string
		class    error
		reason   string
	}{
		{"wrong password", good, "nope", errdef.ErrInvalid, "wrong password"},
		{"empty password", good, "", errdef.ErrInvalid, "wrong password"},
		{"not PEM", []byte("garbage"), samplePassword, errdef.ErrInvalid, "no PEM block"},
		{"truncated envelope", pem.EncodeToMemory(&pem.Block{Type: PEMPrivateKey, Bytes: block.Bytes[:40]}), samplePassword, errdef.ErrInvalid, "not valid JSON"},
		{"flipped ciphertext", withEnv(func(e map[string]any) { e["ciphertext"] = "AAAA" + e["ciphertext"].(string)[4:] }), samplePassword, errdef.ErrInvalid, "decryption failed"},
		{"short nonce", withEnv(func(e map[string]any) { e["cipher"].(map[string]any)["nonce"] = "AAAA" }), samplePassword, errdef.ErrInvalid, "nonce"},
		{"other kdf", withEnv(func(e map[string]any) { e["kdf"].(map[string]any)["name"] = "pbkdf2" }), samplePassword, errdef.ErrUnsupported, "pbkdf2"},
		{"huge scrypt N", withEnv(func(e map[string]any) { e["kdf"].(map[string]any)["params"].(map[string]any)["N"] = 1 << 30 }), samplePassword, errdef.ErrUnsupported, "scrypt parameters"},
		{"other cipher", withEnv(func(e map[string]any) { e["cipher"].(map[string]any)["name"] = "aes" }), samplePassword, errdef.ErrUnsupported, "cipher"},
		{"unencrypted PKCS#8", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p384der}), "", errdef.ErrUnsupported, "import-key-pair"},
		{"public key as private", sample(t, "keys/cosign.pub"), "", errdef.ErrInvalid, "public key"},
		{"P-384 key", sealForTest(t, p384der, []byte("x")), "x", errdef.ErrUnsupported, "P-384"},
		{"Ed25519 key", edEnc, "x", errdef.ErrUnsupported, "ed25519"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecryptPrivateKey(tc.key, []byte(tc.password))
			if !errors.Is(err, tc.class) || !strings.Contains(err.Error(), tc.reason) {
				t.Errorf("error %v, want %v mentioning %q", err, tc.class, tc.reason)
			}
		})
	}
	pubs := []struct {
		name   string
		key    []byte
		class  error
		reason string
	}{
		{"RSA public key", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: rsaPub}), errdef.ErrUnsupported, "rsa"},
		{"private key as public", good, errdef.ErrInvalid, "PEM type"},
		{"not PEM", []byte("nope"), errdef.ErrInvalid, "no PEM block"},
		{"corrupt DER", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: []byte{1, 2, 3}}), errdef.ErrInvalid, "public key"},
	}
	for _, tc := range pubs {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParsePublicKey(tc.key)
			if !errors.Is(err, tc.class) || !strings.Contains(err.Error(), tc.reason) {
				t.Errorf("error %v, want %v mentioning %q", err, tc.class, tc.reason)
			}
		})
	}
}

// sealForTest wraps any PKCS#8 DER in cosign's envelope, with the cheapest
// work factor cosign accepts.
func sealForTest(t *testing.T, der, password []byte) []byte {
	t.Helper()
	var env keyEnvelope
	env.KDF.Name = "scrypt"
	env.KDF.Params.N, env.KDF.Params.R, env.KDF.Params.P = 32768, 8, 1
	env.KDF.Salt = make([]byte, 32)
	env.Cipher.Name = "nacl/secretbox"
	env.Cipher.Nonce = make([]byte, 24)
	secret, err := deriveKey(password, &env)
	if err != nil {
		t.Fatal(err)
	}
	var nonce [24]byte
	env.Ciphertext = secretboxSeal(der, &nonce, secret)
	b, _ := json.Marshal(&env)
	return pem.EncodeToMemory(&pem.Block{Type: PEMPrivateKey, Bytes: b})
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func secretboxSeal(msg []byte, nonce *[24]byte, key *[32]byte) []byte {
	return secretbox.Seal(nil, msg, nonce, key)
}
