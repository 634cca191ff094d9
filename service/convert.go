package service

import (
	"slices"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/stevedore-dev/stevedore/engine"
	"github.com/stevedore-dev/stevedore/engine/oci"
	stevedorev1 "github.com/stevedore-dev/stevedore/gen/stevedore/v1"
)

// InspectResponse converts the engine's ImageInfo to its wire form: the one
// mapping of an inspection, which gRPC sends, REST writes as JSON and
// `stevedore inspect` prints (see MarshalJSON).
func InspectResponse(info *engine.ImageInfo) *stevedorev1.InspectResponse {
	resp := &stevedorev1.InspectResponse{
		Ref:            info.Ref,
		Digest:         info.Digest.String(),
		MediaType:      info.MediaType,
		ManifestDigest: info.ManifestDigest.String(),
		ArtifactType:   info.ArtifactType,
		Annotations:    info.Annotations,
		Config:         imageConfig(info.Config),
	}
	for i := range info.Platforms {
		resp.Platforms = append(resp.Platforms, platform(&info.Platforms[i]))
	}
	for _, d := range info.Layers {
		resp.Layers = append(resp.Layers, descriptor(d))
	}
	return resp
}

func platform(p *oci.Platform) *stevedorev1.Platform {
	return &stevedorev1.Platform{
		Os:           p.OS,
		Architecture: p.Architecture,
		Variant:      p.Variant,
		OsVersion:    p.OSVersion,
		OsFeatures:   p.OSFeatures,
	}
}

func descriptor(d oci.Descriptor) *stevedorev1.Descriptor {
	return &stevedorev1.Descriptor{
		MediaType:    d.MediaType,
		Digest:       d.Digest.String(),
		Size:         d.Size,
		Annotations:  d.Annotations,
		ArtifactType: d.ArtifactType,
	}
}

// imageConfig converts the config summary; exposed ports, a set in the
// config JSON, become a sorted list so responses are stable.
func imageConfig(c *oci.ImageConfig) *stevedorev1.ImageConfig {
	if c == nil {
		return nil
	}
	pc := &stevedorev1.ImageConfig{
		Author:       c.Author,
		Os:           c.OS,
		Architecture: c.Architecture,
		Variant:      c.Variant,
		User:         c.Config.User,
		Env:          c.Config.Env,
		Entrypoint:   c.Config.Entrypoint,
		Cmd:          c.Config.Cmd,
		WorkingDir:   c.Config.WorkingDir,
		Labels:       c.Config.Labels,
	}
	if c.Created != nil {
		pc.Created = timestamppb.New(*c.Created)
	}
	for port := range c.Config.ExposedPorts {
		pc.ExposedPorts = append(pc.ExposedPorts, port)
	}
	slices.Sort(pc.ExposedPorts)
	return pc
}
