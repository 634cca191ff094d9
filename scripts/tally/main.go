// Command tally reads the results every tier of scripts/test.sh leaves in
// one directory and prints the one-line count of passed, failed and skipped
// tests across all of them. A skip whose name no pattern of the allowlist
// matches fails the run: a suite must not go green by testing nothing.
//
//	tally render [-failures] < go-test.json
//	                                  print `go test -json` as `go test -v` would;
//	                                  -failures: only package lines and the
//	                                  output of failed tests, as plain go test
//	tally summary [-allow FILE] [-quick] DIR
//
// DIR holds, per tier:
//
//	NAME.gojson     `go test -json` output (test2json events:
//	                https://pkg.go.dev/cmd/test2json)
//	NAME.junit.xml  JUnit XML (pytest --junitxml, node --test-reporter=junit)
//	NAME.checks     one line per shell-level check: PASS|FAIL|SKIP, a tab,
//	                the check's name, optionally a tab and the reason
//
// The allowlist has one regular expression per line (# starts a comment),
// matched against "TIER: NAME"; with -quick (QUICK=1, go test -short) every
// skip is allowed, since a quick run skips the slow tests by design.
package main

import (
	"bufio"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

func main() {
	if err := run(os.Args[1:], os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "tally:", err)
		os.Exit(1)
	}
}

func run(args []string, stdin io.Reader, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New("usage: tally render | tally summary [-allow FILE] [-quick] DIR")
	}
	switch args[0] {
	case "render":
		return render(stdin, stdout, len(args) > 1 && args[1] == "-failures")
	case "summary":
		var allowFile, dir string
		quick := false
		for i := 1; i < len(args); i++ {
			switch a := args[i]; {
			case a == "-quick":
				quick = true
			case a == "-allow" && i+1 < len(args):
				i++
				allowFile = args[i]
			case dir == "" && !strings.HasPrefix(a, "-"):
				dir = a
			default:
				return fmt.Errorf("summary: unexpected argument %q", a)
			}
		}
		if dir == "" {
			return errors.New("summary: no results directory")
		}
		allow, err := loadAllowlist(allowFile)
		if err != nil {
			return err
		}
		tiers, err := readDir(dir)
		if err != nil {
			return err
		}
		return summarize(tiers, allow, quick, stdout)
	}
	return fmt.Errorf("unknown subcommand %q", args[0])
}

// result is one test's outcome.
type result struct {
	name, status, reason string // status: PASS, FAIL or SKIP
}

// tier is the results of one file of DIR.
type tier struct {
	name    string
	results []result
}

// readDir reads every results file in dir, in name order.
func readDir(dir string) ([]tier, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var tiers []tier
	for _, e := range entries {
		path := filepath.Join(dir, e.Name())
		var parse func(io.Reader) ([]result, error)
		var name string
		switch n := e.Name(); {
		case strings.HasSuffix(n, ".gojson"):
			name, parse = strings.TrimSuffix(n, ".gojson"), parseGoJSON
		case strings.HasSuffix(n, ".junit.xml"):
			name, parse = strings.TrimSuffix(n, ".junit.xml"), parseJUnit
		case strings.HasSuffix(n, ".checks"):
			name, parse = strings.TrimSuffix(n, ".checks"), parseChecks
		default:
			continue
		}
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		rs, err := parse(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		// One tier may leave several files (a suite's JUnit and its
		// install checks): they count as one.
		if n := len(tiers); n > 0 && tiers[n-1].name == name {
			tiers[n-1].results = append(tiers[n-1].results, rs...)
			continue
		}
		tiers = append(tiers, tier{name, rs})
	}
	return tiers, nil
}

// event is one line of `go test -json`.
type event struct {
	Action, Package, Test, Output string
}

// render prints the Output of each event: exactly what `go test -v` prints.
// With failuresOnly it keeps each test's output until the test ends and
// prints it only if the test failed, as plain `go test` does.
func render(r io.Reader, w io.Writer, failuresOnly bool) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	bw := bufio.NewWriter(w)
	held := map[string]*strings.Builder{}
	for sc.Scan() {
		var e event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			fmt.Fprintln(bw, sc.Text()) // not an event (go vet, build output): as is
			continue
		}
		switch {
		case !failuresOnly || e.Test == "":
			bw.WriteString(e.Output)
		case e.Action == "output":
			key := e.Package + " " + e.Test
			if held[key] == nil {
				held[key] = &strings.Builder{}
			}
			held[key].WriteString(e.Output)
		case e.Action == "pass" || e.Action == "skip" || e.Action == "fail":
			key := e.Package + " " + e.Test
			if b := held[key]; b != nil && e.Action == "fail" {
				bw.WriteString(b.String())
			}
			delete(held, key)
		}
		if e.Action != "output" {
			bw.Flush()
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	return bw.Flush()
}

// parseGoJSON counts every test and subtest; a package that failed without
// a failing test (a build error, TestMain exiting non-zero) counts as one
// failure named after the package.
func parseGoJSON(r io.Reader) ([]result, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	var out []result
	lastLine := map[string]string{} // package + test → its last log line
	failedTests := map[string]int{}
	var failedPkgs []string
	for sc.Scan() {
		var e event
		if json.Unmarshal(sc.Bytes(), &e) != nil {
			continue
		}
		pkg := shortPackage(e.Package)
		key := pkg + "." + e.Test
		switch e.Action {
		case "output":
			if l := strings.TrimSpace(e.Output); l != "" && !strings.HasPrefix(l, "=== ") && !strings.HasPrefix(l, "--- ") {
				lastLine[key] = l
			}
		case "pass", "fail", "skip":
			if e.Test == "" {
				if e.Action == "fail" && failedTests[pkg] == 0 {
					failedPkgs = append(failedPkgs, pkg)
				}
				continue
			}
			st := strings.ToUpper(e.Action)
			if st == "FAIL" {
				failedTests[pkg]++
			}
			out = append(out, result{name: key, status: st, reason: lastLine[key]})
		case "build-fail":
			failedPkgs = append(failedPkgs, shortPackage(e.Package)+" (build)")
		}
	}
	for _, p := range failedPkgs {
		out = append(out, result{name: p + " (package)", status: "FAIL"})
	}
	return out, sc.Err()
}

// shortPackage drops the module path, so names read "integration.TestX".
func shortPackage(p string) string {
	return strings.TrimPrefix(strings.TrimPrefix(p, "github.com/stevedore-dev/stevedore"), "/")
}

// junitNode is any element of a JUnit document; testcases may nest in
// suites to any depth (node --test nests describe blocks).
type junitNode struct {
	XMLName   xml.Name
	Name      string      `xml:"name,attr"`
	Classname string      `xml:"classname,attr"`
	Message   string      `xml:"message,attr"`
	Children  []junitNode `xml:",any"`
}

func parseJUnit(r io.Reader) ([]result, error) {
	var root junitNode
	if err := xml.NewDecoder(r).Decode(&root); err != nil {
		return nil, err
	}
	var out []result
	var walk func(n junitNode, suite string)
	walk = func(n junitNode, suite string) {
		switch n.XMLName.Local {
		case "testcase":
			res := result{name: strings.TrimPrefix(suite+" > "+n.Name, " > "), status: "PASS"}
			if strings.Contains(n.Classname, ".") || (n.Classname != "" && n.Classname != "test" && suite == "") { // pytest: module path
				res.name = n.Classname + "." + n.Name
			}
			for _, c := range n.Children {
				switch c.XMLName.Local {
				case "failure", "error":
					res.status, res.reason = "FAIL", c.Message
				case "skipped":
					if res.status != "FAIL" {
						res.status, res.reason = "SKIP", c.Message
					}
				}
			}
			out = append(out, res)
			return
		case "testsuite":
			if n.Name != "" && n.Name != "pytest" {
				suite = strings.TrimPrefix(suite+" > "+n.Name, " > ")
			}
		}
		for _, c := range n.Children {
			walk(c, suite)
		}
	}
	walk(root, "")
	return out, nil
}

func parseChecks(r io.Reader) ([]result, error) {
	sc := bufio.NewScanner(r)
	var out []result
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		f := strings.SplitN(sc.Text(), "\t", 3)
		if len(f) < 2 || (f[0] != "PASS" && f[0] != "FAIL" && f[0] != "SKIP") {
			return nil, fmt.Errorf("bad check line %q: want STATUS<TAB>NAME[<TAB>REASON]", sc.Text())
		}
		res := result{status: f[0], name: f[1]}
		if len(f) == 3 {
			res.reason = f[2]
		}
		out = append(out, res)
	}
	return out, sc.Err()
}

func loadAllowlist(path string) ([]*regexp.Regexp, error) {
	if path == "" {
		return nil, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var res []*regexp.Regexp
	for i, line := range strings.Split(string(b), "\n") {
		if line = strings.TrimSpace(line); line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		re, err := regexp.Compile(line)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, i+1, err)
		}
		res = append(res, re)
	}
	return res, nil
}

// summarize prints the failures, the skips nobody allowed, a count per tier
// and, last, the one-line tally; it fails when any test failed or any skip
// is not allowed.
func summarize(tiers []tier, allow []*regexp.Regexp, quick bool, w io.Writer) error {
	var pass, fail, skip, allowed int
	var failures, badSkips, perTier []string
	for _, t := range tiers {
		var p, f, s int
		for _, r := range t.results {
			id := t.name + ": " + r.name
			switch r.status {
			case "PASS":
				p++
			case "FAIL":
				f++
				failures = append(failures, id)
			case "SKIP":
				s++
				if quick || matchAny(allow, id) {
					allowed++
				} else {
					badSkips = append(badSkips, id+" ("+r.reason+")")
				}
			}
		}
		pass, fail, skip = pass+p, fail+f, skip+s
		perTier = append(perTier, fmt.Sprintf("%s %d/%d/%d", t.name, p, f, s))
	}
	sort.Strings(failures)
	for _, f := range failures {
		fmt.Fprintln(w, "FAIL", f)
	}
	for _, s := range badSkips {
		fmt.Fprintln(w, "SKIP not on the allowlist (scripts/skip-allowlist.txt):", s)
	}
	verdict := "ok"
	if fail > 0 || len(badSkips) > 0 || len(tiers) == 0 {
		verdict = "FAILED"
	}
	fmt.Fprintf(w, "TALLY %s: PASS %d  FAIL %d  SKIP %d (%d allowed)  [pass/fail/skip: %s]\n",
		verdict, pass, fail, skip, allowed, strings.Join(perTier, ", "))
	switch {
	case len(tiers) == 0:
		return errors.New("no results")
	case fail > 0:
		return fmt.Errorf("%d failed", fail)
	case len(badSkips) > 0:
		return fmt.Errorf("%d skipped without being allowed", len(badSkips))
	}
	return nil
}

func matchAny(res []*regexp.Regexp, s string) bool {
	for _, re := range res {
		if re.MatchString(s) {
			return true
		}
	}
	return false
}
