package users

import (
	"fmt"
	"net/http"

	"github.com/tailorkit/tailor/openapi"
)

// SecurityScheme names, in the OpenAPI document, the bearer tokens this
// service issues.
const SecurityScheme = "bearer"

// DescribeHTTP records in doc the API operations that [RegisterHTTP]
// serves (the key set at [JWKSPath] is a JWKS document, not an API
// operation), and defines the bearer scheme [SecurityScheme] in doc; it
// panics if doc already has another scheme of that name.
func DescribeHTTP(doc *openapi.Document) {
	if err := doc.DefineSecurityScheme(SecurityScheme, openapi.BearerJWT()); err != nil {
		panic(err)
	}
	tags := []string{"users"}
	openapi.Route[SignUpRequest, User](doc, "POST /v1/users", openapi.Op{
		ID:      "signUp",
		Summary: "Create a customer account",
		Description: fmt.Sprintf("The email address is compared without surrounding spaces and case; a second account with it is 409. "+
			"The password has %d to %d characters and is not a commonly chosen one, else 422 naming the password field.", MinPasswordLen, MaxPasswordLen),
		Tags:   tags,
		Status: http.StatusCreated,
		Errors: []int{http.StatusConflict},
	})
	openapi.Route[LoginRequest, Session](doc, "POST /v1/sessions", openapi.Op{
		ID:          "logIn",
		Summary:     "Log in: exchange an email address and password for a bearer token",
		Description: "An unknown address and a wrong password get the same 401 answer, in about the same time.",
		Tags:        tags,
		Errors:      []int{http.StatusUnauthorized},
	})
	openapi.Route[MeRequest, User](doc, "GET /v1/users/me", openapi.Op{
		ID:       "getMe",
		Summary:  "Get the caller's own account",
		Tags:     tags,
		Security: []string{SecurityScheme},
	})
}
