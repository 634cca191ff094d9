package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPathHint(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	if err := os.Mkdir("layout", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("app.tar", nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		want string // "" means no hint
	}{
		{"relative dir", []string{"inspect", "./layout"}, `hint: "./layout" looks like a local path; did you mean oci:./layout`},
		{"absolute dir", []string{"inspect", filepath.Join(dir, "layout")}, "did you mean oci:" + filepath.Join(dir, "layout")},
		{"missing parent dir", []string{"inspect", "../nowhere"}, `did you mean oci:../nowhere`},
		{"copy destination", []string{"copy", "oci:./layout:v1", "./out"}, `did you mean oci:./out`},
		{"file", []string{"inspect", "./app.tar"}, `did you mean oci-archive:./app.tar or docker-archive:./app.tar`},
		{"transport given", []string{"inspect", "oci:./nothing-here"}, ""},
		{"usage error", []string{"inspect"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run(context.Background(), tc.args, &stdout, &stderr); code == exitOK {
				t.Fatalf("%v succeeded", tc.args)
			}
			got := stderr.String()
			if tc.want == "" && strings.Contains(got, "hint:") || tc.want != "" && !strings.Contains(got, tc.want) {
				t.Errorf("stderr:\n%s\nwant hint %q", got, tc.want)
			}
		})
	}
}
