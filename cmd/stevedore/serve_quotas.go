package main

import (
	"go.yaml.in/yaml/v3"

	"github.com/stevedore-dev/stevedore/engine/served"
)

// quotaConfig is one entry of the config file's quotas: section.
type quotaConfig struct {
	Name            string   `yaml:"name"`
	Repositories    string   `yaml:"repositories"`
	MaxBytes        byteSize `yaml:"maxBytes"`
	MaxRepositories int      `yaml:"maxRepositories"`
}

// decodeQuotas reads the quotas: section, a list of served.Quota:
//
//	quotas:
//	  - name: team-a                # in refusals and metrics (default: the pattern)
//	    repositories: "team-a/**"   # engine/glob pattern
//	    maxBytes: 50GiB             # bytes the matching repositories hold together
//	    maxRepositories: 100        # how many may exist
func decodeQuotas(o *serveOptions, n *yaml.Node) error {
	var cfg []quotaConfig
	if err := decodeStrict(n, &cfg); err != nil {
		return err
	}
	o.quotas = nil
	for i, c := range cfg {
		q := served.Quota{Name: c.Name, Repositories: c.Repositories, MaxBytes: int64(c.MaxBytes), MaxRepositories: c.MaxRepositories}
		if err := q.Check(); err != nil {
			return nodeError(n.Content[i], "[%d]: %v", i, err)
		}
		o.quotas = append(o.quotas, q)
	}
	return nil
}
