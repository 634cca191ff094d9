package version

import (
	"runtime"
	"runtime/debug"
	"testing"
)

func TestResolve(t *testing.T) {
	built := &debug.BuildInfo{
		GoVersion: "go1.26.8",
		Main:      debug.Module{Path: "github.com/stevedore-dev/stevedore", Version: "v0.0.0-20261130120000-0123456789ab+dirty"},
		Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "0123456789abcdef0123456789abcdef01234567"},
			{Key: "vcs.time", Value: "2026-11-30T12:00:00Z"},
			{Key: "vcs.modified", Value: "true"},
		},
	}
	platform := runtime.GOOS + "/" + runtime.GOARCH
	for _, tc := range []struct {
		name        string
		v, c, d     string
		bi          *debug.BuildInfo
		want        Info
		wantOneLine string
	}{
		{
			name: "linker values win",
			v:    "v1.2.3", c: "fedcba9876543210fedcba9876543210fedcba98", d: "2026-12-01T00:00:00Z",
			bi:          built,
			want:        Info{"v1.2.3", "fedcba9876543210fedcba9876543210fedcba98", "2026-12-01T00:00:00Z", "go1.26.8", platform},
			wantOneLine: "v1.2.3 (commit fedcba987654, built 2026-12-01T00:00:00Z, go1.26.8 " + platform + ")",
		},
		{
			name:        "build info fallback",
			bi:          built,
			want:        Info{"v0.0.0-20261130120000-0123456789ab+dirty", "0123456789abcdef0123456789abcdef01234567", "2026-11-30T12:00:00Z", "go1.26.8", platform},
			wantOneLine: "v0.0.0-20261130120000-0123456789ab+dirty (commit 0123456789ab, built 2026-11-30T12:00:00Z, go1.26.8 " + platform + ")",
		},
		{
			name:        "test binary: devel, nothing recorded",
			bi:          &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}},
			want:        Info{"devel", "", "", "go1.26.8", platform},
			wantOneLine: "devel (go1.26.8 " + platform + ")",
		},
		{
			name:        "no build info",
			want:        Info{"devel", "", "", runtime.Version(), platform},
			wantOneLine: "devel (" + runtime.Version() + " " + platform + ")",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := resolve(tc.v, tc.c, tc.d, func() (*debug.BuildInfo, bool) { return tc.bi, tc.bi != nil })
			if got != tc.want {
				t.Errorf("resolve = %+v, want %+v", got, tc.want)
			}
			if s := got.String(); s != tc.wantOneLine {
				t.Errorf("String = %q, want %q", s, tc.wantOneLine)
			}
		})
	}
}
