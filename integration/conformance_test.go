package integration

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestConformance runs the OCI distribution-spec conformance suite against
// `stevedore serve`'s registry port, once at OCI_VERSION=1.1 and once at dev
// (the features merged after v1.1.1: upload cancel, tags on manifest PUT,
// required digest headers, ...), each on a fresh data directory, with pull,
// push, content discovery and content management on. Any failure fails the
// test; the counts are logged so CI output shows them, and a failing run's
// junit.xml and report.html are copied where the log says.
//
// distribution-spec v1.1.1 conformance:
// https://github.com/opencontainers/distribution-spec/tree/v1.1.1/conformance
func TestConformance(t *testing.T) {
	needTools(t, "oci-conformance")
	bin, err := exec.LookPath("oci-conformance")
	if err != nil {
		t.Fatal(err)
	}
	for _, version := range []string{"1.1", "dev"} {
		t.Run(version, func(t *testing.T) {
			s, err := startStevedore(t, "stevedore-conformance-"+version, serveOptions{})
			if err != nil {
				t.Fatal(err)
			}
			results := filepath.Join(t.TempDir(), "results")
			if err := os.Mkdir(results, 0o755); err != nil {
				t.Fatal(err)
			}
			out, runErr := runConformance(bin, []string{
				"OCI_REGISTRY=" + s.Registry,
				"OCI_TLS=disabled",
				"OCI_VERSION=" + version,
				"OCI_TEST_PULL=1", "OCI_TEST_PUSH=1", "OCI_TEST_CONTENT_DISCOVERY=1", "OCI_TEST_CONTENT_MANAGEMENT=1",
				"OCI_REPO1=conformance/repo1", "OCI_REPO2=conformance/repo2",
				"OCI_RESULTS_DIR=" + results,
			}, t.TempDir())
			sum, parseErr := readJUnit(filepath.Join(results, "junit.xml"))
			if parseErr == nil {
				t.Logf("OCI conformance %s: %d tests: %d passed, %d failed, %d errors, %d skipped, %d disabled",
					version, sum.Tests, sum.passed(), sum.Failures, sum.Errors, sum.Skipped, sum.Disabled)
			}
			failed := runErr != nil || parseErr != nil || sum.Failures+sum.Errors > 0 || sum.passed() <= 0
			if !failed {
				return
			}
			if kept := keepResults(t, results, version); kept != "" {
				t.Logf("conformance results (junit.xml, report.html, results.yaml) kept in %s", kept)
			}
			for _, name := range sum.failedCases {
				t.Errorf("failed: %s", name)
			}
			t.Errorf("conformance %s failed (run error: %v, junit: %v); suite output:\n%s", version, runErr, parseErr, tail(out, 12<<10))
		})
	}
}

// runConformance runs the suite from dir, which must be empty: the suite
// reads ./oci-conformance.yaml when there is one.
func runConformance(bin string, env []string, dir string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		return out, fmt.Errorf("oci-conformance timed out: %w", ctx.Err())
	}
	return out, err
}

// junitSummary is the suite's <testsuite> totals and the names of its
// failed cases.
type junitSummary struct {
	Tests, Failures, Errors, Skipped, Disabled int
	failedCases                                []string
}

// passed counts the tests that ran and passed.
func (s junitSummary) passed() int {
	return s.Tests - s.Failures - s.Errors - s.Skipped - s.Disabled
}

// readJUnit sums the test suites of a junit.xml file.
func readJUnit(path string) (junitSummary, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return junitSummary{}, err
	}
	type testcase struct {
		Name    string    `xml:"name,attr"`
		Status  string    `xml:"status,attr"`
		Failure *struct{} `xml:"failure"`
		Error   *struct{} `xml:"error"`
	}
	var doc struct {
		Suites []struct {
			Tests    int        `xml:"tests,attr"`
			Failures int        `xml:"failures,attr"`
			Errors   int        `xml:"errors,attr"`
			Skipped  int        `xml:"skipped,attr"`
			Disabled int        `xml:"disabled,attr"`
			Cases    []testcase `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(b, &doc); err != nil {
		return junitSummary{}, fmt.Errorf("%s: %w", path, err)
	}
	if len(doc.Suites) == 0 {
		return junitSummary{}, errors.New(path + ": no testsuite")
	}
	var s junitSummary
	for _, ts := range doc.Suites {
		s.Tests += ts.Tests
		s.Failures += ts.Failures
		s.Errors += ts.Errors
		s.Skipped += ts.Skipped
		s.Disabled += ts.Disabled
		for _, c := range ts.Cases {
			if c.Failure != nil || c.Error != nil || c.Status == "failed" || c.Status == "error" {
				s.failedCases = append(s.failedCases, c.Name)
			}
		}
	}
	return s, nil
}

// keepResults copies the suite's result files out of the test's temp dir,
// which is removed when the test ends: into $STEVEDORE_ARTIFACTS when set
// (CI uploads it), else a new directory under the system temp dir.
func keepResults(t *testing.T, from, version string) string {
	base := os.Getenv("STEVEDORE_ARTIFACTS")
	if base == "" {
		base = os.TempDir()
	}
	dst := filepath.Join(base, fmt.Sprintf("stevedore-conformance-%s-%s", version, time.Now().Format("20060102-150405")))
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Logf("keeping conformance results: %v", err)
		return ""
	}
	for _, name := range []string{"junit.xml", "report.html", "results.yaml"} {
		b, err := os.ReadFile(filepath.Join(from, name))
		if err != nil {
			continue
		}
		if err := os.WriteFile(filepath.Join(dst, name), b, 0o644); err != nil {
			t.Logf("keeping conformance results: %v", err)
		}
	}
	return dst
}

// tail returns the last n bytes of b, marked when cut.
func tail(b []byte, n int) string {
	if len(b) <= n {
		return string(b)
	}
	s := string(b[len(b)-n:])
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return "...\n" + s
}
