package rtmp

import (
	"bufio"
	"errors"
	"log/slog"
	"net"
	"time"

	"github.com/bluenviron/gortmplib"
	"github.com/bluenviron/gortmplib/pkg/amf0"
	"github.com/bluenviron/gortmplib/pkg/message"
)

// errPublisherLeft: the publisher ended its stream with a command.
var errPublisherLeft = errors.New("publisher ended the stream")

// msgConn sits between gortmplib's Reader and the server connection. It
// turns the end-of-stream commands (which the Reader ignores) into
// errPublisherLeft, drops media of a kind that was not announced during
// track detection (which the Reader would treat as fatal).
type msgConn struct {
	sc  gortmplib.Conn // the server connection (a fake in fuzz tests)
	log *slog.Logger

	dropVideo, dropAudio bool
	warnedLate           bool
}

var _ gortmplib.Conn = (*msgConn)(nil)

func (c *msgConn) BytesReceived() uint64           { return c.sc.BytesReceived() }
func (c *msgConn) BytesSent() uint64               { return c.sc.BytesSent() }
func (c *msgConn) Write(msg message.Message) error { return c.sc.Write(msg) }

func (c *msgConn) Read() (message.Message, error) {
	for {
		msg, err := c.sc.Read()
		if err != nil {
			return nil, err
		}
		switch m := msg.(type) {
		case *message.CommandAMF0:
			switch m.Name {
			case "deleteStream", "closeStream", "FCUnpublish":
				return nil, errPublisherLeft
			}
		case *message.Video, *message.VideoExSequenceStart, *message.VideoExCodedFrames,
			*message.VideoExFramesX, *message.VideoExMultitrack:
			if c.dropVideo {
				c.warnLate("video")
				continue
			}
		case *message.Audio, *message.AudioExSequenceStart, *message.AudioExCodedFrames,
			*message.AudioExMultitrack:
			if c.dropAudio {
				c.warnLate("audio")
				continue
			}
		}
		return msg, nil
	}
}

func (c *msgConn) warnLate(kind string) {
	if !c.warnedLate {
		c.warnedLate = true
		c.log.Warn("ignoring media that started after track detection", "kind", kind)
	}
}

// writeDeadlineConn bounds every write, so a publisher that stops reading
// cannot block the session. It also reads through a large buffer: gortmplib
// reads in 4 KiB steps, and a socket read is a system call.
type writeDeadlineConn struct {
	net.Conn
	timeout time.Duration
	br      *bufio.Reader
}

func newConn(nc net.Conn, writeTimeout time.Duration) *writeDeadlineConn {
	return &writeDeadlineConn{Conn: nc, timeout: writeTimeout, br: bufio.NewReaderSize(nc, 64*1024)}
}

func (c *writeDeadlineConn) Read(p []byte) (int, error) { return c.br.Read(p) }

func (c *writeDeadlineConn) Write(p []byte) (int, error) {
	_ = c.Conn.SetWriteDeadline(time.Now().Add(c.timeout))
	return c.Conn.Write(p)
}

// refuse tells the publisher why its play or publish command failed. The
// connection is closed right after, so errors are moot.
func refuse(sc *gortmplib.ServerConn, code, desc string) {
	_ = sc.Write(&message.CommandAMF0{
		ChunkStreamID:   5,
		MessageStreamID: 0x1000000,
		Name:            "onStatus",
		Arguments: []any{
			nil,
			amf0.Object{
				{Key: "level", Value: "error"},
				{Key: "code", Value: code},
				{Key: "description", Value: desc},
			},
		},
	})
}
