package observability

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"

	"go.opentelemetry.io/otel/trace"

	"github.com/tailorkit/tailor/requestid"
)

// The environment variables [LogConfigFromEnv] reads.
const (
	EnvLogLevel  = "TAILOR_LOG_LEVEL"  // debug, info (default), warn or error
	EnvLogFormat = "TAILOR_LOG_FORMAT" // json (default) or text
	EnvAccessLog = "TAILOR_ACCESS_LOG" // true to log every server request; default false
)

// LogConfig configures [NewLogger]. The zero value logs JSON at level Info
// without an access log.
type LogConfig struct {
	// Level is the least level logged. Default Info.
	Level slog.Level
	// Text selects slog's text format, easier to read in a terminal.
	// Default false: JSON, one object per line.
	Text bool
	// AccessLog asks servers to log every request (see
	// [Config.AccessLog]). NewLogger does not read it; it is here so one
	// environment lookup fills both. Default false.
	AccessLog bool
}

// LogConfigFromEnv reads [EnvLogLevel], [EnvLogFormat] and [EnvAccessLog]
// through lookupEnv (pass [os.LookupEnv]). Unset or empty variables keep
// their defaults; a value it does not know is an error that names the
// variable, the value and the values it takes.
func LogConfigFromEnv(lookupEnv func(string) (string, bool)) (LogConfig, error) {
	var c LogConfig
	if v, ok := lookupEnv(EnvLogLevel); ok && v != "" {
		if err := c.Level.UnmarshalText([]byte(v)); err != nil {
			return c, fmt.Errorf("observability: %s=%q is not a log level; use debug, info, warn or error", EnvLogLevel, v)
		}
	}
	if v, ok := lookupEnv(EnvLogFormat); ok && v != "" {
		switch strings.ToLower(v) {
		case "json":
		case "text":
			c.Text = true
		default:
			return c, fmt.Errorf("observability: %s=%q is not a log format; use json or text", EnvLogFormat, v)
		}
	}
	if v, ok := lookupEnv(EnvAccessLog); ok && v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return c, fmt.Errorf("observability: %s=%q is not a boolean; use true or false", EnvAccessLog, v)
		}
		c.AccessLog = b
	}
	return c, nil
}

// NewLogger returns a logger that writes to w as cfg says, through
// [NewLogHandler], so records logged with a request's context name its
// trace, span and request ID.
func NewLogger(w io.Writer, cfg LogConfig) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.Level}
	var h slog.Handler
	if cfg.Text {
		h = slog.NewTextHandler(w, opts)
	} else {
		h = slog.NewJSONHandler(w, opts)
	}
	return slog.New(NewLogHandler(h))
}

// NewLogHandler returns a handler that adds, to every record logged with
// a context (slog's InfoContext and the like), the attributes trace_id and
// span_id of the context's span when it has a valid one, and request_id
// when the context carries one and the record does not already say it.
// Records then go to next. A handler that already does this is returned
// as it is.
//
// The attributes are added to the record, so under [slog.Logger.WithGroup]
// they land in the group.
func NewLogHandler(next slog.Handler) slog.Handler {
	if _, ok := next.(*logHandler); ok {
		return next
	}
	return &logHandler{next: next}
}

type logHandler struct{ next slog.Handler }

func (h *logHandler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

func (h *logHandler) Handle(ctx context.Context, r slog.Record) error {
	if ctx == nil {
		return h.next.Handle(ctx, r)
	}
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		var tid [32]byte
		var sid [16]byte
		t, s := sc.TraceID(), sc.SpanID()
		hex.Encode(tid[:], t[:])
		hex.Encode(sid[:], s[:])
		r.AddAttrs(slog.String("trace_id", string(tid[:])), slog.String("span_id", string(sid[:])))
	}
	if id := requestid.FromContext(ctx); id != "" {
		has := false
		r.Attrs(func(a slog.Attr) bool {
			has = a.Key == "request_id"
			return !has
		})
		if !has {
			r.AddAttrs(slog.String("request_id", id))
		}
	}
	return h.next.Handle(ctx, r)
}

func (h *logHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &logHandler{next: h.next.WithAttrs(attrs)}
}

func (h *logHandler) WithGroup(name string) slog.Handler {
	return &logHandler{next: h.next.WithGroup(name)}
}
