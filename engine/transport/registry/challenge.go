package registry

import "strings"

// challenge is one WWW-Authenticate challenge: an auth scheme (lowercased)
// and its parameters (keys lowercased).
type challenge struct {
	scheme string
	params map[string]string
}

// parseChallenges parses WWW-Authenticate header values (RFC 9110 §11.6.1):
// each holds one or more challenges, "Scheme k=v, k="quoted v", Scheme2 ...".
// Malformed input yields what could be parsed, never a panic; a token68
// (which registries do not send) reads as a parameterless scheme.
func parseChallenges(headers []string) []challenge {
	var out []challenge
	for _, h := range headers {
		s := h
		for {
			s = strings.TrimLeft(s, " \t,")
			if s == "" {
				break
			}
			tok := s[:tokenEnd(s)]
			if tok == "" {
				// A stray '=' or quoted string outside any parameter: skip it.
				if s[0] == '"' {
					_, s = parseValue(s)
				} else {
					s = s[1:]
				}
				continue
			}
			rest := strings.TrimLeft(s[len(tok):], " \t")
			if strings.HasPrefix(rest, "=") && len(out) > 0 {
				val, after := parseValue(strings.TrimLeft(rest[1:], " \t"))
				out[len(out)-1].params[strings.ToLower(tok)] = val
				s = after
				continue
			}
			out = append(out, challenge{scheme: strings.ToLower(tok), params: map[string]string{}})
			s = rest
		}
	}
	return out
}

// tokenEnd returns the length of the token at the start of s.
func tokenEnd(s string) int {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ' ', '\t', ',', '=', '"':
			return i
		}
	}
	return len(s)
}

// parseValue reads a parameter value (token or quoted-string) from the start
// of s and returns it and the rest of s.
func parseValue(s string) (string, string) {
	if !strings.HasPrefix(s, `"`) {
		end := strings.IndexAny(s, ", \t")
		if end < 0 {
			return s, ""
		}
		return s[:end], s[end:]
	}
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			if i+1 < len(s) {
				i++
				b.WriteByte(s[i])
			}
		case '"':
			return b.String(), s[i+1:]
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), "" // unterminated: take what there is
}
