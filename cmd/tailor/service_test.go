package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/tailorkit/tailor/auth"
	"github.com/tailorkit/tailor/internal/testenv"
)

// These tests generate services into temporary folders, with go.mod
// replacing tailor by this checkout, and build, vet, test and run them
// with the go command, as a user would. They share the build cache with
// every other build on the machine, so after the first run they take
// seconds; -short skips them outside CI. They run in parallel, as they
// spend much of their time waiting on the processes they start.

// TestNewSQLite: tailor new makes a service that vets, builds, passes its
// own tests and serves its routes over real HTTP; then it grows by a
// resource and two endpoints, keeping the user's edits, and serves them
// too.
func TestNewSQLite(t *testing.T) {
	testenv.Short(t, "generated service")
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "widgets")
	newService(t, dir)
	check(t, dir)
	// -help is no failure; a flag the program does not know is a usage
	// error.
	for _, tc := range []struct {
		flag string
		code int
	}{{"-help", 0}, {"-colour", 2}} {
		err := exec.Command(filepath.Join(dir, "bin", "widgets"), tc.flag).Run()
		var exit *exec.ExitError
		if code := 0; err == nil || errors.As(err, &exit) {
			if exit != nil {
				code = exit.ExitCode()
			}
			if code != tc.code {
				t.Errorf("widgets %s: exit status %d, want %d", tc.flag, code, tc.code)
			}
		} else {
			t.Errorf("widgets %s: %v", tc.flag, err)
		}
	}
	s := start(t, dir, "DATABASE_URL="+filepath.Join(t.TempDir(), "widgets.db"))
	id := s.createWidget(t)
	s.call(t, "GET", "/v1/widgets/"+id, "", http.StatusOK)
	if body := s.call(t, "GET", "/v1/widgets", "", http.StatusOK); !strings.Contains(body, id) {
		t.Errorf("GET /v1/widgets: %s does not list %s", body, id)
	}
	s.stop(t)

	// The user writes in files of theirs; tailor grows the service.
	widget := filepath.Join(dir, "internal", "widget", "widget.go")
	edited := appendTo(t, widget, "\n// MaxWidgets is the user's own.\nconst MaxWidgets = 10\n")
	mainGo := appendTo(t, filepath.Join(dir, "main.go"), "\n// A note of the user's.\n")
	for _, args := range [][]string{
		{"add", "resource", "gadget", "--dir", dir},
		{"add", "endpoint", "widget", "archive", "--method", "POST", "--auth", "user", "--dir", dir},
		{"add", "endpoint", "widget", "stats", "--dir", dir},
	} {
		if out, errOut, err := runCLI(args...); err != nil {
			t.Fatalf("tailor %s: %v\n%s%s", strings.Join(args, " "), err, out, errOut)
		}
	}
	if got := readFile(t, widget); got != edited {
		t.Errorf("widget.go lost the user's edit:\n%s", got)
	}
	if got := readFile(t, filepath.Join(dir, "main.go")); got != mainGo {
		t.Errorf("main.go lost the user's edit:\n%s", got)
	}
	// Generating again writes the same bytes.
	before := tree(t, dir)
	if out, _, err := runCLI("generate", "--dir", dir); err != nil || !strings.Contains(out, "up to date") {
		t.Errorf("tailor generate: %v\n%s", err, out)
	}
	if after := tree(t, dir); !equalTrees(before, after) {
		t.Error("tailor generate changed files on a repeat")
	}
	if out, _, err := runCLI("doctor", "--dir", dir); err != nil {
		t.Errorf("tailor doctor: %v\n%s", err, out)
	}

	check(t, dir)
	// Tokens from an issuer whose keys the service fetches over HTTP.
	signer, err := auth.NewSigner("https://issuer.test", "widgets")
	if err != nil {
		t.Fatal(err)
	}
	jwks := httptest.NewServer(signer.JWKSHandler())
	defer jwks.Close()
	token, err := signer.Sign(auth.Claims{Subject: "ann"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	s = start(t, dir, "DATABASE_URL="+filepath.Join(t.TempDir(), "widgets.db"),
		"AUTH_JWKS_URL="+jwks.URL, "AUTH_ISSUER=https://issuer.test", "AUTH_AUDIENCE=widgets")
	id = s.createWidget(t)
	s.call(t, "POST", "/v1/widgets/"+id+"/archive", `{}`, http.StatusUnauthorized)
	if body := s.call(t, "POST", "/v1/widgets/"+id+"/archive", `{}`, http.StatusOK, "Authorization", "Bearer "+token); body != "{}\n" {
		t.Errorf("POST /v1/widgets/{id}/archive: got %q, want {}", body)
	}
	s.call(t, "GET", "/v1/widgets/"+id+"/stats", "", http.StatusOK)
	s.call(t, "POST", "/v1/gadgets", `{"name": "g"}`, http.StatusCreated)
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal([]byte(s.call(t, "GET", "/openapi.json", "", http.StatusOK)), &doc); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(doc.Paths["/v1/widgets/{id}/archive"]["post"]), `"security":[{"bearer":[]}]`) {
		t.Errorf("/openapi.json: POST /v1/widgets/{id}/archive has no bearer security: %s", doc.Paths["/v1/widgets/{id}/archive"]["post"])
	}
	for path, method := range map[string]string{"/v1/widgets/{id}/archive": "post", "/v1/widgets/{id}/stats": "get", "/v1/gadgets": "post", "/v1/gadgets/{id}": "get"} {
		if _, ok := doc.Paths[path][method]; !ok {
			t.Errorf("/openapi.json has no %s %s", method, path)
		}
	}
	s.stop(t)
}

// newService runs tailor new for a service called after dir's last
// element (widgets) in dir, with go.mod replacing tailor by this checkout.
func newService(t *testing.T, dir string, flags ...string) {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	name := filepath.Base(dir)
	args := append([]string{"new", name, "--module", "example.com/" + name, "--dir", dir, "--tailor-replace", root}, flags...)
	if out, errOut, err := runCLI(args...); err != nil {
		t.Fatalf("tailor %s: %v\n%s%s", strings.Join(args, " "), err, out, errOut)
	}
}

// check runs go vet, go build and go test in dir, with env added.
func check(t *testing.T, dir string, env ...string) {
	t.Helper()
	goCmd(t, dir, env, "vet", "./...")
	goCmd(t, dir, env, "build", "-o", "bin/"+filepath.Base(dir), ".")
	goCmd(t, dir, env, "test", "-count=1", "./...")
}

// goCmd runs the go command in dir: outside any workspace, and with the
// -mod setting of this test's GOFLAGS left out, as tailor does.
func goCmd(t *testing.T, dir string, env []string, args ...string) {
	t.Helper()
	var flags []string
	for _, f := range strings.Fields(os.Getenv("GOFLAGS")) {
		if !strings.HasPrefix(f, "-mod=") {
			flags = append(flags, f)
		}
	}
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), "GOWORK=off", "GOFLAGS="+strings.Join(flags, " ")), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s in %s: %v\n%s", strings.Join(args, " "), dir, err, out)
	}
}

// service is a generated service's binary while it runs.
type service struct {
	url    string
	cmd    *exec.Cmd
	done   chan error
	logs   *syncBuffer
	client *http.Client
}

// start runs the binary check built in dir on a free loopback port with
// env added, and returns once it answers /readyz with 200.
func start(t *testing.T, dir string, env ...string) *service {
	t.Helper()
	addr := freeAddr(t)
	s := &service{url: "http://" + addr, done: make(chan error, 1), logs: &syncBuffer{}, client: &http.Client{Timeout: 10 * time.Second}}
	s.cmd = exec.Command(filepath.Join(dir, "bin", filepath.Base(dir)))
	s.cmd.Env = append(append(os.Environ(), "TAILOR_HTTP_ADDR="+addr), env...)
	s.cmd.Stdout, s.cmd.Stderr = s.logs, s.logs
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.done <- s.cmd.Wait() }()
	t.Cleanup(func() {
		if s.cmd.ProcessState == nil {
			_ = s.cmd.Process.Kill()
			<-s.done
		}
	})
	// Wait for the real process to come up, a bounded while.
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := s.client.Get(s.url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s
			}
		}
		select {
		case err := <-s.done:
			t.Fatalf("the service stopped before it was ready: %v\n%s", err, s.logs)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("the service was not ready within 30s (last: %v)\n%s", err, s.logs)
		}
	}
}

// freeAddr returns a loopback address whose port was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// stop sends SIGTERM and checks that the service exits 0.
func (s *service) stop(t *testing.T) {
	t.Helper()
	s.client.CloseIdleConnections()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-s.done:
		if err != nil {
			t.Errorf("the service exited with %v after SIGTERM, want 0\n%s", err, s.logs)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("the service did not stop within 30s of SIGTERM\n%s", s.logs)
	}
}

// call sends a request, with headers given as name, value pairs, and
// checks its status; it returns the body.
func (s *service) call(t *testing.T, method, path, body string, status int, headers ...string) string {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, s.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := s.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != status {
		t.Fatalf("%s %s: got %d %s, want %d", method, path, resp.StatusCode, b, status)
	}
	return string(b)
}

// createWidget creates a widget and returns its id.
func (s *service) createWidget(t *testing.T) string {
	t.Helper()
	var w struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	}
	if err := json.Unmarshal([]byte(s.call(t, "POST", "/v1/widgets", `{"name": "first"}`, http.StatusCreated)), &w); err != nil {
		t.Fatal(err)
	}
	if w.ID == "" || w.Name != "first" {
		t.Fatalf("POST /v1/widgets: got %+v, want a widget named first with an id", w)
	}
	return w.ID
}

// syncBuffer is a bytes.Buffer safe for the writes of a process's output
// and the reads of a failing test.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// postgresServer returns the URL of the test PostgreSQL server, or
// reports it [testenv.Missing].
func postgresServer(t *testing.T) string {
	t.Helper()
	server := testenv.PostgresURL()
	db := openPostgres(t, server)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		testenv.Missing(t, "PostgreSQL at "+server+" is unreachable: "+err.Error()+"; start it with scripts/services.sh")
	}
	return server
}

func openPostgres(t *testing.T, url string) *sql.DB {
	t.Helper()
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		t.Fatalf("TAILOR_TEST_POSTGRES: %v", err)
	}
	db := stdlib.OpenDB(*cfg)
	t.Cleanup(func() { db.Close() })
	return db
}

// freshDatabase creates a database on server for the test, dropped when
// it ends, and returns its URL.
func freshDatabase(t *testing.T, server string) string {
	t.Helper()
	admin := openPostgres(t, server)
	name := "tailor_" + strings.ToLower(rand.Text())
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := admin.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	u, err := url.Parse(server)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// appendTo appends s to the file at path and returns its new content.
func appendTo(t *testing.T, path, s string) string {
	t.Helper()
	content := readFile(t, path) + s
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return content
}

// tree reads every file under dir but the built binary.
func tree(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.Contains(path, string(filepath.Separator)+"bin"+string(filepath.Separator)) {
			return err
		}
		files[path] = readFile(t, path)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func equalTrees(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || v != w {
			return false
		}
	}
	return true
}
