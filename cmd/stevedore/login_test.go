package main

import (
	"strings"
	"testing"
)

func TestRegistryHost(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"ghcr.io", "ghcr.io"},
		{"127.0.0.1:5000", "127.0.0.1:5000"},
		{"https://index.docker.io/v1/", "index.docker.io"},
		{"http://Reg.Example:5000/", "reg.example:5000"},
		{"ghcr.io/org", ""},
		{"", ""},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := registryHost(tc.in)
			if (err != nil) != (tc.want == "") || got != tc.want {
				t.Errorf("registryHost(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestReadPassword(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"secret\n", "secret"},
		{"secret\r\nignored\n", "secret"},
		{"no newline", "no newline"},
		{"with spaces \n", "with spaces "},
		{"\n", ""},
	} {
		got, err := readPassword(strings.NewReader(tc.in))
		if (err != nil) != (tc.want == "") || got != tc.want {
			t.Errorf("readPassword(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}
