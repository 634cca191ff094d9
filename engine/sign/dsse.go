package sign

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"github.com/stevedore-dev/stevedore/engine/errdef"
)

// PayloadTypeInToto is the DSSE payload type of an in-toto statement.
const PayloadTypeInToto = "application/vnd.in-toto+json"

// Envelope is a DSSE envelope. Bytes fields are base64; Go's encoding/json
// writes []byte as std base64, which is what cosign writes, but readers must
// accept every variant (see decodeB64), so the fields are kept as strings.
//
// DSSE v1.0 envelope: https://github.com/secure-systems-lab/dsse/blob/v1.0.0/envelope.md
type Envelope struct {
	Payload     string      `json:"payload"`
	PayloadType string      `json:"payloadType"`
	Signatures  []Signature `json:"signatures"`
}

// Signature is one DSSE signature. cosign writes no keyid.
type Signature struct {
	KeyID string `json:"keyid,omitempty"`
	Sig   string `json:"sig"`
}

// PAE is DSSE's pre-authentication encoding, what is actually signed:
// "DSSEv1 SP len(type) SP type SP len(body) SP body", lengths in decimal.
//
// DSSE v1.0 §Signature definition: https://github.com/secure-systems-lab/dsse/blob/v1.0.0/protocol.md#signature-definition
func PAE(payloadType string, payload []byte) []byte {
	var b strings.Builder
	b.WriteString("DSSEv1 ")
	b.WriteString(strconv.Itoa(len(payloadType)))
	b.WriteByte(' ')
	b.WriteString(payloadType)
	b.WriteByte(' ')
	b.WriteString(strconv.Itoa(len(payload)))
	b.WriteByte(' ')
	b.Write(payload)
	return []byte(b.String())
}

// signDSSE wraps payload in an envelope with one signature over its PAE.
func signDSSE(signer crypto.Signer, payloadType string, payload []byte) (*Envelope, error) {
	sig, err := signBytes(signer, PAE(payloadType, payload))
	if err != nil {
		return nil, err
	}
	return &Envelope{
		Payload:     base64.StdEncoding.EncodeToString(payload),
		PayloadType: payloadType,
		Signatures:  []Signature{{Sig: base64.StdEncoding.EncodeToString(sig)}},
	}, nil
}

// signBytes signs sha256(msg): ECDSA, ASN.1 DER, as cosign's key signer does.
func signBytes(signer crypto.Signer, msg []byte) ([]byte, error) {
	if _, ok := signer.Public().(*ecdsa.PublicKey); !ok {
		return nil, fmt.Errorf("signing with %T keys: %w", signer.Public(), errdef.ErrUnsupported)
	}
	sum := sha256.Sum256(msg)
	return signer.Sign(rand.Reader, sum[:], crypto.SHA256)
}

// verifyDSSE checks that env carries exactly one signature, over the PAE of
// its payload, by one of keys; it returns the payload and the index of the
// key that verified it. More than one signature is refused rather than
// "any of": cosign writes one, and an extra one is someone else's.
func verifyDSSE(env *Envelope, keys []crypto.PublicKey) (payload []byte, key int, err error) {
	if len(env.Signatures) != 1 {
		return nil, -1, fmt.Errorf("DSSE envelope has %d signatures, want exactly 1", len(env.Signatures))
	}
	payload, err = decodeB64(env.Payload)
	if err != nil {
		return nil, -1, fmt.Errorf("DSSE payload: %v", err)
	}
	sig, err := decodeB64(env.Signatures[0].Sig)
	if err != nil {
		return nil, -1, fmt.Errorf("DSSE signature: %v", err)
	}
	key = verifyBytes(keys, PAE(env.PayloadType, payload), sig)
	if key < 0 {
		return payload, -1, fmt.Errorf("DSSE signature does not verify with %s", keysPhrase(len(keys)))
	}
	return payload, key, nil
}

// verifyBytes returns the index of the key whose ECDSA signature over
// sha256(msg) sig is, or -1.
func verifyBytes(keys []crypto.PublicKey, msg, sig []byte) int {
	sum := sha256.Sum256(msg)
	for i, k := range keys {
		if pub, ok := k.(*ecdsa.PublicKey); ok && ecdsa.VerifyASN1(pub, sum[:], sig) {
			return i
		}
	}
	return -1
}

func keysPhrase(n int) string {
	if n == 1 {
		return "the key"
	}
	return fmt.Sprintf("any of the %d keys", n)
}

// decodeB64 accepts every base64 alphabet and padding cosign and its
// libraries have written over the years: std, raw std, URL, raw URL.
func decodeB64(s string) ([]byte, error) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, fmt.Errorf("not valid base64")
}
