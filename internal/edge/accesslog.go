package edge

import (
	"bufio"
	"context"
	"io"
	"net/netip"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/ospreyvideo/osprey/internal/edge/signedurl"
)

// accessLog writes one JSON object per line, buffered and flushed every
// second (as nginx's access_log buffer=... flush=1s), so that logging costs
// no write system call per request.
//
// Fields: time (RFC 3339, ms), client, method, host, path, query (without
// signing parameters and CMCD), status, bytes, duration_ms, ttfb_ms, cache
// (hit, miss, pass, revalidated, updating, stale, bypass, denied, error,
// rejected), tier (memory or disk, on hits), origin and origin_status (when
// one was asked), collapsed (joined another viewer's origin request), range,
// user_agent, detail (why denied or failed), cmcd (an object of the CMCD
// keys, numbers as numbers).
type accessLog struct {
	mu  sync.Mutex
	w   *bufio.Writer
	buf []byte
	// The formatted second of the last line ("2026-11-21T20:08:05."), so
	// that only the milliseconds are formatted per line.
	sec     int64
	secText []byte
}

func newAccessLog(w io.Writer) *accessLog {
	return &accessLog{w: bufio.NewWriterSize(w, 64<<10)}
}

func (a *accessLog) flushLoop(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			a.flush()
		}
	}
}

func (a *accessLog) flush() {
	a.mu.Lock()
	a.w.Flush()
	a.mu.Unlock()
}

func (a *accessLog) write(rec *record, client netip.Addr, elapsed time.Duration) {
	r := rec.r
	a.mu.Lock()
	defer a.mu.Unlock()
	b := a.buf[:0]
	b = append(b, `{"time":"`...)
	b = a.appendTime(b, rec.start)
	b = append(b, `","client":`...)
	b = appendJSONString(b, client.String())
	b = append(b, `,"method":`...)
	b = appendJSONString(b, r.Method)
	b = append(b, `,"host":`...)
	b = appendJSONString(b, r.Host)
	b = append(b, `,"path":`...)
	b = appendJSONString(b, r.URL.EscapedPath())
	if q := signedurl.StripQuery(cmcdQueryRemoved(r.URL.RawQuery)); q != "" {
		b = append(b, `,"query":`...)
		b = appendJSONString(b, q)
	}
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(rec.status), 10)
	b = append(b, `,"bytes":`...)
	b = strconv.AppendInt(b, rec.bytes, 10)
	b = append(b, `,"duration_ms":`...)
	b = strconv.AppendFloat(b, float64(elapsed.Microseconds())/1000, 'f', 3, 64)
	b = append(b, `,"ttfb_ms":`...)
	b = strconv.AppendFloat(b, float64(rec.firstByte.Microseconds())/1000, 'f', 3, 64)
	b = append(b, `,"cache":`...)
	b = appendJSONString(b, rec.cache)
	if rec.tier != "" {
		b = append(b, `,"tier":`...)
		b = appendJSONString(b, rec.tier)
	}
	if rec.origin != "" {
		b = append(b, `,"origin":`...)
		b = appendJSONString(b, rec.origin)
		if rec.originStatus != 0 {
			b = append(b, `,"origin_status":`...)
			b = strconv.AppendInt(b, int64(rec.originStatus), 10)
		}
	}
	if rec.collapsed {
		b = append(b, `,"collapsed":true`...)
	}
	if rec.broken {
		b = append(b, `,"broken":true`...)
	}
	if v := r.Header.Get("Range"); v != "" {
		b = append(b, `,"range":`...)
		b = appendJSONString(b, v)
	}
	if v := r.UserAgent(); v != "" {
		b = append(b, `,"user_agent":`...)
		b = appendJSONString(b, v)
	}
	if rec.detail != "" {
		b = append(b, `,"detail":`...)
		b = appendJSONString(b, rec.detail)
	}
	if fields := parseCMCD(r); len(fields) > 0 {
		b = append(b, `,"cmcd":{`...)
		for i, f := range fields {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, f.key)
			b = append(b, ':')
			b = append(b, f.value...)
		}
		b = append(b, '}')
	}
	b = append(b, "}\n"...)
	a.w.Write(b)
	a.buf = b
}

// appendTime appends t as RFC 3339 in UTC with milliseconds.
func (a *accessLog) appendTime(b []byte, t time.Time) []byte {
	t = t.UTC()
	if sec := t.Unix(); sec != a.sec || a.secText == nil {
		a.sec = sec
		a.secText = t.Truncate(time.Second).AppendFormat(a.secText[:0], "2006-01-02T15:04:05.")
	}
	b = append(b, a.secText...)
	ms := t.Nanosecond() / int(time.Millisecond)
	b = append(b, byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10), 'Z')
	return b
}

// appendJSONString appends s as a JSON string; invalid UTF-8 becomes U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c < 0x20 || c == 0x7f:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}
