package registryhttp

import (
	"encoding/json"
	"net/http"
	"net/url"
	"sort"
	"strconv"
)

// getTags lists tags in lexical order, paginated by n and last with a Link header.
// distribution-spec v1.1.1 §Listing tags:
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#listing-tags
func (reg *Registry) getTags(w http.ResponseWriter, r *http.Request, name string) error {
	repo, err := reg.repo(r, name)
	if err != nil {
		return err
	}
	tags, err := repo.Tags(r.Context())
	if err != nil {
		return err
	}
	page, err := paginate(w, r, tags)
	if err != nil {
		return err
	}
	return writeJSON(w, r, "application/json", struct {
		Name string   `json:"name"`
		Tags []string `json:"tags"`
	}{name, page})
}

// maxPageSize caps n: a client asking for more gets this many and a Link to
// the next page, which the spec allows ("MAY return fewer than <int>
// results, but only when ... a Link header is provided").
const maxPageSize = 1000

// paginate applies n and last to a sorted list, setting the Link header when
// more remain. Without n the whole list is the answer, as the spec has it
// for tags.
//
// distribution-spec v1.1.1 §Listing tags:
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#listing-tags
func paginate(w http.ResponseWriter, r *http.Request, all []string) ([]string, error) {
	q := r.URL.Query()
	list := all
	if last := q.Get("last"); last != "" {
		i := sort.SearchStrings(list, last)
		if i < len(list) && list[i] == last {
			i++
		}
		list = list[i:]
	}
	if ns := q.Get("n"); ns != "" {
		n, err := strconv.Atoi(ns)
		if err != nil || n < 0 {
			return nil, fail(classInvalid, "n must be a non-negative integer, got "+strconv.Quote(ns))
		}
		n = min(n, maxPageSize)
		if n < len(list) {
			list = list[:n]
			if n > 0 {
				next := url.URL{Path: r.URL.Path, RawQuery: url.Values{"n": {strconv.Itoa(n)}, "last": {list[n-1]}}.Encode()}
				w.Header().Set("Link", "<"+next.String()+`>; rel="next"`)
			}
		}
	}
	if list == nil {
		list = []string{}
	}
	return list, nil
}

// writeJSON sends v with its length, so HEAD and keep-alive behave.
func writeJSON(w http.ResponseWriter, r *http.Request, contentType string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Content-Length", itoa(int64(len(b))))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return nil
	}
	_, err = w.Write(b)
	return err
}
