package http

import (
	"context"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"strconv"
	"time"

	kithttp "github.com/go-kit/kit/transport/http"

	"github.com/tailorkit/tailor/fault"
	"github.com/tailorkit/tailor/requestid"
)

// ProblemContentType is the media type of every error body (RFC 9457).
const ProblemContentType = "application/problem+json"

// Problem is an RFC 9457 problem details body. Type is left out (it means
// "about:blank"), so Title is the HTTP status text. Kind, RequestID and
// Violations are extension members.
type Problem struct {
	Type       string            `json:"type,omitempty"`
	Title      string            `json:"title"`
	Status     int               `json:"status"`
	Detail     string            `json:"detail,omitempty"`
	Instance   string            `json:"instance,omitempty"`
	Kind       string            `json:"kind"`
	RequestID  string            `json:"request_id,omitempty"`
	Violations []fault.Violation `json:"violations,omitempty"`
}

// NewProblem describes err for a client. The detail of a server error (5xx)
// is replaced by a generic one, so internal error text never leaves the
// process.
func NewProblem(err error, requestID string) Problem {
	fe := fault.As(err)
	status := fe.HTTPStatus()
	title := http.StatusText(status)
	if title == "" {
		title = fe.Kind.Title()
	}
	p := Problem{
		Title:     title,
		Status:    status,
		Detail:    fe.PublicDetail(),
		Kind:      fe.Kind.String(),
		RequestID: requestID,
	}
	if status < 500 {
		p.Violations = fe.Violations
	}
	return p
}

// EncodeError is a go-kit [kithttp.ErrorEncoder] that writes err as a
// problem+json body with the status of its fault kind, quoting the request
// ID in ctx. An error that asks the caller to wait ([fault.Error.RetryAfter])
// also sets Retry-After, in whole seconds rounded up. An error in err's
// chain that implements go-kit's [kithttp.Headerer] adds its headers, as
// a bearer challenge (WWW-Authenticate) on a 401 does.
func EncodeError(ctx context.Context, err error, w http.ResponseWriter) {
	p := NewProblem(err, requestid.FromContext(ctx))
	h := w.Header()
	var headerer kithttp.Headerer
	if errors.As(err, &headerer) {
		for k, vs := range headerer.Headers() {
			for _, v := range vs {
				h.Add(k, v)
			}
		}
	}
	h.Set("Content-Type", ProblemContentType)
	if d := fault.RetryAfter(err); d > 0 {
		h.Set("Retry-After", strconv.FormatInt(int64((d+time.Second-1)/time.Second), 10))
	}
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p) // the status is sent; a write error means the client left
}

// WriteError writes err as a problem+json response; see [EncodeError]. Use
// it in plain net/http handlers and middlewares.
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	EncodeError(r.Context(), err, w)
}

// maxProblemBody bounds how much of an error response a client reads.
const maxProblemBody = 64 << 10

// ParseProblem turns an error response back into a *fault.Error. It takes
// the kind from the problem's "kind" member when the body is problem+json
// and names a known kind, and from the status code otherwise; the detail
// comes from the body's "detail", or, for a body that is not problem+json,
// from the status text. It never fails: a malformed body still yields an
// error of the status's kind. The returned error's Cause says what the
// server answered.
func ParseProblem(status int, contentType string, body []byte) *fault.Error {
	fe := &fault.Error{Kind: fault.FromHTTPStatus(status)}
	if fe.Kind.HTTPStatus() != status {
		fe.Status = status
	}
	var p Problem
	mt, _, _ := mime.ParseMediaType(contentType)
	isProblem := mt == ProblemContentType
	if isProblem && json.Unmarshal(body, &p) == nil {
		// The body's kind is trusted only when it agrees with the status on
		// whose fault the error is.
		if k, ok := fault.ParseKind(p.Kind); ok && k.ServerFault() == (status >= 500) {
			fe.Kind = k
			fe.Status = 0
			if k.HTTPStatus() != status {
				fe.Status = status
			}
		}
		fe.Detail = p.Detail
		fe.Violations = p.Violations
		fe.Cause = &StatusError{Status: status, RequestID: p.RequestID}
		return fe
	}
	fe.Detail = http.StatusText(status)
	fe.Cause = &StatusError{Status: status}
	return fe
}

// StatusError records the HTTP status a server answered with; it is the
// Cause of the errors that [ParseProblem] returns.
type StatusError struct {
	Status    int
	RequestID string // the server's request ID, when it sent one
}

func (e *StatusError) Error() string {
	s := "server answered " + strconv.Itoa(e.Status) + " " + http.StatusText(e.Status)
	if e.RequestID != "" {
		s += " (request id " + e.RequestID + ")"
	}
	return s
}

// errorResponse reads an error response (bounded) and parses it.
func errorResponse(resp *http.Response) error {
	body, _ := readBounded(resp.Body, maxProblemBody)
	fe := ParseProblem(resp.StatusCode, resp.Header.Get("Content-Type"), body)
	if v := resp.Header.Get("Retry-After"); v != "" {
		if secs, err := strconv.Atoi(v); err == nil && secs >= 0 {
			fe.RetryAfter = time.Duration(secs) * time.Second
		} else if at, err := http.ParseTime(v); err == nil {
			fe.RetryAfter = max(0, time.Until(at))
		}
	}
	return fe
}
