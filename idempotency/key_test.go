package idempotency

import (
	"strings"
	"testing"
)

// quote writes key as a Structured Field string.
func quote(key string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(key) + `"`
}

func FuzzParseKey(f *testing.F) {
	for _, seed := range []string{
		"8e03978e-40d5-43e8-bc93-6894a57f9324", `"8e03978e-40d5-43e8-bc93-6894a57f9324"`, `"a \"quoted\" \\ key"`,
		"", `""`, `"`, `"\`, `"a\b"`, `"a";p=1`, " k ", "two words", "ключ", strings.Repeat("k", 256), `"` + strings.Repeat("k", 255) + `"`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, v string) {
		key, err := parseKey([]string{v})
		if err != nil {
			if key != "" {
				t.Fatalf("parseKey(%q) = %q and an error", v, key)
			}
			if !strings.Contains(err.Error(), "Idempotency-Key") {
				t.Fatalf("error %q does not name the header", err)
			}
			return
		}
		if len(key) == 0 || len(key) > MaxKeyLength {
			t.Fatalf("parseKey(%q) = a key of %d bytes, want 1 to %d", v, len(key), MaxKeyLength)
		}
		for i := 0; i < len(key); i++ {
			if c := key[i]; c < 0x20 || c > 0x7e {
				t.Fatalf("parseKey(%q) = %q, with the byte %#02x", v, key, c)
			}
		}
		if trimmed := strings.Trim(v, " \t"); trimmed[0] != '"' && key != trimmed {
			t.Fatalf("parseKey(%q) = %q, want the bare key itself", v, key)
		}
		if again, err := parseKey([]string{quote(key)}); err != nil || again != key {
			t.Fatalf("parseKey(%q) = %q, %v; want %q back", quote(key), again, err, key)
		}
	})
}

func TestParseKeyAbsentOrRepeated(t *testing.T) {
	if key, err := parseKey(nil); key != "" || err != nil {
		t.Errorf("parseKey(nil) = %q, %v; want no key and no error", key, err)
	}
	if _, err := parseKey([]string{"a", "a"}); err == nil {
		t.Error("parseKey of two fields succeeded; want an error")
	}
}
