package http_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/tailorkit/tailor/fault"
	thttp "github.com/tailorkit/tailor/transport/http"
)

// A plain net/http handler answers errors the way go-kit servers do, and
// a client that is not a go-kit endpoint reads them back with
// ParseProblem: the kind survives the trip, and so does the detail of a
// client error. A server error's detail is replaced by a generic one, so
// internal text never reaches the client. The wait travels in the
// Retry-After header, which NewClient's endpoints read into the error's
// RetryAfter.
func ExampleWriteError() {
	router := thttp.NewRouter()
	router.HandleFunc("POST /v1/exports", func(w http.ResponseWriter, r *http.Request) {
		thttp.WriteError(w, r, &fault.Error{Kind: fault.ResourceExhausted, Detail: "one export an hour; try again later", RetryAfter: 30 * time.Minute})
	})
	router.HandleFunc("GET /v1/exports", func(w http.ResponseWriter, r *http.Request) {
		thttp.WriteError(w, r, fault.Wrap(errors.New(`pq: relation "exports" does not exist`), fault.Internal, "listing exports"))
	})
	srv := httptest.NewServer(router)
	defer srv.Close()

	for _, method := range []string{"POST", "GET"} {
		req, _ := http.NewRequest(method, srv.URL+"/v1/exports", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			panic(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			panic(err)
		}
		ferr := thttp.ParseProblem(resp.StatusCode, resp.Header.Get("Content-Type"), body)
		fmt.Printf("%d %q %s | Retry-After: %q\n", resp.StatusCode, ferr.Kind, ferr.Detail, resp.Header.Get("Retry-After"))
	}
	// Output:
	// 429 "resource exhausted" one export an hour; try again later | Retry-After: "1800"
	// 500 "internal" the server failed to handle the request; quote the request id when reporting it | Retry-After: ""
}
