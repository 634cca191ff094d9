// Package version says which build of stevedore is running. Release builds
// stamp the version, commit and build date in with the linker
// (scripts/release.sh):
//
//	-ldflags "-X github.com/stevedore-dev/stevedore/service/version.version=v1.2.3
//	          -X github.com/stevedore-dev/stevedore/service/version.commit=<sha>
//	          -X github.com/stevedore-dev/stevedore/service/version.date=<RFC 3339>"
//
// A plain `go build` or `go install` falls back to what the Go toolchain
// recorded in the binary (runtime/debug.ReadBuildInfo): the module version
// (a pseudo-version in a clone, "+dirty" when it had local changes), the
// vcs.revision and vcs.time settings.
package version

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"sync"
)

// Set by the linker (-X); empty in a plain build.
var (
	version string
	commit  string
	date    string
)

// Info describes the running build.
type Info struct {
	// Version is a semantic version ("v1.2.3"), a Go pseudo-version in a
	// build from a clone, or "devel" when nothing recorded one.
	Version string `json:"version"`
	// Commit is the full git commit hash, or "" when unknown.
	Commit string `json:"commit"`
	// BuildDate is when the source was committed, RFC 3339 (releases use the
	// commit time so that rebuilding gives the same bytes), or "".
	BuildDate string `json:"buildDate"`
	// GoVersion is the toolchain that built the binary, e.g. "go1.26.8".
	GoVersion string `json:"goVersion"`
	// Platform is GOOS/GOARCH of the binary.
	Platform string `json:"platform"`
}

// Get returns the running build's Info.
var Get = sync.OnceValue(func() Info { return resolve(version, commit, date, debug.ReadBuildInfo) })

// resolve prefers the linker's values and fills the gaps from the build info.
func resolve(v, c, d string, read func() (*debug.BuildInfo, bool)) Info {
	info := Info{Version: v, Commit: c, BuildDate: d, GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi, ok := read(); ok {
		if info.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			info.Version = bi.Main.Version
		}
		if bi.GoVersion != "" {
			info.GoVersion = bi.GoVersion
		}
		for _, s := range bi.Settings {
			switch {
			case s.Key == "vcs.revision" && info.Commit == "":
				info.Commit = s.Value
			case s.Key == "vcs.time" && info.BuildDate == "":
				info.BuildDate = s.Value
			}
		}
	}
	if info.Version == "" {
		info.Version = "devel"
	}
	return info
}

// String is the one-line form `stevedore --version` prints:
// "v1.2.3 (commit 0123456789ab, built 2026-11-30T12:00:00Z, go1.26.8 linux/amd64)".
func (i Info) String() string {
	s := i.Version + " ("
	if i.Commit != "" {
		s += "commit " + short(i.Commit) + ", "
	}
	if i.BuildDate != "" {
		s += "built " + i.BuildDate + ", "
	}
	return s + fmt.Sprintf("%s %s)", i.GoVersion, i.Platform)
}

// short abbreviates a commit hash to 12 characters, as git describe does at
// this repository's size.
func short(commit string) string {
	if len(commit) > 12 {
		return commit[:12]
	}
	return commit
}
