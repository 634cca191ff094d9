package artifact

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/stevedore-dev/stevedore/engine/errdef"
)

// checkTitle refuses a title (a layer's file name) that would land outside
// the directory it is pulled into: absolute, climbing with "..", empty, or
// holding a NUL. Symlinks are the directory root's to refuse (os.Root).
func checkTitle(title string) error {
	if strings.ContainsRune(title, 0) || !filepath.IsLocal(filepath.FromSlash(title)) {
		return fmt.Errorf("file name %q is not a relative path inside the directory: %w", title, errdef.ErrInvalid)
	}
	return nil
}

// escapeErr marks an os.Root refusal to follow a path out of the root (a
// symlink planted in the directory) as errdef.ErrInvalid. os.Root reports
// it with an unexported error, so only its text identifies it.
func escapeErr(err error) error {
	if err != nil && strings.Contains(err.Error(), "path escapes from parent") {
		return fmt.Errorf("%w: %w", err, errdef.ErrInvalid)
	}
	return err
}
