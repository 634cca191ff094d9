package integration

import (
	"bytes"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
)

// errCase is one failure every interface must report the same way.
type errCase struct {
	name string
	call func(v view) error
	code codes.Code
	msg  string // the message must contain this, case-insensitively
}

func inspectCall(ref string) func(view) error {
	return func(v view) error { _, err := v.Inspect(ref, ""); return err }
}

func manifestCall(ref string) func(view) error {
	return func(v view) error { _, err := v.Manifest(ref); return err }
}

func blobCall(ref string) func(view) error {
	return func(v view) error { return v.Blob(ref, io.Discard) }
}

func tagsCall(repo string) func(view) error {
	return func(v view) error { _, err := v.Tags(repo); return err }
}

// runErrCases runs every case through every view: CLI exit 1 with the class
// in its message, the gRPC code, the REST status and body code.
func runErrCases(t *testing.T, views []view, cases []errCase) {
	t.Helper()
	for _, v := range views {
		t.Run(v.Name(), func(t *testing.T) {
			t.Parallel()
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					err := c.call(v)
					if err == nil {
						t.Fatalf("succeeded, want %v", c.code)
					}
					code, msg, ok := codeOf(err)
					if !ok {
						t.Fatalf("want a %v failure, got: %v", c.code, err)
					}
					if code != c.code {
						t.Errorf("code %v, want %v; message: %s", code, c.code, msg)
					}
					if !strings.Contains(strings.ToLower(msg), strings.ToLower(c.msg)) {
						t.Errorf("message %q does not mention %q", msg, c.msg)
					}
				})
			}
		})
	}
}

// TestErrors checks that malformed, missing and unreachable references fail
// with the same class through every interface.
func TestErrors(t *testing.T) {
	f := sharedFixtures(t)
	h := f.Dist.Host
	closed, err := closedAddr()
	if err != nil {
		t.Fatal(err)
	}
	missingBlob := h + "/pull/oci@sha256:" + strings.Repeat("0", 64)

	big := t.TempDir()
	if err := initLayout(big); err != nil {
		t.Fatal(err)
	}
	cfg, err := writeLayoutBlob(big, "application/vnd.oci.image.config.v1+json", strings.NewReader(`{"os":"linux","architecture":"amd64","rootfs":{"type":"layers","diff_ids":[]}}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := writeLayoutImage(big, "big", cfg, []descriptor{}, 5<<20); err != nil {
		t.Fatal(err)
	}
	bigRef := "oci:" + big + ":big"

	runErrCases(t, allViews(t), []errCase{
		{"malformed ref", inspectCall(h + "/pull/UPPER:v1"), codes.InvalidArgument, "UPPER"},
		{"malformed digest", manifestCall(h + "/pull/oci@sha256:xyz"), codes.InvalidArgument, "sha256:xyz"},
		{"blob without digest", blobCall(h + "/pull/oci:v1"), codes.InvalidArgument, "digest"},
		{"unknown transport", inspectCall("nope://x/y:z"), codes.InvalidArgument, "nope"},
		{"unknown tag", inspectCall(h + "/pull/oci:nope"), codes.NotFound, "nope"},
		{"unknown tag manifest", manifestCall(h + "/pull/oci:nope"), codes.NotFound, "nope"},
		{"unknown repo", inspectCall(h + "/pull/nothere:v1"), codes.NotFound, "nothere"},
		{"unknown repo tags", tagsCall(h + "/pull/nothere"), codes.NotFound, "nothere"},
		{"unknown blob", blobCall(missingBlob), codes.NotFound, "sha256:0000"},
		{"unknown layout tag", inspectCall("oci:" + big + ":nope"), codes.NotFound, "nope"},
		{"missing layout", inspectCall("oci:" + filepath.Join(big, "absent") + ":v1"), codes.NotFound, "absent"},
		{"unreachable registry", inspectCall(closed + "/pull/oci:v1"), codes.Unavailable, closed},
		{"unreachable registry tags", tagsCall(closed + "/pull/oci"), codes.Unavailable, closed},
		{"manifest over 4 MiB", inspectCall(bigRef), codes.FailedPrecondition, "too large"},
		{"manifest over 4 MiB raw", manifestCall(bigRef), codes.FailedPrecondition, "too large"},
	})
}

// TestCLIUsage checks the CLI's own contract: exit 2 for usage errors, and
// output on stdout only on success.
func TestCLIUsage(t *testing.T) {
	for _, args := range [][]string{{"no-such-verb"}, {"inspect"}, {"inspect", "a", "b"}, {"inspect", "--no-such-flag", "x"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			r, err := run(nil, stevedoreBin, args...)
			if err != nil {
				t.Fatal(err)
			}
			if r.Code != 2 {
				t.Errorf("exit %d, want 2 (usage); stderr: %s", r.Code, r.Stderr)
			}
			if len(bytes.TrimSpace(r.Stderr)) == 0 {
				t.Error("nothing on stderr")
			}
		})
	}
}
