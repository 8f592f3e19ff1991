package evidence

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"
)

// ErrNotFound is returned when no capture matches.
var ErrNotFound = errors.New("evidence: not found")

// Suffixes of the archive's files.
const (
	fileSuffix = ".warc.gz"
	openSuffix = ".open"
)

// Options configure an Archive. Zero fields take the defaults shown.
type Options struct {
	// Dir is the folder of the WARC files (required). It may be shared by
	// several nodes (a network file system every node mounts): each then
	// has a Node name and writes only in its own subfolder, reads every
	// node's files and shares the signing key kept at the folder's top.
	Dir string
	// Node, when set, is this node's name: its files go in Dir/Node and
	// are indexed as Node/<file>. It must stay the same across restarts,
	// since a node repairs only its own files after a crash, and differ
	// from every other node's sharing Dir. Letters, digits, '.', '_' and
	// '-', starting with a letter or digit, at most 64. Empty (the
	// embedded mode): files go in Dir itself.
	Node string
	// Index is where captures are indexed (evidence/pgindex on
	// PostgreSQL); the Archive does not close it. Nil: the SQLite
	// database DB.
	Index Index
	// DB is the SQLite database holding the index when Index is nil;
	// normally the data folder's riskmine.db.
	DB string
	// MaxFileBytes rotates a file once it would grow past this size
	// (default 1 GiB). A capture larger than that gets a file of its own.
	MaxFileBytes int64
	// Version is riskmine's version, written in warcinfo and metadata.
	Version string
	// Prefix starts every file name (default "riskmine").
	Prefix string
	// SpaceCheck, when set, is asked before each write; an error refuses
	// the write (the data folder's free-space floor).
	SpaceCheck func() error
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Timestamper, when set, stamps each bundle's manifest (RFC 3161).
	Timestamper *Timestamper
}

// Archive appends captures to WARC files and indexes them.
type Archive struct {
	opts   Options
	idx    Index
	ownIdx bool               // opened by Open from Options.DB, closed by Close
	key    ed25519.PrivateKey // signs bundle manifests

	mu   sync.Mutex
	cur  *warcFile
	done bool
}

// warcFile is the file this process appends to.
type warcFile struct {
	name   string // indexed name (Node/<file> on a node), sealed, without .open
	f      *os.File
	unlock func()
	size   int64
	header int64 // the size of its warcinfo record
	day    string
	info   string // its warcinfo record id
}

// RepairReport tells what Open found of files left open by a crash.
type RepairReport struct {
	// Files are the files repaired and sealed.
	Files []RepairedFile
}

// RepairedFile is one file left open by a process that died.
type RepairedFile struct {
	Name string
	// Kept is the length kept: the end of its last complete record.
	Kept int64
	// Cut is how many bytes of an incomplete record were cut off.
	Cut int64
	// Removed is set when the file held no complete record and was removed.
	Removed bool
}

// nodePattern is what a node's name may be: it names a subfolder.
var nodePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// ValidNode reports why name cannot be a node's name (Options.Node), or
// nil.
func ValidNode(name string) error {
	if !nodePattern.MatchString(name) {
		return fmt.Errorf("evidence: node name %q: expected 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit", name)
	}
	return nil
}

// Open opens the archive, creating its folder and tables, and repairs the
// files that processes of this node which died left open.
//
// The installation's signing key is read from the top of Dir (made there
// when there is none) and its fingerprint recorded in the index; a key
// that differs from the one recorded is refused, which is how a node
// whose Dir is not the folder the other nodes share is stopped before it
// archives what they cannot read.
func Open(ctx context.Context, opts Options) (*Archive, *RepairReport, error) {
	if opts.Dir == "" || (opts.DB == "" && opts.Index == nil) {
		return nil, nil, errors.New("evidence: Options.Dir and Options.DB (or Options.Index) are required")
	}
	if opts.Node != "" {
		if err := ValidNode(opts.Node); err != nil {
			return nil, nil, err
		}
	}
	if opts.MaxFileBytes <= 0 {
		opts.MaxFileBytes = 1 << 30
	}
	if opts.Prefix == "" {
		opts.Prefix = "riskmine"
	}
	if opts.Version == "" {
		opts.Version = "dev"
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	a := &Archive{opts: opts, idx: opts.Index}
	if a.idx == nil {
		var err error
		if a.idx, err = OpenSQLiteIndex(ctx, opts.DB); err != nil {
			return nil, nil, err
		}
		a.ownIdx = true
	}
	rep, err := a.start(ctx)
	if err != nil {
		a.closeIndex()
		return nil, nil, err
	}
	return a, rep, nil
}

// start reads (or makes) the signing key, checks it against the index's
// record, and repairs.
func (a *Archive) start(ctx context.Context) (*RepairReport, error) {
	// A folder without a key, when the index knows one, is not the
	// installation's folder (a mount missing, another path): refused
	// before anything is written there. A node pins the key only after
	// its file is in place, so a key pinned by a node starting at the
	// same time over this folder is found by the second look.
	keyPath := filepath.Join(a.opts.Dir, signingKeyFile)
	if _, err := os.Stat(keyPath); errors.Is(err, fs.ErrNotExist) {
		pinned, err := a.idx.PinnedKey(ctx)
		if err != nil {
			return nil, err
		}
		if _, err := os.Stat(keyPath); pinned != "" && errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("evidence: %s holds no signing key, yet the installation has one (SHA-256 fingerprint %s): "+
				"is evidence.dir the folder every node shares, and mounted? If the key is lost for good, delete the row of "+
				"evidence_key to sign with a new one (bundles already exported verify with the old key only)", a.opts.Dir, pinned)
		}
	}
	if err := os.MkdirAll(filepath.Join(a.opts.Dir, a.opts.Node), 0o700); err != nil {
		return nil, fmt.Errorf("evidence: %w", err)
	}
	key, err := loadSigningKey(a.opts.Dir)
	if err != nil {
		return nil, err
	}
	a.key = key
	fp := KeyFingerprint(a.PublicKey())
	pinned, err := a.idx.PinKey(ctx, fp)
	if err != nil {
		return nil, err
	}
	if pinned != fp {
		return nil, fmt.Errorf("evidence: the signing key in %s (SHA-256 fingerprint %s) is not the installation's (%s): "+
			"is evidence.dir the folder every node shares? If that key is lost for good, delete the row of evidence_key "+
			"to sign with this one (bundles already exported verify with the old key only)", a.opts.Dir, fp, pinned)
	}
	return a.repair(ctx)
}

func (a *Archive) closeIndex() error {
	if a.ownIdx {
		return a.idx.Close()
	}
	return nil
}

// Dir returns the folder of the WARC files.
func (a *Archive) Dir() string { return a.opts.Dir }

// Node returns the node's name (Options.Node), "" in the embedded mode.
func (a *Archive) Node() string { return a.opts.Node }

// Index returns the capture index.
func (a *Archive) Index() Index { return a.idx }

// Close seals the current file and closes the index.
func (a *Archive) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.done {
		return nil
	}
	a.done = true
	err := a.seal()
	return errors.Join(err, a.closeIndex())
}

// Put archives a page unless the same URL is already archived with the
// same response body (then it returns that capture and false). The
// records are on disk (fsynced) and indexed when it returns nil.
func (a *Archive) Put(ctx context.Context, p Page) (Entry, bool, error) {
	digest := "sha256:" + hexSHA256(p.Capture.Body)
	if e, err := a.idx.Find(ctx, p.URL, digest); err == nil {
		return e, false, nil
	} else if !errors.Is(err, ErrNotFound) {
		return Entry{}, false, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.done {
		return Entry{}, false, errors.New("evidence: archive closed")
	}
	if a.opts.SpaceCheck != nil {
		if err := a.opts.SpaceCheck(); err != nil {
			return Entry{}, false, fmt.Errorf("evidence: %w", err)
		}
	}
	now := a.opts.Now()
	// Compressed records are smaller than this bound, so a file grows
	// past MaxFileBytes only with a capture larger than it.
	c := p.Capture
	bound := int64(len(c.Body)+len(c.RenderedDOM)+len(c.Screenshot)) + 16<<10
	if err := a.ensureFile(now, bound); err != nil {
		return Entry{}, false, err
	}
	bc, err := buildCapture(p, a.opts.Version, a.cur.info)
	if err != nil {
		return Entry{}, false, fmt.Errorf("evidence: %s: %w", p.URL, err)
	}
	if bc.payloadDigest != digest {
		return Entry{}, false, fmt.Errorf("evidence: %s: payload digest %s, computed %s", p.URL, bc.payloadDigest, digest)
	}
	off, err := a.appendData(bc.data)
	if err != nil {
		return Entry{}, false, err
	}
	e := Entry{LeadID: p.LeadID, URL: p.URL, TargetURI: p.Capture.RequestURL, Source: p.Source,
		File: a.cur.name, Offset: off, Length: int64(len(bc.data)), ResponseID: bc.responseID,
		PayloadDigest: bc.payloadDigest, BlockDigest: bc.blockDigest, Status: p.Capture.Status,
		ContentType: p.Capture.ResponseHeader.Get("Content-Type"), Rendered: bc.rendered,
		HasScreenshot: len(p.Capture.Screenshot) > 0,
		CapturedAt:    p.Capture.FetchedAt.UTC(), ArchivedAt: now.UTC()}
	id, err := a.idx.Insert(ctx, e)
	if err != nil {
		// Take the records back so the file holds no capture the index
		// does not know; the page is archived again when it comes again.
		if terr := a.truncate(off); terr != nil {
			err = errors.Join(err, terr)
		}
		return Entry{}, false, err
	}
	e.ID = id
	return e, true, nil
}

// appendData writes data at the end of the current file and syncs it. On
// a failure (a full disk) the file is cut back to where it was.
func (a *Archive) appendData(data []byte) (int64, error) {
	off := a.cur.size
	if _, err := a.cur.f.WriteAt(data, off); err != nil {
		return 0, errors.Join(fmt.Errorf("evidence: write %s: %w", a.cur.name, err), a.truncate(off))
	}
	if err := a.cur.f.Sync(); err != nil {
		return 0, errors.Join(fmt.Errorf("evidence: sync %s: %w", a.cur.name, err), a.truncate(off))
	}
	a.cur.size = off + int64(len(data))
	return off, nil
}

// truncate cuts the current file back to size.
func (a *Archive) truncate(size int64) error {
	if err := a.cur.f.Truncate(size); err != nil {
		return fmt.Errorf("evidence: cut %s back to %d: %w", a.cur.name, size, err)
	}
	a.cur.size = size
	return a.cur.f.Sync()
}

// ensureFile makes sure there is a current file that can take n more
// bytes today: a new day (UTC) or a full file starts a new one.
func (a *Archive) ensureFile(now time.Time, n int64) error {
	day := now.UTC().Format("20060102")
	if a.cur != nil {
		full := a.cur.size+n > a.opts.MaxFileBytes && a.cur.size > a.cur.headerSize()
		if a.cur.day == day && !full {
			return nil
		}
		if err := a.seal(); err != nil {
			return err
		}
	}
	base := fmt.Sprintf("%s-%s-%d-%s%s", a.opts.Prefix, now.UTC().Format("20060102150405"), os.Getpid(), randomHex(), fileSuffix)
	name := base
	if a.opts.Node != "" {
		name = a.opts.Node + "/" + base
	}
	path := a.diskPath(name) + openSuffix
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("evidence: %w", err)
	}
	unlock, ok, err := lockFile(f)
	if err != nil || !ok {
		f.Close()
		os.Remove(path)
		return fmt.Errorf("evidence: lock %s: %v", name, err)
	}
	wf := &warcFile{name: name, f: f, unlock: unlock, day: day, info: newRecordID()}
	var buf bytes.Buffer
	if err := warcinfoRecord(&buf, wf.info, base, a.opts.Version, now); err != nil {
		wf.discard(path)
		return fmt.Errorf("evidence: %w", err)
	}
	if _, err := f.Write(buf.Bytes()); err != nil {
		wf.discard(path)
		return fmt.Errorf("evidence: write %s: %w", name, err)
	}
	if err := f.Sync(); err != nil {
		wf.discard(path)
		return fmt.Errorf("evidence: sync %s: %w", name, err)
	}
	wf.size = int64(buf.Len())
	wf.header = wf.size
	if err := syncDir(a.writeDir()); err != nil {
		wf.discard(path)
		return err
	}
	a.cur = wf
	return nil
}

func (w *warcFile) headerSize() int64 { return w.header }

// discard removes a file that could not be started.
func (w *warcFile) discard(path string) {
	w.unlock()
	w.f.Close()
	os.Remove(path)
}

// seal syncs, closes and renames the current file to its final name.
func (a *Archive) seal() error {
	w := a.cur
	if w == nil {
		return nil
	}
	a.cur = nil
	err := w.f.Sync()
	err = errors.Join(err, w.f.Close())
	path := a.diskPath(w.name)
	err = errors.Join(err, os.Rename(path+openSuffix, path))
	w.unlock()
	if err != nil {
		return fmt.Errorf("evidence: seal %s: %w", w.name, err)
	}
	return syncDir(a.writeDir())
}

// writeDir is the folder this node writes in: Dir, or Dir/Node.
func (a *Archive) writeDir() string { return filepath.Join(a.opts.Dir, a.opts.Node) }

// diskPath is where the sealed file of an indexed name lies.
func (a *Archive) diskPath(name string) string {
	return filepath.Join(a.opts.Dir, filepath.FromSlash(name))
}

// validFileName reports whether name can be an indexed file name: a file
// in the folder, or in one node's subfolder (node/file).
func validFileName(name string) bool {
	node, file, sub := strings.Cut(name, "/")
	if !sub {
		node, file = "", name
	}
	if file == "" || file[0] == '.' || strings.ContainsAny(file, `/\`) {
		return false
	}
	return !sub || ValidNode(node) == nil
}

// path returns where a file is now: sealed, or still open.
func (a *Archive) path(name string) (string, error) {
	if !validFileName(name) {
		return "", fmt.Errorf("evidence: bad file name %q", name)
	}
	p := a.diskPath(name)
	if _, err := os.Stat(p); err == nil {
		return p, nil
	}
	if _, err := os.Stat(p + openSuffix); err == nil {
		return p + openSuffix, nil
	}
	return "", fmt.Errorf("evidence: file %s is missing from %s", name, a.opts.Dir)
}

// openFile opens a file for reading, sealed or still open. The node
// writing it may seal (rename) it between the look and the open; then it
// is looked for again.
func (a *Archive) openFile(name string) (*os.File, error) {
	for try := 0; ; try++ {
		p, err := a.path(name)
		if err != nil {
			return nil, err
		}
		f, err := os.Open(p)
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, fs.ErrNotExist) || try == 2 {
			return nil, fmt.Errorf("evidence: %w", err)
		}
	}
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("evidence: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		return fmt.Errorf("evidence: sync %s: %w", dir, err)
	}
	return nil
}

// randomHex is 8 random hex digits, for names no other process picks.
func randomHex() string {
	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	return hex.EncodeToString(rnd[:])
}

func hexSHA256(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
