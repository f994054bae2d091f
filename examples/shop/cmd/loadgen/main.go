// Command loadgen places orders in a running shop (examples/shop) and
// measures them: the rate, the latency quantiles, the outcomes, and how
// long each step of the orders' saga took.
//
//	go run ./examples/shop/cmd/loadgen -addr http://127.0.0.1:8080 \
//	    [-orders-addr http://127.0.0.1:PORT] [-users 20] [-products 5] [-stock 1000000] \
//	    [-rate 50 | -rate 0] [-concurrency 32] [-duration 30s] [-admin-password ...] \
//	    [-payments-failure-rate 0.2 -payments-latency 200ms [-payments-unavailable-rate 0]] \
//	    [-saga-sample 200]
//
// Through the gateway at -addr, as the administrator admin@shop.local
// (password -admin-password, else $SHOP_ADMIN_PASSWORD), it creates
// -products products with -stock units each and waits until their product
// pages show the stock; it signs up -users users with email addresses no
// other run uses and logs each in. When a payments flag is given it sets
// the payments service's simulated faults (PUT /v1/admin/payments/faults)
// for the run and puts the previous ones back at the end.
//
// Then, for -duration, it places orders of one unit of a random product
// as a random user, each with a fresh Idempotency-Key:
//
//   - with -rate above 0, open loop: that many orders a second are sent on
//     schedule, whether the earlier ones have been answered or not, with
//     at most -concurrency in flight; an order due while the cap is
//     reached is not sent and counts as "not sent (in-flight cap)";
//   - with -rate 0, closed loop: -concurrency workers each place an order
//     as soon as their previous one is answered, as fast as the shop
//     allows.
//
// Every second a line on stderr shows the orders placed a second (in the
// last second and overall), the p50 and p99 of their latency, and the
// count of each outcome: confirmed, cancelled with its reason, pending
// (202), an HTTP error status such as 429 or 503, a transport error. At
// the end stdout gets the summary: totals, rate, p50/p90/p99/max of the
// placed orders (answered 201 or 202), the outcomes, and, from the saga
// history of up to -saga-sample placed orders (GET /v1/orders/{id} as the
// administrator), the p50/p99/max time of each step (reserve, charge,
// confirm) and of the whole saga. Ctrl-C ends the run early and still
// prints the summary.
//
// The gateway limits each client IP address (20 requests a second, in
// bursts of 40) and each user (10 a second, in bursts of 20), so through
// it one machine places about 20 orders a second, the rest being 429,
// unless the shop runs with -ip-rate -1 -user-rate -1, which turn the
// limits off. To measure the orders service itself, give -orders-addr the
// orders service's own address, which its "serving" log line names on the
// shop's standard error (service=orders http=127.0.0.1:PORT): the orders
// (and the saga history) go there, past the gateway, with the same tokens,
// which the orders service verifies itself; the setup still goes through
// -addr.
package main

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

// adminEmail is the shop's administrator.
const adminEmail = "admin@shop.local"

// config is what the flags set.
type config struct {
	addr, ordersAddr     string
	users, products      int
	stock                int64
	rate                 float64
	concurrency          int
	duration             time.Duration
	adminPassword        string
	failureRate          float64
	unavailableRate      float64
	paymentsLatency      time.Duration
	setFaults            bool
	sagaSample           int
	progressEvery        time.Duration
	setupTimeout         time.Duration
	requestTimeout       time.Duration
	stderr               io.Writer
	client               *http.Client
	adminToken, runLabel string
}

// run parses args, sets the shop up, places the orders and writes the
// summary to stdout and the progress to stderr.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := config{stderr: stderr, progressEvery: time.Second, setupTimeout: 30 * time.Second, requestTimeout: 30 * time.Second}
	fs.StringVar(&cfg.addr, "addr", "http://127.0.0.1:8080", "the shop's gateway")
	fs.StringVar(&cfg.ordersAddr, "orders-addr", "", "where to place the orders and read their history (default -addr); the orders service's own address bypasses the gateway's rate limits")
	fs.IntVar(&cfg.users, "users", 20, "users to sign up and place orders as")
	fs.IntVar(&cfg.products, "products", 5, "products to create and order")
	fs.Int64Var(&cfg.stock, "stock", 1000000, "units of stock of each product (at most 1000000)")
	fs.Float64Var(&cfg.rate, "rate", 50, "orders a second, sent on schedule; 0 for as fast as -concurrency workers can")
	fs.IntVar(&cfg.concurrency, "concurrency", 32, "workers when -rate is 0, else the most orders in flight")
	fs.DurationVar(&cfg.duration, "duration", 30*time.Second, "how long to place orders")
	fs.StringVar(&cfg.adminPassword, "admin-password", "", "password of "+adminEmail+" (default $SHOP_ADMIN_PASSWORD)")
	fs.Float64Var(&cfg.failureRate, "payments-failure-rate", 0, "fraction of charges the payments service declines during the run (0 to 1)")
	fs.Float64Var(&cfg.unavailableRate, "payments-unavailable-rate", 0, "fraction of calls the payments service answers 503 during the run (0 to 1)")
	fs.DurationVar(&cfg.paymentsLatency, "payments-latency", 0, "delay the payments service adds to each call during the run")
	fs.IntVar(&cfg.sagaSample, "saga-sample", 200, "placed orders whose saga history to read for the step times; 0 for none")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q; see -help", fs.Args())
	}
	fs.Visit(func(f *flag.Flag) {
		if strings.HasPrefix(f.Name, "payments-") {
			cfg.setFaults = true
		}
	})
	if cfg.adminPassword == "" {
		cfg.adminPassword = os.Getenv("SHOP_ADMIN_PASSWORD")
	}
	if err := cfg.check(); err != nil {
		return err
	}
	if cfg.ordersAddr == "" {
		cfg.ordersAddr = cfg.addr
	}
	cfg.addr = strings.TrimSuffix(cfg.addr, "/")
	cfg.ordersAddr = strings.TrimSuffix(cfg.ordersAddr, "/")
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = cfg.concurrency + 4
	cfg.client = &http.Client{Transport: tr, Timeout: cfg.requestTimeout}
	defer tr.CloseIdleConnections()
	cfg.runLabel = randomText(8)

	setupCtx, cancel := context.WithTimeout(ctx, cfg.setupTimeout)
	defer cancel()
	products, tokens, restore, err := cfg.setUp(setupCtx)
	if err != nil {
		return err
	}
	if restore != nil {
		defer func() {
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.setupTimeout)
			defer cancel()
			if err := restore(rctx); err != nil {
				fmt.Fprintf(stderr, "loadgen: could not put the payments faults back (%v); set them with PUT %s/v1/admin/payments/faults\n", err, cfg.addr)
			}
		}()
	}

	t := newTally(cfg.sagaSample)
	elapsed := cfg.placeOrders(ctx, t, products, tokens)
	s := summary{Elapsed: elapsed, Latency: &t.all, Outcomes: t.outcomes, Steps: map[string]*Histogram{}}
	if len(t.ids) > 0 {
		hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.setupTimeout)
		defer cancel()
		n, err := cfg.readHistories(hctx, t.ids, s.Steps)
		if err != nil {
			fmt.Fprintf(stderr, "loadgen: read the saga history of %d of %d orders: %v\n", n, len(t.ids), err)
		}
		s.Sampled = n
	}
	s.write(stdout)
	return nil
}

// check says what is wrong with the flags.
func (cfg *config) check() error {
	var errs []error
	if cfg.users < 1 || cfg.products < 1 {
		errs = append(errs, fmt.Errorf("-users and -products must be 1 or more, got %d and %d", cfg.users, cfg.products))
	}
	if cfg.stock < 1 || cfg.stock > 1000000 {
		errs = append(errs, fmt.Errorf("-stock must be from 1 to 1000000, got %d", cfg.stock))
	}
	if cfg.rate < 0 || cfg.concurrency < 1 || cfg.duration <= 0 {
		errs = append(errs, fmt.Errorf("-rate must be 0 or more, -concurrency 1 or more and -duration positive, got %g, %d and %s", cfg.rate, cfg.concurrency, cfg.duration))
	}
	if cfg.failureRate < 0 || cfg.failureRate > 1 || cfg.unavailableRate < 0 || cfg.unavailableRate > 1 || cfg.paymentsLatency < 0 || cfg.paymentsLatency > time.Minute {
		errs = append(errs, errors.New("-payments-failure-rate and -payments-unavailable-rate must be from 0 to 1, and -payments-latency from 0 to 1m"))
	}
	if cfg.sagaSample < 0 {
		errs = append(errs, fmt.Errorf("-saga-sample must be 0 or more, got %d", cfg.sagaSample))
	}
	if cfg.adminPassword == "" {
		errs = append(errs, errors.New("no administrator password: give -admin-password or set SHOP_ADMIN_PASSWORD to the one the shop was started with"))
	}
	return errors.Join(errs...)
}

// setUp creates the products and the users, and sets the payments
// faults; restore, when not nil, puts the previous faults back.
func (cfg *config) setUp(ctx context.Context) (products, tokens []string, restore func(context.Context) error, err error) {
	var session struct {
		Token string `json:"token"`
	}
	if _, err := cfg.call(ctx, "POST", cfg.addr+"/v1/sessions", "", map[string]string{"email": adminEmail, "password": cfg.adminPassword}, &session); err != nil {
		return nil, nil, nil, fmt.Errorf("log in as %s: %w; is the password the one the shop was started with?", adminEmail, err)
	}
	cfg.adminToken = session.Token
	if cfg.setFaults {
		if restore, err = cfg.setPaymentFaults(ctx); err != nil {
			return nil, nil, nil, err
		}
	}
	for i := range cfg.products {
		body := map[string]any{
			"name":        fmt.Sprintf("Load %s #%d", cfg.runLabel, i+1),
			"description": "created by loadgen",
			"price":       map[string]any{"amount": 1000 + i, "currency": "EUR"},
			"stock":       cfg.stock,
		}
		var p struct {
			ID string `json:"id"`
		}
		if _, err := cfg.call(ctx, "POST", cfg.addr+"/v1/products", cfg.adminToken, body, &p); err != nil {
			return nil, nil, restore, fmt.Errorf("create product %d: %w", i+1, err)
		}
		products = append(products, p.ID)
	}
	for _, id := range products {
		if err := cfg.awaitStock(ctx, id); err != nil {
			return nil, nil, restore, err
		}
	}
	password := "loadgen " + randomText(20)
	for i := range cfg.users {
		email := fmt.Sprintf("loadgen-%s-%d@example.com", cfg.runLabel, i+1)
		if _, err := cfg.call(ctx, "POST", cfg.addr+"/v1/users", "", map[string]string{"email": email, "password": password, "name": fmt.Sprintf("Load %d", i+1)}, nil); err != nil {
			return nil, nil, restore, fmt.Errorf("sign up %s: %w", email, err)
		}
		if _, err := cfg.call(ctx, "POST", cfg.addr+"/v1/sessions", "", map[string]string{"email": email, "password": password}, &session); err != nil {
			return nil, nil, restore, fmt.Errorf("log in as %s: %w", email, err)
		}
		tokens = append(tokens, session.Token)
	}
	fmt.Fprintf(cfg.stderr, "loadgen: %d products with %d units each, %d users; placing orders at %s for %s\n", len(products), cfg.stock, len(tokens), cfg.ordersAddr, cfg.duration)
	return products, tokens, restore, nil
}

// setPaymentFaults sets the faults the flags ask for and returns how to
// put back the ones it replaced.
func (cfg *config) setPaymentFaults(ctx context.Context) (func(context.Context) error, error) {
	url := cfg.addr + "/v1/admin/payments/faults"
	var before json.RawMessage
	if _, err := cfg.call(ctx, "GET", url, cfg.adminToken, nil, &before); err != nil {
		return nil, fmt.Errorf("read the payments faults: %w", err)
	}
	faults := map[string]any{"failure_rate": cfg.failureRate, "latency_ms": cfg.paymentsLatency.Milliseconds(), "unavailable_rate": cfg.unavailableRate}
	if _, err := cfg.call(ctx, "PUT", url, cfg.adminToken, faults, nil); err != nil {
		return nil, fmt.Errorf("set the payments faults: %w", err)
	}
	set, _ := json.Marshal(faults) // a map of numbers always marshals
	fmt.Fprintf(cfg.stderr, "loadgen: payments faults set to %s (were %s)\n", set, before)
	return func(ctx context.Context) error {
		_, err := cfg.call(ctx, "PUT", url, cfg.adminToken, before, nil)
		return err
	}, nil
}

// awaitStock waits until product id's page shows its stock, which the
// inventory learns from the catalog's event.
func (cfg *config) awaitStock(ctx context.Context, id string) error {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		var page struct {
			Stock *struct {
				Available int64 `json:"available"`
			} `json:"stock"`
		}
		if _, err := cfg.call(ctx, "GET", cfg.addr+"/v1/products/"+id, "", nil, &page); err != nil {
			return fmt.Errorf("read product %s: %w", id, err)
		}
		if page.Stock != nil && page.Stock.Available >= cfg.stock {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("product %s's page did not show its stock of %d in time: is the inventory learning the catalog's events?", id, cfg.stock)
		case <-tick.C:
		}
	}
}

// problem is an answer with an error status.
type problem struct {
	status int
	body   string
}

func (p *problem) Error() string { return fmt.Sprintf("HTTP %d: %s", p.status, p.body) }

// call sends a JSON request, retrying while the answer is 429 or 503
// (after its Retry-After, at most a second) until ctx ends, and decodes a
// 2xx answer into out when out is not nil.
func (cfg *config) call(ctx context.Context, method, url, token string, in, out any) (int, error) {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return 0, err
		}
	}
	for {
		req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
		if err != nil {
			return 0, err
		}
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := cfg.client.Do(req)
		if err != nil {
			return 0, err
		}
		data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if err != nil {
			return resp.StatusCode, err
		}
		switch {
		case resp.StatusCode/100 == 2:
			if out == nil {
				return resp.StatusCode, nil
			}
			if err := json.Unmarshal(data, out); err != nil {
				return resp.StatusCode, fmt.Errorf("decode the answer of %s %s: %w", method, url, err)
			}
			return resp.StatusCode, nil
		case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable:
			wait := time.Second
			if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s == 0 {
				wait = 100 * time.Millisecond
			}
			select {
			case <-ctx.Done():
				return resp.StatusCode, fmt.Errorf("%w (still answered %d)", ctx.Err(), resp.StatusCode)
			case <-time.After(wait):
			}
		default:
			return resp.StatusCode, &problem{resp.StatusCode, strings.TrimSpace(string(data))}
		}
	}
}

// placeOrders places orders until cfg.duration has passed or ctx ends,
// then waits for the answers of those in flight, writing progress every
// second, and says how long it took.
func (cfg *config) placeOrders(ctx context.Context, t *tally, products, tokens []string) time.Duration {
	runCtx, cancel := context.WithTimeout(ctx, cfg.duration)
	defer cancel()
	// The orders in flight finish even when the run ends or is
	// interrupted, so that none counts as a transport error.
	reqCtx := context.WithoutCancel(ctx)
	start := time.Now()
	done := make(chan struct{})
	var progress sync.WaitGroup
	progress.Go(func() {
		tick := time.NewTicker(cfg.progressEvery)
		defer tick.Stop()
		last := start
		for {
			select {
			case <-done:
				now := time.Now()
				t.progress(cfg.stderr, now.Sub(start), now.Sub(last))
				return
			case now := <-tick.C:
				t.progress(cfg.stderr, now.Sub(start), now.Sub(last))
				last = now
			}
		}
	})
	one := func() {
		outcome, latency, placed, id := cfg.placeOne(reqCtx, tokens[rand.IntN(len(tokens))], products[rand.IntN(len(products))])
		t.add(outcome, latency, placed, id)
	}
	var orders sync.WaitGroup
	if cfg.rate == 0 {
		for range cfg.concurrency {
			orders.Go(func() {
				for runCtx.Err() == nil {
					one()
				}
			})
		}
	} else {
		slots := make(chan struct{}, cfg.concurrency)
		tick := time.NewTicker(min(time.Duration(float64(time.Second)/cfg.rate), 10*time.Millisecond))
		var sent int64
	schedule:
		for {
			select {
			case <-runCtx.Done():
				break schedule
			case now := <-tick.C:
				// Every order due by now, so that a late tick does not
				// lower the rate.
				for due := int64(now.Sub(start).Seconds() * cfg.rate); sent < due; sent++ {
					select {
					case slots <- struct{}{}:
						orders.Go(func() {
							defer func() { <-slots }()
							one()
						})
					default:
						t.add(outcomeDropped, 0, false, "")
					}
				}
			}
		}
		tick.Stop()
	}
	orders.Wait()
	elapsed := time.Since(start)
	close(done)
	progress.Wait()
	return elapsed
}

// placeOne places one order of one unit of product as the user of token
// and says how it went: its outcome, its latency and id when placed (the
// answer was 201 or 202).
func (cfg *config) placeOne(ctx context.Context, token, product string) (outcome string, latency time.Duration, placed bool, id string) {
	body := fmt.Sprintf(`{"items":[{"product_id":%q,"quantity":1}]}`, product)
	req, err := http.NewRequestWithContext(ctx, "POST", cfg.ordersAddr+"/v1/orders", strings.NewReader(body))
	if err != nil {
		return outcomeTransport, 0, false, ""
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Idempotency-Key", crand.Text())
	began := time.Now()
	resp, err := cfg.client.Do(req)
	if err != nil {
		return outcomeTransport, 0, false, ""
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	latency = time.Since(began)
	if err != nil {
		return outcomeTransport, 0, false, ""
	}
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusAccepted {
		return httpStatus(resp.StatusCode), 0, false, ""
	}
	var o struct {
		ID     string `json:"id"`
		Status string `json:"status"`
		Reason string `json:"reason"`
	}
	if err := json.Unmarshal(data, &o); err != nil {
		return fmt.Sprintf("HTTP %d with an undecodable body", resp.StatusCode), 0, false, ""
	}
	switch o.Status {
	case "confirmed":
		outcome = outcomeConfirmed
	case "cancelled":
		outcome = cancelled(o.Reason)
	default:
		outcome = outcomePending
	}
	return outcome, latency, true, o.ID
}

// readHistories reads the saga history of the orders ids and records
// their steps' times in steps, saying of how many orders it read it.
func (cfg *config) readHistories(ctx context.Context, ids []string, steps map[string]*Histogram) (int, error) {
	for i, id := range ids {
		var o struct {
			History []historyEvent `json:"history"`
		}
		if _, err := cfg.call(ctx, "GET", cfg.ordersAddr+"/v1/orders/"+id, cfg.adminToken, nil, &o); err != nil {
			return i, fmt.Errorf("order %s: %w", id, err)
		}
		addHistory(steps, o.History)
	}
	return len(ids), nil
}

// randomText is n random base32 characters (up to 26) in lower case.
func randomText(n int) string {
	return strings.ToLower(crand.Text()[:n])
}
