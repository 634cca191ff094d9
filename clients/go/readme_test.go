package stevedoreclient_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestReadmeQuickStart runs the README's quick start as written against the
// shared server, and keeps main's body to 20 lines (every error handled).
// Without the environment it must fail cleanly (no panic) on the default
// address, where nothing listens in the test.
func TestReadmeQuickStart(t *testing.T) {
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)## Quick start.*?```go\n(.*?)```").FindSubmatch(b)
	if m == nil {
		t.Fatal("README.md has no Go quick start")
	}
	code := string(m[1])
	body := code[strings.Index(code, "func main() {"):]
	body = body[:strings.Index(body, "\n}\n")]
	if n := strings.Count(body, "\n"); n > 20 {
		t.Errorf("quick start main has %d lines, keep it to 20", n)
	}
	main := filepath.Join(t.TempDir(), "main.go")
	if err := os.WriteFile(main, []byte(code), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "quickstart")
	if out, err := exec.Command("go", "build", "-o", bin, main).CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), "STEVEDORE_TARGET="+addr, "STEVEDORE_REPO="+fx.Ref(""))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("quick start: %v\n%s", err, out)
	}
	want := fx.Manifest.Digest.String() + " " + fx.Manifest.MediaType + "\n"
	for _, l := range fx.Layers {
		want += fmt.Sprintf("%d bytes\n", l.Size)
	}
	want += "true\n"
	if string(out) != want {
		t.Errorf("quick start printed\n%s\nwant\n%s", out, want)
	}

	// On the defaults (usually nothing listens on 127.0.0.1:9090 in a test;
	// a server on this machine may): a result or an error message with
	// exit status 1, never a panic.
	cmd = exec.Command(bin)
	cmd.Env = append(os.Environ(), "STEVEDORE_TARGET=", "STEVEDORE_REPO=")
	out, err = cmd.CombinedOutput()
	var exit *exec.ExitError
	if strings.Contains(string(out), "panic") || err != nil && (!errors.As(err, &exit) || exit.ExitCode() != 1) {
		t.Errorf("on the defaults: %v\n%s", err, out)
	}
}
