package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
	"golang.org/x/crypto/bcrypt"
)

// --anonymous-read opens every repository whatever the rules say, to
// anonymous and so to every user: serve says so at warn when it starts.
func TestAnonymousReadWarns(t *testing.T) {
	dir := t.TempDir()
	h, err := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	users := filepath.Join(dir, "htpasswd")
	if err := os.WriteFile(users, []byte("alice:"+string(h)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, anon := range []bool{false, true} {
		core, logs := observer.New(zapcore.WarnLevel)
		f := securityFlags{htpasswd: users, anonymousRead: anon}
		if _, err := f.build(dir, zap.New(core)); err != nil {
			t.Fatal(err)
		}
		warned := false
		for _, e := range logs.All() {
			warned = warned || strings.Contains(e.Message, "--anonymous-read")
		}
		if warned != anon {
			t.Errorf("--anonymous-read=%v: warned %v", anon, warned)
		}
	}
}
