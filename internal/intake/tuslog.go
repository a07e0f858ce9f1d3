package intake

import (
	"context"
	"log/slog"
	"slices"

	xslog "golang.org/x/exp/slog"
)

// newTusLogger adapts our logger to the golang.org/x/exp/slog logger tusd
// wants. tusd logs every request and chunk at Info; those become Debug.
func newTusLogger(log *slog.Logger) *xslog.Logger {
	return xslog.New(&tusLogHandler{log: log.With("component", "intake.tus")})
}

type tusLogHandler struct {
	log    *slog.Logger
	attrs  []slog.Attr
	prefix string // group names joined by ".", with a trailing "."
}

func tusLevel(l xslog.Level) slog.Level {
	if l < xslog.LevelWarn {
		return slog.LevelDebug
	}
	return slog.Level(l)
}

func (h *tusLogHandler) Enabled(ctx context.Context, l xslog.Level) bool {
	return h.log.Enabled(ctx, tusLevel(l))
}

func (h *tusLogHandler) Handle(ctx context.Context, r xslog.Record) error {
	attrs := slices.Clone(h.attrs)
	r.Attrs(func(a xslog.Attr) bool {
		attrs = append(attrs, h.convert(a))
		return true
	})
	h.log.LogAttrs(ctx, tusLevel(r.Level), "tus: "+r.Message, attrs...)
	return nil
}

func (h *tusLogHandler) WithAttrs(attrs []xslog.Attr) xslog.Handler {
	h2 := *h
	h2.attrs = slices.Clone(h.attrs)
	for _, a := range attrs {
		h2.attrs = append(h2.attrs, h.convert(a))
	}
	return &h2
}

func (h *tusLogHandler) WithGroup(name string) xslog.Handler {
	if name == "" {
		return h
	}
	h2 := *h
	h2.prefix += name + "."
	return &h2
}

func (h *tusLogHandler) convert(a xslog.Attr) slog.Attr {
	v := a.Value.Resolve()
	if v.Kind() == xslog.KindGroup {
		group := v.Group()
		args := make([]any, 0, len(group))
		for _, g := range group {
			args = append(args, (&tusLogHandler{}).convert(g))
		}
		return slog.Group(h.prefix+a.Key, args...)
	}
	return slog.Any(h.prefix+a.Key, v.Any())
}
