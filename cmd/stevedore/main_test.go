package main

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"
)

func TestExitCodes(t *testing.T) {
	missing := "oci:" + filepath.Join(t.TempDir(), "none") + ":v1"
	for _, tc := range []struct {
		name string
		args []string
		want int
	}{
		{"help", []string{"--help"}, exitOK},
		{"no verb shows help", nil, exitOK},
		{"unknown verb", []string{"bogus"}, exitUsage},
		{"unknown flag", []string{"serve", "--nope"}, exitUsage},
		{"unknown root flag", []string{"--nope"}, exitUsage},
		{"missing argument", []string{"inspect"}, exitUsage},
		{"extra argument", []string{"serve", "extra"}, exitUsage},
		{"bad log level", []string{"serve", "--log-level", "loud"}, exitUsage},
		{"bad log format", []string{"serve", "--log-format", "xml"}, exitUsage},
		{"version", []string{"version"}, exitOK},
		{"--version", []string{"--version"}, exitOK},
		{"failure", []string{"inspect", missing}, exitFailure},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if got := run(context.Background(), tc.args, &stdout, &stderr); got != tc.want {
				t.Errorf("exit %d, want %d; stderr:\n%s", got, tc.want, stderr.String())
			}
		})
	}
}
