package mutate

import (
	"encoding/json"
	"fmt"

	"github.com/stevedore-dev/stevedore/engine/errdef"
)

// object is a JSON object whose members are kept as raw bytes, so that an
// edit touches only the members it names and every other one — including
// those no spec stevedore knows defines — survives unchanged.
type object map[string]json.RawMessage

// parseObject decodes raw, which must be a JSON object.
func parseObject(raw []byte, what string) (object, error) {
	var o object
	if err := json.Unmarshal(raw, &o); err != nil {
		return nil, fmt.Errorf("%s is not a JSON object: %v: %w", what, err, errdef.ErrInvalid)
	}
	if o == nil {
		o = object{}
	}
	return o, nil
}

// get decodes member key into v; a missing or null member leaves v alone
// and reports false.
func (o object) get(key string, v any) (bool, error) {
	raw, ok := o[key]
	if !ok || string(raw) == "null" {
		return false, nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return false, fmt.Errorf("member %q: %v: %w", key, err, errdef.ErrInvalid)
	}
	return true, nil
}

// set encodes v as member key.
func (o object) set(key string, v any) error {
	b, err := marshal(v)
	if err != nil {
		return fmt.Errorf("member %q: %v: %w", key, err, errdef.ErrInvalid)
	}
	o[key] = b
	return nil
}

// child returns member key as an object (empty when missing or null).
func (o object) child(key string) (object, error) {
	raw, ok := o[key]
	if !ok || string(raw) == "null" {
		return object{}, nil
	}
	return parseObject(raw, "member "+key)
}

// bytes encodes the object; members come out in key order.
func (o object) bytes() ([]byte, error) { return marshal(map[string]json.RawMessage(o)) }
