package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// buildLayout builds an image of files (path → content; a path ending in
// "/" is a directory) into a new layout and returns its reference.
func buildLayout(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for p, body := range files {
		full := filepath.Join(root, p)
		if strings.HasSuffix(p, "/") {
			if err := os.MkdirAll(full, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ref := "oci:" + filepath.Join(t.TempDir(), "layout") + ":v1"
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"build", root, "--reproducible", "-t", ref}, &stdout, &stderr); code != exitOK {
		t.Fatalf("build: exit %d: %s", code, stderr.String())
	}
	return ref
}

// TestLsModes: ls prints a directory's mode with its d, as ls -l does.
func TestLsModes(t *testing.T) {
	ref := buildLayout(t, map[string]string{"etc/": "", "etc/os-release": "x"})
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"ls", ref}, &stdout, &stderr); code != exitOK {
		t.Fatalf("ls: exit %d: %s", code, stderr.String())
	}
	for _, line := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
		f := strings.Fields(line)
		if len(f) < 6 {
			t.Fatalf("ls line %q", line)
		}
		want := map[string]string{"/etc": "drwxr-xr-x", "/etc/os-release": "-rw-r--r--"}[f[5]]
		if f[1] != want {
			t.Errorf("ls: %q: mode %s, want %s", line, f[1], want)
		}
	}
}

// TestDiffExitStatus: diff exits 0 for the same image and 1, quietly, when
// the images differ, as diff(1) does.
func TestDiffExitStatus(t *testing.T) {
	a := buildLayout(t, map[string]string{"f": "one"})
	b := buildLayout(t, map[string]string{"f": "two", "g": "new"})
	for _, tc := range []struct {
		name   string
		args   []string
		want   int
		output string
	}{
		{"same", []string{"diff", a, a}, exitOK, "shared base layers: 1"},
		{"differ", []string{"diff", a, b}, exitFailure, "+ /g"},
		{"differ as JSON", []string{"diff", "--json", a, b}, exitFailure, `"added"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run(context.Background(), tc.args, &stdout, &stderr); code != tc.want || !strings.Contains(stdout.String(), tc.output) || stderr.Len() != 0 {
				t.Errorf("exit %d, want %d; stdout:\n%s\nstderr:\n%s", code, tc.want, stdout.String(), stderr.String())
			}
		})
	}
}
