package service

import (
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// inflight keeps the HTTP requests being served, so that a drain that
// runs out of time can say which requests it cut and whose fault that
// was. The zero value is empty; it is safe for concurrent use.
type inflight struct {
	mu   sync.Mutex
	reqs map[*request]struct{}
}

// request is one request being served. It holds the watched body itself,
// so tracking a request costs one allocation.
type request struct {
	method, path string
	start        time.Time
	body         watchedBody // wraps the request's body, if it has one
}

// waitingForClient reports whether the handler is blocked reading a body
// the client has not finished sending. A request without a body never
// sets reading.
func (r *request) waitingForClient() bool { return r.body.reading.Load() }

// watchedBody notes whether a handler is in the middle of reading it.
type watchedBody struct {
	io.ReadCloser
	reading atomic.Bool
}

func (b *watchedBody) Read(p []byte) (int, error) {
	b.reading.Store(true)
	defer b.reading.Store(false)
	return b.ReadCloser.Read(p)
}

// track returns next, keeping each request in f while it is served.
func (f *inflight) track(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req := &request{method: r.Method, path: r.URL.Path, start: time.Now()}
		if r.Body != nil && r.Body != http.NoBody {
			req.body.ReadCloser = r.Body
			r.Body = &req.body
		}
		f.mu.Lock()
		if f.reqs == nil {
			f.reqs = map[*request]struct{}{}
		}
		f.reqs[req] = struct{}{}
		f.mu.Unlock()
		defer func() {
			f.mu.Lock()
			delete(f.reqs, req)
			f.mu.Unlock()
		}()
		next.ServeHTTP(w, r)
	})
}

// servedRequest is what [inflight.list] tells of one request.
type servedRequest struct {
	method, path     string
	elapsed          time.Duration
	waitingForClient bool
}

// list returns the requests being served, as they are now.
func (f *inflight) list() []servedRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]servedRequest, 0, len(f.reqs))
	for r := range f.reqs {
		out = append(out, servedRequest{method: r.method, path: r.path, elapsed: time.Since(r.start), waitingForClient: r.waitingForClient()})
	}
	return out
}
