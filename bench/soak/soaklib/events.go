package soaklib

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// events counts errors, keeps the first few, and writes progress lines.
type events struct {
	start time.Time
	out   io.Writer

	mu     sync.Mutex
	errors int
	first  []string
}

const keptErrors = 10

func (e *events) errorf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	e.mu.Lock()
	e.errors++
	if len(e.first) < keptErrors {
		e.first = append(e.first, msg)
	}
	e.mu.Unlock()
	e.logf("ERROR: %s", msg)
}

func (e *events) logf(format string, args ...any) {
	if e.out == nil {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	fmt.Fprintf(e.out, "soak %6.1fs  %s\n", time.Since(e.start).Seconds(), fmt.Sprintf(format, args...))
}

func (e *events) counts() (int, []string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.errors, append([]string(nil), e.first...)
}
