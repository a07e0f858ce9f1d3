package rtmp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"

	"github.com/bluenviron/gortmplib"

	"github.com/ospreyvideo/osprey/internal/ingest"
	"github.com/ospreyvideo/osprey/internal/ingest/front"
)

// session serves one TCP connection, from the handshake to the end of its
// publication.
type session struct {
	s    *Server
	fc   *front.Conn // the door's entry: deadlines and the reason it cut
	nc   net.Conn
	log  *slog.Logger
	born time.Time

	pub   ingest.Publication // set once the handler accepted the publisher
	ended bool
	feed  *ingest.Feed
	// first error returned by the feed inside a reader callback, which
	// cannot return one itself
	writeErr error
}

func (ss *session) run() {
	ss.end(ss.serve())
}

// end closes the publication, once, and logs how the session ended.
func (ss *session) end(cause error) {
	if ss.pub == nil || ss.ended {
		return
	}
	ss.ended = true
	ss.pub.Close(cause)
	attrs := []any{"duration", time.Since(ss.born).Round(time.Millisecond)}
	if ss.feed != nil {
		st := ss.feed.Stats()
		attrs = append(attrs, "units", st.Delivered, "dropped", st.Dropped, "discontinuities", st.Discontinuities)
	}
	if cause == nil {
		ss.log.Info("publisher left", attrs...)
		return
	}
	ss.log.Warn("publication ended", append(attrs, "cause", cause)...)
}

// serve runs the connection and returns the publication's end cause.
func (ss *session) serve() error {
	cfg := ss.s.cfg
	// until the publish command is accepted, the door's handshake deadline
	// closes the connection
	sc := &gortmplib.ServerConn{RW: newConn(ss.nc, cfg.WriteTimeout)}

	if err := sc.Initialize(); err != nil {
		ss.log.Debug("dropped connection during handshake", "err", ss.dropCause(err))
		return nil
	}
	if err := sc.AcceptConn(); err != nil {
		ss.log.Debug("dropped connection before publish", "err", ss.dropCause(err))
		return nil
	}

	if !sc.Publish {
		refuse(sc, "NetStream.Play.Failed", "Osprey does not serve RTMP playback; watch over HLS or DASH")
		ss.log.Warn("refused RTMP play request", "reason", "Osprey does not serve playback over RTMP")
		return nil
	}
	key, err := streamKey(sc.URL)
	if err != nil {
		refuse(sc, "NetStream.Publish.BadName", err.Error())
		ss.log.Warn("refused publisher", "reason", err)
		return nil
	}
	ss.log = ss.log.With("key", ingest.RedactKey(key))

	ctx, cancel := context.WithTimeout(ss.fc.Context(), cfg.AuthTimeout)
	pub, err := ss.s.h.Publish(ctx, ingest.Request{Protocol: "rtmp", StreamKey: key, RemoteAddr: ss.nc.RemoteAddr()})
	cancel()
	if err != nil {
		code, desc := refusal(err)
		refuse(sc, code, desc)
		ss.log.Warn("refused publisher", "reason", err)
		return nil
	}
	ss.pub = pub

	if err := sc.AcceptAction(); err != nil {
		return fmt.Errorf("accepting publish: %w", ss.dropCause(err))
	}
	if err := ss.fc.Established(); err != nil {
		return err
	}
	ss.log.Info("publisher connected")

	startBy := time.Now().Add(cfg.StartTimeout)
	_ = ss.nc.SetReadDeadline(startBy) // track detection reads ~2 s of media first
	mc := &msgConn{sc: sc, log: ss.log}
	r := &gortmplib.Reader{Conn: mc}
	if err := r.Initialize(); err != nil {
		if cause := ss.classify(err); cause != nil {
			return fmt.Errorf("reading tracks: %w", cause)
		}
		return nil
	}
	if err := ss.setup(r, mc); err != nil {
		return err
	}
	if err := ss.feed.TryStart(); err != nil {
		return err
	}
	ss.log.Info("publishing", "tracks", describe(ss.feed.Tracks()))

	// from now on the door's idle deadline watches the connection
	_ = ss.nc.SetReadDeadline(time.Time{})
	for {
		err := r.Read()
		if ss.writeErr != nil {
			return ss.writeErr
		}
		if err != nil {
			if cause := ss.classify(err); cause != nil {
				return fmt.Errorf("reading from publisher: %w", cause)
			}
			return nil
		}
		if !ss.feed.Flowing() && time.Now().After(startBy) {
			return fmt.Errorf("%w: no video key frame within %s", ingest.ErrTimeout, cfg.StartTimeout)
		}
	}
}

// classify turns a read error into a publication end cause: nil when the
// publisher left normally.
func (ss *session) classify(err error) error {
	if cause := ss.fc.Cause(); cause != nil {
		return cause // the door cut the connection: deadline or Close
	}
	switch {
	case errors.Is(err, errPublisherLeft), errors.Is(err, io.EOF):
		return nil
	case ss.s.isClosed():
		return ingest.ErrServerClosed
	case errors.Is(err, os.ErrDeadlineExceeded):
		return fmt.Errorf("%w: %w", ingest.ErrTimeout, err)
	case strings.HasPrefix(err.Error(), "unsupported "):
		// gortmplib's message decoder refuses unknown codecs and message
		// types with plain errors ("unsupported video codec: 4")
		return fmt.Errorf("%w: %w", ingest.ErrUnsupported, err)
	}
	return err
}

// dropCause is why a connection was dropped before it published: the
// door's reason when it cut it, err otherwise.
func (ss *session) dropCause(err error) error {
	if cause := ss.fc.Cause(); cause != nil {
		return cause
	}
	return err
}

// refusal picks the onStatus code and description sent to a refused publisher.
func refusal(err error) (code, desc string) {
	switch {
	case errors.Is(err, ingest.ErrUnknownKey):
		return "NetStream.Publish.Denied", "unknown stream key"
	case errors.Is(err, ingest.ErrBusy):
		return "NetStream.Publish.BadName", "this channel already has a publisher"
	}
	return "NetStream.Publish.Denied", "publish refused"
}
