package openapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"

	"github.com/tailorkit/tailor/openapi"
	thttp "github.com/tailorkit/tailor/transport/http"
)

type Greeting struct {
	Message string `json:"message" jsonschema:"description=The greeting,example=Hello\\, Ann"`
}

type GreetRequest struct {
	Name string `json:"name" jsonschema:"minLength=1"`
}

func greet(_ context.Context, req GreetRequest) (Greeting, error) {
	return Greeting{Message: "Hello, " + req.Name}, nil
}

// A route registered with Handle is served and documented at once.
func ExampleHandle() {
	doc := openapi.New("Greeter", "1.0.0", openapi.WithSecurityScheme("bearer", openapi.BearerJWT()))
	router := thttp.NewRouter()
	openapi.Handle(doc, router, "POST /v1/greetings", greet,
		thttp.DecodeJSON[GreetRequest](), thttp.EncodeJSON(http.StatusCreated),
		openapi.Op{Summary: "Greet someone", Status: http.StatusCreated, Security: []string{"bearer"}})
	router.Handle("GET /openapi.json", doc.Handler())

	b, _ := json.Marshal(doc)
	var d struct {
		Paths map[string]map[string]struct {
			OperationID string                     `json:"operationId"`
			Responses   map[string]json.RawMessage `json:"responses"`
		} `json:"paths"`
		Components struct {
			Schemas map[string]json.RawMessage `json:"schemas"`
		} `json:"components"`
	}
	_ = json.Unmarshal(b, &d)
	op := d.Paths["/v1/greetings"]["post"]
	fmt.Println(op.OperationID)
	for _, status := range []string{"201", "400", "401", "403", "413", "415", "422", "500"} {
		_, ok := op.Responses[status]
		fmt.Println(status, ok)
	}
	fmt.Println(string(d.Components.Schemas["Greeting"]))
	// Output:
	// postV1Greetings
	// 201 true
	// 400 true
	// 401 true
	// 403 true
	// 413 true
	// 415 true
	// 422 true
	// 500 true
	// {"properties":{"message":{"description":"The greeting","examples":["Hello, Ann"],"type":"string"}},"required":["message"],"type":"object"}
}

type Item struct {
	ID   string   `json:"id"`
	Tags []string `json:"tags,omitempty"`
}

// Route records an operation without registering it; here a GET with a
// path parameter and a query parameter.
func ExampleRoute() {
	doc := openapi.New("Items", "1.0.0", openapi.WithServer("https://api.example.com", "production"))
	openapi.Route[struct{}, Item](doc, "GET /v1/items/{id}", openapi.Op{
		Query:  []openapi.Param{openapi.Query[bool]("fresh", "Skip the cache.")},
		Errors: []int{http.StatusNotFound},
	})
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	_ = enc.Encode(json.RawMessage(mustMarshal(doc)))
	// Output:
	// {
	//   "openapi": "3.1.0",
	//   "info": {
	//     "title": "Items",
	//     "version": "1.0.0"
	//   },
	//   "servers": [
	//     {
	//       "url": "https://api.example.com",
	//       "description": "production"
	//     }
	//   ],
	//   "paths": {
	//     "/v1/items/{id}": {
	//       "get": {
	//         "operationId": "getV1ItemsId",
	//         "parameters": [
	//           {
	//             "in": "path",
	//             "name": "id",
	//             "required": true,
	//             "schema": {
	//               "type": "string"
	//             }
	//           },
	//           {
	//             "description": "Skip the cache.",
	//             "in": "query",
	//             "name": "fresh",
	//             "schema": {
	//               "type": "boolean"
	//             }
	//           }
	//         ],
	//         "responses": {
	//           "200": {
	//             "content": {
	//               "application/json": {
	//                 "schema": {
	//                   "$ref": "#/components/schemas/Item"
	//                 }
	//               }
	//             },
	//             "description": "OK"
	//           },
	//           "400": {
	//             "content": {
	//               "application/problem+json": {
	//                 "schema": {
	//                   "$ref": "#/components/schemas/Problem"
	//                 }
	//               }
	//             },
	//             "description": "Bad Request"
	//           },
	//           "404": {
	//             "content": {
	//               "application/problem+json": {
	//                 "schema": {
	//                   "$ref": "#/components/schemas/Problem"
	//                 }
	//               }
	//             },
	//             "description": "Not Found"
	//           },
	//           "500": {
	//             "content": {
	//               "application/problem+json": {
	//                 "schema": {
	//                   "$ref": "#/components/schemas/Problem"
	//                 }
	//               }
	//             },
	//             "description": "Internal Server Error"
	//           }
	//         }
	//       }
	//     }
	//   },
	//   "components": {
	//     "schemas": {
	//       "Item": {
	//         "properties": {
	//           "id": {
	//             "type": "string"
	//           },
	//           "tags": {
	//             "items": {
	//               "type": "string"
	//             },
	//             "type": [
	//               "array",
	//               "null"
	//             ]
	//           }
	//         },
	//         "required": [
	//           "id"
	//         ],
	//         "type": "object"
	//       },
	//       "Problem": {
	//         "description": "An RFC 9457 problem details object, with tailor's extension members kind, request_id and violations.",
	//         "properties": {
	//           "detail": {
	//             "description": "What went wrong and what to do, for a person to read.",
	//             "type": "string"
	//           },
	//           "instance": {
	//             "description": "A URI that identifies this occurrence.",
	//             "format": "uri-reference",
	//             "type": "string"
	//           },
	//           "kind": {
	//             "description": "The error's kind, which a client classifies by; it agrees with the status.",
	//             "enum": [
	//               "internal",
	//               "invalid_argument",
	//               "unauthenticated",
	//               "permission_denied",
	//               "not_found",
	//               "conflict",
	//               "failed_precondition",
	//               "resource_exhausted",
	//               "canceled",
	//               "unavailable",
	//               "deadline_exceeded"
	//             ],
	//             "type": "string"
	//           },
	//           "request_id": {
	//             "description": "The request's ID, to quote when asking about it.",
	//             "type": "string"
	//           },
	//           "status": {
	//             "description": "The HTTP status code.",
	//             "maximum": 599,
	//             "minimum": 400,
	//             "type": "integer"
	//           },
	//           "title": {
	//             "description": "The HTTP status text.",
	//             "type": "string"
	//           },
	//           "type": {
	//             "description": "A URI that identifies the problem type; absent means about:blank.",
	//             "format": "uri-reference",
	//             "type": "string"
	//           },
	//           "violations": {
	//             "description": "Each rule the request broke, for 422 answers.",
	//             "items": {
	//               "properties": {
	//                 "description": {
	//                   "description": "What is wrong with it.",
	//                   "type": "string"
	//                 },
	//                 "field": {
	//                   "description": "The JSON path of the field, such as price.amount.",
	//                   "type": "string"
	//                 }
	//               },
	//               "required": [
	//                 "field",
	//                 "description"
	//               ],
	//               "type": "object"
	//             },
	//             "type": "array"
	//           }
	//         },
	//         "required": [
	//           "title",
	//           "status",
	//           "kind"
	//         ],
	//         "type": "object"
	//       }
	//     }
	//   }
	// }
}

func mustMarshal(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// Merge makes a gateway's public document from its services' documents.
func ExampleMerge() {
	items := openapi.New("Items", "1.0.0")
	openapi.Route[struct{}, Item](items, "GET /v1/items/{id}", openapi.Op{})
	openapi.Route[struct{}, Item](items, "GET /internal/items/{id}", openapi.Op{ID: "internalItem"})

	public, err := openapi.Merge("Shop", "2.0.0", []openapi.Part{{
		Doc:     items,
		Prefix:  "/items",
		Include: func(method, path string) bool { return path[:4] == "/v1/" },
	}})
	if err != nil {
		fmt.Println(err)
		return
	}
	var d struct {
		Paths map[string]json.RawMessage `json:"paths"`
	}
	_ = json.Unmarshal(mustMarshal(public), &d)
	for p := range d.Paths {
		fmt.Println(p)
	}
	// Output:
	// /items/v1/items/{id}
}

// A service serves its document at /openapi.json.
func ExampleDocument_Handler() {
	doc := openapi.New("Items", "1.0.0")
	openapi.Route[struct{}, Item](doc, "GET /v1/items/{id}", openapi.Op{})
	router := thttp.NewRouter()
	router.Handle("GET /openapi.json", doc.Handler())

	srv := httptest.NewServer(router)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/openapi.json")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	var d struct {
		OpenAPI string `json:"openapi"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&d)
	fmt.Println(resp.Status, resp.Header.Get("Content-Type"), d.OpenAPI)
	// Output:
	// 200 OK application/json 3.1.0
}
