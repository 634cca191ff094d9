package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"
)

// The serve config file (serve --config FILE): one YAML mapping whose keys
// are serve's flags, spelled as the flags are (registry-addr, allow-remote),
// plus the sections below, which have no flags. Precedence, highest first:
// a flag on the command line, its STEVEDORE_* variable, the file, the
// default. Keys come from the command's FlagSet, so a flag added to serve
// is a key of the file with nothing more to do.

// serveSections maps each top-level key of the config file that is not a
// flag to its decoder, which reads the section's node into o. Decoders
// live in the files of what they configure and report problems with the
// node's line (nodeError, decodeStrict).
//
// The pull-through cache's "upstreams" section is registered here, one
// line, when its branch (issue 18, part a) is merged.
var serveSections = map[string]func(o *serveOptions, n *yaml.Node) error{
	"sync":      decodeSync,
	"retention": decodeRetention,
	"quotas":    decodeQuotas,
	"upstreams": decodeUpstreams,
}

// configOnlyFlags are the flags that are not keys of the file.
var configOnlyFlags = []string{"config", "print-config", "help"}

// envName is the environment variable that sets flag name:
// STEVEDORE_ and the name in upper case, '-' as '_'.
func envName(flag string) string {
	return "STEVEDORE_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// loadServeConfig settles every serve flag from the command line, the
// environment and the config file (o.config, when set), in that order of
// precedence, and decodes the file's sections into o. Errors are usage
// errors naming the file and line.
func loadServeConfig(cmd *cobra.Command, o *serveOptions) error {
	keys, err := readServeConfig(o.config)
	if err != nil {
		return usageError{err}
	}
	flags := cmd.Flags()
	byKey := map[string]*yaml.Node{}
	for _, k := range keys {
		byKey[k.key.Value] = k.value
	}
	var errs []error
	flags.VisitAll(func(f *pflag.Flag) {
		if slices.Contains(configOnlyFlags, f.Name) || f.Changed {
			return
		}
		if v := os.Getenv(envName(f.Name)); v != "" {
			if err := setFromEnv(f, v); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", envName(f.Name), err))
			}
			return
		}
		if n, ok := byKey[f.Name]; ok {
			if err := setFromNode(f, n); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", o.config, err))
			}
		}
	})
	o.sections = map[string]*yaml.Node{}
	for _, k := range keys {
		name := k.key.Value
		decode, section := serveSections[name]
		switch {
		case section:
			o.sections[name] = k.value
			if err := decode(o, k.value); err != nil {
				errs = append(errs, fmt.Errorf("%s: %s: %w", o.config, name, err))
			}
		case slices.Contains(configOnlyFlags, name):
			errs = append(errs, fmt.Errorf("%s: %w", o.config, nodeError(k.key, "%s is a command-line flag only", name)))
		case flags.Lookup(name) == nil:
			errs = append(errs, fmt.Errorf("%s: %w", o.config, unknownKey(k.key, flags)))
		}
	}
	if len(errs) > 0 {
		return usageError{errors.Join(errs...)}
	}
	return nil
}

// configKey is one top-level entry of the file, in file order.
type configKey struct{ key, value *yaml.Node }

// readServeConfig parses the file at path (none when path is empty) into
// its top-level entries. An empty file is an empty config.
func readServeConfig(path string) ([]configKey, error) {
	if path == "" {
		return nil, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--config: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var doc yaml.Node
	if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: one YAML document expected, found more", path)
	}
	root := doc.Content[0]
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return nil, nil
	}
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s: %w", path, nodeError(root, "a mapping of serve flags and sections expected"))
	}
	var keys []configKey
	seen := map[string]bool{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if seen[k.Value] {
			return nil, fmt.Errorf("%s: %w", path, nodeError(k, "%s is given twice", k.Value))
		}
		seen[k.Value] = true
		keys = append(keys, configKey{k, v})
	}
	return keys, nil
}

// unknownKey says key is neither a flag nor a section, suggesting the flag
// it may have meant.
func unknownKey(key *yaml.Node, flags *pflag.FlagSet) error {
	hint := ""
	if alt := strings.ToLower(strings.ReplaceAll(key.Value, "_", "-")); alt != key.Value && flags.Lookup(alt) != nil {
		hint = fmt.Sprintf(" (did you mean %s?)", alt)
	}
	sections := make([]string, 0, len(serveSections))
	for s := range serveSections {
		sections = append(sections, s)
	}
	slices.Sort(sections)
	return nodeError(key, "unknown key %q%s: keys are serve's flags (stevedore serve --help) and the sections %s",
		key.Value, hint, strings.Join(sections, ", "))
}

// nodeError is an error about a config node, naming its line.
func nodeError(n *yaml.Node, format string, args ...any) error {
	return fmt.Errorf("line %d: %s", n.Line, fmt.Sprintf(format, args...))
}

// isSliceFlag reports flags that take a value per occurrence.
func isSliceFlag(f *pflag.Flag) bool {
	_, ok := f.Value.(pflag.SliceValue)
	return ok
}

// setFromEnv sets f from its environment variable; a repeatable flag takes
// a comma-separated list.
func setFromEnv(f *pflag.Flag, v string) error {
	if !isSliceFlag(f) {
		return f.Value.Set(v)
	}
	return f.Value.(pflag.SliceValue).Replace(strings.Split(v, ","))
}

// setFromNode sets f from its value in the file: a scalar, or for a
// repeatable flag a scalar or a sequence of them.
func setFromNode(f *pflag.Flag, n *yaml.Node) error {
	scalar := func(n *yaml.Node) (string, error) {
		if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
			return "", nodeError(n, "%s: a value expected", f.Name)
		}
		return n.Value, nil
	}
	if isSliceFlag(f) {
		var vals []string
		items := []*yaml.Node{n}
		if n.Kind == yaml.SequenceNode {
			items = n.Content
		}
		for _, it := range items {
			v, err := scalar(it)
			if err != nil {
				return err
			}
			vals = append(vals, v)
		}
		return f.Value.(pflag.SliceValue).Replace(vals)
	}
	v, err := scalar(n)
	if err != nil {
		return err
	}
	if err := f.Value.Set(v); err != nil {
		return nodeError(n, "%s: %v", f.Name, err)
	}
	return nil
}

// printServeConfig writes the effective config as a config file: every
// flag's value and the sections as the file gave them (values of keys
// naming secrets masked). Feeding it back to --config changes nothing.
func printServeConfig(w io.Writer, cmd *cobra.Command, o *serveOptions) error {
	root := &yaml.Node{Kind: yaml.MappingNode}
	add := func(key string, v *yaml.Node) {
		root.Content = append(root.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: key}, v)
	}
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if slices.Contains(configOnlyFlags, f.Name) {
			return
		}
		add(f.Name, flagNode(f))
	})
	names := make([]string, 0, len(o.sections))
	for name := range o.sections {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		add(name, masked(o.sections[name]))
	}
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(root); err != nil {
		return err
	}
	return enc.Close()
}

// flagNode is f's current value as YAML: a sequence for a repeatable flag,
// a bool or integer where the flag is one, a string otherwise.
func flagNode(f *pflag.Flag) *yaml.Node {
	str := func(v string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v} }
	if sv, ok := f.Value.(pflag.SliceValue); ok {
		seq := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
		for _, v := range sv.GetSlice() {
			seq.Content = append(seq.Content, str(v))
		}
		return seq
	}
	switch f.Value.Type() {
	case "bool":
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: f.Value.String()}
	case "int", "int64", "uint", "uint64":
		if _, err := strconv.ParseInt(f.Value.String(), 10, 64); err == nil {
			return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: f.Value.String()}
		}
	}
	return str(f.Value.String())
}

// secretKey names the keys whose values --print-config does not show.
var secretKey = regexp.MustCompile(`(?i)(password|secret|token)`)

// masked copies n with the scalar values of secret-looking keys replaced.
func masked(n *yaml.Node) *yaml.Node {
	c := *n
	c.Content = make([]*yaml.Node, len(n.Content))
	for i, child := range n.Content {
		if n.Kind == yaml.MappingNode && i%2 == 1 && secretKey.MatchString(n.Content[i-1].Value) && child.Kind == yaml.ScalarNode {
			c.Content[i] = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "<redacted>"}
			continue
		}
		c.Content[i] = masked(child)
	}
	return &c
}

// decodeStrict decodes n into v, a pointer, first refusing any mapping key
// that names no field of v's type (yaml tags, ",inline" structs included),
// with its line: a typo in a section must fail as loudly as one at the top.
// Types that decode themselves (yaml.Unmarshaler) are taken as they are.
func decodeStrict(n *yaml.Node, v any) error {
	if err := checkFields(n, reflect.TypeOf(v), ""); err != nil {
		return err
	}
	return n.Decode(v)
}

var unmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()

func checkFields(n *yaml.Node, t reflect.Type, at string) error {
	for t.Kind() == reflect.Pointer {
		if t.Implements(unmarshalerType) {
			return nil
		}
		t = t.Elem()
	}
	if reflect.PointerTo(t).Implements(unmarshalerType) {
		return nil
	}
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return nil // Decode reports the mismatch
		}
		fields := map[string]reflect.Type{}
		yamlFields(t, fields)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			ft, ok := fields[k.Value]
			if !ok {
				known := make([]string, 0, len(fields))
				for name := range fields {
					known = append(known, name)
				}
				slices.Sort(known)
				return nodeError(k, "%sunknown key %q (known: %s)", prefix(at), k.Value, strings.Join(known, ", "))
			}
			if err := checkFields(n.Content[i+1], ft, join(at, k.Value)); err != nil {
				return err
			}
		}
	case reflect.Slice, reflect.Array:
		if n.Kind == yaml.SequenceNode {
			for i, item := range n.Content {
				if err := checkFields(item, t.Elem(), fmt.Sprintf("%s[%d]", at, i)); err != nil {
					return err
				}
			}
		}
	case reflect.Map:
		if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				if err := checkFields(n.Content[i+1], t.Elem(), join(at, n.Content[i].Value)); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// yamlFields collects the keys of struct type t as yaml.v3 names them.
func yamlFields(t reflect.Type, into map[string]reflect.Type) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("yaml")
		name, opts, _ := strings.Cut(tag, ",")
		switch {
		case tag == "-" || (!f.IsExported() && !f.Anonymous):
			continue
		case strings.Contains(","+opts+",", ",inline,"):
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			yamlFields(ft, into)
			continue
		case name == "":
			name = strings.ToLower(f.Name)
		}
		into[name] = f.Type
	}
}

func prefix(at string) string {
	if at == "" {
		return ""
	}
	return at + ": "
}

func join(at, key string) string {
	if at == "" {
		return key
	}
	return at + "." + key
}
