package sign

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"

	"golang.org/x/crypto/nacl/secretbox"
	"golang.org/x/crypto/scrypt"

	"github.com/stevedore-dev/stevedore/engine/errdef"
)

// PEM block types of cosign's key files. cosign before v2 wrote the COSIGN
// type; both carry the same envelope.
const (
	PEMPrivateKey       = "ENCRYPTED SIGSTORE PRIVATE KEY"
	PEMPrivateKeyCosign = "ENCRYPTED COSIGN PRIVATE KEY"
	PEMPublicKey        = "PUBLIC KEY"
)

// scrypt parameters: cosign writes N=65536 and refuses anything but these
// three work factors with r=8, p=1, so a key file cannot make us burn
// unbounded memory either.
const (
	scryptN = 65536
	scryptR = 8
	scryptP = 1
)

var allowedScryptN = map[int]bool{32768: true, 65536: true, 131072: true}

// keyEnvelope is the JSON body of an encrypted key PEM, field for field as
// cosign writes it (sigstore/sigstore pkg/cryptoutils, via
// github.com/secure-systems-lab/go-securesystemslib encrypted).
type keyEnvelope struct {
	KDF struct {
		Name   string `json:"name"`
		Params struct {
			N int `json:"N"`
			R int `json:"r"`
			P int `json:"p"`
		} `json:"params"`
		Salt []byte `json:"salt"`
	} `json:"kdf"`
	Cipher struct {
		Name  string `json:"name"`
		Nonce []byte `json:"nonce"`
	} `json:"cipher"`
	Ciphertext []byte `json:"ciphertext"`
}

// KeyPair is a key pair in cosign's file format, ready to be written as
// PREFIX.key and PREFIX.pub.
type KeyPair struct {
	// PrivatePEM is the encrypted private key (ENCRYPTED SIGSTORE PRIVATE KEY).
	PrivatePEM []byte
	// PublicPEM is the public key (PUBLIC KEY, PKIX).
	PublicPEM []byte
	// Key is the decrypted private key.
	Key *ecdsa.PrivateKey
}

// GenerateKeyPair makes a new ECDSA P-256 key pair and encrypts the private
// half with password (which may be empty, as cosign allows).
func GenerateKeyPair(password []byte) (*KeyPair, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	priv, err := EncryptPrivateKey(key, password)
	if err != nil {
		return nil, err
	}
	pub, err := MarshalPublicKey(&key.PublicKey)
	if err != nil {
		return nil, err
	}
	return &KeyPair{PrivatePEM: priv, PublicPEM: pub, Key: key}, nil
}

// EncryptPrivateKey encodes key as cosign does: PKCS#8 DER sealed with
// nacl/secretbox under a key derived by scrypt from password and a random
// salt, in a JSON envelope inside an ENCRYPTED SIGSTORE PRIVATE KEY PEM block.
func EncryptPrivateKey(key *ecdsa.PrivateKey, password []byte) ([]byte, error) {
	if err := checkCurve(&key.PublicKey); err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	var env keyEnvelope
	env.KDF.Name = "scrypt"
	env.KDF.Params.N, env.KDF.Params.R, env.KDF.Params.P = scryptN, scryptR, scryptP
	env.KDF.Salt = make([]byte, 32)
	var nonce [24]byte
	if _, err := rand.Read(env.KDF.Salt); err != nil {
		return nil, err
	}
	if _, err := rand.Read(nonce[:]); err != nil {
		return nil, err
	}
	secret, err := deriveKey(password, &env)
	if err != nil {
		return nil, err
	}
	env.Cipher.Name = "nacl/secretbox"
	env.Cipher.Nonce = nonce[:]
	env.Ciphertext = secretbox.Seal(nil, der, &nonce, secret)
	body, err := json.Marshal(&env)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: PEMPrivateKey, Bytes: body}), nil
}

// DecryptPrivateKey reads a cosign private key file. A wrong password and a
// corrupt ciphertext cannot be told apart (secretbox only says the seal is
// broken); both match errdef.ErrInvalid. A key that is not ECDSA P-256, or an
// envelope with parameters cosign would refuse, matches errdef.ErrUnsupported.
func DecryptPrivateKey(pemBytes, password []byte) (*ecdsa.PrivateKey, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return nil, fmt.Errorf("private key: no PEM block found (corrupt key file?): %w", errdef.ErrInvalid)
	}
	switch block.Type {
	case PEMPrivateKey, PEMPrivateKeyCosign:
	case "PRIVATE KEY", "EC PRIVATE KEY", "RSA PRIVATE KEY", "OPENSSH PRIVATE KEY":
		return nil, fmt.Errorf("private key: PEM type %q is not a cosign key; import it with `cosign import-key-pair` first: %w", block.Type, errdef.ErrUnsupported)
	case PEMPublicKey:
		return nil, fmt.Errorf("private key: this is a public key (PEM type %q): %w", block.Type, errdef.ErrInvalid)
	default:
		return nil, fmt.Errorf("private key: unsupported PEM type %q (want %q): %w", block.Type, PEMPrivateKey, errdef.ErrUnsupported)
	}
	var env keyEnvelope
	if err := json.Unmarshal(block.Bytes, &env); err != nil {
		return nil, fmt.Errorf("private key: envelope is not valid JSON (corrupt key file?): %v: %w", err, errdef.ErrInvalid)
	}
	if env.KDF.Name != "scrypt" {
		return nil, fmt.Errorf("private key: key derivation %q (want scrypt): %w", env.KDF.Name, errdef.ErrUnsupported)
	}
	if !allowedScryptN[env.KDF.Params.N] || env.KDF.Params.R != scryptR || env.KDF.Params.P != scryptP {
		return nil, fmt.Errorf("private key: scrypt parameters N=%d r=%d p=%d (want N in 32768, 65536, 131072 with r=8, p=1): %w",
			env.KDF.Params.N, env.KDF.Params.R, env.KDF.Params.P, errdef.ErrUnsupported)
	}
	if env.Cipher.Name != "nacl/secretbox" {
		return nil, fmt.Errorf("private key: cipher %q (want nacl/secretbox): %w", env.Cipher.Name, errdef.ErrUnsupported)
	}
	if len(env.Cipher.Nonce) != 24 || len(env.KDF.Salt) == 0 {
		return nil, fmt.Errorf("private key: nonce of %d bytes (want 24) or empty salt (corrupt key file?): %w", len(env.Cipher.Nonce), errdef.ErrInvalid)
	}
	secret, err := deriveKey(password, &env)
	if err != nil {
		return nil, err
	}
	var nonce [24]byte
	copy(nonce[:], env.Cipher.Nonce)
	der, ok := secretbox.Open(nil, env.Ciphertext, &nonce, secret)
	if !ok {
		return nil, fmt.Errorf("private key: decryption failed: wrong password (or a corrupt key file): %w", errdef.ErrInvalid)
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("private key: decrypted content is not PKCS#8: %v: %w", err, errdef.ErrInvalid)
	}
	key, ok := k.(*ecdsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("private key: %T keys are not supported (want ECDSA P-256): %w", k, errdef.ErrUnsupported)
	}
	if err := checkCurve(&key.PublicKey); err != nil {
		return nil, err
	}
	return key, nil
}

// deriveKey runs scrypt over password with env's salt and parameters.
func deriveKey(password []byte, env *keyEnvelope) (*[32]byte, error) {
	k, err := scrypt.Key(password, env.KDF.Salt, env.KDF.Params.N, env.KDF.Params.R, env.KDF.Params.P, 32)
	if err != nil {
		return nil, fmt.Errorf("private key: scrypt: %v: %w", err, errdef.ErrInvalid)
	}
	var out [32]byte
	copy(out[:], k)
	return &out, nil
}

// MarshalPublicKey encodes pub as a PUBLIC KEY PEM block (PKIX
// SubjectPublicKeyInfo), as cosign writes cosign.pub.
func MarshalPublicKey(pub crypto.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("public key: %v: %w", err, errdef.ErrUnsupported)
	}
	return pem.EncodeToMemory(&pem.Block{Type: PEMPublicKey, Bytes: der}), nil
}

// ParsePublicKey reads a PUBLIC KEY PEM file; only ECDSA P-256 keys are
// accepted (errdef.ErrUnsupported otherwise).
func ParsePublicKey(pemBytes []byte) (*ecdsa.PublicKey, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return nil, fmt.Errorf("public key: no PEM block found (corrupt key file?): %w", errdef.ErrInvalid)
	}
	if block.Type != PEMPublicKey {
		return nil, fmt.Errorf("public key: PEM type %q (want %q): %w", block.Type, PEMPublicKey, errdef.ErrInvalid)
	}
	k, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("public key: %v: %w", err, errdef.ErrInvalid)
	}
	pub, ok := k.(*ecdsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("public key: %T keys are not supported (want ECDSA P-256): %w", k, errdef.ErrUnsupported)
	}
	if err := checkCurve(pub); err != nil {
		return nil, err
	}
	return pub, nil
}

// KeyHint is the bundle's verificationMaterial.publicKey.hint cosign writes
// for a key: base64 (std) of sha256 over the PKIX DER encoding. It names a
// key; it proves nothing.
func KeyHint(pub crypto.PublicKey) string {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(der)
	return base64.StdEncoding.EncodeToString(sum[:])
}

func checkCurve(pub *ecdsa.PublicKey) error {
	if pub.Curve != elliptic.P256() {
		return fmt.Errorf("ECDSA curve %s is not supported (want P-256): %w", pub.Curve.Params().Name, errdef.ErrUnsupported)
	}
	return nil
}
