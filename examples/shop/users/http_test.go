package users_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tailorkit/tailor/auth"
	"github.com/tailorkit/tailor/examples/shop/users"
	thttp "github.com/tailorkit/tailor/transport/http"
)

const goodPassword = "violet staple orbit 42"

// A customer signs up, logs in, and reads their account with the token,
// which a verifier elsewhere accepts through the service's JWKS.
func TestSignUpLoginMe(t *testing.T) {
	for _, db := range databases() {
		t.Run(db.name, func(t *testing.T) {
			r := start(t, newService(t, db.fresh(t)))

			resp, body := call(t, r, "POST", "/v1/users", signUpBody("  Ada.Lovelace@Example.COM ", goodPassword, " Ada "), "")
			if resp.StatusCode != http.StatusCreated {
				t.Fatalf("sign up: %d %s, want 201", resp.StatusCode, body)
			}
			if bytes.Contains(body, []byte("password")) || bytes.Contains(body, []byte(goodPassword)) {
				t.Fatalf("sign up answered %s, which mentions the password", body)
			}
			var u users.User
			if err := json.Unmarshal(body, &u); err != nil {
				t.Fatal(err)
			}
			if u.ID == "" || u.Email != "ada.lovelace@example.com" || u.Name != "Ada" || u.Role != users.RoleCustomer || u.CreatedAt.IsZero() {
				t.Fatalf("signed up %+v, want an id, the email normalised, the name trimmed and role customer", u)
			}

			// The same address in another case is the same account.
			resp, body = call(t, r, "POST", "/v1/users", signUpBody("ADA.LOVELACE@example.com", "another fine passphrase", "Ada again"), "")
			if resp.StatusCode != http.StatusConflict {
				t.Fatalf("second sign up: %d %s, want 409", resp.StatusCode, body)
			}
			if p := problem(t, resp, body); p.Kind != "conflict" || !strings.Contains(p.Detail, "ada.lovelace@example.com") {
				t.Fatalf("second sign up: %+v, want a conflict naming the address", p)
			}

			resp, body = call(t, r, "POST", "/v1/sessions", loginBody("Ada.Lovelace@example.com", goodPassword), "")
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("login: %d %s, want 200", resp.StatusCode, body)
			}
			if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
				t.Errorf("login: Cache-Control = %q, want no-store", cc)
			}
			var sess users.Session
			if err := json.Unmarshal(body, &sess); err != nil {
				t.Fatal(err)
			}
			if d := time.Until(sess.ExpiresAt); d < users.DefaultTokenTTL-time.Minute || d > users.DefaultTokenTTL {
				t.Errorf("token expires in %v, want about %v", d, users.DefaultTokenTTL)
			}

			keys, err := auth.NewRemoteKeys(r.URL() + users.JWKSPath)
			if err != nil {
				t.Fatal(err)
			}
			verifier, err := auth.NewVerifier(keys, users.Issuer, users.Audience)
			if err != nil {
				t.Fatal(err)
			}
			claims, err := verifier.Verify(context.Background(), sess.Token)
			if err != nil {
				t.Fatalf("a verifier over the service's JWKS refused its token: %v", err)
			}
			if claims.Subject != u.ID || !claims.HasRole(string(users.RoleCustomer)) || claims.HasRole(string(users.RoleAdmin)) || !claims.ExpiresAt.Equal(sess.ExpiresAt) {
				t.Fatalf("token claims %+v, want subject %s, role customer only, expiry %v", claims, u.ID, sess.ExpiresAt)
			}

			resp, body = call(t, r, "GET", "/v1/users/me", "", sess.Token)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("me: %d %s, want 200", resp.StatusCode, body)
			}
			var me users.User
			if err := json.Unmarshal(body, &me); err != nil {
				t.Fatal(err)
			}
			if me != u {
				t.Fatalf("me = %+v, want %+v", me, u)
			}
		})
	}
}

// GET /v1/users/me needs a token that verifies.
func TestMeNeedsAValidToken(t *testing.T) {
	s := newService(t, freshSQLite(t))
	r := start(t, s)
	other, err := auth.NewSigner(users.Issuer, users.Audience)
	if err != nil {
		t.Fatal(err)
	}
	forged, err := other.Sign(auth.Claims{Subject: "someone", Roles: []string{"admin"}}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, token, wantChallenge string
	}{
		{"no token", "", "Bearer"},
		{"malformed token", "not-a-token", `Bearer error="invalid_token"`},
		{"token of another signer", forged, `Bearer error="invalid_token"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := call(t, r, "GET", "/v1/users/me", "", tt.token)
			if resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("got %d %s, want 401", resp.StatusCode, body)
			}
			problem(t, resp, body)
			if got := resp.Header.Get("WWW-Authenticate"); got != tt.wantChallenge {
				t.Errorf("WWW-Authenticate = %q, want %q (RFC 6750)", got, tt.wantChallenge)
			}
			if tt.token != "" && strings.Contains(string(body), tt.token) {
				t.Errorf("the answer %s quotes the token", body)
			}
		})
	}
}

// A wrong password, an unknown address and an address that cannot be
// anyone's get the same answer: only the request ID differs.
func TestLoginFailuresLookAlike(t *testing.T) {
	for _, db := range databases() {
		t.Run(db.name, func(t *testing.T) {
			r := start(t, newService(t, db.fresh(t)))
			if resp, body := call(t, r, "POST", "/v1/users", signUpBody("grace@example.com", goodPassword, "Grace"), ""); resp.StatusCode != http.StatusCreated {
				t.Fatalf("sign up: %d %s", resp.StatusCode, body)
			}
			var answers []thttp.Problem
			for _, body := range []string{
				loginBody("grace@example.com", goodPassword+"!"),
				loginBody("nobody@example.com", goodPassword),
				loginBody("not an address", goodPassword),
			} {
				resp, b := call(t, r, "POST", "/v1/sessions", body, "")
				if resp.StatusCode != http.StatusUnauthorized {
					t.Fatalf("login %s: %d %s, want 401", body, resp.StatusCode, b)
				}
				p := problem(t, resp, b)
				if p.RequestID == "" {
					t.Fatalf("login %s: no request_id in %s", body, b)
				}
				if strings.Contains(string(b), goodPassword) {
					t.Fatalf("login %s: the answer %s quotes the password", body, b)
				}
				p.RequestID = ""
				answers = append(answers, p)
			}
			for i, p := range answers[1:] {
				if !equalProblems(p, answers[0]) {
					t.Errorf("answer %d = %+v, want it the same as the first, %+v", i+2, p, answers[0])
				}
			}
		})
	}
}

func equalProblems(a, b thttp.Problem) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

// Bad sign-ups are 422 and name the field at fault, never quoting the
// password.
func TestSignUpRefuses(t *testing.T) {
	r := start(t, newService(t, freshSQLite(t)))
	tests := []struct {
		name, email, password, userName string
		wantField                       string
		wantDetail                      string
	}{
		{"short password", "a@example.com", "short pass", "A", "password", "at least 12 characters"},
		{"common password", "a@example.com", "password1234", "A", "password", "most commonly used"},
		{"common password in another case", "a@example.com", "PassWordPassWord", "A", "password", "most commonly used"},
		{"keyboard walk", "a@example.com", "1QAZ2WSX3EDC", "A", "password", "most commonly used"},
		{"password too long", "a@example.com", strings.Repeat("x", users.MaxPasswordLen+1), "A", "password", "at most 256"},
		{"no password", "a@example.com", "", "A", "password", "is required"},
		{"no email", "", goodPassword, "A", "email", "is required"},
		{"not an email", "ada", goodPassword, "A", "email", "must be an email address"},
		{"email with a display name", "Ada <ada@example.com>", goodPassword, "A", "email", "without a display name"},
		{"two addresses", "ada@example.com, bob@example.com", goodPassword, "A", "email", "must be an email address"},
		{"no name", "a@example.com", goodPassword, "  ", "name", "is required"},
		{"line break in name", "a@example.com", goodPassword, "A\nB", "name", "control characters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := call(t, r, "POST", "/v1/users", signUpBody(tt.email, tt.password, tt.userName), "")
			if resp.StatusCode != http.StatusUnprocessableEntity {
				t.Fatalf("got %d %s, want 422", resp.StatusCode, body)
			}
			p := problem(t, resp, body)
			if len(p.Violations) != 1 || p.Violations[0].Field != tt.wantField || !strings.Contains(p.Violations[0].Description, tt.wantDetail) {
				t.Fatalf("violations %+v, want one of field %q saying %q", p.Violations, tt.wantField, tt.wantDetail)
			}
			if len(tt.password) >= 8 && strings.Contains(string(body), tt.password) {
				t.Fatalf("the answer %s quotes the password", body)
			}
		})
	}
}

// Sign-ups with one address at once make one account: the database's
// unique index decides, not a read before the write.
func TestConcurrentSignUpsMakeOneAccount(t *testing.T) {
	for _, db := range databases() {
		t.Run(db.name, func(t *testing.T) {
			r := start(t, newService(t, db.fresh(t)))
			emails := []string{"kim@example.com", "Kim@example.com", "KIM@EXAMPLE.COM", "kim@Example.com", "kIm@example.com", "kiM@example.com"}
			statuses := make([]int, len(emails))
			var wg sync.WaitGroup
			for i, email := range emails {
				wg.Go(func() {
					resp, _ := call(t, r, "POST", "/v1/users", signUpBody(email, goodPassword, "Kim"), "")
					statuses[i] = resp.StatusCode
				})
			}
			wg.Wait()
			created := 0
			for _, s := range statuses {
				switch s {
				case http.StatusCreated:
					created++
				case http.StatusConflict:
				default:
					t.Fatalf("statuses %v: want only 201 and 409", statuses)
				}
			}
			if created != 1 {
				t.Fatalf("statuses %v: %d accounts created, want 1", statuses, created)
			}
		})
	}
}

// The administrator is made once, with a random password shown once or
// the one given, and logs in with role admin.
func TestEnsureAdmin(t *testing.T) {
	for _, db := range databases() {
		t.Run(db.name, func(t *testing.T) {
			ctx := context.Background()
			handle := db.fresh(t)
			s := newService(t, handle)
			generated, err := s.EnsureAdmin(ctx, "")
			if err != nil {
				t.Fatal(err)
			}
			if len(generated) < users.MinPasswordLen {
				t.Fatalf("generated password has %d characters, want at least %d", len(generated), users.MinPasswordLen)
			}
			// A second start, even with a password given, changes nothing.
			for _, password := range []string{"", "a different admin passphrase"} {
				again, err := newService(t, handle).EnsureAdmin(ctx, password)
				if err != nil || again != "" {
					t.Fatalf("EnsureAdmin(%q) again = %q, %v; want \"\", nil", password, again, err)
				}
			}
			r := start(t, s)
			resp, body := call(t, r, "POST", "/v1/sessions", loginBody(users.AdminEmail, generated), "")
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("admin login: %d %s, want 200", resp.StatusCode, body)
			}
			var sess users.Session
			if err := json.Unmarshal(body, &sess); err != nil {
				t.Fatal(err)
			}
			verifier, err := auth.NewVerifier(s.Signer(), users.Issuer, users.Audience)
			if err != nil {
				t.Fatal(err)
			}
			claims, err := verifier.Verify(ctx, sess.Token)
			if err != nil || !claims.HasRole(string(users.RoleAdmin)) {
				t.Fatalf("admin token: claims %+v, %v; want role admin", claims, err)
			}
			resp, body = call(t, r, "GET", "/v1/users/me", "", sess.Token)
			var me users.User
			if err := json.Unmarshal(body, &me); err != nil || resp.StatusCode != 200 || me.Email != users.AdminEmail || me.Role != users.RoleAdmin {
				t.Fatalf("admin me: %d %s, want the administrator", resp.StatusCode, body)
			}
		})
	}
}

func TestEnsureAdminWithPassword(t *testing.T) {
	ctx := context.Background()
	s := newService(t, freshSQLite(t))
	if _, err := s.EnsureAdmin(ctx, "password1234"); err == nil || !strings.Contains(err.Error(), users.EnvAdminPassword) {
		t.Fatalf("EnsureAdmin with a common password = %v, want an error naming %s", err, users.EnvAdminPassword)
	}
	const password = "admin passphrase of mine"
	generated, err := s.EnsureAdmin(ctx, password)
	if err != nil || generated != "" {
		t.Fatalf("EnsureAdmin(given) = %q, %v; want \"\", nil", generated, err)
	}
	if _, err := s.Login(ctx, users.LoginRequest{Email: users.AdminEmail, Password: password}); err != nil {
		t.Fatalf("admin login with the given password: %v", err)
	}
}

// A client cannot choose its role: the field is not part of sign-up.
func TestSignUpCannotChooseRole(t *testing.T) {
	r := start(t, newService(t, freshSQLite(t)))
	resp, body := call(t, r, "POST", "/v1/users", `{"email":"eve@example.com","password":"`+goodPassword+`","name":"Eve","role":"admin"}`, "")
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(problem(t, resp, body).Detail, `"role"`) {
		t.Fatalf("got %d %s, want 400 naming the field \"role\"", resp.StatusCode, body)
	}
}

func TestTokenTTL(t *testing.T) {
	ctx := context.Background()
	s := newService(t, freshSQLite(t), users.WithTokenTTL(5*time.Minute))
	if _, err := s.SignUp(ctx, users.SignUpRequest{Email: "ttl@example.com", Password: goodPassword, Name: "T"}); err != nil {
		t.Fatal(err)
	}
	sess, err := s.Login(ctx, users.LoginRequest{Email: "ttl@example.com", Password: goodPassword})
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Until(sess.ExpiresAt); d < 4*time.Minute || d > 5*time.Minute {
		t.Fatalf("token expires in %v, want about 5m", d)
	}
}
