package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
)

// view is one of stevedore's interfaces (CLI, gRPC, REST), reduced to the
// pull verbs, so each test table runs once per interface.
type view interface {
	Name() string
	Inspect(ref, platform string) (inspectOutput, error)
	Manifest(ref string) ([]byte, error)
	// Blob streams the blob ref (REPO@DIGEST or oci:DIR@DIGEST) into w.
	Blob(ref string, w io.Writer) error
	Tags(repo string) ([]string, error)
}

// callError is a failed call, reduced to the gRPC code the interface
// signalled: the code itself, the REST status (checked against the code in
// the REST view), or the CLI's message.
type callError struct {
	View string
	Code codes.Code
	Msg  string
}

func (e *callError) Error() string { return fmt.Sprintf("%s: %v: %s", e.View, e.Code, e.Msg) }

// codeOf returns the code of a callError, or Unknown with ok false.
func codeOf(err error) (codes.Code, string, bool) {
	var ce *callError
	if errors.As(err, &ce) {
		return ce.Code, ce.Msg, true
	}
	return codes.Unknown, "", false
}

// cliView runs the stevedore binary, daemonless.
type cliView struct {
	env []string // e.g. DOCKER_CONFIG=...
}

func (cliView) Name() string { return "cli" }

func (v cliView) Inspect(ref, plat string) (inspectOutput, error) {
	args := []string{"inspect", ref}
	if plat != "" {
		args = append(args, "--platform", plat)
	}
	out, err := v.run(nil, args...)
	if err != nil {
		return inspectOutput{}, err
	}
	// The CLI prints the REST body's JSON.
	var info restInspect
	if err := json.Unmarshal(out, &info); err != nil {
		return inspectOutput{}, fmt.Errorf("cli: inspect output is not the REST JSON: %v\n%s", err, out)
	}
	return info.output(), nil
}

func (v cliView) Manifest(ref string) ([]byte, error) { return v.run(nil, "manifest", ref) }

func (v cliView) Blob(ref string, w io.Writer) error {
	_, err := v.run(w, "blob", ref)
	return err
}

func (v cliView) Tags(repo string) ([]string, error) {
	out, err := v.run(nil, "tags", repo)
	return lines(out), err
}

// run runs the CLI; stdout goes to w when set. A run that fails must exit 1
// and say why on stderr; its message is classified like the other views' codes.
func (v cliView) run(w io.Writer, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, stevedoreBin, args...)
	cmd.Env = append(os.Environ(), v.env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if w != nil {
		cmd.Stdout = w
	}
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return out.Bytes(), nil
	case ctx.Err() != nil:
		return nil, fmt.Errorf("cli: stevedore %s: timed out", strings.Join(args, " "))
	case errors.As(err, &ee) && ee.ExitCode() == 1:
		msg := strings.TrimSpace(errb.String())
		if msg == "" {
			return nil, fmt.Errorf("cli: stevedore %s: exit 1 with nothing on stderr", strings.Join(args, " "))
		}
		return nil, &callError{View: "cli", Code: cliCode(msg), Msg: msg}
	case errors.As(err, &ee):
		return nil, fmt.Errorf("cli: stevedore %s: exit %d, want 1 for a failed operation; stderr: %s", strings.Join(args, " "), ee.ExitCode(), errb.Bytes())
	default:
		return nil, fmt.Errorf("cli: stevedore %s: %w", strings.Join(args, " "), err)
	}
}

// cliCode classifies a CLI error message by the engine's error class names
// (engine/errdef), which messages carry because errors wrap them, or by the
// registry's OCI error code when the message quotes one (distribution-spec
// v1.1.1 §Error Codes:
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#error-codes).
func cliCode(msg string) codes.Code {
	s := strings.ToLower(msg)
	switch {
	case strings.Contains(msg, "NAME_UNKNOWN"), strings.Contains(msg, "MANIFEST_UNKNOWN"), strings.Contains(msg, "BLOB_UNKNOWN"):
		return codes.NotFound
	case strings.Contains(msg, "UNAUTHORIZED"):
		return codes.Unauthenticated
	case strings.Contains(msg, "DENIED"):
		return codes.PermissionDenied
	case strings.Contains(s, "digest mismatch"), strings.Contains(s, "size mismatch"):
		return codes.DataLoss
	case strings.Contains(s, "unauthorized"), strings.Contains(s, "unauthenticated"):
		return codes.Unauthenticated
	case strings.Contains(s, "denied"):
		return codes.PermissionDenied
	case strings.Contains(s, "too large"):
		return codes.FailedPrecondition
	case strings.Contains(s, "not found"):
		return codes.NotFound
	case strings.Contains(s, "unavailable"):
		return codes.Unavailable
	case strings.Contains(s, "invalid"):
		return codes.InvalidArgument
	default:
		return codes.Unknown
	}
}
