package httpguard

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// CertSource is a TLS certificate read from a PEM certificate file and a
// key file, which it reads again on Reload (SIGHUP) and, under Watch, when
// either file changes. A pair that fails to load leaves the current
// certificate in place and logs an error, so a half-written renewal never
// takes the server down. `osprey serve` and `osprey edge` share it.
type CertSource struct {
	certFile, keyFile string
	log               *slog.Logger
	cert              atomic.Pointer[tls.Certificate]

	mu   sync.Mutex
	seen fileStamp // the files' versions when last read
}

// LoadCert reads the pair once; an error here is fatal to the caller.
func LoadCert(certFile, keyFile string, log *slog.Logger) (*CertSource, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &CertSource{certFile: certFile, keyFile: keyFile, log: log.With("component", "tls")}
	cert, err := s.load()
	if err != nil {
		return nil, err
	}
	s.cert.Store(cert)
	return s, nil
}

func (s *CertSource) load() (*tls.Certificate, error) {
	st := s.stamp() // before reading: a change during the read is seen next time
	s.mu.Lock()
	s.seen = st
	s.mu.Unlock()
	cert, err := tls.LoadX509KeyPair(s.certFile, s.keyFile)
	if err != nil {
		return nil, fmt.Errorf("loading the TLS certificate %s with key %s: %w", s.certFile, s.keyFile, err)
	}
	return &cert, nil
}

// Certificate returns the certificate being served.
func (s *CertSource) Certificate() *tls.Certificate { return s.cert.Load() }

// GetCertificate is for tls.Config.GetCertificate.
func (s *CertSource) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return s.cert.Load(), nil
}

// TLSConfig is the server configuration: this certificate, TLS 1.2 and
// up, HTTP/2 then HTTP/1.1 by ALPN.
func (s *CertSource) TLSConfig() *tls.Config {
	return &tls.Config{
		GetCertificate: s.GetCertificate,
		NextProtos:     []string{"h2", "http/1.1"},
		MinVersion:     tls.VersionTLS12,
	}
}

// Reload reads the files again. On failure the current certificate stays
// and the error is logged and returned.
func (s *CertSource) Reload() error {
	cert, err := s.load()
	if err != nil {
		s.log.Error("TLS certificate not reloaded; still serving the previous one", "err", err)
		return err
	}
	s.cert.Store(cert)
	attrs := []any{"cert", s.certFile}
	if cert.Leaf != nil {
		attrs = append(attrs, "serial", cert.Leaf.SerialNumber.String(), "not_after", cert.Leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	s.log.Info("TLS certificate reloaded", attrs...)
	return nil
}

// Watch reloads when a value arrives on reload (SIGHUP) and, if interval
// is positive, when either file's size or modification time changes,
// checked every interval. It returns when ctx is done.
func (s *CertSource) Watch(ctx context.Context, interval time.Duration, reload <-chan struct{}) {
	var tick <-chan time.Time
	if interval > 0 {
		t := time.NewTicker(interval)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-reload:
			_ = s.Reload()
		case <-tick:
			s.mu.Lock()
			changed := s.stamp() != s.seen
			s.mu.Unlock()
			if changed {
				_ = s.Reload()
			}
		}
	}
}

// fileStamp identifies the files' versions.
type fileStamp struct {
	certSize, keySize int64
	certMod, keyMod   int64
}

func (s *CertSource) stamp() fileStamp {
	var st fileStamp
	if fi, err := os.Stat(s.certFile); err == nil {
		st.certSize, st.certMod = fi.Size(), fi.ModTime().UnixNano()
	}
	if fi, err := os.Stat(s.keyFile); err == nil {
		st.keySize, st.keyMod = fi.Size(), fi.ModTime().UnixNano()
	}
	return st
}
