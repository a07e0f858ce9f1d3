package s3_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/storage/s3"
	"github.com/ospreyvideo/osprey/internal/storage/s3/s3test"
)

// TestRetriesOutlastAnOutage: after an outage long enough to have drained
// the SDK's default client-wide retry quota (500 tokens, 14 per retry of a
// 5xx: 30 writes at once, 90 refused attempts), a write whose first
// attempt meets a transient 500 is still retried and succeeds. With the
// quota it would fail at once ("retry quota exceeded") until enough
// successes had refilled it.
func TestRetriesOutlastAnOutage(t *testing.T) {
	srv := s3test.Start(t)
	fault := srv.StartFault(t)
	cfg := srv.Config(srv.NewBucket(t))
	cfg.Endpoint = fault.URL
	ctx := context.Background()
	st, err := s3.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	// The outage: every attempt refused, 30 writes at once (as many
	// channels and uploads of one node would).
	fault.Refuse(http.StatusInternalServerError, -1)
	var wg sync.WaitGroup
	var succeeded atomic.Int64
	for i := range 30 {
		wg.Go(func() {
			wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			if st.Put(wctx, fmt.Sprintf("live/ch/%d.m4s", i), []byte("segment")) == nil {
				succeeded.Add(1)
			}
		})
	}
	wg.Wait()
	if succeeded.Load() > 0 {
		t.Fatalf("%d writes succeeded during the outage", succeeded.Load())
	}
	t.Logf("%d attempts refused during the outage", fault.Refused())
	if fault.Refused() < 60 {
		t.Fatalf("only %d attempts refused: the outage did not exercise retries", fault.Refused())
	}
	// Back, with one transient error: the write must be retried.
	fault.Refuse(http.StatusInternalServerError, 1)
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := st.Put(wctx, "live/ch/after.m4s", []byte("segment")); err != nil {
		t.Fatalf("a write meeting one transient 500 after the outage: %v", err)
	}
}
