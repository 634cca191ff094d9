package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/stevedore-dev/stevedore/engine/transport"
)

// pathHint returns a hint when the command failed on an argument that
// reads as a local path but was taken as a registry reference (a bare
// reference means docker://): "./dir" fails to parse, and "dir" becomes
// docker.io/library/dir. It returns "" when no argument looks that way.
func pathHint(err error, args []string) string {
	msg := err.Error()
	for _, a := range args {
		if a == "" || strings.HasPrefix(a, "-") || strings.Contains(a, "://") || hasTransport(a) {
			continue
		}
		explicit := strings.HasPrefix(a, "/") || strings.HasPrefix(a, "./") || strings.HasPrefix(a, "../") ||
			strings.HasPrefix(a, "~") || a == "." || a == ".."
		_, statErr := os.Stat(a)
		switch {
		case explicit && strings.Contains(msg, "invalid reference "+strconv.Quote(a)):
		case statErr == nil && strings.Contains(msg, "docker.io/library/"+strings.ToLower(a)):
		default:
			continue
		}
		if st, err := os.Stat(a); err == nil && !st.IsDir() {
			return fmt.Sprintf("hint: %q looks like a local file; did you mean oci-archive:%s or docker-archive:%s?", a, a, a)
		}
		return fmt.Sprintf("hint: %q looks like a local path; did you mean oci:%s (an OCI image layout directory)?", a, a)
	}
	return ""
}

// hasTransport reports whether ref starts with the name of a transport
// that is not written as a URL (oci:, oci-archive:, docker-archive:).
func hasTransport(ref string) bool {
	scheme, _, ok := strings.Cut(ref, ":")
	return ok && (scheme == transport.OCI || scheme == transport.OCIArchive || scheme == transport.DockerArchive)
}
