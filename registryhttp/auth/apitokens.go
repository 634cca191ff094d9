package auth

import (
	"bufio"
	"crypto/sha256"
	"fmt"
	"io"
	"strings"

	"github.com/stevedore-dev/stevedore/engine/errdef"
)

// APITokens are static bearer tokens for the gRPC and REST ports, each
// standing for a user: for scripts and services that cannot run a login.
type APITokens struct {
	// Keyed by the token's SHA-256, so a lookup's timing says nothing
	// about how much of a guessed token was right.
	users map[[32]byte]string
}

// minAPITokenLen keeps guessable tokens out of the file.
const minAPITokenLen = 16

// ParseAPITokens reads "TOKEN USER" lines; blank lines and lines starting with
// '#' are skipped.
func ParseAPITokens(r io.Reader) (*APITokens, error) {
	t := &APITokens{users: map[[32]byte]string{}}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		switch {
		case len(f) != 2:
			return nil, fmt.Errorf("api tokens line %d: want TOKEN USER: %w", n, errdef.ErrInvalid)
		case len(f[0]) < minAPITokenLen:
			return nil, fmt.Errorf("api tokens line %d: token shorter than %d characters: %w", n, minAPITokenLen, errdef.ErrInvalid)
		}
		k := sha256.Sum256([]byte(f[0]))
		if _, dup := t.users[k]; dup {
			return nil, fmt.Errorf("api tokens line %d: token listed twice: %w", n, errdef.ErrInvalid)
		}
		t.users[k] = f[1]
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("api tokens: %w", err)
	}
	return t, nil
}

// lookup returns the user tok stands for.
func (t *APITokens) lookup(tok string) (string, bool) {
	if t == nil {
		return "", false
	}
	u, ok := t.users[sha256.Sum256([]byte(tok))]
	return u, ok
}
