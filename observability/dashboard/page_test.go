package dashboard_test

import (
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

func TestPageServesItsFiles(t *testing.T) {
	f := newFixture(t)
	get := func(path string, header ...string) (*http.Response, string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, f.url+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}

	resp, index := get("/dash/")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("GET /dash/ = %d %s, want 200 text/html", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "connect-src 'self'") {
		t.Errorf("GET /dash/ Content-Security-Policy = %q, want scripts and connections from its own origin only", csp)
	}
	// Every file the page names is served, with its type, and nothing
	// comes from elsewhere.
	refs := regexp.MustCompile(`(?:src|href)="([^"]+)"`).FindAllStringSubmatch(index, -1)
	if len(refs) < 3 {
		t.Fatalf("index.html names %d files, want its script, style and icon", len(refs))
	}
	wantType := map[string]string{".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml"}
	modules := regexp.MustCompile(`from '\./([a-z]+\.js)'`)
	seen := map[string]bool{}
	var files []string
	for _, m := range refs {
		files = append(files, m[1])
	}
	for len(files) > 0 {
		ref := files[0]
		files = files[1:]
		if seen[ref] {
			continue
		}
		seen[ref] = true
		if !strings.HasPrefix(ref, "ui/") {
			t.Errorf("the page loads %q, want only its own ui/ files", ref)
			continue
		}
		resp, body := get("/dash/" + ref)
		ext := ref[strings.LastIndex(ref, "."):]
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != wantType[ext] {
			t.Errorf("GET /dash/%s = %d %s, want 200 %s", ref, resp.StatusCode, resp.Header.Get("Content-Type"), wantType[ext])
		}
		if resp.Header.Get("Cache-Control") != "no-cache" || resp.Header.Get("ETag") == "" || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET /dash/%s headers %v, want no-cache, an ETag and nosniff", ref, resp.Header)
		}
		for _, m := range modules.FindAllStringSubmatch(body, -1) {
			files = append(files, "ui/"+m[1])
		}
		code := strings.ReplaceAll(body, "http://www.w3.org/2000/svg", "") // a namespace, not an address
		if strings.Contains(code, "innerHTML") || strings.Contains(code, "eval(") || ext == ".js" && strings.Contains(code, "://") {
			t.Errorf("%s uses innerHTML, eval or an absolute address", ref)
		}
	}
	if len(seen) < 6 {
		t.Errorf("followed %d files from index.html (%v), want the modules too", len(seen), seen)
	}

	// An unchanged file costs a 304.
	resp, _ = get("/dash/ui/app.js")
	if again, _ := get("/dash/ui/app.js", "If-None-Match", resp.Header.Get("ETag")); again.StatusCode != http.StatusNotModified {
		t.Errorf("GET with the ETag = %d, want 304", again.StatusCode)
	}
	if resp, _ := get("/dash"); resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != "/dash/" {
		t.Errorf("GET /dash = %d to %q, want a redirect to /dash/", resp.StatusCode, resp.Header.Get("Location"))
	}
	for _, path := range []string{"/dash/ui/", "/dash/ui/nothing.js", "/dash/ui/page.go", "/dash/index.html"} {
		if resp, body := get(path); resp.StatusCode != http.StatusNotFound || resp.Header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("GET %s = %d %s %s, want 404 problem+json and no listing", path, resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
	}
}
