package users

import (
	"context"
	"strings"
	"testing"
)

// New hashes are PHC strings with the documented default parameters, and
// verify only with their own password.
func TestHashDefaults(t *testing.T) {
	ctx := context.Background()
	h, err := newHasher(Params{})
	if err != nil {
		t.Fatal(err)
	}
	encoded, err := h.hash(ctx, "violet staple orbit 42")
	if err != nil {
		t.Fatal(err)
	}
	const prefix = "$argon2id$v=19$m=47104,t=1,p=1$"
	if !strings.HasPrefix(encoded, prefix) {
		t.Fatalf("hash %q, want it to start %q", encoded, prefix)
	}
	p, salt, key, err := parseHash(encoded)
	if err != nil {
		t.Fatal(err)
	}
	if p != (Params{Memory: DefaultMemory, Time: DefaultTime, Threads: DefaultThreads}) || len(salt) != saltLen || len(key) != keyLen {
		t.Fatalf("parsed %+v with a %d-byte salt and %d-byte key, want the defaults, %d and %d", p, len(salt), len(key), saltLen, keyLen)
	}
	for _, tt := range []struct {
		password string
		want     bool
	}{
		{"violet staple orbit 42", true},
		{"Violet staple orbit 42", false},
		{"violet staple orbit 4", false},
		{"", false},
	} {
		ok, err := h.verify(ctx, encoded, tt.password)
		if err != nil || ok != tt.want {
			t.Errorf("verify(%q) = %v, %v; want %v", tt.password, ok, err, tt.want)
		}
	}
	again, _ := h.hash(ctx, "violet staple orbit 42")
	if again == encoded {
		t.Error("two hashes of one password are equal; want a fresh salt each time")
	}
}

// A hash made under other parameters still verifies.
func TestVerifyHashOfOtherParams(t *testing.T) {
	ctx := context.Background()
	old, err := newHasher(Params{Memory: 64, Time: 2, Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	encoded, _ := old.hash(ctx, "long enough secret")
	current, err := newHasher(Params{Memory: 128, Time: 1, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := current.verify(ctx, encoded, "long enough secret"); !ok || err != nil {
		t.Fatalf("verify = %v, %v; want true", ok, err)
	}
}

func TestParseHashRefuses(t *testing.T) {
	const salt, key = "c2FsdHNhbHRzYWx0c2FsdA", "a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U"
	for _, encoded := range []string{
		"",
		"plain text",
		"$argon2i$v=19$m=64,t=1,p=1$" + salt + "$" + key,
		"$argon2id$v=16$m=64,t=1,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=64,t=1$" + salt + "$" + key,
		"$argon2id$v=19$t=1,m=64,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=64,t=1,p=1,x=2$" + salt + "$" + key,
		"$argon2id$v=19$m=4,t=1,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=64,t=0,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=64,t=1,p=0$" + salt + "$" + key,
		"$argon2id$v=19$m=64,t=1,p=300$" + salt + "$" + key,
		"$argon2id$v=19$m=4294967295,t=1,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=64,t=1000,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=-1,t=1,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=64,t=1,p=1$!!$" + key,
		"$argon2id$v=19$m=64,t=1,p=1$" + salt + "$c2hvcnQ",
		"$argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + key + "$",
	} {
		if _, _, _, err := parseHash(encoded); err != errBadHash {
			t.Errorf("parseHash(%q) = %v, want errBadHash", encoded, err)
		}
	}
	if _, _, _, err := parseHash("$argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + key); err != nil {
		t.Fatalf("parseHash of a good hash = %v", err)
	}
}

func TestParamsRefused(t *testing.T) {
	for _, p := range []Params{
		{Memory: 8, Threads: 2},
		{Memory: maxMemory + 1},
		{Time: maxTime + 1},
		{Threads: maxThreads + 1},
	} {
		if _, err := newHasher(p); err == nil {
			t.Errorf("newHasher(%+v) = nil error, want one", p)
		}
	}
}

// A login that waits for a hashing slot gives up when its context ends.
func TestHashWaitsForASlot(t *testing.T) {
	h, err := newHasher(Params{Memory: 64})
	if err != nil {
		t.Fatal(err)
	}
	for range cap(h.slots) {
		h.slots <- struct{}{}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := h.hash(ctx, "long enough secret"); err != context.Canceled {
		t.Fatalf("hash with every slot taken and the context canceled = %v, want context.Canceled", err)
	}
	if _, err := h.verify(ctx, h.dummy, "long enough secret"); err != context.Canceled {
		t.Fatalf("verify with every slot taken and the context canceled = %v, want context.Canceled", err)
	}
}

func TestNormalizeEmail(t *testing.T) {
	for _, tt := range []struct {
		in, want string
		ok       bool
	}{
		{"ada@example.com", "ada@example.com", true},
		{"  Ada.Lovelace@Example.COM\t", "ada.lovelace@example.com", true},
		{"ÉLODIE@exemple.fr", "élodie@exemple.fr", true},
		{"admin@shop.local", "admin@shop.local", true},
		{"Ada <ada@example.com>", "", false},
		{"<ada@example.com>", "", false},
		{"ada@example.com (Ada)", "", false},
		{"ada", "", false},
		{"ada@", "", false},
		{"@example.com", "", false},
		{"a@b@example.com", "", false},
		{"", "", false},
		{strings.Repeat("a", 250) + "@x.io", "", false},
	} {
		got, ok := normalizeEmail(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("normalizeEmail(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestCommonPasswordList(t *testing.T) {
	n := 0
	for line := range strings.Lines(commonPasswords) {
		line = strings.TrimSuffix(line, "\n")
		n++
		if line != strings.ToLower(line) || len([]rune(line)) < MinPasswordLen {
			t.Errorf("list line %q: want lower case and at least %d characters, as isCommon compares lower case and shorter ones fail the length rule", line, MinPasswordLen)
		}
	}
	if n < 200 {
		t.Errorf("the list has %d passwords, want a few hundred", n)
	}
	if !isCommon("QwErTy123456") || isCommon("violet staple orbit 42") {
		t.Error("isCommon does not compare ignoring case")
	}
}
