package registryhttp

import (
	"net/http"

	"github.com/stevedore-dev/stevedore/registryhttp/internal/access"
)

// getCatalog lists repositories in lexical order, paginated like tags: with
// auth, only those the caller may pull (as zot and Harbor do), filtered
// before the page is cut so every page is full.
// distribution-spec v1.1.1 leaves the catalog out of the spec; this is the
// Docker registry API shape clients know (GET /v2/_catalog?n=&last=).
func (reg *Registry) getCatalog(w http.ResponseWriter, r *http.Request) error {
	names, err := reg.root.Repositories(r.Context())
	if err != nil {
		return err
	}
	if may := access.Pullable(r.Context()); may != nil {
		visible := names[:0]
		for _, n := range names {
			if may(n) {
				visible = append(visible, n)
			}
		}
		names = visible
	}
	page, err := paginate(w, r, names)
	if err != nil {
		return err
	}
	return writeJSON(w, r, "application/json", struct {
		Repositories []string `json:"repositories"`
	}{page})
}
