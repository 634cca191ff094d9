// Package mirror keeps registry repositories in step with others: it lists
// the tags of source repositories (distribution-spec v1.1.1 §Listing tags,
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#listing-tags),
// filters them, compares each tag's digest at the source and the
// destination with one HEAD on each side, and copies (engine/copy) only the
// images that are new or moved. A run is described by a Config, usually
// read from YAML, and produces a Report with one entry per image.
package mirror
