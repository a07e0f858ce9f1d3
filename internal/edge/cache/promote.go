package cache

import (
	"errors"
	"fmt"
	"os"

	"github.com/maypok86/otter/v2"
)

// startPromote promotes the disk entry e to memory: inline for a small body
// (it returns the memory entry), else by the promoter goroutine (nil). A key
// already being promoted is left alone.
func (c *Cache) startPromote(e *Entry) *Entry {
	key := e.Meta.Key
	c.promoteMu.Lock()
	if _, busy := c.promoting[key]; busy {
		c.promoteMu.Unlock()
		return nil
	}
	c.promoting[key] = struct{}{}
	c.promoteMu.Unlock()
	if e.Meta.Size <= inlinePromoteMax {
		defer c.donePromote(key)
		return c.promote(e)
	}
	select {
	case c.promoteC <- e:
	default:
		c.donePromote(key)
	}
	return nil
}

func (c *Cache) donePromote(key string) {
	c.promoteMu.Lock()
	delete(c.promoting, key)
	c.promoteMu.Unlock()
}

func (c *Cache) promoter() {
	defer c.wg.Done()
	for {
		select {
		case e := <-c.promoteC:
			c.promote(e)
			c.donePromote(e.Meta.Key)
		case <-c.stop:
			return
		}
	}
}

// promote reads the body of the disk entry e and stores it in memory, unless
// memory has the key already; it returns the key's memory entry, or nil.
func (c *Cache) promote(e *Entry) *Entry {
	body, err := readBody(e)
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			c.log.Warn("promoting to memory", "err", err)
		}
		return nil
	}
	m := &Entry{Meta: e.Meta, Tier: TierMemory, body: body}
	if !c.mem.fits(m) {
		return nil
	}
	var got *Entry
	// Under the disk entry's bucket lock: a Put or Delete of the key, which
	// removes the disk entry before it touches memory, either comes after
	// (and replaces or removes what this adds) or before (and then e is no
	// longer indexed, and nothing is added).
	c.disk.idx.ComputeIfPresent(e.Meta.Key, func(cur *Entry) (*Entry, otter.ComputeOp) {
		if cur == e {
			got = c.mem.addIfAbsent(m)
		}
		return cur, otter.CancelOp
	})
	c.mem.settle()
	return got
}

// readBody reads the whole body of a disk entry.
func readBody(e *Entry) ([]byte, error) {
	b, err := e.Open()
	if err != nil {
		return nil, err
	}
	defer b.Close()
	body := make([]byte, e.Meta.Size)
	if _, err := b.ReadAt(body, 0); err != nil && e.Meta.Size > 0 {
		return nil, fmt.Errorf("reading cached body of %q: %w", e.Meta.Key, err)
	}
	return body, nil
}
