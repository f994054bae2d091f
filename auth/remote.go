package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"golang.org/x/sync/singleflight"
)

// Limits on a fetched JWKS. A document beyond them is refused whole and the
// keys cached before stay in use.
const (
	// MaxJWKSBytes bounds the size of a fetched JWKS document.
	MaxJWKSBytes = 1 << 20
	// MaxJWKSKeys bounds the number of keys in a fetched JWKS document.
	MaxJWKSKeys = 100
)

// Defaults of [RemoteKeys].
const (
	// DefaultMaxAge is how long fetched keys are used before the document
	// is fetched again ([WithMaxAge]).
	DefaultMaxAge = 15 * time.Minute
	// DefaultRefreshInterval is the shortest time between two fetches
	// ([WithRefreshInterval]).
	DefaultRefreshInterval = 10 * time.Second
	// DefaultFetchTimeout bounds one fetch ([WithFetchTimeout]).
	DefaultFetchTimeout = 5 * time.Second
)

// RemoteKeys is a [KeySource] that fetches a JWKS document from a URL, such
// as an issuer's /.well-known/jwks.json, and caches it. Build it with
// [NewRemoteKeys]; the zero value is not usable. It is safe for concurrent
// use.
//
// The first lookup fetches the document. Later lookups use the cached keys
// until they are older than the maximum age ([WithMaxAge]), and a token
// whose key ID is not cached makes it fetch again, so a verifier follows
// the issuer's key rotation without a restart. Fetches are shared by
// concurrent lookups and happen at most once per refresh interval
// ([WithRefreshInterval]), so tokens with made-up key IDs cannot make it
// hammer the JWKS server; within that interval an unknown key ID is
// refused at once.
//
// Keys the document holds that cannot verify tokens (symmetric keys, RSA
// keys under 2048 bits, keys for encryption, keys of unknown types) are left
// out. When a fetch fails (the server is down, answers an error status, or
// sends a document that is malformed, larger than [MaxJWKSBytes], holds more
// than [MaxJWKSKeys] keys or two keys with one ID), the keys cached before stay
// in use, however old, and lookups of keys that are not cached fail with an
// error wrapping [ErrKeysUnavailable] that says why the fetch failed.
type RemoteKeys struct {
	url             string // redacted form, for errors
	target          *url.URL
	client          *http.Client
	maxAge          time.Duration
	refreshInterval time.Duration
	fetchTimeout    time.Duration
	now             func() time.Time

	flight singleflight.Group

	mu        sync.Mutex
	keys      map[string]jose.JSONWebKey // nil until a fetch succeeds
	fetched   time.Time                  // when keys were fetched
	attempted time.Time                  // when the last fetch started
	lastErr   error                      // why the last fetch failed, or nil
}

var _ KeySource = (*RemoteKeys)(nil)

// RemoteOption configures [RemoteKeys].
type RemoteOption func(*RemoteKeys)

// WithHTTPClient makes [RemoteKeys] fetch with c instead of
// [http.DefaultClient].
func WithHTTPClient(c *http.Client) RemoteOption {
	return func(r *RemoteKeys) {
		if c != nil {
			r.client = c
		}
	}
}

// WithMaxAge sets how long fetched keys are used before the document is
// fetched again; the default is [DefaultMaxAge]. Values of zero or less
// keep the default.
func WithMaxAge(d time.Duration) RemoteOption {
	return func(r *RemoteKeys) {
		if d > 0 {
			r.maxAge = d
		}
	}
}

// WithRefreshInterval sets the shortest time between two fetches, however
// many unknown key IDs arrive; the default is [DefaultRefreshInterval].
// Values less than zero keep the default; zero lets every unknown key ID
// fetch (use it only where tokens come from trusted callers).
func WithRefreshInterval(d time.Duration) RemoteOption {
	return func(r *RemoteKeys) {
		if d >= 0 {
			r.refreshInterval = d
		}
	}
}

// WithFetchTimeout bounds one fetch of the document; the default is
// [DefaultFetchTimeout]. Values of zero or less keep the default.
func WithFetchTimeout(d time.Duration) RemoteOption {
	return func(r *RemoteKeys) {
		if d > 0 {
			r.fetchTimeout = d
		}
	}
}

// NewRemoteKeys returns a key source that fetches the JWKS document at
// rawURL, an http or https URL. It fetches nothing until the first lookup.
func NewRemoteKeys(rawURL string, opts ...RemoteOption) (*RemoteKeys, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("auth: JWKS URL %q is not an absolute http or https URL; give one such as https://issuer.example/.well-known/jwks.json", rawURL)
	}
	r := &RemoteKeys{
		url:             u.Redacted(),
		target:          u,
		client:          http.DefaultClient,
		maxAge:          DefaultMaxAge,
		refreshInterval: DefaultRefreshInterval,
		fetchTimeout:    DefaultFetchTimeout,
		now:             time.Now,
	}
	for _, opt := range opts {
		opt(r)
	}
	return r, nil
}

// VerificationKey implements [KeySource]: it returns the cached key with
// ID kid, fetching the document when the cache is empty, old, or lacks kid,
// as the type's doc describes.
func (r *RemoteKeys) VerificationKey(ctx context.Context, kid string) (jose.JSONWebKey, error) {
	k, found, fresh := r.lookup(kid)
	if found && fresh {
		return k, nil
	}
	// Every caller goes through refresh, so that one that comes while a
	// fetch is under way waits for it (the first, of a cold cache, too);
	// within the refresh interval refresh fetches nothing.
	if err := r.refresh(ctx); err != nil && !errors.Is(err, ErrKeysUnavailable) {
		return jose.JSONWebKey{}, err // the caller's context ended
	}
	if k, found, _ = r.lookup(kid); found {
		return k, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case r.lastErr != nil && r.keys == nil:
		return jose.JSONWebKey{}, r.lastErr
	case r.lastErr != nil:
		return jose.JSONWebKey{}, fmt.Errorf("%w; the keys fetched %v ago do not include %q",
			r.lastErr, r.now().Sub(r.fetched).Round(time.Second), clip(kid))
	}
	return jose.JSONWebKey{}, fmt.Errorf("%w %q in the JWKS at %s", ErrUnknownKey, clip(kid), r.url)
}

// lookup reads the cache: the key with ID kid, and whether the cache is
// fresh.
func (r *RemoteKeys) lookup(kid string) (k jose.JSONWebKey, found, fresh bool) {
	now := r.now()
	r.mu.Lock()
	defer r.mu.Unlock()
	k, found = r.keys[kid]
	fresh = r.keys != nil && now.Sub(r.fetched) < r.maxAge
	return k, found, fresh
}

// refresh fetches the document once for all concurrent callers. The fetch
// runs on its own deadline, so a caller that gives up does not fail the
// others; that caller gets its context's error.
func (r *RemoteKeys) refresh(ctx context.Context) error {
	ch := r.flight.DoChan("jwks", func() (any, error) {
		fetchCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.fetchTimeout)
		defer cancel()
		return nil, r.fetchOnce(fetchCtx)
	})
	select {
	case res := <-ch:
		return res.Err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// fetchOnce fetches and stores the document, unless another fetch started
// within the refresh interval, and records the outcome.
func (r *RemoteKeys) fetchOnce(ctx context.Context) error {
	now := r.now()
	r.mu.Lock()
	if !r.attempted.IsZero() && now.Sub(r.attempted) < r.refreshInterval {
		err := r.lastErr
		r.mu.Unlock()
		return err
	}
	r.attempted = now
	r.mu.Unlock()

	keys, err := r.fetch(ctx)
	if ue := (*url.Error)(nil); errors.As(err, &ue) {
		err = ue.Err // the URL is in the message already
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		r.lastErr = fmt.Errorf("%w: fetching the JWKS from %s: %w", ErrKeysUnavailable, r.url, err)
		return r.lastErr
	}
	r.keys, r.fetched, r.lastErr = keys, r.now(), nil
	return nil
}

// fetch gets and checks the document.
func (r *RemoteKeys) fetch(ctx context.Context) (map[string]jose.JSONWebKey, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.target.String(), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := r.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, MaxJWKSBytes))
		return nil, fmt.Errorf("server answered %s; is the URL right and the issuer up?", resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxJWKSBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading the document: %w", err)
	}
	if len(body) > MaxJWKSBytes {
		return nil, fmt.Errorf("the document is larger than %d bytes", MaxJWKSBytes)
	}
	var raw struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, fmt.Errorf("the document is not a JWKS: %w", err)
	}
	if len(raw.Keys) > MaxJWKSKeys {
		return nil, fmt.Errorf("the document holds %d keys, more than the %d allowed", len(raw.Keys), MaxJWKSKeys)
	}
	keys := make([]jose.JSONWebKey, 0, len(raw.Keys))
	for _, rk := range raw.Keys {
		var k jose.JSONWebKey
		if json.Unmarshal(rk, &k) != nil {
			continue // a key of a type this package cannot use
		}
		keys = append(keys, k)
	}
	return keyMap(keys, false)
}
