package oci

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/stevedore-dev/stevedore/engine/errdef"
)

// ImageConfig is the subset of an image configuration (image-spec v1.1.1
// config.md, https://github.com/opencontainers/image-spec/blob/v1.1.1/config.md)
// that Inspect reports. Docker's config format shares these fields.
type ImageConfig struct {
	Created      *time.Time `json:"created,omitempty"`
	Author       string     `json:"author,omitempty"`
	OS           string     `json:"os"`
	Architecture string     `json:"architecture"`
	Variant      string     `json:"variant,omitempty"`
	Config       struct {
		User         string              `json:"User,omitempty"`
		Env          []string            `json:"Env,omitempty"`
		Entrypoint   []string            `json:"Entrypoint,omitempty"`
		Cmd          []string            `json:"Cmd,omitempty"`
		WorkingDir   string              `json:"WorkingDir,omitempty"`
		Labels       map[string]string   `json:"Labels,omitempty"`
		ExposedPorts map[string]struct{} `json:"ExposedPorts,omitempty"`
	} `json:"config"`
	RootFS struct {
		Type    string   `json:"type"`
		DiffIDs []string `json:"diff_ids"`
	} `json:"rootfs"`
}

// ParseImageConfig decodes the fields of an image config that stevedore reports.
func ParseImageConfig(raw []byte) (*ImageConfig, error) {
	var c ImageConfig
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, fmt.Errorf("image config is not valid JSON: %v: %w", err, errdef.ErrInvalid)
	}
	return &c, nil
}
