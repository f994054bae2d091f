package idempotency

import (
	"fmt"
	"strings"
)

// MaxKeyLength is the longest idempotency key accepted, in bytes.
const MaxKeyLength = 255

// keyError says why an Idempotency-Key header was refused.
type keyError struct{ reason string }

func (e *keyError) Error() string {
	return "the Idempotency-Key header " + e.reason + "; send one unique key per operation, such as a random UUID, " +
		`as Idempotency-Key: "8e03978e-40d5-43e8-bc93-6894a57f9324" (or without the quotes), and the same key when you retry`
}

// parseKey reads the key from the Idempotency-Key header's field lines.
// It returns "" and no error when there is no such header. The header is
// a Structured Field string (RFC 8941): a quoted string of printable
// ASCII, with \" and \\ as its only escapes. A bare key, without quotes,
// of visible ASCII (no spaces) is accepted too, as many clients send
// one. Either way the key is 1 to MaxKeyLength bytes long.
func parseKey(values []string) (string, error) {
	switch len(values) {
	case 0:
		return "", nil
	case 1:
	default:
		return "", &keyError{fmt.Sprintf("appears %d times", len(values))}
	}
	v := strings.Trim(values[0], " \t")
	if v == "" {
		return "", &keyError{"is empty"}
	}
	if v[0] != '"' {
		return bareKey(v)
	}
	return quotedKey(v)
}

// bareKey checks a key sent without quotes.
func bareKey(v string) (string, error) {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x21 || c > 0x7e {
			return "", &keyError{fmt.Sprintf("has the byte %#02x at offset %d, where only visible ASCII is allowed (put a key with spaces in double quotes)", c, i)}
		}
	}
	if len(v) > MaxKeyLength {
		return "", &keyError{fmt.Sprintf("is %d bytes long, more than the %d allowed", len(v), MaxKeyLength)}
	}
	return v, nil
}

// quotedKey decodes a Structured Field string.
func quotedKey(v string) (string, error) {
	var b strings.Builder
	for i := 1; i < len(v); i++ {
		c := v[i]
		switch {
		case c == '\\':
			i++
			if i == len(v) || (v[i] != '"' && v[i] != '\\') {
				return "", &keyError{fmt.Sprintf("has a backslash at offset %d that does not escape '\"' or '\\\\'", i-1)}
			}
			b.WriteByte(v[i])
		case c == '"':
			if i != len(v)-1 {
				return "", &keyError{fmt.Sprintf("has %q after its closing quote", v[i+1:])}
			}
			if b.Len() == 0 {
				return "", &keyError{"is an empty string"}
			}
			return b.String(), nil
		case c < 0x20 || c > 0x7e:
			return "", &keyError{fmt.Sprintf("has the byte %#02x at offset %d, where only printable ASCII is allowed", c, i)}
		default:
			b.WriteByte(c)
		}
		if b.Len() > MaxKeyLength {
			return "", &keyError{fmt.Sprintf("holds a key longer than the %d bytes allowed", MaxKeyLength)}
		}
	}
	return "", &keyError{"has no closing quote"}
}
