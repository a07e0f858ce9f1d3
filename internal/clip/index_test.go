package clip

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/storage/fs"
)

// TestIndexSpan reads spans from a DVR index of two chunks (sealed + open,
// or both sealed once the session ended).
func TestIndexSpan(t *testing.T) {
	for _, sealed := range []bool{false, true} {
		t.Run(fmt.Sprintf("sealed=%v", sealed), func(t *testing.T) {
			store, _, v := liveStore(t)
			writeIndex(t, store, v, 4, sealed)
			ctx := context.Background()
			x := Index{Store: store}
			from, _ := segmentSpan(v.Window[0])
			_, to := segmentSpan(v.Window[len(v.Window)-1])
			s3, _ := segmentSpan(v.Window[3])
			_, e4 := segmentSpan(v.Window[4])

			// A span across the two chunks.
			got, err := x.Span(ctx, LivePrefix(testChannel), s3.Add(time.Millisecond), e4)
			if err != nil {
				t.Fatal(err)
			}
			if len(got.Window) != 2 || got.Window[0].N != 103 || got.Window[1].N != 104 || got.Dir != testDir {
				t.Fatalf("span: dir %q, %d segments from %d", got.Dir, len(got.Window), got.Window[0].N)
			}
			if got.Rends[videoName] == nil || len(got.Tracks) != 2 {
				t.Fatalf("span lost the renditions: %+v", got.Tracks)
			}
			// The whole window.
			if got, err = x.Span(ctx, LivePrefix(testChannel), from, to); err != nil || len(got.Window) != 6 {
				t.Fatalf("whole window: %v, %v", got, err)
			}
			// Outside: the error names the window.
			for _, span := range [][2]time.Time{{from.Add(-time.Second), to}, {from, to.Add(time.Second)}, {to.Add(time.Hour), to.Add(2 * time.Hour)}} {
				_, err := x.Span(ctx, LivePrefix(testChannel), span[0], span[1])
				var we *WindowError
				if !errors.As(err, &we) || !we.From.Equal(from) || !we.To.Equal(to) {
					t.Fatalf("span %v: error %v, want a WindowError [%v, %v]", span, err, from, to)
				}
			}
			// The whole session, for recording.
			if got, err = x.Session(ctx, LivePrefix(testChannel), ""); err != nil || got.Dir != testDir {
				t.Fatalf("newest session: %v, %v", got, err)
			}
			if got, err = x.Session(ctx, LivePrefix(testChannel), got.Dir); err != nil || len(got.Window) != 6 {
				t.Fatalf("Session: %v, %v", got, err)
			}
		})
	}
}

func TestIndexNeverLive(t *testing.T) {
	store, err := fs.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	_, err = Index{Store: store}.Span(context.Background(), LivePrefix("ch_none"), time.Now().Add(-time.Minute), time.Now())
	if !errors.Is(err, ErrNeverLive) {
		t.Fatalf("Span of a channel without an index: %v, want ErrNeverLive", err)
	}
}
