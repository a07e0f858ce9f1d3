// Package intake is how source files for video on demand get in: resumable
// tus uploads, multipart form posts, pulls from HTTP(S) URLs and a watch
// folder. Each path ends the same way: a complete file on local disk handed
// to a Creator, which turns it into an asset.
//
// Intake never decides a file's type from its name; the pipeline probes the
// content. It does enforce the size limit while bytes arrive.
//
// New builds a Service over a data folder: Uploads is the tus 1.0 handler
// (mounted at UploadsPath), FromMultipart and FromURL receive one file each
// for the caller to hand on, and RunInbox watches <data>/inbox. Files land
// in <data>/uploads; RunJanitor removes what was abandoned there. With S3
// storage (Config.Storage), unfinished tus uploads live in the bucket under
// uploads/ instead, so any node sharing the bucket resumes them; a finished
// one is handed over by key (File.Key) and the janitor aborts expired ones.
// Refusals caused by the client's input are *Error, carrying the HTTP
// status that fits.
package intake

import (
	"context"

	"github.com/ospreyvideo/osprey/internal/catalog"
)

// File is a source file that has fully arrived.
type File struct {
	// Path is the complete file on local disk. The Creator takes ownership
	// when it succeeds (it moves the file into storage); when it returns an
	// error the file is where it was, and the caller still owns it.
	Path string
	// Key, when set, says the file is already in the Creator's store under
	// this key (a tus upload on S3) and Path is "": the Creator copies it
	// (server-side), and the caller removes it once the Creator succeeded.
	Key      string
	Filename string // as the client named it, base name only; may be ""
	Size     int64
	Title    string // "" means derived from Filename
	UploadID string // tus upload id, for Origin "tus"
	Origin   string // "tus", "multipart", "url", "inbox"
	URL      string // the source URL, for Origin "url"
	Priority int    // 1 (highest) to 4; 0 means the default (2)
}

// Creator turns a file into an asset and queues its processing.
type Creator interface {
	CreateAsset(ctx context.Context, f File) (catalog.Asset, error)
}
