package registryhttp

import (
	"net/http"
	"slices"
	"testing"

	"github.com/stevedore-dev/stevedore/engine/errdef"
)

// specCodes are the codes of distribution-spec v1.1.1 §Error Codes, the only
// ones a 4xx JSON answer may carry.
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#error-codes
var specCodes = []string{
	"BLOB_UNKNOWN", "BLOB_UPLOAD_INVALID", "BLOB_UPLOAD_UNKNOWN", "DIGEST_INVALID",
	"MANIFEST_BLOB_UNKNOWN", "MANIFEST_INVALID", "MANIFEST_UNKNOWN", "NAME_INVALID",
	"NAME_UNKNOWN", "SIZE_INVALID", "UNAUTHORIZED", "DENIED", "UNSUPPORTED", "TOOMANYREQUESTS",
}

// TestErrorTable walks every class on every endpoint: each pair has its own
// row; a 4xx carries a spec code or none (plain text); a 5xx a spec code or
// one of the registry-specific codes errdef documents; and each code keeps
// one status except where the table says why (the list below).
func TestErrorTable(t *testing.T) {
	statuses := map[string][]int{}
	for c := range numClasses {
		for e := range numEndpoints {
			a, ok := find(c, e)
			if !ok {
				t.Errorf("%v on %v: no row", c, e)
				continue
			}
			switch {
			case a.status >= 400 && a.status < 500:
				if a.code != "" && !slices.Contains(specCodes, a.code) {
					t.Errorf("%v on %v: %d %s, not a distribution-spec code", c, e, a.status, a.code)
				}
			case a.status >= 500:
				if !slices.Contains(specCodes, a.code) && a.code != errdef.CodeUnknown && a.code != errdef.CodeInsufficientStorage && a.code != errdef.CodeUnavailable {
					t.Errorf("%v on %v: %d %s, not a documented code", c, e, a.status, a.code)
				}
			default:
				t.Errorf("%v on %v: status %d is no error", c, e, a.status)
			}
			if !slices.Contains(statuses[a.code], a.status) {
				statuses[a.code] = append(statuses[a.code], a.status)
			}
		}
	}
	for code, want := range map[string][]int{
		"":                     {404, 400},      // plain text: a path that is no endpoint, a malformed n
		"UNSUPPORTED":          {405},           // one status, wherever the method is refused
		"MANIFEST_UNKNOWN":     {404},           // a reference that cannot exist included
		"BLOB_UPLOAD_INVALID":  {400, 416, 408}, // a chunk out of order (416), a body too slow (408)
		"SIZE_INVALID":         {400, 413},      // over the manifest limit (413)
		"TOOMANYREQUESTS":      {429, 503},      // one client over its share (429), the server at a limit (503)
		"INSUFFICIENT_STORAGE": {http.StatusInsufficientStorage},
		"UNKNOWN":              {http.StatusInternalServerError},
	} {
		slices.Sort(want)
		got := slices.Sorted(slices.Values(statuses[code]))
		if !slices.Equal(got, want) {
			t.Errorf("%q is sent with %v, want %v", code, got, want)
		}
	}
	for code, ss := range statuses {
		if len(ss) > 1 && !slices.Contains([]string{"", "BLOB_UPLOAD_INVALID", "SIZE_INVALID", "TOOMANYREQUESTS"}, code) {
			t.Errorf("%s is sent with %v: one code, one status", code, ss)
		}
	}
}

// find is lookup without its fallback, so a missing row shows.
func find(c class, e endpoint) (answer, bool) {
	for _, row := range errorTable {
		if row.class == c && (row.on == nil || slices.Contains(row.on, e)) {
			return row.answer, true
		}
	}
	return answer{}, false
}

// The engine's error classes reach the table they belong to.
func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want class
	}{
		{errdef.ErrNotFound, classNotFound},
		{errdef.ErrInvalid, classInvalid},
		{errdef.ErrUnsupported, classInvalid},
		{errdef.ErrDigestMismatch, classDigestInvalid},
		{errdef.ErrSizeMismatch, classSizeInvalid},
		{errdef.ErrTooLarge, classTooLarge},
		{errdef.ErrNoSpace, classNoSpace},
		{errdef.ErrTooManyRequests, classOverloaded},
		{http.ErrBodyNotAllowed, classInternal},
	} {
		if got := classify(tc.err).class; got != tc.want {
			t.Errorf("classify(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}
