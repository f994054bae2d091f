package assembly

import (
	"context"
	"fmt"
	"io"
	"net/http"

	"github.com/go-kit/kit/endpoint"

	"github.com/tailorkit/tailor/auth"
	"github.com/tailorkit/tailor/discovery"
	"github.com/tailorkit/tailor/discovery/client"
	"github.com/tailorkit/tailor/examples/shop/users"
	"github.com/tailorkit/tailor/fault"
	"github.com/tailorkit/tailor/resilience"
)

// NewVerifier returns a verifier of the users service's tokens whose keys
// are fetched, when first needed and again on an unknown key ID, from
// whichever instance of users r finds: no fixed address, so any users
// instance serves them and one that stops is not missed. Close the
// returned io.Closer, once the verifier is no longer used, to stop
// watching users.
func NewVerifier(r discovery.Resolver) (*auth.Verifier, io.Closer, error) {
	c, err := client.New(r, "users")
	if err != nil {
		return nil, nil, err
	}
	httpc := &http.Client{Transport: byName{c.Endpoint(roundTrip(http.DefaultTransport))}}
	keys, err := auth.NewRemoteKeys("http://users"+users.JWKSPath, auth.WithHTTPClient(httpc))
	if err != nil {
		c.Close()
		return nil, nil, err
	}
	v, err := auth.NewVerifier(keys, users.Issuer, users.Audience)
	if err != nil {
		c.Close()
		return nil, nil, err
	}
	return v, c, nil
}

// byName is an http.RoundTripper that sends each request to one instance
// of a service, whatever host its URL names, through a client's endpoint:
// balanced over the healthy instances, and sent again to another one
// when an instance cannot answer (the requests it carries are GETs).
type byName struct{ call endpoint.Endpoint }

func (t byName) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.call(resilience.WithIdempotent(r.Context()), r)
	if err != nil {
		return nil, err
	}
	return resp.(*http.Response), nil
}

// roundTrip is the Factory of endpoints that send an *http.Request to
// one instance with base and return its *http.Response. An answer of 500
// or more is an error of its status's kind, so that the instance's
// breaker counts it and a retry goes elsewhere.
func roundTrip(base http.RoundTripper) client.Factory {
	return func(inst discovery.Instance) (endpoint.Endpoint, io.Closer, error) {
		return func(ctx context.Context, request any) (any, error) {
			r := request.(*http.Request).Clone(ctx)
			r.URL.Host, r.Host = inst.HostPort(), ""
			resp, err := base.RoundTrip(r)
			if err != nil {
				return nil, fault.Wrap(err, fault.Unavailable, fmt.Sprintf("%s at %s did not answer", inst.Service, inst.HostPort()))
			}
			if resp.StatusCode >= http.StatusInternalServerError {
				_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
				resp.Body.Close()
				return nil, fault.New(fault.FromHTTPStatus(resp.StatusCode), fmt.Sprintf("%s at %s answered %s", inst.Service, inst.HostPort(), resp.Status))
			}
			return resp, nil
		}, nil, nil
	}
}
