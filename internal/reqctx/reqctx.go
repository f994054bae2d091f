// Package reqctx holds the context key for request IDs, so that
// [github.com/tailorkit/tailor/requestid] and the transports share it. A
// transport's own context type may answer Value(Key{}) with a *string it
// already owns, which spares the allocation a string in a context costs.
package reqctx

import "context"

// Key is the context key of the request ID. Its value is a string or a
// *string.
type Key struct{}

// WithID returns ctx carrying id.
func WithID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, Key{}, id)
}

// ID returns the ID in ctx, or "".
func ID(ctx context.Context) string {
	switch v := ctx.Value(Key{}).(type) {
	case string:
		return v
	case *string:
		return *v
	}
	return ""
}
