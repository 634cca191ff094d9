package auth

import (
	"bufio"
	"crypto/sha256"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/stevedore-dev/stevedore/engine/errdef"
)

// Users are the accounts of an htpasswd file.
type Users struct {
	hashes map[string][]byte

	// bcrypt costs tens of milliseconds by design; clients that send Basic
	// credentials on every request (curl, and every client on /token)
	// would pay it each time. A verified (user, password) pair is
	// remembered, by its SHA-256 only, for verifiedTTL.
	mu       sync.Mutex
	verified map[[32]byte]time.Time
}

// verifiedTTL bounds how long a password change takes to bite for a client
// that already logged in; maxVerified bounds the cache's memory.
const (
	verifiedTTL = time.Minute
	maxVerified = 4096
)

// ParseHtpasswd reads "user:hash" lines (Apache htpasswd format); blank lines
// and lines starting with '#' are skipped. Only bcrypt hashes ($2a$, $2b$,
// $2y$: `htpasswd -B`) are accepted: the other htpasswd schemes (MD5-crypt,
// SHA-1, crypt, plain text) are too weak to guard a registry, so a file
// holding one fails the start instead of locking that user out silently.
func ParseHtpasswd(r io.Reader) (*Users, error) {
	u := &Users{hashes: map[string][]byte{}, verified: map[[32]byte]time.Time{}}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		user, hash, ok := strings.Cut(line, ":")
		switch {
		case !ok || user == "" || hash == "":
			return nil, fmt.Errorf("htpasswd line %d: want user:hash: %w", n, errdef.ErrInvalid)
		case !strings.HasPrefix(hash, "$2a$") && !strings.HasPrefix(hash, "$2b$") && !strings.HasPrefix(hash, "$2y$"):
			return nil, fmt.Errorf("htpasswd line %d: user %q: only bcrypt hashes are supported (create them with htpasswd -B): %w", n, user, errdef.ErrUnsupported)
		}
		if _, err := bcrypt.Cost([]byte(hash)); err != nil {
			return nil, fmt.Errorf("htpasswd line %d: user %q: %v: %w", n, user, err, errdef.ErrInvalid)
		}
		if _, dup := u.hashes[user]; dup {
			return nil, fmt.Errorf("htpasswd line %d: user %q listed twice: %w", n, user, errdef.ErrInvalid)
		}
		u.hashes[user] = []byte(hash)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("htpasswd: %w", err)
	}
	return u, nil
}

// Verify reports whether pass is user's password.
func (u *Users) Verify(user, pass string) bool {
	hash, ok := u.hashes[user]
	if !ok {
		// Same cost as a wrong password, so response times do not tell
		// which user names exist.
		_ = bcrypt.CompareHashAndPassword(dummyHash(), []byte(pass))
		return false
	}
	key := sha256.Sum256([]byte(user + "\x00" + pass + "\x00" + string(hash)))
	now := time.Now()
	u.mu.Lock()
	t, hit := u.verified[key]
	u.mu.Unlock()
	if hit && now.Sub(t) < verifiedTTL {
		return true
	}
	if bcrypt.CompareHashAndPassword(hash, []byte(pass)) != nil {
		return false
	}
	u.mu.Lock()
	if len(u.verified) >= maxVerified {
		clear(u.verified)
	}
	u.verified[key] = now
	u.mu.Unlock()
	return true
}

// dummyHash is a bcrypt hash at the default cost, made on first use so that
// importing the package costs nothing.
var dummyHash = sync.OnceValue(func() []byte {
	h, _ := bcrypt.GenerateFromPassword([]byte("stevedore-no-such-user"), bcrypt.DefaultCost)
	return h
})
