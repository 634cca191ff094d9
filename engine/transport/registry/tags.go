package registry

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
)

// maxTagsPage bounds one page of a tag list.
const maxTagsPage = 32 << 20

// Tags lists the repository's tags, following Link pagination to the end.
// A registry that links back to a page already read ends the list rather
// than looping.
//
// distribution-spec v1.1.1 §Listing tags:
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#listing-tags
func (r *Repository) Tags(ctx context.Context) ([]string, error) {
	u, err := r.url(ctx, "tags/list")
	if err != nil {
		return nil, err
	}
	tags := []string{}
	seen := map[string]bool{}
	for u != "" && !seen[u] {
		seen[u] = true
		page, next, err := r.tagsPage(ctx, u)
		if err != nil {
			return nil, err
		}
		tags = append(tags, page...)
		u = next
	}
	return tags, nil
}

// tagsPage reads one page and returns its tags and the next page's absolute URL.
func (r *Repository) tagsPage(ctx context.Context, u string) ([]string, string, error) {
	resp, err := r.send(ctx, &request{method: http.MethodGet, url: u})
	if err != nil {
		return nil, "", err
	}
	if resp, err = expect(resp, http.StatusOK); err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	raw, err := oci.ReadAllLimited(resp.Body, maxTagsPage)
	if err != nil {
		return nil, "", fmt.Errorf("GET %s: %w", redactURL(u), err)
	}
	var body struct {
		Tags []string `json:"tags"`
	}
	if err := json.Unmarshal(raw, &body); err != nil {
		return nil, "", fmt.Errorf("GET %s: tag list is not JSON: %v: %w", redactURL(u), err, errdef.ErrUnsupported)
	}
	next := ""
	if link := nextLink(resp.Header.Values("Link")); link != "" {
		ref, err := url.Parse(link)
		if err != nil {
			return nil, "", fmt.Errorf("GET %s: bad Link %q: %w", redactURL(u), link, errdef.ErrUnsupported)
		}
		next = resp.Request.URL.ResolveReference(ref).String()
	}
	return body.Tags, next, nil
}

// nextLink returns the target of the rel="next" entry of Link headers
// (RFC 8288), e.g. `</v2/x/tags/list?n=100&last=b>; rel="next"`.
func nextLink(values []string) string {
	for _, v := range values {
		for _, entry := range splitLinks(v) {
			target, params, ok := strings.Cut(entry, ";")
			target = strings.TrimSpace(target)
			if !ok || !strings.HasPrefix(target, "<") || !strings.HasSuffix(target, ">") {
				continue
			}
			for _, p := range strings.Split(params, ";") {
				k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
				if !strings.EqualFold(strings.TrimSpace(k), "rel") {
					continue
				}
				for _, rel := range strings.Fields(strings.Trim(strings.TrimSpace(v), `"`)) {
					if strings.EqualFold(rel, "next") {
						return target[1 : len(target)-1]
					}
				}
			}
		}
	}
	return ""
}

// splitLinks splits a Link header at the commas between entries, not those
// inside a <URI>.
func splitLinks(v string) []string {
	var out []string
	depth, start := 0, 0
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case '<':
			depth++
		case '>':
			if depth > 0 {
				depth--
			}
		case ',':
			if depth == 0 {
				out = append(out, v[start:i])
				start = i + 1
			}
		}
	}
	return append(out, v[start:])
}
