package benchkit

import (
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestMachineBusyCountsWork(t *testing.T) {
	before := MachineBusy()
	if before <= 0 {
		t.Fatalf("MachineBusy() = %v, want the busy time since boot", before)
	}
	// Spin until the kernel's 10 ms ticks have counted some of it.
	deadline := time.Now().Add(10 * time.Second)
	for MachineBusy()-before < 50*time.Millisecond {
		if time.Now().After(deadline) {
			t.Fatalf("MachineBusy() grew by %v in 10 s of spinning", MachineBusy()-before)
		}
		for i := 0; i < 1e6; i++ {
			_ = strings.Repeat("x", i%7)
		}
	}
}

func TestReportHead(t *testing.T) {
	if _, err := exec.LookPath("wrk"); err != nil {
		t.Fatal("this test needs wrk: `sudo apt-get install -y wrk`")
	}
	var b strings.Builder
	ReportHead(&b, "sometool", ToolVersion("wrk", "-v"), "versitygw v1.8.0")
	out := b.String()
	for _, want := range []string{"\n## sometool, 20", " UTC\n\nMachine: ", " × ", "Linux ", ". wrk ", ", versitygw v1.8.0, " + runtime.Version() + ".\n\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("report head %q lacks %q", out, want)
		}
	}
	if strings.Contains(out, "[epoll]") || strings.Contains(out, "Copyright") {
		t.Errorf("report head %q keeps wrk's build details", out)
	}
}
