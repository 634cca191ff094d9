package registryhttp

import "net/http"

// getCatalog lists repositories in lexical order, paginated like tags.
// distribution-spec v1.1.1 leaves the catalog out of the spec; this is the
// Docker registry API shape clients know (GET /v2/_catalog?n=&last=).
func (reg *Registry) getCatalog(w http.ResponseWriter, r *http.Request) error {
	names, err := reg.root.Repositories(r.Context())
	if err != nil {
		return err
	}
	page, err := paginate(w, r, names)
	if err != nil {
		return err
	}
	return writeJSON(w, r, "application/json", struct {
		Repositories []string `json:"repositories"`
	}{page})
}
