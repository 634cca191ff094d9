package stevedoreclient_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stevedore-dev/stevedore/clients/go/internal/fixture"
)

// TestReadmeQuickStart runs the README's quick start as written against the
// shared server, and keeps main's body to 10 lines.
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
	if n := strings.Count(strings.TrimSpace(body), "\n") - 1; n > 10 {
		t.Errorf("quick start main has %d lines, keep it to 10", n)
	}
	main := filepath.Join(t.TempDir(), "main.go")
	if err := os.WriteFile(main, []byte(code), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "run", main)
	cmd.Env = append(os.Environ(), "STEVEDORE_TARGET="+addr, "STEVEDORE_REF="+fx.Ref(":"+fixture.TagImage))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go run: %v\n%s", err, out)
	}
	want := fx.Manifest.Digest.String() + " " + fx.Manifest.MediaType + " <nil>\n" +
		"11 bytes <nil>\n" +
		"true\n"
	if string(out) != want {
		t.Errorf("quick start printed\n%s\nwant\n%s", out, want)
	}
}
