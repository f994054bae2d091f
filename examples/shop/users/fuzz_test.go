package users

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"unicode/utf8"

	"github.com/tailorkit/tailor/fault"
	thttp "github.com/tailorkit/tailor/transport/http"
)

// FuzzSignUpDecoder decodes sign-up bodies with arbitrary field values as
// POST /v1/users does. The answer is a client error (422 naming only the
// request's fields) or a request that keeps every rule, whose address
// normalises to a form that normalises to itself.
func FuzzSignUpDecoder(f *testing.F) {
	for _, seed := range [][3]string{
		{"ada@example.com", "violet staple orbit 42", "Ada"},
		{"  Ada@Example.COM ", "violet staple orbit 42", " Ada "},
		{"Ada <ada@example.com>", "short", ""},
		{"ÉLODIE@exemple.fr", "PASSWORDPASSWORD", "Élodie"},
		{`"a b"@example.com`, "1qaz2wsx3edc", "a\x00b"},
		{"a@[127.0.0.1]", "ünïcödé pässwörd", "x"},
		{"KELVIN\u212a@example.com", "\xff\xfeaaaaaaaaaaaa", "x"},
		{"a@b", "", "\n"},
	} {
		f.Add(seed[0], seed[1], seed[2])
	}
	decode := thttp.DecodeJSON[SignUpRequest]()
	fields := map[string]bool{"email": true, "password": true, "name": true}
	f.Fuzz(func(t *testing.T, email, password, name string) {
		body, err := json.Marshal(map[string]string{"email": email, "password": password, "name": name})
		if err != nil {
			t.Fatal(err)
		}
		r := httptest.NewRequest(http.MethodPost, "/v1/users", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		v, err := decode(context.Background(), r)
		if err != nil {
			fe := fault.As(err)
			if status := fe.HTTPStatus(); status < 400 || status >= 500 {
				t.Fatalf("decoding %q: status %d (%v), want a client error", body, status, err)
			}
			for _, viol := range fe.Violations {
				if !fields[viol.Field] {
					t.Fatalf("decoding %q: violation of field %q, which the request does not have", body, viol.Field)
				}
			}
			return
		}
		req := v.(*SignUpRequest)
		email, ok := normalizeEmail(req.Email)
		if !ok {
			t.Fatalf("accepted email %q, which does not normalise", req.Email)
		}
		if again, ok := normalizeEmail(email); !ok || again != email {
			t.Fatalf("email %q normalises to %q, which normalises to %q (%v); want itself", req.Email, email, again, ok)
		}
		n := utf8.RuneCountInString(string(req.Password))
		if n < MinPasswordLen || n > MaxPasswordLen || isCommon(string(req.Password)) {
			t.Fatalf("accepted a password of %d characters (common: %v)", n, isCommon(string(req.Password)))
		}
	})
}
