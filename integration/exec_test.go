package integration

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// result is the outcome of a command the test ran to completion.
type result struct {
	Stdout, Stderr []byte
	Code           int
}

// run runs a command with a deadline and returns its output and exit code;
// only a failure to start or a timeout is an error.
func run(env []string, bin string, args ...string) (result, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := result{Stdout: out.Bytes(), Stderr: errb.Bytes()}
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		return r, fmt.Errorf("%s %s: timed out; stderr: %s", bin, strings.Join(args, " "), errb.Bytes())
	case errors.As(err, &ee):
		r.Code = ee.ExitCode()
	case err != nil:
		return r, fmt.Errorf("%s %s: %w", bin, strings.Join(args, " "), err)
	}
	return r, nil
}

// mustRun runs a command that must succeed and returns its stdout.
func mustRun(t testing.TB, env []string, bin string, args ...string) []byte {
	t.Helper()
	r, err := run(env, bin, args...)
	if err != nil {
		t.Fatal(err)
	}
	if r.Code != 0 {
		t.Fatalf("%s %s: exit %d\nstderr: %s", bin, strings.Join(args, " "), r.Code, r.Stderr)
	}
	return r.Stdout
}

// sd runs the stevedore CLI, which must succeed.
func sd(t testing.TB, args ...string) []byte {
	t.Helper()
	return mustRun(t, nil, stevedoreBin, args...)
}

// crane runs the crane oracle, which must succeed.
func crane(t testing.TB, args ...string) []byte {
	t.Helper()
	return mustRun(t, nil, "crane", args...)
}

// lines splits command output into its non-empty lines.
func lines(b []byte) []string {
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}
