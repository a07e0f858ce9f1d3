package intake

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"
)

const (
	testSettle = 300 * time.Millisecond
	testPoll   = 50 * time.Millisecond
)

// runInbox starts RunInbox and stops it (waiting for it) at cleanup.
func runInbox(t *testing.T, s *Service) (inbox string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.RunInbox(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("RunInbox: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("RunInbox did not return after its context was cancelled")
		}
	})
	inbox = filepath.Join(s.cfg.DataDir, "inbox")
	eventually(t, 2*time.Second, "the inbox folder", func() bool {
		_, err := os.Stat(filepath.Join(inbox, "failed"))
		return err == nil
	})
	return inbox
}

func newInboxService(t *testing.T) (*Service, *fakeCreator) {
	return newTestService(t, func(c *Config) { c.InboxSettle = testSettle; c.InboxPoll = testPoll })
}

func writeFile(t *testing.T, p string, data []byte) {
	t.Helper()
	if err := os.WriteFile(p, data, 0o640); err != nil {
		t.Fatal(err)
	}
}

func TestInboxTakesSettledFiles(t *testing.T) {
	t.Parallel()
	s, fc := newInboxService(t)
	var lastScan atomic.Int64 // UnixNano of the latest finished scan
	s.afterScan = func(at time.Time) { lastScan.Store(at.UnixNano()) }
	inbox := runInbox(t, s)
	data := randomBytes(t, 64<<10)
	ignored := []string{".hidden.mp4", "upload.mp4.part", "x.TMP", "y.crdownload", ".~lock.a.mp4#", "backup.mp4~"}
	for _, name := range ignored {
		writeFile(t, filepath.Join(inbox, name), data)
	}
	if err := os.Mkdir(filepath.Join(inbox, "sub"), 0o750); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(inbox, "empty.mp4"), nil)
	writeFile(t, filepath.Join(inbox, "Concert 2024.mp4"), data)

	eventually(t, 5*time.Second, "the inbox file to be taken", func() bool { return len(fc.files()) > 0 })
	f := wantOnlyCreated(t, fc, data)
	if f.Filename != "Concert 2024.mp4" || f.Origin != "inbox" || filepath.Dir(f.Path) != uploadsDir(s) {
		t.Fatalf("File = %+v", f)
	}
	// A scan long enough after the files arrived that it would have taken
	// any of them: nothing else is taken.
	after := time.Now().Add(2 * testSettle).UnixNano()
	eventually(t, 10*time.Second, "a later inbox scan", func() bool { return lastScan.Load() >= after })
	if n := len(fc.files()); n != 1 {
		t.Fatalf("Creator got %d files, want 1", n)
	}
	want := append(slices.Clone(ignored), "empty.mp4", "failed", "sub")
	slices.Sort(want)
	if got := dirNames(t, inbox); !slices.Equal(got, want) {
		t.Fatalf("inbox holds %v, want %v", got, want)
	}
	if names := dirNames(t, uploadsDir(s)); len(names) != 0 {
		t.Fatalf("uploads folder holds %v", names)
	}
}

func TestInboxWaitsForAGrowingFile(t *testing.T) {
	t.Parallel()
	const settle = 800 * time.Millisecond // far above the 100 ms between writes
	s, fc := newTestService(t, func(c *Config) { c.InboxSettle = settle; c.InboxPoll = testPoll })
	inbox := runInbox(t, s)
	p := filepath.Join(inbox, "growing.mov")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	var all []byte
	for i := 0; i < 15; i++ { // 1.5 s of writing, in steps much shorter than the settle time
		chunk := randomBytes(t, 1000)
		if _, err := f.Write(chunk); err != nil {
			t.Fatal(err)
		}
		all = append(all, chunk...)
		time.Sleep(100 * time.Millisecond)
		if n := len(fc.files()); n != 0 {
			t.Fatalf("a file still being written was taken after %d writes", i+1)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "the file to be taken", func() bool { return len(fc.files()) > 0 })
	wantOnlyCreated(t, fc, all)
}

func TestInboxCreatorFailure(t *testing.T) {
	t.Parallel()
	for _, keep := range []bool{false, true} {
		name := "creator removes the file"
		if keep {
			name = "creator leaves the file"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s, fc := newInboxService(t)
			fc.setErr(errors.New("not a video"), keep)
			inbox := runInbox(t, s)
			data := randomBytes(t, 5000)
			writeFile(t, filepath.Join(inbox, "broken.mp4"), data)
			writeFile(t, filepath.Join(inbox, "failed", "broken.mp4"), []byte("an older failure"))

			failed := filepath.Join(inbox, "failed", "broken-1.mp4")
			eventually(t, 5*time.Second, "the file in the failed folder", func() bool {
				_, err := os.Stat(failed)
				return err == nil
			})
			got, err := os.ReadFile(failed)
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("failed file differs from the original (err %v)", err)
			}
			if got := dirNames(t, inbox); !slices.Equal(got, []string{"failed"}) {
				t.Fatalf("inbox holds %v", got)
			}
			if names := dirNames(t, uploadsDir(s)); len(names) != 0 {
				t.Fatalf("uploads folder holds %v", names)
			}
		})
	}
}

func TestInboxTooLarge(t *testing.T) {
	t.Parallel()
	s, fc := newTestService(t, func(c *Config) { c.InboxSettle = testSettle; c.InboxPoll = testPoll; c.MaxSize = 100 })
	inbox := runInbox(t, s)
	writeFile(t, filepath.Join(inbox, "huge.mp4"), make([]byte, 101))
	eventually(t, 5*time.Second, "the file in the failed folder", func() bool {
		_, err := os.Stat(filepath.Join(inbox, "failed", "huge.mp4"))
		return err == nil
	})
	if len(fc.files()) != 0 {
		t.Fatal("a file over the limit reached the Creator")
	}
}

func TestSkipInboxName(t *testing.T) {
	t.Parallel()
	for name, skip := range map[string]bool{
		"a.mp4": false, "My Video (1).MOV": false, "a.partition.mp4": false,
		".a.mp4": true, "a.mp4.part": true, "a.mp4.PART": true, "a.tmp": true, "~$doc": true,
		"a.mp4~": true, "a.~1~": true, "a.mp4.crdownload": true, "a.filepart": true,
	} {
		if got := skipInboxName(name); got != skip {
			t.Errorf("skipInboxName(%q) = %v, want %v", name, got, skip)
		}
	}
}
