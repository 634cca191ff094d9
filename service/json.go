package service

import (
	"bytes"
	"encoding/json"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// jsonOptions are how the API's messages are written as JSON: the proto3
// JSON mapping (https://protobuf.dev/programming-guides/json/), field
// names in lowerCamelCase, every field present (zero values too), 64-bit
// integers as decimal strings, timestamps as RFC 3339. The REST gateway
// writes with them, and so does the CLI for the results it shares with the
// API (MarshalJSON), so one result has one JSON form wherever it is read.
var jsonOptions = protojson.MarshalOptions{EmitUnpopulated: true}

// jsonMarshaler is the gateway's marshaler: jsonOptions out, unknown
// fields ignored in, and google.api.HttpBody passed through as bytes.
var jsonMarshaler = &runtime.HTTPBodyMarshaler{Marshaler: &runtime.JSONPb{
	MarshalOptions:   jsonOptions,
	UnmarshalOptions: protojson.UnmarshalOptions{DiscardUnknown: true},
}}

// MarshalJSON writes m as the REST API writes it, indented for people.
func MarshalJSON(m proto.Message) ([]byte, error) {
	b, err := jsonOptions.Marshal(m)
	if err != nil {
		return nil, err
	}
	// protojson varies its whitespace on purpose; settle it.
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		return nil, err
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}
