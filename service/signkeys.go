package service

import (
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/sign"
)

// keyIDRE is the key id grammar. Ids become file names, so the grammar
// leaves no room for separators, and a leading dot (hidden files, "..")
// cannot start one.
var keyIDRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

// maxKeyFile bounds a key file read; cosign's are under 1 KiB.
const maxKeyFile = 64 << 10

// KeyDir is the server's key directory: ID.key (cosign's encrypted private
// key) and ID.pub (the public key) per key pair, as `cosign
// generate-key-pair --output-prefix DIR/ID` would write them, so keys can
// be put there by hand or taken out for cosign.
type KeyDir struct {
	dir string
}

// NewKeyDir returns the key directory dir; it is created on the first
// GenerateKeyPair.
func NewKeyDir(dir string) *KeyDir { return &KeyDir{dir: dir} }

// checkKeyID validates id before it names a file.
func checkKeyID(id string) error {
	if !keyIDRE.MatchString(id) {
		return fmt.Errorf("key id %q: want 1 to 64 of a-z, 0-9, '.', '_', '-', starting with a letter or digit: %w", id, errdef.ErrInvalid)
	}
	return nil
}

// generatedKeyID derives an id from the public key, so the same key has
// the same id wherever it is generated.
func generatedKeyID(pub crypto.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(der)
	return "key-" + hex.EncodeToString(sum[:8]), nil
}

// Generate creates a key pair under id ("" derives one from the key) and
// returns the id. Creating ID.key exclusively claims the id, so two
// concurrent calls cannot overwrite each other; on failure nothing is left.
func (k *KeyDir) Generate(id string, password []byte) (string, *sign.KeyPair, error) {
	if id != "" {
		if err := checkKeyID(id); err != nil {
			return "", nil, err
		}
	}
	kp, err := sign.GenerateKeyPair(password)
	if err != nil {
		return "", nil, err
	}
	if id == "" {
		if id, err = generatedKeyID(kp.Key.Public()); err != nil {
			return "", nil, err
		}
	}
	if err := os.MkdirAll(k.dir, 0o700); err != nil {
		return "", nil, err
	}
	priv, pub := k.path(id, ".key"), k.path(id, ".pub")
	if err := writeExclusive(priv, kp.PrivatePEM, 0o600); err != nil {
		return "", nil, err
	}
	if err := writeExclusive(pub, kp.PublicPEM, 0o644); err != nil {
		os.Remove(priv)
		return "", nil, err
	}
	return id, kp, nil
}

// Signer decrypts the private key id with password.
func (k *KeyDir) Signer(id string, password []byte) (crypto.Signer, error) {
	raw, err := k.read(id, ".key")
	if err != nil {
		return nil, err
	}
	key, err := sign.DecryptPrivateKey(raw, password)
	if err != nil {
		return nil, fmt.Errorf("key %s: %w", id, err)
	}
	return key, nil
}

// PublicKey returns the public key id.
func (k *KeyDir) PublicKey(id string) (crypto.PublicKey, error) {
	raw, err := k.read(id, ".pub")
	if err != nil {
		return nil, err
	}
	pub, err := sign.ParsePublicKey(raw)
	if err != nil {
		return nil, fmt.Errorf("key %s: %w", id, err)
	}
	return pub, nil
}

// read returns the key file id+ext, bounded.
func (k *KeyDir) read(id, ext string) ([]byte, error) {
	if err := checkKeyID(id); err != nil {
		return nil, err
	}
	f, err := os.Open(k.path(id, ext))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("key %s is not in the server's key directory: %w", id, errdef.ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err != nil {
		return nil, err
	}
	if len(raw) > maxKeyFile {
		return nil, fmt.Errorf("key %s: file larger than %d bytes (corrupt key file?): %w", id, maxKeyFile, errdef.ErrInvalid)
	}
	return raw, nil
}

func (k *KeyDir) path(id, ext string) string { return filepath.Join(k.dir, id+ext) }

// writeExclusive writes b to a new file at path, synced; an existing file
// is ErrAlreadyExists. A failed write removes the file.
func writeExclusive(path string, b []byte, perm os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("key file %s exists: %w", filepath.Base(path), errdef.ErrAlreadyExists)
	}
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
	}
	return err
}
