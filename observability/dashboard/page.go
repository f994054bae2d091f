package dashboard

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/tailorkit/tailor/fault"
	thttp "github.com/tailorkit/tailor/transport/http"
)

//go:embed ui
var uiFiles embed.FS

// contentTypes are the types of the page's files, by extension; a file of
// another kind is not served.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".svg":  "image/svg+xml",
}

// contentSecurityPolicy lets the page load nothing but its own files and
// talk to nothing but its own origin.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// asset is one file of the page, read once.
type asset struct {
	body        []byte
	contentType string
	etag        string
}

// page serves the dashboard's page: GET /dash/ (index.html) and GET
// /dash/ui/{file}. They hold no data, so they are the same for every
// caller; the page asks the API for everything, with the token.
type page struct {
	assets map[string]asset
}

func newPage() *page {
	p := &page{assets: map[string]asset{}}
	entries, err := fs.ReadDir(uiFiles, "ui")
	if err != nil {
		panic(fmt.Sprintf("dashboard: the embedded page is missing: %v", err)) // a build that lost ui/
	}
	for _, e := range entries {
		ct, ok := contentTypes[path.Ext(e.Name())]
		if e.IsDir() || !ok {
			continue
		}
		body, err := uiFiles.ReadFile("ui/" + e.Name())
		if err != nil {
			panic(fmt.Sprintf("dashboard: cannot read the embedded %s: %v", e.Name(), err))
		}
		sum := sha256.Sum256(body)
		p.assets[e.Name()] = asset{body: body, contentType: ct, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
	}
	return p
}

// mount registers the page's routes on r.
func (p *page) mount(r *thttp.Router) {
	r.HandleFunc("GET /dash", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "dash/", http.StatusMovedPermanently)
	})
	r.HandleFunc("GET /dash/{$}", func(w http.ResponseWriter, r *http.Request) { p.serve(w, r, "index.html") })
	r.HandleFunc("GET /dash/ui/{file}", func(w http.ResponseWriter, r *http.Request) { p.serve(w, r, r.PathValue("file")) })
}

// serve answers the file name, revalidated on every use (Cache-Control:
// no-cache with an ETag), so that a new release shows at once while an
// unchanged file costs a 304.
func (p *page) serve(w http.ResponseWriter, r *http.Request, name string) {
	a, ok := p.assets[name]
	if !ok {
		thttp.WriteError(w, r, fault.New(fault.NotFound, fmt.Sprintf("the dashboard has no file %q; open /dash/", name)))
		return
	}
	h := w.Header()
	h.Set("Content-Type", a.contentType)
	h.Set("Cache-Control", "no-cache")
	h.Set("ETag", a.etag)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	if name == "index.html" {
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Frame-Options", "DENY")
	}
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(a.body))
}

// IsPage reports whether r asks for the dashboard's page or one of its
// files, which hold no data and so need no token (an admin listener and
// a [Hub] let such requests through without it): a GET or HEAD of
// /dash, /dash/ or /dash/ui/<file>, by a path neither escaped nor with a
// dot segment, so that no spelling of an API path passes for one of them.
func IsPage(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	if r.URL.RawPath != "" {
		return false
	}
	p := r.URL.Path
	if p == "/dash" || p == "/dash/" {
		return true
	}
	file, ok := strings.CutPrefix(p, "/dash/ui/")
	return ok && file != "" && file != "." && file != ".." && !strings.Contains(file, "/")
}
