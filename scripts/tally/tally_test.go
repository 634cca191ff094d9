package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSummary(t *testing.T) {
	// testdata/results: a go test -json run (a pass with a subtest, a tool
	// skip, a benchmark skip, a failing subtest), an integration package
	// whose TestMain failed before any test, pytest's and node --test's
	// JUnit, and two shell checks.
	for _, tc := range []struct {
		name    string
		args    []string
		wantErr string
		want    []string
		notWant []string
	}{
		{
			name:    "strict",
			args:    []string{"summary", "-allow", "testdata/allow.txt", "testdata/results"},
			wantErr: "failed",
			want: []string{
				"FAIL unit: example.com/gt.TestFail/bad",
				"FAIL integration: integration (package)",
				"FAIL clients-python: test_a.test_param[2]",
				"FAIL clients-ts: group > inner fails",
				"FAIL doc-tour: README.md block 2 (line 40)",
				"SKIP not on the allowlist (scripts/skip-allowlist.txt): unit: example.com/gt.TestSkip (a_test.go:6: cosign not on PATH)",
				"SKIP not on the allowlist (scripts/skip-allowlist.txt): clients-python: test_a.test_skip (no registry)",
				"SKIP not on the allowlist (scripts/skip-allowlist.txt): clients-ts: top skips (no tool)",
				"TALLY FAILED: PASS 7  FAIL 6  SKIP 4 (1 allowed)  [pass/fail/skip: clients-python 2/1/1, clients-ts 2/1/1, doc-tour 1/1/0, integration 0/1/0, unit 2/2/2]\n",
			},
			notWant: []string{"TestBenchThing ("},
		},
		{
			name:    "quick allows every skip",
			args:    []string{"summary", "-quick", "testdata/results"},
			wantErr: "failed",
			want:    []string{"SKIP 4 (4 allowed)"},
			notWant: []string{"not on the allowlist"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			err := run(tc.args, nil, &out)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error %v, want %q", err, tc.wantErr)
			}
			for _, w := range tc.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(out.String(), w) {
					t.Errorf("output has %q:\n%s", w, out.String())
				}
			}
			if lines := strings.Split(strings.TrimSpace(out.String()), "\n"); !strings.HasPrefix(lines[len(lines)-1], "TALLY ") {
				t.Errorf("the last line is not the tally: %q", lines[len(lines)-1])
			}
		})
	}
}

func TestSummaryGreen(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("unit.gojson", `{"Action":"pass","Package":"github.com/stevedore-dev/stevedore/engine","Test":"TestA"}
{"Action":"skip","Package":"github.com/stevedore-dev/stevedore/integration","Test":"TestBenchCopy"}
{"Action":"skip","Package":"github.com/stevedore-dev/stevedore/cmd/stevedore"}
{"Action":"pass","Package":"github.com/stevedore-dev/stevedore/engine"}
`)
	write("release.checks", "PASS\tcrane validate\n")
	write("unit.checks", "PASS\tregistry for TestLiveRegistry\n") // merged into the unit tier
	write("notes.txt", "ignored\n")
	allow := filepath.Join(dir, "allow")
	write("allow", "^unit: integration\\.TestBench\n")
	var out bytes.Buffer
	if err := run([]string{"summary", "-allow", allow, dir}, nil, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if want := "TALLY ok: PASS 3  FAIL 0  SKIP 1 (1 allowed)  [pass/fail/skip: release 1/0/0, unit 2/0/1]\n"; out.String() != want {
		t.Errorf("got %q, want %q", out.String(), want)
	}
	if err := run([]string{"summary", t.TempDir()}, nil, &out); err == nil {
		t.Error("an empty results directory passed")
	}
}

func TestRender(t *testing.T) {
	in := `{"Action":"output","Package":"p","Test":"TestA","Output":"=== RUN   TestA\n"}
{"Action":"output","Package":"p","Test":"TestA","Output":"--- PASS: TestA (0.00s)\n"}
{"Action":"pass","Package":"p","Test":"TestA"}
# not json
`
	var out bytes.Buffer
	if err := run([]string{"render"}, strings.NewReader(in), &out); err != nil {
		t.Fatal(err)
	}
	if want := "=== RUN   TestA\n--- PASS: TestA (0.00s)\n# not json\n"; out.String() != want {
		t.Errorf("render = %q, want %q", out.String(), want)
	}

	in = `{"Action":"output","Package":"p","Test":"TestA","Output":"=== RUN   TestA\n"}
{"Action":"output","Package":"p","Test":"TestA","Output":"--- PASS: TestA (0.00s)\n"}
{"Action":"pass","Package":"p","Test":"TestA"}
{"Action":"output","Package":"p","Test":"TestB","Output":"=== RUN   TestB\n"}
{"Action":"output","Package":"p","Test":"TestB","Output":"    b_test.go:3: boom\n"}
{"Action":"output","Package":"p","Test":"TestB","Output":"--- FAIL: TestB (0.00s)\n"}
{"Action":"fail","Package":"p","Test":"TestB"}
{"Action":"output","Package":"p","Output":"FAIL\tp\t0.01s\n"}
{"Action":"fail","Package":"p"}
`
	out.Reset()
	if err := run([]string{"render", "-failures"}, strings.NewReader(in), &out); err != nil {
		t.Fatal(err)
	}
	if want := "=== RUN   TestB\n    b_test.go:3: boom\n--- FAIL: TestB (0.00s)\nFAIL\tp\t0.01s\n"; out.String() != want {
		t.Errorf("render -failures = %q, want %q", out.String(), want)
	}
}
