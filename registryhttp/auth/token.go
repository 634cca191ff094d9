package auth

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/stevedore-dev/stevedore/engine/errdef"
)

// TokenTTL is how long an issued token is valid: short, since a token
// cannot be revoked, and clients fetch a new one when it runs out.
const TokenTTL = 5 * time.Minute

// issuer is the "iss" of every token; the audience is the service name.
const issuer = "stevedore"

// minKeyLen is the shortest HMAC key accepted: 256 bits, the size of the
// SHA-256 block output RFC 7518 §3.2 asks HS256 keys to reach at least.
const minKeyLen = 32

// claims are the JWT claims of a registry token.
//
// Token claims: https://github.com/distribution/distribution/blob/v3.0.0/docs/content/spec/auth/jwt.md
type claims struct {
	jwt.RegisteredClaims
	Access []Access `json:"access"`
}

// signer issues and verifies tokens with one HMAC key. HMAC rather than a
// key pair because the issuer and the only verifier are the same process.
type signer struct {
	key     []byte
	service string
	now     func() time.Time
}

// issue returns a token for user ("" for anonymous) granting access.
func (s *signer) issue(user string, access []Access) (string, time.Time, error) {
	now := s.now()
	var jti [16]byte
	if _, err := rand.Read(jti[:]); err != nil {
		return "", time.Time{}, err
	}
	if access == nil {
		access = []Access{} // "access": [] rather than null, as the spec shows
	}
	c := claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    issuer,
			Subject:   user,
			Audience:  jwt.ClaimStrings{s.service},
			ExpiresAt: jwt.NewNumericDate(now.Add(TokenTTL)),
			// A little slack for clocks of other processes reading it.
			NotBefore: jwt.NewNumericDate(now.Add(-time.Minute)),
			IssuedAt:  jwt.NewNumericDate(now),
			ID:        hex.EncodeToString(jti[:]),
		},
		Access: access,
	}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(s.key)
	return tok, now, err
}

// verify checks a token's signature, algorithm, issuer, audience and times
// and returns its claims.
func (s *signer) verify(tok string) (*claims, error) {
	var c claims
	_, err := jwt.ParseWithClaims(tok, &c, func(*jwt.Token) (any, error) { return s.key, nil },
		// Pinning the algorithm keeps "alg": "none" and key-confusion
		// tokens out.
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer(issuer),
		jwt.WithAudience(s.service),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(s.now),
	)
	if err != nil {
		return nil, fmt.Errorf("invalid token: %v: %w", err, errdef.ErrUnauthorized)
	}
	return &c, nil
}

// LoadOrCreateKey returns the HMAC key in path, creating the file with a new
// random key (mode 0600) when it does not exist, so tokens survive a restart.
func LoadOrCreateKey(path string) ([]byte, error) {
	key, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		key = make([]byte, minKeyLen)
		if _, err := rand.Read(key); err != nil {
			return nil, err
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("token key: %w", err)
		}
		// O_EXCL: two servers starting on one data directory must not
		// overwrite each other's key.
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, os.ErrExist) {
			return LoadOrCreateKey(path)
		} else if err != nil {
			return nil, fmt.Errorf("token key: %w", err)
		}
		_, werr := f.Write(key)
		if err := errors.Join(werr, f.Sync(), f.Close()); err != nil {
			return nil, fmt.Errorf("token key: %w", err)
		}
		return key, nil
	}
	if err != nil {
		return nil, fmt.Errorf("token key: %w", err)
	}
	if len(key) < minKeyLen {
		return nil, fmt.Errorf("token key %s: %d bytes, want at least %d: %w", path, len(key), minKeyLen, errdef.ErrInvalid)
	}
	return key, nil
}
