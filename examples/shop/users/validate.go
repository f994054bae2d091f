package users

import (
	_ "embed"
	"fmt"
	"log/slog"
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/tailorkit/tailor/fault"
)

// Limits on input.
const (
	// MinPasswordLen is the fewest characters (Unicode code points) a
	// password may have.
	MinPasswordLen = 12
	// MaxPasswordLen is the most characters a password may have.
	MaxPasswordLen = 256
	// MaxEmailLen is the longest email address, in bytes (RFC 5321's
	// limit on a path, less its angle brackets).
	MaxEmailLen = 254
	// MaxNameLen is the most characters a name may have.
	MaxNameLen = 200
)

// commonPasswords lists, one a line and in lower case, passwords of
// [MinPasswordLen] characters or more that people choose most often:
// digit runs, keyboard walks, and the common words and names of public
// breach-frequency lists stretched to twelve characters the way people
// stretch them. The list is the shop's own, a few hundred lines; shorter
// common passwords need no list, as the length rule refuses them.
//
//go:embed common_passwords.txt
var commonPasswords string

// isCommon reports whether password is on the list, ignoring case.
func isCommon(password string) bool {
	lower := strings.ToLower(password)
	for line := range strings.Lines(commonPasswords) {
		if strings.TrimSuffix(line, "\n") == lower {
			return true
		}
	}
	return false
}

// normalizeEmail returns the form of an email address the service stores
// and compares: s without surrounding white space, which must then be a
// bare address (no display name, angle brackets or comments) that
// net/mail.ParseAddress reads back unchanged, lower-cased whole. The local
// part is lower-cased too: the shop treats Ada@Example.com and
// ada@example.com as one person, as nearly every mail provider does,
// although RFC 5321 lets a server tell them apart.
func normalizeEmail(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > MaxEmailLen {
		return "", false
	}
	addr, err := mail.ParseAddress(s)
	if err != nil || addr.Name != "" || addr.Address != s {
		return "", false
	}
	return strings.ToLower(s), true
}

// Password is a password as a client sends it. It prints, formats and logs
// as "[redacted]", so a request logged by accident shows no password; its
// JSON form is the plain string.
type Password string

// String returns "[redacted]".
func (Password) String() string { return "[redacted]" }

// GoString returns "[redacted]", for the %#v verb.
func (Password) GoString() string { return "[redacted]" }

// LogValue returns "[redacted]" for log/slog.
func (Password) LogValue() slog.Value { return slog.StringValue("[redacted]") }

// SignUpRequest is the body of POST /v1/users.
type SignUpRequest struct {
	Email    string   `json:"email"`
	Password Password `json:"password"`
	Name     string   `json:"name"`
}

// LogValue shows the email address and the name, never the password.
func (r SignUpRequest) LogValue() slog.Value {
	return slog.GroupValue(slog.String("email", r.Email), slog.String("name", r.Name))
}

// Validate lists every problem with the request at once: an email address
// that normalises (see the package doc) to at most [MaxEmailLen] bytes; a
// password of [MinPasswordLen] to [MaxPasswordLen] characters that is not
// on the shop's list of common passwords (compared ignoring case); and a
// name of 1 to [MaxNameLen] characters without control characters. The
// violations never quote the password.
func (r SignUpRequest) Validate() error {
	var v []fault.Violation
	if strings.TrimSpace(r.Email) == "" {
		v = append(v, fault.Violation{Field: "email", Description: "is required"})
	} else if _, ok := normalizeEmail(r.Email); !ok {
		v = append(v, fault.Violation{Field: "email", Description: fmt.Sprintf("must be an email address such as ada@example.com, of at most %d bytes, without a display name", MaxEmailLen)})
	}
	if d := passwordProblem(string(r.Password)); d != "" {
		v = append(v, fault.Violation{Field: "password", Description: d})
	}
	name := strings.TrimSpace(r.Name)
	switch {
	case name == "":
		v = append(v, fault.Violation{Field: "name", Description: "is required"})
	case utf8.RuneCountInString(name) > MaxNameLen:
		v = append(v, fault.Violation{Field: "name", Description: fmt.Sprintf("must be at most %d characters", MaxNameLen)})
	case strings.ContainsFunc(name, unicode.IsControl):
		v = append(v, fault.Violation{Field: "name", Description: "must not contain control characters (such as NUL, tab or a line break); send one line of printable text"})
	}
	if len(v) > 0 {
		return fault.Invalid(v...)
	}
	return nil
}

// passwordProblem says what is wrong with a new password, or "" if
// nothing is.
func passwordProblem(p string) string {
	n := utf8.RuneCountInString(p)
	switch {
	case p == "":
		return "is required"
	case !utf8.ValidString(p):
		return "must be valid UTF-8"
	case n < MinPasswordLen:
		return fmt.Sprintf("must be at least %d characters, got %d; a few unrelated words make a long password that is easy to remember", MinPasswordLen, n)
	case n > MaxPasswordLen:
		return fmt.Sprintf("must be at most %d characters, got %d", MaxPasswordLen, n)
	case isCommon(p):
		return "is one of the most commonly used passwords, which attackers try first; choose another"
	}
	return ""
}

// LoginRequest is the body of POST /v1/sessions.
type LoginRequest struct {
	Email    string   `json:"email"`
	Password Password `json:"password"`
}

// LogValue shows the email address, never the password.
func (r LoginRequest) LogValue() slog.Value {
	return slog.GroupValue(slog.String("email", r.Email))
}

// Validate checks that both fields are given and that the password is at
// most [MaxPasswordLen] characters. Whether the email is known and the
// password right is for [Service.Login] to say.
func (r LoginRequest) Validate() error {
	var v []fault.Violation
	if strings.TrimSpace(r.Email) == "" {
		v = append(v, fault.Violation{Field: "email", Description: "is required"})
	}
	switch {
	case r.Password == "":
		v = append(v, fault.Violation{Field: "password", Description: "is required"})
	case utf8.RuneCountInString(string(r.Password)) > MaxPasswordLen:
		v = append(v, fault.Violation{Field: "password", Description: fmt.Sprintf("must be at most %d characters", MaxPasswordLen)})
	}
	if len(v) > 0 {
		return fault.Invalid(v...)
	}
	return nil
}
