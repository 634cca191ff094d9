package service

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/stevedore-dev/stevedore/engine"
	"github.com/stevedore-dev/stevedore/engine/errdef"
)

func TestToStatus(t *testing.T) {
	// wrap buries a class the way the engine does: typed error around %w.
	wrap := func(err error) error {
		return &engine.Error{Op: "inspect", Ref: "docker://x/y:z", Err: fmt.Errorf("fetch: %w", err)}
	}
	for _, tc := range []struct {
		name   string
		err    error
		subj   subject
		code   codes.Code
		reason string
	}{
		{"manifest not found", wrap(errdef.ErrNotFound), subjectManifest, codes.NotFound, "MANIFEST_UNKNOWN"},
		{"blob not found", wrap(errdef.ErrNotFound), subjectBlob, codes.NotFound, "BLOB_UNKNOWN"},
		{"repository not found", wrap(errdef.ErrNotFound), subjectRepository, codes.NotFound, "NAME_UNKNOWN"},
		{"manifest invalid", wrap(errdef.ErrInvalid), subjectManifest, codes.InvalidArgument, "MANIFEST_INVALID"},
		{"blob range invalid", wrap(errdef.ErrInvalid), subjectBlob, codes.InvalidArgument, ""},
		{"digest mismatch", wrap(errdef.ErrDigestMismatch), subjectBlob, codes.DataLoss, "DIGEST_INVALID"},
		{"size mismatch", wrap(errdef.ErrSizeMismatch), subjectBlob, codes.DataLoss, "SIZE_INVALID"},
		{"too large", wrap(errdef.ErrTooLarge), subjectManifest, codes.FailedPrecondition, "SIZE_INVALID"},
		{"unsupported", wrap(errdef.ErrUnsupported), subjectManifest, codes.Unimplemented, "UNSUPPORTED"},
		{"unauthorized", wrap(errdef.ErrUnauthorized), subjectManifest, codes.Unauthenticated, "UNAUTHORIZED"},
		{"denied", wrap(errdef.ErrDenied), subjectManifest, codes.PermissionDenied, "DENIED"},
		{"unavailable", wrap(errdef.ErrUnavailable), subjectManifest, codes.Unavailable, ""},
		{"too many requests", wrap(errdef.ErrTooManyRequests), subjectManifest, codes.ResourceExhausted, "TOOMANYREQUESTS"},
		{"already exists", wrap(errdef.ErrAlreadyExists), subjectManifest, codes.AlreadyExists, ""},
		{"registry storage full", wrap(errdef.ErrNoSpace), subjectManifest, codes.ResourceExhausted, "INSUFFICIENT_STORAGE"},
		{"local disk full", wrap(&os.PathError{Op: "write", Path: "/data/blobs/x", Err: syscall.ENOSPC}), subjectBlob, codes.ResourceExhausted, "INSUFFICIENT_STORAGE"},
		{"canceled", wrap(context.Canceled), subjectBlob, codes.Canceled, ""},
		{"deadline", wrap(context.DeadlineExceeded), subjectBlob, codes.DeadlineExceeded, ""},
		{"cancellation wins", wrap(fmt.Errorf("%w: %w", errdef.ErrUnavailable, context.Canceled)), subjectBlob, codes.Canceled, ""},
		{"unclassified", errors.New("boom"), subjectManifest, codes.Internal, ""},
		{"status passes through", status.Error(codes.Aborted, "x"), subjectManifest, codes.Aborted, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := toStatus(tc.err, tc.subj)
			checkStatus(t, err, tc.code, tc.reason)
			if tc.code != codes.Aborted && status.Convert(err).Message() != tc.err.Error() {
				t.Errorf("message %q, want the error text %q", status.Convert(err).Message(), tc.err.Error())
			}
		})
	}
	if toStatus(nil, subjectManifest) != nil {
		t.Error("toStatus(nil) is not nil")
	}
}
