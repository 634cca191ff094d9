package errdef_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stevedore-dev/stevedore/engine/errdef"
)

func TestWrappedClassesMatch(t *testing.T) {
	for _, class := range []error{
		errdef.ErrNotFound, errdef.ErrInvalid, errdef.ErrDigestMismatch, errdef.ErrSizeMismatch,
		errdef.ErrTooLarge, errdef.ErrUnsupported, errdef.ErrUnauthorized, errdef.ErrDenied,
		errdef.ErrUnavailable, errdef.ErrAlreadyExists, errdef.ErrTooManyRequests, errdef.ErrNoSpace,
	} {
		err := fmt.Errorf("fetch foo: %w", class)
		if !errors.Is(err, class) {
			t.Errorf("%v does not match its class", err)
		}
	}
}
