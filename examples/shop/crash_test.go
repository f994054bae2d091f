package main

import (
	"bufio"
	"cmp"
	"crypto/x509"
	"database/sql"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tailorkit/tailor/auth"
	"github.com/tailorkit/tailor/examples/shop/users"
	"github.com/tailorkit/tailor/internal/testenv"
)

// The crash test's figures.
const (
	crashOrders    = 100 // orders placed, each under its own Idempotency-Key
	crashCustomers = 10  // each places crashOrders/crashCustomers of them, one at a time
	crashStock     = 40  // units of the one product; the orders ask for about 150
	crashPrice     = 1000
	// crashLease is the orders' lease (-lease): a saga or an
	// Idempotency-Key held by the killed process is taken over once it
	// lapses, the saga by a Recovery that looks for such sagas every 5 s.
	crashLease = 20 * time.Second
	// crashSettle bounds the wait, after the restart, for every order to
	// end.
	crashSettle = 90 * time.Second
)

// TestCrashDuringOrders kills the shop with SIGKILL while customers place
// orders, restarts it on the same data, resends every order that got no
// final answer with the same Idempotency-Key, and waits for every order to
// end. Then, from the services' databases, as checkOrders reads them: no
// order is pending; the stock adds up (available + reserved + sold =
// initial, nothing reserved); each confirmed order has its reservation
// committed and exactly one charge of its total; each cancelled one has
// its reservation released, or none, and no charge. It runs on SQLite and
// on PostgreSQL.
//
// It takes half a minute for each, the lease of the killed process, so it
// runs in CI (CI=true) or with TAILOR_SHOP_CRASH=1; TAILOR_SHOP_CRASH_SEED
// replays a seed the log shows.
func TestCrashDuringOrders(t *testing.T) {
	if !testenv.CI() && os.Getenv("TAILOR_SHOP_CRASH") != "1" {
		t.Skip("the crash test takes a minute; set TAILOR_SHOP_CRASH=1 (or CI=true) to run it")
	}
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("TAILOR_SHOP_CRASH_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("TAILOR_SHOP_CRASH_SEED=%q is not a whole number; give a seed the test logged", s)
		}
	}
	bin := filepath.Join(t.TempDir(), "shop")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	onEachDatabase(t, func(t *testing.T, db string) { crashDuringOrders(t, bin, db, seed) })
}

func crashDuringOrders(t *testing.T, bin, db string, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 0))
	killAfter := 10 + rng.IntN(crashOrders-20)                   // orders sent before the kill
	killDelay := time.Duration(rng.IntN(100)) * time.Millisecond // then this long after the trigger
	t.Logf("seed %d (TAILOR_SHOP_CRASH_SEED replays it): SIGKILL %v after order %d is sent with others in flight", seed, killDelay, killAfter)

	key, err := auth.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "SHOP_ADMIN_PASSWORD="+testAdminPassword, "NATS_URL=", envDatabaseURL+"=",
		users.EnvSigningKey+"="+string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})))
	testenv.Crowd(t)
	cfg := config{data: t.TempDir()}
	if db == postgres {
		cfg.databaseURL, cfg.databasePrefix = testPostgres(t)
	}
	logs := t.TempDir()

	p := startShopProcess(t, bin, cfg, env, filepath.Join(logs, "first.log"))
	c := &crashClient{t: t, http: &http.Client{Timeout: 20 * time.Second}}
	c.setBase(p.base)
	admin := c.login(users.AdminEmail, testAdminPassword, false)
	var product struct{ ID string }
	c.mustDo("POST", "/v1/products", admin, fmt.Sprintf(`{"name":"Lamp","price":{"amount":%d,"currency":"EUR"},"stock":%d}`, crashPrice, crashStock), http.StatusCreated, &product)
	eventually(t, "the inventory learning the lamp's stock", func() bool {
		var page productPage
		c.mustDo("GET", "/v1/products/"+product.ID, "", "", http.StatusOK, &page)
		return page.Stock != nil && page.Stock.Available == crashStock
	})
	customers := make([]string, crashCustomers)
	for i := range customers {
		customers[i] = c.login(fmt.Sprintf("customer%d@example.com", i), "correct horse battery", true)
	}
	orders := make([]*crashOrder, crashOrders)
	for i := range orders {
		orders[i] = &crashOrder{
			key:   fmt.Sprintf("crash-%d-%03d", seed, i),
			token: customers[i%crashCustomers],
			body:  fmt.Sprintf(`{"items":[{"product_id":%q,"quantity":%d}]}`, product.ID, 1+rng.IntN(2)),
		}
	}

	// Each customer places its orders one after another until the
	// process dies. Once killAfter orders have been sent, the first order
	// sent while two others are in flight (past the gateway's rate limit,
	// which answers at once) pulls the trigger.
	var sent atomic.Int64
	var killOnce sync.Once
	var inFlightAtKill int64
	killed := make(chan struct{})
	kill := func() {
		killOnce.Do(func() {
			time.Sleep(killDelay)
			inFlightAtKill = c.inFlight.Load()
			p.kill()
			close(killed)
		})
	}
	c.onSend = func(inFlight int64) {
		if sent.Load() >= int64(killAfter) && inFlight >= 3 {
			go kill()
		}
	}
	var wg sync.WaitGroup
	for w := range crashCustomers {
		wg.Go(func() {
			for i := w; i < crashOrders; i += crashCustomers {
				select {
				case <-killed:
					return
				default:
				}
				sent.Add(1)
				if !c.place(orders[i], time.Now().Add(20*time.Second), killed) {
					return
				}
			}
		})
	}
	wg.Wait()
	kill() // in case the trigger was never pulled
	<-killed
	c.onSend = nil
	answered := 0
	for _, o := range orders {
		if o.final {
			answered++
		}
	}
	t.Logf("killed with %d orders sent, %d requests in flight; %d orders answered, %d to send again", sent.Load(), inFlightAtKill, answered, crashOrders-answered)

	p = startShopProcess(t, bin, cfg, env, filepath.Join(logs, "second.log"))
	restarted := time.Now()
	c.setBase(p.base)
	deadline := restarted.Add(crashSettle)
	var resend sync.WaitGroup
	for _, o := range orders {
		if !o.final {
			resend.Go(func() { c.place(o, deadline, nil) })
		}
	}
	resend.Wait()
	for _, o := range orders {
		if !o.final {
			t.Fatalf("order %s got no final answer within %v of the restart: %s", o.key, crashSettle, o.last)
		}
	}
	resent := time.Since(restarted)

	var byStatus map[string]int
	for {
		byStatus = map[string]int{}
		for _, o := range c.listOrders(admin) {
			byStatus[o.Status]++
		}
		if byStatus["pending"] == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("orders still pending %v after the restart: %v", crashSettle, byStatus)
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Logf("after the restart: every order answered in %v, none pending after %v: %v", resent.Round(time.Millisecond), time.Since(restarted).Round(time.Millisecond), byStatus)
	p.stop()

	recorded := checkOrders(t, func(t *testing.T, name string) *sql.DB { return openServiceDB(t, cfg, name) }, product.ID, crashStock)
	count := map[string]int{}
	for _, o := range recorded {
		count[o.status]++
	}
	if count["confirmed"] == 0 || count["cancelled"] == 0 {
		t.Errorf("orders: %v; want some confirmed and, for lack of stock, some cancelled", count)
	}
	// A request the kill cut after it recorded its order, and before its
	// answer was stored under its key, runs again when resent, and finds
	// the order it placed under that key.
	if len(recorded) != crashOrders {
		t.Errorf("%d orders recorded, want the %d placed, each once", len(recorded), crashOrders)
	}
}

// crashOrder is one order a customer places, and what the shop answered.
type crashOrder struct {
	key, token, body string
	final            bool   // answered 201 (confirmed or cancelled) or 202 (pending)
	last             string // the last answer, for a failure's message
}

// crashClient calls the shop's gateway at base, which changes on restart.
type crashClient struct {
	t    *testing.T
	http *http.Client
	mu   sync.Mutex
	base string
	// inFlight counts the orders sent and not yet answered; onSend, when
	// set, is called as each is sent, with the count.
	inFlight atomic.Int64
	onSend   func(inFlight int64)
}

func (c *crashClient) setBase(base string) {
	c.mu.Lock()
	c.base = base
	c.mu.Unlock()
}

// do sends a request and returns the status, Retry-After and body, or an
// error when no answer came.
func (c *crashClient) do(method, path, token, body string, header ...string) (int, time.Duration, []byte, error) {
	c.mu.Lock()
	base := c.base
	c.mu.Unlock()
	req, err := http.NewRequest(method, base+path, strings.NewReader(body))
	if err != nil {
		return 0, 0, nil, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, 0, nil, err
	}
	retry, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
	return resp.StatusCode, time.Duration(retry) * time.Second, b, nil
}

// mustDo sends a request while the shop runs, waiting out the rate limits,
// and fails the test unless the answer has status want; it decodes a JSON
// body into out when out is not nil.
func (c *crashClient) mustDo(method, path, token, body string, want int, out any) {
	c.t.Helper()
	for {
		status, retry, b, err := c.do(method, path, token, body)
		if err != nil {
			c.t.Fatalf("%s %s: %v", method, path, err)
		}
		if status == http.StatusTooManyRequests {
			time.Sleep(max(retry, 100*time.Millisecond))
			continue
		}
		if status != want {
			c.t.Fatalf("%s %s: %d %s, want %d", method, path, status, b, want)
		}
		if out != nil {
			if err := json.Unmarshal(b, out); err != nil {
				c.t.Fatalf("%s %s: %v in %s", method, path, err, b)
			}
		}
		return
	}
}

// login returns a token for the account, signing it up first if asked.
func (c *crashClient) login(email, password string, signUp bool) string {
	c.t.Helper()
	if signUp {
		c.mustDo("POST", "/v1/users", "", `{"email":"`+email+`","password":"`+password+`","name":"Test"}`, http.StatusCreated, nil)
	}
	var session struct{ Token string }
	c.mustDo("POST", "/v1/sessions", "", `{"email":"`+email+`","password":"`+password+`"}`, http.StatusOK, &session)
	return session.Token
}

// place sends the order, under its key, until it gets 201 (the order
// confirmed or cancelled: the answer is final), 202 (the order is recorded
// and pending: its saga will end it), until deadline, or until stop
// closes. A 409 (the key is in progress, perhaps held by a killed
// process until its lease lapses), a 429, a 503 (the key is released) and
// a request with no answer are sent again. It reports whether the process
// answered the last request.
func (c *crashClient) place(o *crashOrder, deadline time.Time, stop <-chan struct{}) bool {
	for time.Now().Before(deadline) {
		n := c.inFlight.Add(1)
		if c.onSend != nil {
			c.onSend(n)
		}
		status, retry, b, err := c.do("POST", "/v1/orders", o.token, o.body, "Idempotency-Key", o.key)
		c.inFlight.Add(-1)
		switch {
		case err != nil:
			o.last = err.Error()
		case status == http.StatusCreated || status == http.StatusAccepted:
			var got struct{ Status string }
			if err := json.Unmarshal(b, &got); err != nil || (status == http.StatusCreated) != (got.Status == "confirmed" || got.Status == "cancelled") {
				c.t.Errorf("order %s: %d %s, want 201 confirmed or cancelled, or 202 pending", o.key, status, b)
			}
			o.final, o.last = true, fmt.Sprintf("%d %s", status, b)
			return true
		case status == http.StatusConflict || status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable:
			o.last = fmt.Sprintf("%d %s", status, b)
		default:
			c.t.Errorf("order %s: %d %s, want 201, 202, or a refusal to retry (409, 429, 503)", o.key, status, b)
			return true
		}
		select {
		case <-stop:
			return false
		case <-time.After(max(min(retry, 2*time.Second), 200*time.Millisecond)):
		}
	}
	return false
}

// listOrders returns every order, as the administrator lists them.
func (c *crashClient) listOrders(admin string) []struct{ ID, Status string } {
	c.t.Helper()
	var all []struct{ ID, Status string }
	cursor := ""
	for {
		var page struct {
			Items      []struct{ ID, Status string }
			NextCursor string `json:"next_cursor"`
		}
		c.mustDo("GET", "/v1/orders?limit=100"+cursor, admin, "", http.StatusOK, &page)
		all = append(all, page.Items...)
		if page.NextCursor == "" {
			return all
		}
		cursor = "&cursor=" + page.NextCursor
	}
}

// shopProcess is the shop binary running on loopback.
type shopProcess struct {
	t      *testing.T
	cmd    *exec.Cmd
	base   string // the gateway's URL
	exited chan error
}

// startShopProcess runs the shop on the data and databases of cfg, with
// the crash test's lease, its logs going to logFile, and returns once it
// says where it serves.
func startShopProcess(t *testing.T, bin string, cfg config, env []string, logFile string) *shopProcess {
	t.Helper()
	logs, err := os.Create(logFile)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		logs.Close()
		if t.Failed() {
			if b, err := os.ReadFile(logFile); err == nil {
				t.Logf("the shop's log %s, last 8 kB:\n%s", filepath.Base(logFile), b[max(0, len(b)-8192):])
			}
		}
	})
	cmd := exec.Command(bin, "-addr", "127.0.0.1:0", "-dash-addr", "127.0.0.1:0", "-data", cfg.data, "-shutdown-timeout", "5s", "-lease", crashLease.String(),
		"-database-url", cfg.databaseURL, "-database-prefix", cmp.Or(cfg.databasePrefix, "shop"))
	cmd.Env, cmd.Stderr = env, logs
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &shopProcess{t: t, cmd: cmd, exited: make(chan error, 1)}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := regexp.MustCompile(`serving at (http://127\.0\.0\.1:\d+) `).FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
			}
		}
		p.exited <- cmd.Wait()
	}()
	t.Cleanup(func() { cmd.Process.Kill() })
	select {
	case p.base = <-addr:
	case err := <-p.exited:
		t.Fatalf("the shop ended (%v) before saying where it serves", err)
	case <-time.After(60 * time.Second):
		t.Fatal("the shop did not say where it serves within 60s")
	}
	return p
}

// kill ends the process with SIGKILL and waits for it to be gone.
func (p *shopProcess) kill() {
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		p.t.Errorf("SIGKILL: %v", err)
	}
	<-p.exited
}

// stop ends the process with SIGTERM and fails the test unless it exits 0
// within the drain deadlines.
func (p *shopProcess) stop() {
	p.t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		p.t.Fatal(err)
	}
	select {
	case err := <-p.exited:
		if err != nil {
			p.t.Fatalf("the shop exited with %v after SIGTERM, want 0", err)
		}
	case <-time.After(30 * time.Second):
		p.t.Fatal("the shop did not exit within 30s of SIGTERM")
	}
}
