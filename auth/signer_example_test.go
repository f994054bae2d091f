package auth_test

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/tailorkit/tailor/auth"
)

// The service that logs users in issues tokens with a Signer. Its replicas
// load the same key (in production with auth.ParsePrivateKeyPEM; here from
// a fixed seed), so they publish the same key ID and verify each other's
// tokens. The public keys are served as a JWKS for the services that
// verify.
func ExampleNewSigner() {
	key := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	replica1, err := auth.NewSigner("https://users.shop.example", "orders", auth.WithSigningKey(key))
	if err != nil {
		panic(err)
	}
	replica2, err := auth.NewSigner("https://users.shop.example", "orders", auth.WithSigningKey(key))
	if err != nil {
		panic(err)
	}
	fmt.Println(replica1.KeyID() == replica2.KeyID())

	token, err := replica1.Sign(auth.Claims{Subject: "user-42", Roles: []string{"customer"}}, 15*time.Minute)
	if err != nil {
		panic(err)
	}
	verifier, err := auth.NewVerifier(replica2, "https://users.shop.example", "orders")
	if err != nil {
		panic(err)
	}
	claims, err := verifier.Verify(context.Background(), token)
	fmt.Println(claims.Subject, claims.Audience, err)

	jwks := httptest.NewServer(replica1.JWKSHandler())
	defer jwks.Close()
	resp, err := http.Get(jwks.URL)
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		panic(err)
	}
	fmt.Println(resp.Header.Get("Content-Type"), len(set.Keys), set.Keys[0].Algorithm, set.Keys[0].KeyID == replica1.KeyID())
	// Output:
	// true
	// user-42 [orders] <nil>
	// application/jwk-set+json 1 EdDSA true
}

// Rotate makes a new key sign the tokens from now on. Tokens signed with
// the old key keep verifying until they expire, because the old key stays
// in the JWKS meanwhile.
func ExampleSigner_Rotate() {
	signer, err := auth.NewSigner("https://users.shop.example", "orders")
	if err != nil {
		panic(err)
	}
	verifier, err := auth.NewVerifier(signer, "https://users.shop.example", "orders")
	if err != nil {
		panic(err)
	}
	before, err := signer.Sign(auth.Claims{Subject: "user-1"}, time.Hour)
	if err != nil {
		panic(err)
	}
	oldKey := signer.KeyID()

	newKey, err := auth.GenerateKey()
	if err != nil {
		panic(err)
	}
	if err := signer.Rotate(newKey); err != nil {
		panic(err)
	}
	after, err := signer.Sign(auth.Claims{Subject: "user-2"}, time.Hour)
	if err != nil {
		panic(err)
	}

	keys := signer.JWKS().Keys
	fmt.Println(len(keys), keys[0].KeyID == signer.KeyID(), keys[1].KeyID == oldKey)
	for _, token := range []string{before, after} {
		claims, err := verifier.Verify(context.Background(), token)
		fmt.Println(claims.Subject, err)
	}
	// Output:
	// 2 true true
	// user-1 <nil>
	// user-2 <nil>
}
