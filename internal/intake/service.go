package intake

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"time"

	tus "github.com/tus/tusd/v2/pkg/handler"

	"github.com/ospreyvideo/osprey/internal/storage"
	"github.com/ospreyvideo/osprey/internal/storage/s3"
)

// Defaults for Config's zero values.
const (
	DefaultMaxSize      = 20 << 30 // 20 GiB
	DefaultInboxSettle  = 2 * time.Second
	DefaultInboxPoll    = time.Second
	DefaultFetchTimeout = 6 * time.Hour
	DefaultFetchIdle    = time.Minute
	DefaultUploadExpiry = 24 * time.Hour
)

// Config configures a Service.
type Config struct {
	// DataDir is Osprey's data folder. Files arrive in DataDir/uploads; the
	// watch folder is DataDir/inbox. Required.
	DataDir string
	// MaxSize is the largest source file accepted, in bytes; 0 means
	// DefaultMaxSize.
	MaxSize int64
	// AllowPrivateURLs lets FromURL fetch from loopback, private,
	// link-local and other non-public addresses.
	AllowPrivateURLs bool
	// Creator receives every file that has fully arrived. Required.
	Creator Creator
	// Storage is where Osprey stores media. nil or a storage.FileStore (a
	// local folder): tus uploads are files in DataDir/uploads, as are
	// multipart posts and URL downloads. An *s3.Store: unfinished tus
	// uploads are kept in its bucket under "uploads/" (tusd's s3store), so
	// an upload begun through one node is resumed through any other that
	// shares the bucket, and a finished upload is copied server-side into
	// the Creator's store (File.Key). Multipart posts and URL downloads
	// still arrive in DataDir/uploads (the Creator streams them into the
	// store).
	Storage storage.Store
	// Locker locks a tus upload while a request works on it; nil means an
	// in-memory locker, which is enough for one process. Several API
	// nodes on one bucket need a locker they share.
	Locker tus.Locker
	Log    *slog.Logger // nil discards

	// PublicURL, e.g. "https://video.example.com", is the base of the tus
	// Location URLs; "" builds them from the request's Host (forwarding
	// headers are ignored).
	PublicURL string

	// InboxSettle is how long an inbox file's size and modification time
	// must stay unchanged before it is taken; 0 means DefaultInboxSettle.
	InboxSettle time.Duration
	// InboxPoll is how often the inbox is scanned; 0 means DefaultInboxPoll.
	InboxPoll time.Duration
	// FetchTimeout bounds one URL download; 0 means DefaultFetchTimeout.
	FetchTimeout time.Duration
	// FetchIdle aborts a URL download that receives nothing for this long;
	// 0 means DefaultFetchIdle.
	FetchIdle time.Duration
	// UploadExpiry is how long a file in the uploads folder (an unfinished
	// tus upload, a *.part file a crash left) may stay untouched before
	// RunJanitor removes it; 0 means DefaultUploadExpiry.
	UploadExpiry time.Duration
	// JanitorEvery is how often RunJanitor looks; 0 means UploadExpiry/24
	// within [1 min, 1 h].
	JanitorEvery time.Duration
}

// Service receives source files over tus, multipart posts, URL pulls and
// the inbox folder, and hands each complete file to the Creator.
type Service struct {
	cfg        Config
	log        *slog.Logger
	uploadsDir string
	inboxDir   string
	failedDir  string
	tus        http.Handler
	tusStore   tus.DataStore
	tusLocker  tus.Locker
	// bucket is the store holding unfinished tus uploads; nil when they
	// are files in uploadsDir.
	bucket *s3.Store
	client *http.Client

	// allowAddr, when set (tests only), lets FromURL connect to addresses
	// the guard would refuse.
	allowAddr func(netip.AddrPort) bool
	// afterScan, when set (tests only, before RunInbox), is told the time
	// of every finished inbox scan.
	afterScan func(time.Time)

	closeOnce sync.Once
}

// New checks cfg, creates DataDir/uploads and builds the service. Start the
// watch folder with RunInbox.
func New(cfg Config) (*Service, error) {
	if cfg.DataDir == "" {
		return nil, errors.New("intake: DataDir is required")
	}
	if cfg.Creator == nil {
		return nil, errors.New("intake: Creator is required")
	}
	if cfg.MaxSize < 0 {
		return nil, fmt.Errorf("intake: MaxSize %d is negative", cfg.MaxSize)
	}
	if cfg.MaxSize == 0 {
		cfg.MaxSize = DefaultMaxSize
	}
	if cfg.InboxSettle <= 0 {
		cfg.InboxSettle = DefaultInboxSettle
	}
	if cfg.InboxPoll <= 0 {
		cfg.InboxPoll = DefaultInboxPoll
	}
	if cfg.FetchTimeout <= 0 {
		cfg.FetchTimeout = DefaultFetchTimeout
	}
	if cfg.FetchIdle <= 0 {
		cfg.FetchIdle = DefaultFetchIdle
	}
	if cfg.UploadExpiry <= 0 {
		cfg.UploadExpiry = DefaultUploadExpiry
	}
	if cfg.JanitorEvery <= 0 {
		cfg.JanitorEvery = min(max(cfg.UploadExpiry/24, time.Minute), time.Hour)
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Service{
		cfg:        cfg,
		log:        log.With("component", "intake"),
		uploadsDir: filepath.Join(cfg.DataDir, "uploads"),
		inboxDir:   filepath.Join(cfg.DataDir, "inbox"),
	}
	s.failedDir = filepath.Join(s.inboxDir, "failed")
	switch st := cfg.Storage.(type) {
	case nil, storage.FileStore:
	case *s3.Store:
		s.bucket = st
	default:
		return nil, fmt.Errorf("intake: tus uploads cannot be kept in storage of type %T", cfg.Storage)
	}
	if err := os.MkdirAll(s.uploadsDir, 0o750); err != nil {
		return nil, fmt.Errorf("intake: creating the uploads folder: %w", err)
	}
	tus, err := s.newTusHandler()
	if err != nil {
		return nil, fmt.Errorf("intake: creating the tus handler: %w", err)
	}
	s.tus = tus
	s.client = s.newHTTPClient()
	return s, nil
}

// Uploads is the tus 1.0 handler. It expects the full request path, under
// UploadsPath; mount it there behind authentication.
func (s *Service) Uploads() http.Handler { return s.tus }

// Close releases idle connections of the URL fetcher. It is idempotent;
// stop RunInbox by cancelling its context.
func (s *Service) Close() error {
	s.closeOnce.Do(func() {
		s.client.CloseIdleConnections()
	})
	return nil
}

// creatorContext is the context for a Creator call made on behalf of a
// request: it keeps the request's values but not its cancellation, because
// the Creator owns the file from the moment it is called.
func creatorContext(ctx context.Context) context.Context {
	return context.WithoutCancel(ctx)
}
