package sign

import (
	"bytes"
	"crypto"
	"encoding/json"
	"fmt"

	"github.com/opencontainers/go-digest"
)

// Statement types and predicate types cosign uses.
const (
	// StatementV1 is what cosign v3 signs; StatementV01 what it attests.
	StatementV1  = "https://in-toto.io/Statement/v1"
	StatementV01 = "https://in-toto.io/Statement/v0.1"
	// PredicateSign is the predicate type of a cosign v3 image signature.
	PredicateSign = "https://sigstore.dev/cosign/sign/v1"
)

// statement is an in-toto statement, fields in the order cosign writes them.
//
// in-toto Statement v1: https://github.com/in-toto/attestation/blob/v1.0/spec/v1/statement.md
type statement struct {
	Type          string          `json:"_type"`
	Subject       []subject       `json:"subject"`
	PredicateType string          `json:"predicateType"`
	Predicate     json.RawMessage `json:"predicate"`
}

// subject is a statement subject. Annotations is a pointer so that a
// signature writes "annotations":{} (as cosign does) and an attestation none.
type subject struct {
	Name        string            `json:"name,omitempty"`
	Digest      map[string]string `json:"digest"`
	Annotations *map[string]any   `json:"annotations,omitempty"`
}

// signStatement is the statement cosign v3 signs for an image: the subject
// digest, the -a annotations, an empty predicate.
func signStatement(d digest.Digest, annotations map[string]string) ([]byte, error) {
	ann := map[string]any{}
	for k, v := range annotations {
		ann[k] = v
	}
	return marshalCompact(statement{
		Type:          StatementV1,
		Subject:       []subject{{Digest: map[string]string{d.Algorithm().String(): d.Encoded()}, Annotations: &ann}},
		PredicateType: PredicateSign,
		Predicate:     json.RawMessage(`{}`),
	})
}

// attestStatement is the statement cosign attests: Statement v0.1 naming
// the repository, with the caller's predicate.
func attestStatement(name string, d digest.Digest, predicateType string, predicate []byte) ([]byte, error) {
	var buf bytes.Buffer
	if err := json.Compact(&buf, predicate); err != nil {
		return nil, fmt.Errorf("predicate is not valid JSON: %v", err)
	}
	return marshalCompact(statement{
		Type:          StatementV01,
		Subject:       []subject{{Name: name, Digest: map[string]string{d.Algorithm().String(): d.Encoded()}}},
		PredicateType: predicateType,
		Predicate:     buf.Bytes(),
	})
}

// checkStatement parses payload as an in-toto statement and checks that one
// of its subjects is d. It returns the statement for the caller's
// predicate-type check, and the annotations of the matching subject.
func checkStatement(payload []byte, d digest.Digest) (*statement, map[string]string, error) {
	var st statement
	if err := json.Unmarshal(payload, &st); err != nil {
		return nil, nil, fmt.Errorf("payload is not an in-toto statement: %v", err)
	}
	if st.Type != StatementV1 && st.Type != StatementV01 && st.Type != "https://in-toto.io/Statement/v0.2" {
		return nil, nil, fmt.Errorf("payload _type %q is not an in-toto statement", st.Type)
	}
	for _, s := range st.Subject {
		if s.Digest[d.Algorithm().String()] == d.Encoded() {
			var ann map[string]string
			if s.Annotations != nil {
				ann = stringMap(*s.Annotations)
			}
			return &st, ann, nil
		}
	}
	return &st, nil, fmt.Errorf("no statement subject is %s (the signature is for another image)", d)
}

// checkAttestation verifies env, a DSSE envelope of an in-toto statement,
// with one of keys and checks that the statement is about d (see
// checkEnvelope), recording in f the key.
func checkAttestation(env *Envelope, keys []crypto.PublicKey, d digest.Digest, f *Finding, claimedBy string) (*statement, error) {
	if env.PayloadType != PayloadTypeInToto {
		return nil, fmt.Errorf("DSSE payload type %q, want %q", env.PayloadType, PayloadTypeInToto)
	}
	_, key, err := verifyDSSE(env, keys)
	if err != nil {
		return nil, err
	}
	f.Key = key
	return checkEnvelope(env, d, f, claimedBy)
}

// checkEnvelope checks that env, a DSSE envelope whose signature was
// verified, holds an in-toto statement about d, recording in f the
// subject's annotations and the predicate type. A predicate type already in
// f is the unsigned one claimedBy (the manifest or layer annotation)
// states; it must agree with the signed one.
func checkEnvelope(env *Envelope, d digest.Digest, f *Finding, claimedBy string) (*statement, error) {
	if env.PayloadType != PayloadTypeInToto {
		return nil, checkErr(CheckPayload, fmt.Errorf("DSSE payload type %q, want %q", env.PayloadType, PayloadTypeInToto))
	}
	payload, err := decodeB64(env.Payload)
	if err != nil {
		return nil, checkErr(CheckPayload, fmt.Errorf("DSSE payload: %v", err))
	}
	st, ann, err := checkStatement(payload, d)
	if err != nil {
		return st, checkErr(CheckPayload, err)
	}
	f.Annotations = ann
	if f.PredicateType != "" && f.PredicateType != st.PredicateType {
		return st, checkErr(CheckPayload, fmt.Errorf("%s says predicate type %q, the signed statement %q", claimedBy, f.PredicateType, st.PredicateType))
	}
	f.PredicateType = st.PredicateType
	return st, nil
}

// marshalCompact marshals v without HTML escaping, as compact JSON.
func marshalCompact(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// stringMap flattens JSON annotation values (cosign allows any JSON in
// them) to strings for reporting and matching; nil stays nil.
func stringMap(m map[string]any) map[string]string {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		if s, ok := v.(string); ok {
			out[k] = s
			continue
		}
		b, _ := json.Marshal(v)
		out[k] = string(b)
	}
	return out
}
