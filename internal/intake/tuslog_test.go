package intake

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

func TestTusLogger(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
	tl := newTusLogger(log).With("id", "abc").WithGroup("g")
	tl.Info("RequestIncoming", "method", "PATCH") // demoted to Debug: dropped
	tl.Error("InternalServerError", "message", "disk full")
	out := buf.String()
	if strings.Contains(out, "RequestIncoming") {
		t.Errorf("tusd's Info record was logged at Info: %s", out)
	}
	for _, want := range []string{"level=ERROR", `msg="tus: InternalServerError"`, "component=intake.tus", "id=abc", `g.message="disk full"`} {
		if !strings.Contains(out, want) {
			t.Errorf("log output %q lacks %s", out, want)
		}
	}
}
