package scaffold

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func newService(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "widgets")
	mustNew(t, dir, Options{Name: "widgets", TailorVersion: goldenVersion})
	return dir
}

func write(t *testing.T, dir, path, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, filepath.FromSlash(path)), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func read(t *testing.T, dir, path string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(path)))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// wantUsage checks that err is a UsageError that says each of parts.
func wantUsage(t *testing.T, err error, parts ...string) {
	t.Helper()
	var u *UsageError
	if !errors.As(err, &u) {
		t.Fatalf("got %v, want a usage error", err)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q does not say %q", err, p)
		}
	}
}

func TestGeneratedFilesStartWithTheHeader(t *testing.T) {
	dir := newService(t)
	m, err := LoadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	gen, err := GeneratedFiles(m)
	if err != nil {
		t.Fatal(err)
	}
	if len(gen) != 2 {
		t.Errorf("got %d generated files, want 2 (app and the resource's routes)", len(gen))
	}
	for _, f := range gen {
		if first, _, _ := strings.Cut(string(f.Data), "\n"); first != Header {
			t.Errorf("%s starts with %q, want %q", f.Path, first, Header)
		}
		if got := m.Generated[f.Path]; got != hash(f.Data) {
			t.Errorf("%s: manifest records %q, want the hash of what was written", f.Path, got)
		}
	}
}

func TestNewRefusesAFolderWithFiles(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "notes.txt", "mine")
	_, err := New(dir, Options{Name: "widgets"})
	wantUsage(t, err, dir, "not empty (it has notes.txt)", "--dir")
	if got := read(t, dir, "notes.txt"); got != "mine" {
		t.Errorf("notes.txt: got %q, want it untouched", got)
	}

	// A repository made first is fine.
	repo := t.TempDir()
	if err := os.Mkdir(filepath.Join(repo, ".git"), 0o755); err != nil {
		t.Fatal(err)
	}
	mustNew(t, repo, Options{Name: "widgets"})
}

func TestNames(t *testing.T) {
	for _, tc := range []struct {
		name  string
		o     Options
		parts []string
	}{
		{"upper case", Options{Name: "Widgets"}, []string{`"Widgets"`, `try "widgets"`}},
		{"underscore", Options{Name: "my_widgets"}, []string{`try "my-widgets"`}},
		{"leading digit", Options{Name: "1widgets"}, []string{`try "widgets"`}},
		{"module", Options{Name: "widgets", Module: "example.com/Wid gets"}, []string{"module path", "--module"}},
		{"database", Options{Name: "widgets", DB: "mysql"}, []string{`"mysql"`, "--db postgres"}},
		{"keyword resource", Options{Name: "widgets", Resource: "func"}, []string{`"func"`, `"myfunc"`}},
		{"imported name", Options{Name: "widgets", Resource: "sql"}, []string{`"sql"`, "pick another"}},
		{"resource with dash", Options{Name: "widgets", Resource: "big-widget"}, []string{`try "bigwidget"`}},
		{"plural", Options{Name: "widgets", Plural: "Widgets!"}, []string{"--plural widgets"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "svc")
			_, err := New(dir, tc.o)
			wantUsage(t, err, tc.parts...)
			if _, err := os.Stat(dir); err == nil {
				t.Errorf("%s was written, want nothing written", dir)
			}
		})
	}
}

func TestDefaultNames(t *testing.T) {
	for _, tc := range []struct{ service, resource string }{
		{"widgets", "widget"}, {"order-history", "history"}, {"categories", "category"},
		{"address", "address"}, {"catalog", "catalog"}, {"funcs", "item"},
	} {
		if got := exampleResource(tc.service); got != tc.resource {
			t.Errorf("exampleResource(%q): got %q, want %q", tc.service, got, tc.resource)
		}
	}
	for _, tc := range []struct{ singular, plural string }{
		{"widget", "widgets"}, {"box", "boxes"}, {"category", "categories"}, {"day", "days"}, {"address", "addresses"}, {"match", "matches"},
	} {
		if got := plural(tc.singular); got != tc.plural {
			t.Errorf("plural(%q): got %q, want %q", tc.singular, got, tc.plural)
		}
	}
}

func TestAddResourceRefusesCollisions(t *testing.T) {
	dir := newService(t)
	_, err := AddResource(dir, "widget", "", false)
	wantUsage(t, err, `"widget" exists already`, "tailor add endpoint widget")
	_, err = AddResource(dir, "gizmo", "widgets", false)
	wantUsage(t, err, "/v1/widgets", "--plural")
}

// TestEventsKeepStats: in a service with events, package stats and its
// route are taken; the manifest must name the resource whose creation is
// the event.
func TestEventsKeepStats(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "widgets")
	mustNew(t, dir, Options{Name: "widgets", Events: true, TailorVersion: goldenVersion})
	_, err := AddResource(dir, "stat", "stats", false)
	wantUsage(t, err, "/v1/stats", "--plural")
	_, err = AddResource(dir, "stats", "", false)
	wantUsage(t, err, `"stats" is taken`)
	write(t, dir, ManifestFile, strings.Replace(read(t, dir, ManifestFile), `"example": "widget"`, `"example": "gizmo"`, 1))
	if _, err := LoadManifest(dir); err == nil || !strings.Contains(err.Error(), `example names no resource ("gizmo")`) {
		t.Errorf("a manifest whose example names no resource: got %v", err)
	}
}

func TestAddEndpointChecks(t *testing.T) {
	dir := newService(t)
	for _, tc := range []struct {
		resource, name string
		o              EndpointOptions
		parts          []string
	}{
		{"gadget", "archive", EndpointOptions{}, []string{`no resource "gadget"`, "it has widget", "tailor add resource gadget"}},
		{"widget", "get", EndpointOptions{}, []string{`endpoint "get"`}},
		{"widget", "Archive", EndpointOptions{}, []string{`try "archive"`}},
		{"widget", "type", EndpointOptions{}, []string{"keyword"}},
		{"widget", "store", EndpointOptions{}, []string{"another file's name"}},
		{"widget", "runLinux", EndpointOptions{}, []string{"run_linux.go", "only on linux"}},
		{"widget", "smokeTest", EndpointOptions{}, []string{"smoke_test.go", "test file"}},
		{"widget", "archive", EndpointOptions{Method: "FETCH"}, []string{`"FETCH"`, "GET, POST"}},
		{"widget", "archive", EndpointOptions{Path: "v1/x"}, []string{"starts with /", "/v1/widgets/{id}/archive"}},
		{"widget", "archive", EndpointOptions{Path: "/v1/x/{a-b}"}, []string{"{a-b}", "Go identifier"}},
		{"widget", "archive", EndpointOptions{Method: "POST", Path: "/v1/widgets"}, []string{"POST /v1/widgets", "another --path"}},
		{"widget", "archive", EndpointOptions{Auth: "admin"}, []string{`auth "admin"`, "--auth role=NAME"}},
		{"widget", "archive", EndpointOptions{Auth: "role=a b"}, []string{`role "a b"`, "--auth role=admin"}},
	} {
		_, err := AddEndpoint(dir, tc.resource, tc.name, tc.o)
		wantUsage(t, err, tc.parts...)
	}
	m, err := LoadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(m.resource("widget").Endpoints); n != 3 {
		t.Errorf("after refused commands the widget has %d endpoints, want 3", n)
	}
}

// TestUserFilesAreNeverWritten: a user's file that is in the way stops
// the command before it writes anything, --force or not.
func TestUserFilesAreNeverWritten(t *testing.T) {
	dir := newService(t)
	if err := os.MkdirAll(filepath.Join(dir, "internal", "gadget"), 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, dir, "internal/gadget/store.go", "package gadget // mine\n")
	before := read(t, dir, ManifestFile)
	for _, force := range []bool{false, true} {
		_, err := AddResource(dir, "gadget", "", force)
		wantUsage(t, err, "internal/gadget/store.go exists and is yours", "move it aside")
	}
	if got := read(t, dir, "internal/gadget/store.go"); got != "package gadget // mine\n" {
		t.Errorf("store.go: got %q, want it untouched", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "internal", "gadget", "gadget.go")); err == nil {
		t.Error("gadget.go was written, want nothing written")
	}
	if got := read(t, dir, ManifestFile); got != before {
		t.Errorf("the manifest changed:\n%s", got)
	}
}

// TestGrowKeepsEdits: the user's edits survive adding a resource and
// endpoints, the generated files change only where the manifest did,
// and generating again changes nothing.
func TestGrowKeepsEdits(t *testing.T) {
	dir := newService(t)
	edited := read(t, dir, "internal/widget/widget.go") + "\n// Mine.\n"
	write(t, dir, "internal/widget/widget.go", edited)
	write(t, dir, "main.go", read(t, dir, "main.go")+"\n// Mine too.\n")

	if _, err := AddResource(dir, "gadget", "", false); err != nil {
		t.Fatal(err)
	}
	if _, err := AddEndpoint(dir, "widget", "archive", EndpointOptions{Method: "post"}); err != nil {
		t.Fatal(err)
	}
	change, err := AddEndpoint(dir, "widget", "markPaid", EndpointOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, f := range change.Files {
		paths = append(paths, f.Path)
	}
	if got, want := strings.Join(paths, " "), "internal/widget/mark_paid.go internal/widget/mark_paid_test.go internal/widget/http.gen.go"; got != want {
		t.Errorf("add endpoint wrote %s, want %s", got, want)
	}
	if got := read(t, dir, "internal/widget/widget.go"); got != edited {
		t.Error("widget.go changed; want the user's edit kept")
	}
	if !strings.HasSuffix(read(t, dir, "main.go"), "// Mine too.\n") {
		t.Error("main.go lost the user's edit")
	}
	if _, err := os.Stat(filepath.Join(dir, "internal", "database", "migrations", "0002_create_gadgets.sql")); err != nil {
		t.Errorf("the gadget's migration: %v", err)
	}
	routes := read(t, dir, "internal/widget/http.gen.go")
	for _, want := range []string{`"POST /v1/widgets/{id}/archive", s.Archive`, `"GET /v1/widgets/{id}/mark-paid", s.MarkPaid`} {
		if !strings.Contains(routes, want) {
			t.Errorf("http.gen.go does not register %s", want)
		}
	}
	if !strings.Contains(read(t, dir, "internal/app/app.gen.go"), "gadget.RegisterHTTP(r, doc, gadget.New(db), opts...)") {
		t.Error("app.gen.go does not wire the gadget")
	}

	// Again: nothing to write, byte for byte.
	snapshot := readTree(t, dir)
	change, err = Generate(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(change.Files) != 0 {
		t.Errorf("generate wrote %d files, want none", len(change.Files))
	}
	for p, b := range readTree(t, dir) {
		if !bytes.Equal(b, snapshot[p]) {
			t.Errorf("%s changed on a repeat", p)
		}
	}
	if found, err := Doctor(dir); err != nil || len(found) != 0 {
		t.Errorf("doctor: %v, %v; want nothing found", found, err)
	}
}

func TestDoctorAndForce(t *testing.T) {
	dir := newService(t)
	routes := "internal/widget/http.gen.go"
	original := read(t, dir, routes)

	// Hand-edited: found, refused, then overwritten with --force.
	write(t, dir, routes, original+"// edited\n")
	found, err := Doctor(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 1 || found[0].Path != routes || found[0].Problem != "hand-edited" {
		t.Fatalf("doctor: got %v, want %s hand-edited", found, routes)
	}
	_, err = AddEndpoint(dir, "widget", "archive", EndpointOptions{})
	wantUsage(t, err, routes+" was edited by hand", "--force")
	if _, err := os.Stat(filepath.Join(dir, "internal", "widget", "archive.go")); err == nil {
		t.Error("archive.go was written though the command failed")
	}
	if _, err := Generate(dir, true); err != nil {
		t.Fatal(err)
	}
	if read(t, dir, routes) != original {
		t.Error("generate --force did not restore the file")
	}

	// Stale: the manifest changed but the file was not regenerated.
	m, err := LoadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	m.resource("widget").Endpoints[0].Summary = "Make a widget"
	b, err := m.marshal()
	if err != nil {
		t.Fatal(err)
	}
	write(t, dir, ManifestFile, string(b))
	if found, _ := Doctor(dir); len(found) != 1 || found[0].Problem != "stale" {
		t.Errorf("doctor after editing the manifest: got %v, want %s stale", found, routes)
	}
	if _, err := Generate(dir, false); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(read(t, dir, routes), `"Make a widget"`) {
		t.Error("generate did not apply the new summary")
	}

	// Missing, and unknown to tailor.
	if err := os.Remove(filepath.Join(dir, "internal", "app", "app.gen.go")); err != nil {
		t.Fatal(err)
	}
	m, _ = LoadManifest(dir)
	delete(m.Generated, routes)
	b, _ = m.marshal()
	write(t, dir, ManifestFile, string(b))
	write(t, dir, routes, "// Code generated by tailor. DO NOT EDIT.\n\npackage widget\n")
	found, _ = Doctor(dir)
	if len(found) != 2 || found[0].Problem != "missing" || found[1].Problem != "unknown" {
		t.Errorf("doctor: got %v, want app.gen.go missing and %s unknown", found, routes)
	}
	_, err = Generate(dir, false)
	wantUsage(t, err, routes+" exists but tailor did not write it")
}

func TestLoadManifestErrors(t *testing.T) {
	_, err := LoadManifest(t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "tailor new") {
		t.Errorf("no manifest: got %v, want an error that points to tailor new", err)
	}
	dir := newService(t)
	write(t, dir, ManifestFile, `{"name": "widgets", "module": "widgets", "db": "oracle"}`)
	_, err = LoadManifest(dir)
	wantUsage(t, err, `"oracle"`)
}
