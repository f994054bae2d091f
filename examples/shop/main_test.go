package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestShopBinary builds the shop, runs it as a user would, sends it the
// request from the README, and stops it with SIGTERM: it must answer 400
// problem+json and exit 0 within the drain deadline.
func TestShopBinary(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "shop")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	const adminPassword = "a long admin passphrase"
	cmd := exec.Command(bin, "-http-addr", "127.0.0.1:0", "-grpc-addr", "127.0.0.1:0", "-data", t.TempDir(), "-shutdown-timeout", "5s")
	cmd.Env = append(os.Environ(), "SHOP_ADMIN_PASSWORD="+adminPassword)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()

	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var banner string
	select {
	case banner = <-lines:
	case <-time.After(30 * time.Second):
		t.Fatal("the shop printed nothing within 30s")
	}
	m := regexp.MustCompile(`http://(127\.0\.0\.1:\d+)/`).FindStringSubmatch(banner)
	if m == nil {
		t.Fatalf("banner %q does not say where the shop serves", banner)
	}
	addr := m[1]
	select {
	case line := <-lines:
		if !strings.Contains(line, "gRPC at 127.0.0.1:") {
			t.Fatalf("second banner line %q, want the gRPC address", line)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the shop did not say where it serves gRPC")
	}

	// curl -X POST -d '{bad' http://ADDR/v1/products
	resp, err := http.Post("http://"+addr+"/v1/products", "application/x-www-form-urlencoded", strings.NewReader("{bad"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 || resp.Header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("POST {bad = %d %q %s; want 400 application/problem+json", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}

	// A product created through the API reaches the stats through the
	// catalog's outbox, JetStream and the stats' inbox, once.
	resp, err = http.Post("http://"+addr+"/v1/products", "application/json",
		strings.NewReader(`{"name":"Mug","description":"Blue","price":{"amount":1299,"currency":"EUR"}}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST /v1/products = %d, want 201", resp.StatusCode)
	}
	var stats struct {
		ProductsCreated int64            `json:"products_created"`
		ByCurrency      map[string]int64 `json:"by_currency"`
	}
	deadline := time.Now().Add(30 * time.Second)
	for stats.ProductsCreated == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the stats never counted the product created 30s ago")
		}
		time.Sleep(20 * time.Millisecond)
		resp, err := http.Get("http://" + addr + "/v1/stats")
		if err != nil {
			t.Fatal(err)
		}
		err = json.NewDecoder(resp.Body).Decode(&stats)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	if stats.ProductsCreated != 1 || stats.ByCurrency["EUR"] != 1 {
		t.Fatalf("stats = %+v, want one product in EUR", stats)
	}

	// Accounts: sign up, log in, and read one's own account with the token;
	// the administrator logs in with the password the environment gave.
	post := func(path, body string) (int, map[string]any) {
		t.Helper()
		resp, err := http.Post("http://"+addr+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var got map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
			t.Fatalf("POST %s: %v", path, err)
		}
		return resp.StatusCode, got
	}
	if code, got := post("/v1/users", `{"email":"Ada@Example.com","password":"correct horse battery","name":"Ada"}`); code != 201 {
		t.Fatalf("sign-up = %d %v, want 201", code, got)
	}
	code, session := post("/v1/sessions", `{"email":"ada@example.com","password":"correct horse battery"}`)
	token, _ := session["token"].(string)
	if code != 200 || token == "" {
		t.Fatalf("login = %d %v, want 200 with a token", code, session)
	}
	req, _ := http.NewRequest("GET", "http://"+addr+"/v1/users/me", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var me map[string]any
	err = json.NewDecoder(resp.Body).Decode(&me)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || me["email"] != "ada@example.com" {
		t.Fatalf("GET /v1/users/me = %d %v (%v), want 200 and ada@example.com", resp.StatusCode, me, err)
	}
	// The catalog's OpenAPI document is served and names its routes.
	resp, err = http.Get("http://" + addr + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		OpenAPI string                    `json:"openapi"`
		Paths   map[string]map[string]any `json:"paths"`
	}
	err = json.NewDecoder(resp.Body).Decode(&doc)
	resp.Body.Close()
	if err != nil || doc.OpenAPI != "3.1.0" || doc.Paths["/v1/products"]["post"] == nil || doc.Paths["/v1/products/{id}"]["get"] == nil {
		t.Fatalf("GET /openapi.json = %+v (%v), want OpenAPI 3.1.0 naming the catalog's routes", doc, err)
	}
	if code, got := post("/v1/sessions", `{"email":"admin@shop.local","password":"`+adminPassword+`"}`); code != 200 {
		t.Fatalf("admin login = %d %v, want 200", code, got)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("shop exited with %v after SIGTERM, want 0", err)
		} else if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("shop did not exit within 10s of SIGTERM (drain deadline 5s)")
	}
}

func TestRunRejectsBadFlags(t *testing.T) {
	var out, errOut strings.Builder
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"-http-addr", "nonsense"}, `"nonsense" (-http-addr / TAILOR_HTTP_ADDR)`},
		{[]string{"extra"}, "unexpected arguments"},
		{[]string{"-no-such-flag"}, "no-such-flag"},
	}
	for _, tt := range tests {
		err := run(context.Background(), append(tt.args, "-data", t.TempDir()), &out, &errOut)
		if err == nil || !strings.Contains(err.Error()+errOut.String(), tt.want) {
			t.Errorf("run(%q) = %v, want an error mentioning %s", tt.args, err, tt.want)
		}
	}
}
