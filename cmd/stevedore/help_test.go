package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// TestFlagVocabulary keeps the flags consistent across verbs: -a is
// --annotation wherever it exists, --annotation is repeatable and its
// plural is a hidden alias, copy and mirror count concurrency alike, and
// no boolean defaults to true.
func TestFlagVocabulary(t *testing.T) {
	root := newRootCmd()
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		c.LocalFlags().VisitAll(func(f *pflag.Flag) {
			if f.Shorthand == "a" && f.Name != "annotation" {
				t.Errorf("%s: -a is --%s, want --annotation", c.CommandPath(), f.Name)
			}
			if f.Name == "annotation" && f.Value.Type() != "stringArray" {
				t.Errorf("%s: --annotation is a %s, want a repeatable stringArray", c.CommandPath(), f.Value.Type())
			}
			if f.Value.Type() == "bool" && f.DefValue == "true" {
				t.Errorf("%s: --%s defaults to true; make the default the absence of the flag", c.CommandPath(), f.Name)
			}
		})
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)

	for _, verb := range []string{"copy", "mirror"} {
		c, _, err := root.Find([]string{verb})
		if err != nil {
			t.Fatal(err)
		}
		if f := c.Flags().Lookup("blob-concurrency"); f == nil || f.Hidden {
			t.Errorf("%s lacks --blob-concurrency", verb)
		}
	}

	// The plural is accepted (sign and verify used to take it) and means
	// the same repeatable flag, but help does not show it.
	sign, _, _ := root.Find([]string{"sign"})
	if err := sign.ParseFlags([]string{"--annotations", "a=1", "-a", "b=2", "--annotation", "c=3"}); err != nil {
		t.Fatal(err)
	}
	if got, _ := sign.Flags().GetStringArray("annotation"); strings.Join(got, ",") != "a=1,b=2,c=3" {
		t.Errorf("--annotation values %q", got)
	}
	var help bytes.Buffer
	if code := run(context.Background(), []string{"sign", "--help"}, &help, &help); code != exitOK || strings.Contains(help.String(), "--annotations") {
		t.Errorf("sign --help (exit %d) shows the alias:\n%s", code, help.String())
	}
}

// TestHelpLayout: the one-line summary and usage come before the prose.
func TestHelpLayout(t *testing.T) {
	var out bytes.Buffer
	if code := run(context.Background(), []string{"copy", "--help"}, &out, &out); code != exitOK {
		t.Fatalf("exit %d", code)
	}
	s := out.String()
	short, usage, flags, details := strings.Index(s, "Copy an image, index or artifact between"), strings.Index(s, "Usage:\n  stevedore copy SRC DST"), strings.Index(s, "Flags:"), strings.Index(s, "Details:\n  Copy an image")
	if short != 0 || usage < 0 || flags < usage || details < flags {
		t.Errorf("copy --help order: short %d, usage %d, flags %d, details %d:\n%s", short, usage, flags, details, s)
	}
}
