package index

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/document"
	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/bleve/v2/mapping"
	"github.com/blevesearch/bleve/v2/search/query"
)

// Options configures Open.
type Options struct {
	// Path is the folder of the index; it is created when missing.
	Path string
	// BatchSize is the number of pending documents that triggers a write
	// (default 500).
	BatchSize int
	// FlushInterval is how often pending documents are written by the
	// background flusher, bounding the delay before they are searchable
	// (default 1s).
	FlushInterval time.Duration
	// Tokenize splits normalised text into words with byte offsets (the
	// process passes nlp.CutSearch). Nil selects the built-in fallback of one
	// token per CJK character; an index keeps the choice it was created with.
	Tokenize func(string) []Token
	// Normalize folds width and case and converts traditional to simplified
	// characters (the process passes nlp.NormalizeText). Nil selects a
	// built-in NFKC and lower-case fold.
	Normalize func(string) string
	// Logger receives background flush errors; nil discards them.
	Logger *slog.Logger
}

// Doc is one post in the index. The document key is CanonicalURL, else URL,
// else ID: adding a post with the same key replaces the earlier version.
type Doc struct {
	ID, URL, CanonicalURL, Source, Site, Title, Body string
	PublishedAt, FetchedAt                           time.Time
	// Categories are category codes, best first.
	Categories []string
	// Level is one of Levels.
	Level string
	// Score is the risk score of the post.
	Score float64
	// LocationCodes are statistical division codes; their parents are
	// indexed too, so a city code filter finds its districts.
	LocationCodes, LocationNames []string
	LeadID                       string
}

// Key returns the document key: CanonicalURL, else URL, else ID.
func (d *Doc) Key() string {
	switch {
	case d.CanonicalURL != "":
		return d.CanonicalURL
	case d.URL != "":
		return d.URL
	}
	return d.ID
}

// ErrClosed is returned by calls on a closed Index.
var ErrClosed = errors.New("index: closed")

// ErrLocked is wrapped by Open when another process holds the index.
var ErrLocked = errors.New("the index is locked by another process")

// Exists reports whether an index has been created at path.
func Exists(path string) bool {
	_, err := os.Stat(filepath.Join(path, "index_meta.json"))
	return err == nil
}

// internalAnalysis records which analyzers an index was created with.
var internalAnalysis = []byte("riskmine.analysis")

// Index is a Bleve index with batched writes. It is safe for concurrent use.
type Index struct {
	bi        bleve.Index
	basic     bool // built with the fallback analyzers
	path      string
	batchSize int
	log       *slog.Logger

	// flushMu serialises batch writes so batches reach Bleve in the order
	// their documents were added (a later version of a post always wins).
	flushMu sync.Mutex
	mu      sync.Mutex // guards batch and closed
	batch   *bleve.Batch
	closed  bool

	facets *facetCache

	// persisted is closed when the last written batch is on disk; guarded
	// by flushMu. Flush and Close wait for it.
	persisted chan struct{}

	stop     chan struct{}
	done     chan struct{} // closed when the flusher has stopped
	warmDone chan struct{} // closed when the facet warmer has stopped
}

// scorchConfig: a batch returns once it is persisted (unsafe_batch false).
// Returning at introduction and persisting in the background was measured
// slower on two busy cores (the persister competes with analysis) and
// widens the window of unacknowledged writes. Flush still waits on the
// batches' persisted callbacks, so it stays correct in either mode. The bolt
// timeout makes a second process fail fast instead of blocking.
//
// It is a function, not a shared map: Bleve writes the store path into the
// map it is given, and a map shared by two opens sends the second one to
// the first one's files.
func scorchConfig() map[string]any {
	return map[string]any{"unsafe_batch": false, "bolt_timeout": "3s"}
}

// Open opens the index at opts.Path, creating it when it does not exist.
// Documents that a Flush (or Close) acknowledged survive a crash of the
// process: Bleve's scorch persists a batch before the write returns.
func Open(opts Options) (*Index, error) {
	return open(opts, nil)
}

// open is Open with an optional mapping for a new index (benchmarks).
func open(opts Options, m *mapping.IndexMappingImpl) (*Index, error) {
	if opts.Path == "" {
		return nil, errors.New("index: open: empty path")
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 500
	}
	if opts.FlushInterval <= 0 {
		opts.FlushInterval = time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	basic := opts.Tokenize == nil
	if !basic {
		if err := install(opts.Tokenize, opts.Normalize); err != nil {
			return nil, err
		}
	}
	want := "injected"
	if basic {
		want = "basic"
	}

	var bi bleve.Index
	if Exists(opts.Path) {
		var err error
		// Scorch locks its root file; another process holding the index
		// (riskmine serve) would block this open forever without a timeout.
		bi, err = bleve.OpenUsing(opts.Path, scorchConfig())
		if err != nil {
			if strings.Contains(err.Error(), "timeout") {
				return nil, fmt.Errorf("index: open %s: %w (is another riskmine process, such as serve, using it? search through its web API instead)", opts.Path, ErrLocked)
			}
			return nil, fmt.Errorf("index: open %s: %w", opts.Path, err)
		}
		got, err := bi.GetInternal(internalAnalysis)
		if err != nil {
			bi.Close()
			return nil, fmt.Errorf("index: open %s: %w", opts.Path, err)
		}
		if string(got) == "injected" && basic {
			bi.Close()
			return nil, fmt.Errorf("index: open %s: %w", opts.Path, errNoTokenizer)
		}
		if string(got) == "basic" && !basic {
			bi.Close()
			return nil, fmt.Errorf("index: open %s: the index was built with the built-in tokenizer; rebuild it (delete the folder and import again) to use the injected one", opts.Path)
		}
	} else {
		if err := os.MkdirAll(filepath.Dir(filepath.Clean(opts.Path)), 0o755); err != nil {
			return nil, fmt.Errorf("index: create %s: %w", opts.Path, err)
		}
		var err error
		if m == nil {
			m = newMapping(basic)
		}
		bi, err = bleve.NewUsing(opts.Path, m, bleve.Config.DefaultIndexType, bleve.Config.DefaultKVStore, scorchConfig())
		if err != nil {
			return nil, fmt.Errorf("index: create %s: %w", opts.Path, err)
		}
		if err := bi.SetInternal(internalAnalysis, []byte(want)); err != nil {
			bi.Close()
			return nil, fmt.Errorf("index: create %s: %w", opts.Path, err)
		}
	}
	ix := &Index{
		bi:        bi,
		basic:     basic,
		path:      opts.Path,
		batchSize: opts.BatchSize,
		log:       opts.Logger,
		batch:     bi.NewBatch(),
		facets:    newFacetCache(),
		stop:      make(chan struct{}),
		done:      make(chan struct{}),
		warmDone:  make(chan struct{}),
	}
	go ix.flusher(opts.FlushInterval)
	go ix.warmer(opts.FlushInterval)
	return ix, nil
}

// flusher writes pending documents every interval until Close.
func (ix *Index) flusher(every time.Duration) {
	defer close(ix.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ix.stop:
			return
		case <-t.C:
			if err := ix.writePending(); err != nil && !errors.Is(err, ErrClosed) {
				ix.log.Error("index flush failed", "error", err)
			}
		}
	}
}

// warmer builds the facet columns of new segments (written batches and
// merges) in the background every interval, so searches seldom pay for
// them; it starts with the segments found at open.
func (ix *Index) warmer(every time.Duration) {
	defer close(ix.warmDone)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if err := ix.warmFacets(); err != nil {
			ix.log.Warn("index: reading facet columns failed; searches will retry", "error", err)
		}
		select {
		case <-ix.stop:
			return
		case <-t.C:
		}
	}
}

func (ix *Index) warmFacets() error {
	adv, err := ix.bi.Advanced()
	if err != nil {
		return err
	}
	r, err := adv.Reader()
	if err != nil {
		return err
	}
	defer r.Close()
	if snap, ok := r.(*scorch.IndexSnapshot); ok {
		_, err = ix.facets.columns(snap)
	}
	return err
}

// Add queues d for indexing, replacing any document with the same key. The
// document becomes searchable at the next flush (within FlushInterval); when
// BatchSize documents are pending Add writes them before returning.
func (ix *Index) Add(ctx context.Context, d Doc) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("index: add: %w", err)
	}
	key := d.Key()
	if key == "" {
		return errors.New("index: add: document has no canonical URL, URL or ID")
	}
	doc := document.NewDocument(key)
	if err := ix.bi.Mapping().MapDocument(doc, toBleve(&d)); err != nil {
		return fmt.Errorf("index: add %s: %w", key, err)
	}
	ix.mu.Lock()
	if ix.closed {
		ix.mu.Unlock()
		return ErrClosed
	}
	err := ix.batch.IndexAdvanced(doc)
	full := ix.batch.Size() >= ix.batchSize
	ix.mu.Unlock()
	if err != nil {
		return fmt.Errorf("index: add %s: %w", key, err)
	}
	if full {
		return ix.writePending()
	}
	return nil
}

// Delete removes the document with the given key (see Doc.Key) at the next flush.
func (ix *Index) Delete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("index: delete: %w", err)
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if ix.closed {
		return ErrClosed
	}
	ix.batch.Delete(key)
	return nil
}

// Flush writes the pending documents and waits until everything written
// so far is persisted. When it returns nil the documents are searchable and
// on disk: this is the acknowledgement that a crash of the process does not
// undo.
func (ix *Index) Flush(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("index: flush: %w", err)
	}
	ix.flushMu.Lock()
	err := ix.writePendingLocked()
	wait := ix.persisted
	ix.flushMu.Unlock()
	if err != nil {
		return err
	}
	return waitPersisted(ctx, wait)
}

// waitPersisted waits for a batch's persisted signal (nil: nothing written).
func waitPersisted(ctx context.Context, ch chan struct{}) error {
	if ch == nil {
		return nil
	}
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("index: flush: waiting for the disk: %w", ctx.Err())
	}
}

// writePending makes the pending documents searchable without waiting for
// the disk.
func (ix *Index) writePending() error {
	ix.flushMu.Lock()
	defer ix.flushMu.Unlock()
	return ix.writePendingLocked()
}

func (ix *Index) writePendingLocked() error {
	ix.mu.Lock()
	if ix.closed {
		ix.mu.Unlock()
		return ErrClosed
	}
	b := ix.batch
	if b.Size() == 0 {
		ix.mu.Unlock()
		return nil
	}
	ix.batch = ix.bi.NewBatch()
	ix.mu.Unlock()
	return ix.write(b)
}

// write executes b; flushMu must be held. Batches persist in the order they
// are written, so the signal of the last one covers all before it.
func (ix *Index) write(b *bleve.Batch) error {
	done := make(chan struct{})
	var once sync.Once
	b.SetPersistedCallback(func(error) { once.Do(func() { close(done) }) })
	if err := ix.bi.Batch(b); err != nil {
		return fmt.Errorf("index: write %d documents: %w", b.Size(), err)
	}
	ix.persisted = done
	return nil
}

// Count returns the number of documents written (pending ones excluded).
func (ix *Index) Count() (uint64, error) {
	n, err := ix.bi.DocCount()
	if err != nil {
		return 0, fmt.Errorf("index: count: %w", err)
	}
	return n, nil
}

// Close writes the pending documents and closes the index.
func (ix *Index) Close() error {
	ix.mu.Lock()
	if ix.closed {
		ix.mu.Unlock()
		return nil
	}
	ix.closed = true
	b := ix.batch
	ix.mu.Unlock()
	close(ix.stop)
	<-ix.done
	<-ix.warmDone
	// Holding flushMu waits for a Flush in progress, keeping batch order.
	ix.flushMu.Lock()
	defer ix.flushMu.Unlock()
	var ferr error
	if b.Size() > 0 {
		if err := ix.write(b); err != nil {
			ferr = fmt.Errorf("index: close: %w", err)
		}
	}
	// Scorch drops what is not persisted when it closes: wait for the disk,
	// but not forever if it fails.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	if err := waitPersisted(ctx, ix.persisted); err != nil && ferr == nil {
		ferr = fmt.Errorf("index: close: %w", err)
	}
	cancel()
	if err := ix.bi.Close(); err != nil && ferr == nil {
		ferr = fmt.Errorf("index: close: %w", err)
	}
	return ferr
}

// DeleteOlderThan deletes the documents whose publication time (or fetch
// time when the publication time is unknown) is before t, and returns how
// many it deleted. Documents without either time are kept. Pending
// documents are written first so they are considered too.
func (ix *Index) DeleteOlderThan(ctx context.Context, t time.Time) (int, error) {
	if err := ix.Flush(ctx); err != nil {
		return 0, err
	}
	const page = 1000
	deleted := 0
	for {
		if err := ctx.Err(); err != nil {
			return deleted, fmt.Errorf("index: retention: %w", err)
		}
		q := query.NewDateRangeQuery(time.Time{}, t.UTC())
		q.SetField(fieldAt)
		req := bleve.NewSearchRequestOptions(q, page, 0, false)
		req.Fields = nil
		res, err := ix.bi.SearchInContext(ctx, req)
		if err != nil {
			return deleted, fmt.Errorf("index: retention: %w", err)
		}
		if len(res.Hits) == 0 {
			return deleted, ix.Flush(ctx)
		}
		ix.flushMu.Lock()
		ix.mu.Lock()
		closed := ix.closed
		ix.mu.Unlock()
		if closed {
			ix.flushMu.Unlock()
			return deleted, ErrClosed
		}
		b := ix.bi.NewBatch()
		for _, h := range res.Hits {
			b.Delete(h.ID)
		}
		err = ix.write(b)
		ix.flushMu.Unlock()
		if err != nil {
			return deleted, fmt.Errorf("index: retention: %w", err)
		}
		deleted += len(res.Hits)
	}
}
