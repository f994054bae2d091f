package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tailorkit/tailor/examples/shop/users"
	"github.com/tailorkit/tailor/internal/testenv"
)

// dashPage is the shop's dashboard page the operator opens, with the
// admin token in its fragment, and the targets on it by service: the ids
// the page marks each service's rows with.
func dashPage(t *testing.T, s *testShop, token string) (url string, targets map[string]string) {
	t.Helper()
	hub := s.dash.ln.Addr().String()
	eventually(t, "the dashboard listing every service", func() bool {
		code, b := adminCall(t, "GET", hub, "/dash/api/targets", token, "")
		var list struct {
			Targets []struct{ ID, Service string }
		}
		if code != http.StatusOK || json.Unmarshal(b, &list) != nil {
			return false
		}
		targets = map[string]string{}
		for _, tg := range list.Targets {
			targets[tg.Service] = tg.ID
		}
		return len(targets) == len(serviceNames)
	})
	return "http://" + hub + "/dash/#token=" + token, targets
}

// optionalAPI are the API routes a service may not serve (404), which the
// page then shows as not reported; the browser logs those 404s. Of the
// shop's services only the gateway serves an OpenAPI document.
var optionalAPI = regexp.MustCompile(`/dash/api/t/[^/]+/openapi$`)

// TestDashboardPageInABrowser opens the shop's dashboard in a headless
// Chromium: with the payments service failing, the orders' breaker for it
// shows open on the page, closed again once payments heal, and the
// operator's force-open button opens it for the page and the API alike.
// The page logs no error, and fits a phone's width.
func TestDashboardPageInABrowser(t *testing.T) {
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		testenv.Missing(t, "chromium is not installed (Debian: apt-get install chromium; scripts/services.sh installs it as root)")
	}
	const token = "browser-token"
	s := startTestShop(t, sqliteFiles, func(c *config) { c.base.AdminToken, c.dashAddr = token, "127.0.0.1:0" })
	url, targets := dashPage(t, s, token)
	api := s.adminAddr("orders")
	// The accounts and the product first: password hashing and a browser
	// at once are slow on a small machine.
	admin := loginPatiently(t, s, users.AdminEmail, testAdminPassword, false)
	scarf := s.product(t, admin, "Scarf", 1990, 1000)
	buyer := loginPatiently(t, s, "fred@example.com", "correct horse battery", true)

	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromium),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 900))
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox)
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelAlloc()
	browser, closeBrowser := chromedp.NewContext(allocCtx)
	defer closeBrowser()

	// Every console error and uncaught exception fails the test, but the
	// network's for the API of a service that is gone.
	var stopped atomic.Bool
	var (
		mu       sync.Mutex
		problems []string
	)
	messages := chromedp.Console(browser)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			expected := m.Source == "network" && (strings.Contains(m.Text, "404") && optionalAPI.MatchString(m.URL) ||
				stopped.Load() && strings.Contains(m.URL, "/dash/api/t/"+targets["reviews"]+"/"))
			if (m.IsException() || m.Type == chromedp.ConsoleError) && !expected {
				mu.Lock()
				problems = append(problems, m.String())
				mu.Unlock()
			}
		}
	}()
	defer func() {
		mu.Lock()
		defer mu.Unlock()
		for _, p := range problems {
			t.Errorf("the page logged: %s", p)
		}
	}()

	if err := chromedp.Do(browser, chromedp.Navigate(url)); err != nil {
		t.Fatalf("opening %s: %v", url, err)
	}
	// The gateway calls payments too: the row is the orders' breaker.
	row := fmt.Sprintf(`tr[data-breaker="payments"][data-target=%q]`, targets["orders"])
	// waitState waits up to limit for the payments row to show state.
	waitState := func(state string, limit time.Duration) time.Duration {
		t.Helper()
		began := time.Now()
		step, cancel := context.WithTimeout(browser, limit+time.Second)
		defer cancel()
		_, err := chromedp.Run(step, chromedp.Poll[bool](fmt.Sprintf(`document.querySelector(%q)?.dataset.state === %q`, row, state),
			chromedp.WithPollingTimeout(limit), chromedp.WithPollingInterval(50*time.Millisecond)))
		if err != nil {
			got, _ := chromedp.Run(browser, chromedp.Evaluate[string](fmt.Sprintf(`document.querySelector(%q)?.dataset.state ?? "no row"`, row)))
			t.Fatalf("the page's payments breaker shows %q, not %q, %s after asking: %v", got, state, limit, err)
		}
		return time.Since(began)
	}
	waitState("closed", 10*time.Second)
	if status, _ := chromedp.Run(browser, chromedp.Evaluate[string](`document.getElementById("status").dataset.status`)); status != "live" {
		t.Errorf("the connection status shows %q, want live", status)
	}

	apiState := func() dashBreaker {
		code, b := adminCall(t, "GET", api, "/dash/api/breakers", token, "")
		var got struct{ Breakers []dashBreaker }
		if code != http.StatusOK || json.Unmarshal(b, &got) != nil {
			t.Fatalf("GET /dash/api/breakers = %d %s, want 200", code, b)
		}
		for _, br := range got.Breakers {
			if br.Name == "payments" {
				return br
			}
		}
		t.Fatalf("GET /dash/api/breakers = %s, want the payments breaker", b)
		return dashBreaker{}
	}
	n := 0
	order := func() {
		n++
		s.call(t, "POST", "/v1/orders", buyer, `{"items":[{"product_id":"`+scarf+`","quantity":1}]}`, "Idempotency-Key", fmt.Sprintf("browser-%d", n))
	}

	// Payments fail: orders trip the breaker, and the page shows it.
	s.expect(t, "PUT", "/v1/admin/payments/faults", admin, `{"failure_rate":0,"latency_ms":0,"unavailable_rate":1}`, http.StatusOK, nil)
	eventually(t, "the payments breaker opening", func() bool {
		order()
		return apiState().State == "open"
	})
	t.Logf("the page showed the breaker open %s after the API did", waitState("open", 5*time.Second))

	// Payments heal: once the breaker lets a probe through, it closes.
	s.expect(t, "PUT", "/v1/admin/payments/faults", admin, `{"failure_rate":0,"latency_ms":0,"unavailable_rate":0}`, http.StatusOK, nil)
	eventually(t, "the payments breaker closing", func() bool {
		order()
		return apiState().State == "closed"
	})
	t.Logf("the page showed the breaker closed %s after the API did", waitState("closed", 5*time.Second))

	// The operator forces it open on the page; the API agrees.
	click := func(override string) {
		t.Helper()
		step, cancel := context.WithTimeout(browser, 10*time.Second)
		defer cancel()
		if err := chromedp.Do(step, chromedp.Click(chromedp.CSS(row+` button[data-override="`+override+`"]`))); err != nil {
			t.Fatalf("clicking %s: %v", override, err)
		}
	}
	click("force-open")
	waitState("open", 5*time.Second)
	if br := apiState(); br.State != "open" || br.Override != "force-open" {
		t.Errorf("after force-open on the page the API says %+v, want open by force", br)
	}
	if v, err := chromedp.Run(browser, chromedp.AttributeValue(chromedp.CSS(row), "data-override")); err != nil || v.Value != "force-open" {
		t.Errorf("the payments row's data-override = %q, %v; want force-open", v.Value, err)
	}
	// The other panels show what the orders did: their calls, their saga,
	// their failed traces, one of which opens as a waterfall of spans.
	shows := func(what, js string) {
		t.Helper()
		step, cancel := context.WithTimeout(browser, 15*time.Second)
		defer cancel()
		if _, err := chromedp.Run(step, chromedp.Poll[bool](js, chromedp.WithPollingTimeout(10*time.Second))); err != nil {
			t.Errorf("the page does not show %s: %v", what, err)
		}
	}
	text := func(id, want string) string {
		return fmt.Sprintf(`document.getElementById(%q).textContent.includes(%q)`, id, want)
	}
	shows("the orders' calls to payments", text("topology", "orders → payments"))
	shows("the graph of calls", `[...document.querySelectorAll('#topology svg.graph .edge title')].some((t) => t.textContent.startsWith("orders → payments"))`)
	shows("the orders' saga", text("messaging", "order"))
	shows("a failed trace", `document.querySelector('#traces tr[data-trace] .badge[data-state="open"]') !== null`)
	step, cancelStep := context.WithTimeout(browser, 10*time.Second)
	if err := chromedp.Do(step, chromedp.Click(chromedp.CSS(`#traces tr[data-trace]`))); err != nil {
		t.Errorf("clicking a trace: %v", err)
	}
	cancelStep()
	shows("a trace's waterfall", `document.querySelectorAll('#trace .wf-row').length > 0`)
	// The API explorer lists the gateway's operations and sends one.
	shows("the gateway's operations", text("explorer", "/v1/products"))
	step, cancelStep = context.WithTimeout(browser, 10*time.Second)
	if err := chromedp.Do(step,
		chromedp.SetValue(chromedp.CSS(`#explorer input[aria-label="path"]`), "/v1/products"),
		chromedp.SetValue(chromedp.CSS(`#explorer select[aria-label="method"]`), "GET"),
		chromedp.Click(chromedp.CSS(`#explorer form.try button[type="submit"]`))); err != nil {
		t.Errorf("sending a request from the explorer: %v", err)
	}
	cancelStep()
	shows("the explorer's answer", `document.querySelector('#explorer .try-out .badge')?.textContent === "200"`)
	shows("the reviews' routes", text("endpoints", targets["reviews"]))
	screenshot(t, browser, "dashboard.png", os.Getenv("TAILOR_DASH_SCREENSHOT"))
	click("auto")
	if _, err := chromedp.Run(browser, chromedp.Poll[bool](fmt.Sprintf(`document.querySelector(%q)?.dataset.override === "auto"`, row),
		chromedp.WithPollingTimeout(5*time.Second))); err != nil {
		t.Errorf("the payments row does not show the override auto: %v", err)
	}
	if br := apiState(); br.Override != "auto" {
		t.Errorf("after auto on the page the API says %+v, want auto", br)
	}

	// A service that stops leaves the page: its rows go, with its stream.
	stopped.Store(true)
	if err := s.stopService("reviews"); err != nil {
		t.Fatalf("stopping reviews: %v", err)
	}
	shows("the reviews gone", `!`+text("endpoints", targets["reviews"]))

	// On a phone's width nothing makes the page scroll sideways.
	step, cancelStep = context.WithTimeout(browser, 10*time.Second)
	defer cancelStep()
	if err := chromedp.Do(step, chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(1))); err != nil {
		t.Fatal(err)
	}
	overflow, err := chromedp.Run(step, chromedp.Evaluate[int](`document.documentElement.scrollWidth - document.documentElement.clientWidth`))
	if err != nil || overflow > 0 {
		t.Errorf("at 390 px wide the page is %d px wider than the screen (%v), want no sideways scrolling", overflow, err)
	}
	screenshot(t, step, "dashboard-390.png", "")
}

// screenshot saves a full-page PNG of the page as name in the test's
// artifact folder, and at also when it is not empty.
func screenshot(t *testing.T, ctx context.Context, name, also string) {
	t.Helper()
	step, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(step, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	for _, path := range []string{filepath.Join(t.ArtifactDir(), name), also} {
		if path == "" {
			continue
		}
		if err := os.WriteFile(path, png, 0o644); err != nil {
			t.Errorf("saving the screenshot: %v", err)
		}
		t.Logf("screenshot: %s", path)
	}
}

// loginPatiently logs in as email, signing up first when signUp is set,
// as a client does that honours "try again shortly": on a busy machine
// password hashing can outlast the gateway's deadline for the users.
func loginPatiently(t *testing.T, s *testShop, email, password string, signUp bool) string {
	t.Helper()
	try := func(path, body string, want int, out any) {
		t.Helper()
		eventually(t, "POST "+path+" answering", func() bool {
			resp, b := s.call(t, "POST", path, "", body)
			if resp.StatusCode == http.StatusServiceUnavailable {
				return false
			}
			if resp.StatusCode != want || out != nil && json.Unmarshal(b, out) != nil {
				t.Fatalf("POST %s: %s %s, want %d", path, resp.Status, b, want)
			}
			return true
		})
	}
	if signUp {
		try("/v1/users", `{"email":"`+email+`","password":"`+password+`","name":"Test"}`, http.StatusCreated, nil)
	}
	var session struct{ Token string }
	try("/v1/sessions", `{"email":"`+email+`","password":"`+password+`"}`, http.StatusOK, &session)
	return session.Token
}
