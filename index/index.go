package index

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
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
	// Shards is the number of Bleve indexes a new index is split into
	// (default 2); a search runs on all of them at once, one core each.
	// An existing index keeps the number it was created with.
	Shards int
	// SearchTimeout stops a search that runs longer (0: no deadline
	// beyond the caller's context).
	SearchTimeout time.Duration
	// Location is the zone of the day a post is counted on in the days
	// facet (default UTC). A post keeps the day it was indexed with.
	Location *time.Location
	// PersistPause is how long Bleve's persister waits after writing a
	// segment file before it writes the next (0: it writes each batch at
	// once). The batches written meanwhile are merged in memory and
	// written as one segment, so fewer, larger segment files are made and
	// merged again on disk: under a steady stream of batches (a crawl) a
	// pause of 2s cut the index's CPU per post by a fifth. A Flush waits up
	// to this long longer for the disk; Sync (the journal) does not.
	PersistPause time.Duration
}

// DefaultShards is the number of shards of a new index when Options.Shards
// is 0: one per core of the two-core machines riskmine is measured on.
const DefaultShards = 2

// MaxShards bounds Options.Shards.
const MaxShards = 64

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
	// TitleWords and BodyWords, when set, are the words of Title and Body
	// the caller already cut (see Words); they are not kept in the journal,
	// so a replayed document is segmented again.
	TitleWords, BodyWords *Words `json:"-"`
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

// layoutFile, in the folder of a sharded index, records its shard count;
// the shards are Bleve indexes in the folders shard-0, shard-1, ... An index
// made before sharding is one Bleve index in the folder itself.
const layoutFile = "riskmine-index.json"

type layout struct {
	Shards int `json:"shards"`
}

// Exists reports whether an index has been created at path.
func Exists(path string) bool {
	return isFile(filepath.Join(path, layoutFile)) || isFile(filepath.Join(path, "index_meta.json"))
}

func isFile(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// internalAnalysis records which analyzers an index was created with.
var internalAnalysis = []byte("riskmine.analysis")

// Index is a search index of posts with batched writes: one or more Bleve
// indexes (shards), each post in the shard its key hashes to. It is safe
// for concurrent use.
type Index struct {
	shards    []*shard
	basic     bool   // built with the fallback analyzers
	grams     string // analyzer of the title_bg and body_bg fields (characters, or pairs in older indexes)
	path      string
	batchSize int
	log       *slog.Logger

	searchTimeout time.Duration  // Options.SearchTimeout
	loc           *time.Location // Options.Location, never nil

	// flushMu serialises batch writes so batches reach Bleve in the order
	// their documents were added (a later version of a post always wins).
	flushMu sync.Mutex
	mu      sync.Mutex // guards the shards' batches, pending and closed
	pending int        // documents in the shards' batches
	closed  bool

	// journal logs every queued document (see journal.go); unpersisted
	// are its rotated files whose documents are not yet known to be on
	// disk in Bleve. Both are guarded by mu.
	journal     *journal
	unpersisted []string
	removers    sync.WaitGroup // goroutines removing persisted journal files

	codes *facetCodes // facet codes, shared by the shards' caches

	stop     chan struct{}
	done     chan struct{} // closed when the flusher has stopped
	warmDone chan struct{} // closed when the facet warmer has stopped
}

// shard is one Bleve index of an Index.
type shard struct {
	bi     bleve.Index
	batch  *bleve.Batch // guarded by Index.mu
	facets *facetCache

	// persisted is closed when the last batch written to the shard is on
	// disk; guarded by Index.flushMu. Flush and Close wait for it.
	persisted chan struct{}

	path    string
	log     *slog.Logger
	failure atomic.Pointer[writeFailure] // the last failure to persist
}

// scorchConfig: a batch returns once it is searchable (unsafe_batch) and
// Flush waits for its persisted callback. With unsafe_batch false a batch
// whose persisting fails returns an error after scorch has already put its
// segment in the index and closed it: every later read of that segment
// (the facet warmer's, a search's) then panics with "assignment to entry in
// nil map" until the persister's retry replaces it. Persisting in the
// background never closes a live segment; a failed persist is retried by
// scorch's persister, and the async error callback (asyncErrorName) lets
// Flush report it and paces the retries. The bolt timeout makes a second
// process fail fast instead of blocking.
//
// It is a function, not a shared map: Bleve writes the store path into the
// map it is given, and a map shared by two opens sends the second one to
// the first one's files.
func scorchConfig() map[string]any {
	return map[string]any{"unsafe_batch": true, "bolt_timeout": "3s", "asyncErrorCallbackName": asyncErrorName}
}

// shardConfig is scorchConfig with the persister's pause (see
// Options.PersistPause); the pause holds only while the shard has fewer
// than 1,000 segment files, Bleve's default.
func shardConfig(pause time.Duration) map[string]any {
	cfg := scorchConfig()
	if ms := pause.Milliseconds(); ms > 0 {
		cfg["scorchPersisterOptions"] = map[string]any{"PersisterNapTimeMSec": ms, "PersisterNapUnderNumFiles": 1000}
	}
	return cfg
}

// MaxPersistPause bounds Options.PersistPause: a Flush, and the removal of
// the journal's files, wait for the disk up to that much longer.
const MaxPersistPause = 30 * time.Second

// asyncErrorName names onAsyncError in scorch's registry.
const asyncErrorName = "riskmine-index"

func init() {
	scorch.RegistryAsyncErrorCallbacks[asyncErrorName] = onAsyncError
}

// shardsByPath finds the shard of a scorch error callback by its folder.
var shardsByPath sync.Map // string → *shard

// persistRetryPause is how long scorch's persister and merger pause after
// a failure before they try again; without it a full disk makes them retry
// in a busy loop.
var persistRetryPause = 500 * time.Millisecond

// onAsyncError records a failure of scorch's background persister or
// merger for the shard at path and pauses the failing loop.
func onAsyncError(err error, path string) {
	if v, ok := shardsByPath.Load(path); ok {
		sh := v.(*shard)
		sh.failure.Store(&writeFailure{err: err, at: time.Now()})
		if sh.log != nil {
			sh.log.Warn("index: writing to disk failed; retrying", "path", path, "error", err)
		}
	}
	time.Sleep(persistRetryPause)
}

// writeFailure is the last background write failure of a shard.
type writeFailure struct {
	err error
	at  time.Time
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
	if opts.PersistPause < 0 || opts.PersistPause > MaxPersistPause {
		return nil, fmt.Errorf("index: open %s: persist pause must be between 0 and %s, got %s", opts.Path, MaxPersistPause, opts.PersistPause)
	}
	if opts.Shards < 0 || opts.Shards > MaxShards {
		return nil, fmt.Errorf("index: open %s: shards must be between 1 and %d, got %d", opts.Path, MaxShards, opts.Shards)
	}
	if opts.Shards == 0 {
		opts.Shards = DefaultShards
	}

	var paths []string
	if isFile(filepath.Join(opts.Path, "index_meta.json")) {
		paths = []string{opts.Path} // made before sharding: one shard
	} else {
		n, err := readLayout(opts.Path, opts.Shards)
		if err != nil {
			return nil, err
		}
		for i := range n {
			paths = append(paths, filepath.Join(opts.Path, fmt.Sprintf("shard-%d", i)))
		}
	}
	if m == nil {
		m = newMapping(basic)
	}
	ix := &Index{
		basic:     basic,
		path:      opts.Path,
		batchSize: opts.BatchSize,
		log:       opts.Logger,
		codes:     newFacetCodes(),
		stop:      make(chan struct{}),
		done:      make(chan struct{}),
		warmDone:  make(chan struct{}),
	}
	ix.searchTimeout = opts.SearchTimeout
	ix.loc = opts.Location
	if ix.loc == nil {
		ix.loc = time.UTC
	}
	for _, p := range paths {
		bi, err := openShard(p, m, want, opts.PersistPause)
		if err != nil {
			for _, sh := range ix.shards {
				sh.bi.Close()
				shardsByPath.Delete(filepath.Join(sh.path, "store"))
			}
			return nil, err
		}
		sh := &shard{bi: bi, batch: bi.NewBatch(), facets: newFacetCache(ix.codes), path: p, log: opts.Logger}
		shardsByPath.Store(filepath.Join(p, "store"), sh)
		ix.shards = append(ix.shards, sh)
	}
	def := analyzerChars
	if basic {
		def = analyzerBasicChars
	}
	ix.grams = gramAnalyzer(ix.shards[0].bi.Mapping(), def)
	if err := ix.openJournal(); err != nil {
		for _, sh := range ix.shards {
			sh.bi.Close()
			shardsByPath.Delete(filepath.Join(sh.path, "store"))
		}
		return nil, err
	}
	go ix.flusher(opts.FlushInterval)
	go ix.warmer(opts.FlushInterval)
	return ix, nil
}

// openJournal replays the journal files a crash left (their documents were
// acknowledged by Sync but may not have reached Bleve's files), waits until
// they are persisted, removes them and starts a new journal.
func (ix *Index) openJournal() error {
	dir := filepath.Join(ix.path, journalDir)
	files, last, err := journalFiles(dir)
	if err != nil {
		return err
	}
	if len(files) > 0 {
		docs, deletes := 0, 0
		for _, f := range files {
			good, torn, err := readJournal(f, func(kind byte, payload []byte) error {
				if kind == journalDelete {
					deletes++
					ix.shardFor(string(payload)).batch.Delete(string(payload))
					return nil
				}
				var d Doc
				if err := json.Unmarshal(payload, &d); err != nil {
					return fmt.Errorf("index: journal %s: %w", f, err)
				}
				docs++
				return ix.add(d, nil)
			})
			if err != nil {
				return err
			}
			if torn {
				ix.log.Warn("index: journal file ends in a record cut short by a crash; the records before it are replayed", "file", f, "good_bytes", good)
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		err := ix.Flush(ctx)
		cancel()
		if err != nil {
			return fmt.Errorf("index: replay journal %s: %w", dir, err)
		}
		if err := removeFiles(files); err != nil {
			return err
		}
		ix.log.Info("index: journal replayed", "documents", docs, "deletes", deletes, "files", len(files))
	}
	j, err := openJournal(dir, last)
	if err != nil {
		return err
	}
	ix.mu.Lock()
	ix.journal = j
	ix.mu.Unlock()
	return nil
}

// readLayout returns the shard count of the index at path, recording n as
// the count of a new index. The record is written before the shards, and a
// shard folder that is missing is created when the index is opened, so an
// interrupted creation is completed by the next open.
func readLayout(path string, n int) (int, error) {
	name := filepath.Join(path, layoutFile)
	raw, err := os.ReadFile(name)
	if err == nil {
		var l layout
		if err := json.Unmarshal(raw, &l); err != nil || l.Shards < 1 || l.Shards > MaxShards {
			got := strings.TrimSpace(string(raw))
			if len(got) > 80 {
				got = got[:80] + "…"
			}
			return 0, fmt.Errorf("index: open %s: %s must hold {\"shards\": N} with N from 1 to %d, got %s", path, layoutFile, MaxShards, got)
		}
		return l.Shards, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return 0, fmt.Errorf("index: open %s: %w", path, err)
	}
	if err := os.MkdirAll(path, 0o755); err != nil {
		return 0, fmt.Errorf("index: create %s: %w", path, err)
	}
	raw, _ = json.Marshal(layout{Shards: n})
	tmp := name + ".tmp"
	if err := os.WriteFile(tmp, append(raw, '\n'), 0o644); err != nil {
		return 0, fmt.Errorf("index: create %s: %w", path, err)
	}
	if err := os.Rename(tmp, name); err != nil {
		return 0, fmt.Errorf("index: create %s: %w", path, err)
	}
	return n, nil
}

// openShard opens the Bleve index at path, creating it with mapping m when
// it does not exist, and checks it was built with the analysis want.
func openShard(path string, m *mapping.IndexMappingImpl, want string, pause time.Duration) (bleve.Index, error) {
	if !isFile(filepath.Join(path, "index_meta.json")) {
		bi, err := bleve.NewUsing(path, m, bleve.Config.DefaultIndexType, bleve.Config.DefaultKVStore, shardConfig(pause))
		if err != nil {
			return nil, fmt.Errorf("index: create %s: %w", path, err)
		}
		if err := setInternalDurably(bi, internalAnalysis, []byte(want)); err != nil {
			bi.Close()
			return nil, fmt.Errorf("index: create %s: %w", path, err)
		}
		return bi, nil
	}
	// Scorch locks its root file; another process holding the index
	// (riskmine serve) would block this open forever without a timeout.
	bi, err := bleve.OpenUsing(path, shardConfig(pause))
	if err != nil {
		if strings.Contains(err.Error(), "timeout") {
			return nil, fmt.Errorf("index: open %s: %w (is another riskmine process, such as serve, using it? search through its web API instead)", path, ErrLocked)
		}
		return nil, fmt.Errorf("index: open %s: %w", path, err)
	}
	got, err := bi.GetInternal(internalAnalysis)
	if err != nil {
		bi.Close()
		return nil, fmt.Errorf("index: open %s: %w", path, err)
	}
	if string(got) == "injected" && want == "basic" {
		bi.Close()
		return nil, fmt.Errorf("index: open %s: %w", path, errNoTokenizer)
	}
	if string(got) == "basic" && want != "basic" {
		bi.Close()
		return nil, fmt.Errorf("index: open %s: the index was built with the built-in tokenizer; rebuild it (delete the folder and import again) to use the injected one", path)
	}
	return bi, nil
}

// setInternalDurably records an internal value and waits until it is on
// disk (writes return before that, see scorchConfig).
func setInternalDurably(bi bleve.Index, key, val []byte) error {
	b := bi.NewBatch()
	b.SetInternal(key, val)
	done := make(chan struct{})
	var once sync.Once
	b.SetPersistedCallback(func(err error) {
		if err == nil {
			once.Do(func() { close(done) })
		}
	})
	if err := bi.Batch(b); err != nil {
		return err
	}
	select {
	case <-done:
		return nil
	case <-time.After(time.Minute):
		return errors.New("the disk did not take the index's first write within a minute")
	}
}

// shardOf returns the number of the shard of a document key.
func (ix *Index) shardOf(key string) int {
	if len(ix.shards) == 1 {
		return 0
	}
	h := fnv.New32a()
	h.Write([]byte(key))
	return int(h.Sum32() % uint32(len(ix.shards)))
}

// shardFor returns the shard of a document key.
func (ix *Index) shardFor(key string) *shard {
	return ix.shards[ix.shardOf(key)]
}

// eachShard runs f for every shard number, the shards side by side.
func (ix *Index) eachShard(f func(i int)) {
	if len(ix.shards) == 1 {
		f(0)
		return
	}
	var wg sync.WaitGroup
	for i := range ix.shards {
		wg.Go(func() { f(i) })
	}
	wg.Wait()
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
	for _, sh := range ix.shards {
		if err := sh.warmFacets(); err != nil {
			return err
		}
	}
	return nil
}

func (sh *shard) warmFacets() (err error) {
	// The warmer runs on its own goroutine: a panic in Bleve's reading of a
	// segment would end the process.
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("index: warm facets of %s: %v", sh.path, r)
		}
	}()
	adv, err := sh.bi.Advanced()
	if err != nil {
		return err
	}
	r, err := adv.Reader()
	if err != nil {
		return err
	}
	defer r.Close()
	if snap, ok := r.(*scorch.IndexSnapshot); ok {
		_, err = sh.facets.columns(snap)
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
	payload, err := json.Marshal(&d)
	if err != nil {
		return fmt.Errorf("index: add %s: %w", key, err)
	}
	return ix.add(d, payload)
}

// add maps d and queues it, logging payload in the journal (nil: not
// logged, when replaying the journal itself).
func (ix *Index) add(d Doc, payload []byte) error {
	key := d.Key()
	doc := document.NewDocument(key)
	sh := ix.shardFor(key)
	if err := sh.bi.Mapping().MapDocument(doc, toBleve(&d, ix.loc)); err != nil {
		return fmt.Errorf("index: add %s: %w", key, err)
	}
	shareAnalysis(doc, d.TitleWords, d.BodyWords)
	ix.mu.Lock()
	if ix.closed {
		ix.mu.Unlock()
		return ErrClosed
	}
	err := sh.batch.IndexAdvanced(doc)
	if err == nil {
		ix.pending++
		if payload != nil && ix.journal != nil {
			ix.journal.append(journalAdd, payload)
		}
	}
	full := ix.pending >= ix.batchSize
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
	ix.shardFor(key).batch.Delete(key)
	if ix.journal != nil {
		ix.journal.append(journalDelete, []byte(key))
	}
	return nil
}

// Sync makes every document added (or deleted) so far durable in the
// index's journal, with one fsync: after a crash of the process or the
// machine they are replayed into the index when it is opened. It is the
// cheap acknowledgement for a pipeline: the documents become searchable at
// the next batch (within FlushInterval), and Bleve gets large batches. The
// error names the index folder.
func (ix *Index) Sync(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("index: sync: %w", err)
	}
	ix.mu.Lock()
	if ix.closed {
		ix.mu.Unlock()
		return ErrClosed
	}
	f, err := ix.journal.flush()
	ix.mu.Unlock()
	if err != nil {
		return err
	}
	// A rotation may close f meanwhile; it syncs the file before.
	if err := f.Sync(); err != nil && !errors.Is(err, os.ErrClosed) {
		return fmt.Errorf("index: journal %s: %w", ix.journal.dir, err)
	}
	return nil
}

// Flush writes the pending documents and waits until everything written
// so far is persisted. When it returns nil the documents are searchable and
// on disk: this is the acknowledgement that a crash of the process does not
// undo. When the disk refuses the write Flush returns the error, naming the
// index folder; the documents stay in the index, which keeps trying to
// write them, and a later Flush acknowledges them once the disk takes them.
func (ix *Index) Flush(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("index: flush: %w", err)
	}
	since := time.Now()
	ix.flushMu.Lock()
	err := ix.writePendingLocked()
	waits := ix.persistedLocked()
	ix.flushMu.Unlock()
	if err != nil {
		return err
	}
	for i, ch := range waits {
		if err := ix.shards[i].waitPersisted(ctx, ch, since); err != nil {
			return err
		}
	}
	return nil
}

// persistedLocked returns the shards' persisted signals; flushMu must be held.
func (ix *Index) persistedLocked() []chan struct{} {
	out := make([]chan struct{}, len(ix.shards))
	for i, sh := range ix.shards {
		out[i] = sh.persisted
	}
	return out
}

// failureCheck is how often a wait for the disk looks for write failures.
const failureCheck = 100 * time.Millisecond

// waitPersisted waits for a batch's persisted signal (nil: nothing
// written). It fails when the shard failed to persist after since.
func (sh *shard) waitPersisted(ctx context.Context, ch chan struct{}, since time.Time) error {
	if ch == nil {
		return nil
	}
	t := time.NewTicker(failureCheck)
	defer t.Stop()
	for {
		select {
		case <-ch:
			return nil
		case <-ctx.Done():
			return fmt.Errorf("index: flush: waiting for the disk: %w", ctx.Err())
		case <-t.C:
			if f := sh.failure.Load(); f != nil && f.at.After(since) {
				return fmt.Errorf("index: write to %s: %w", sh.path, f.err)
			}
		}
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
	batches := ix.takeBatchesLocked()
	ix.mu.Unlock()
	err := ix.writeAll(batches)
	if err == nil {
		ix.removeJournalWhenPersisted()
	}
	return err
}

// removeJournalWhenPersisted removes the rotated journal files once the
// batches written so far are on disk; flushMu must be held (the persisted
// signals are those of the batches just written). When persisting fails
// the files go back on the list, for a later batch to remove.
func (ix *Index) removeJournalWhenPersisted() {
	ix.mu.Lock()
	files := ix.unpersisted
	ix.unpersisted = nil
	ix.mu.Unlock()
	if len(files) == 0 {
		return
	}
	waits := ix.persistedLocked()
	since := time.Now()
	ix.removers.Add(1)
	go func() {
		defer ix.removers.Done()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		for i, ch := range waits {
			if err := ix.shards[i].waitPersisted(ctx, ch, since); err != nil {
				ix.mu.Lock()
				ix.unpersisted = append(files, ix.unpersisted...)
				ix.mu.Unlock()
				return
			}
		}
		if err := removeFiles(files); err != nil {
			ix.log.Warn("index: removing persisted journal files failed", "error", err)
		}
	}()
}

// takeBatchesLocked replaces the shards' batches by empty ones and returns
// them (nil for a shard with nothing pending); mu must be held.
func (ix *Index) takeBatchesLocked() []*bleve.Batch {
	out := make([]*bleve.Batch, len(ix.shards))
	for i, sh := range ix.shards {
		if sh.batch.Size() > 0 {
			out[i] = sh.batch
			sh.batch = sh.bi.NewBatch()
		}
	}
	ix.pending = 0
	// The batches hold exactly the documents logged so far: cut the
	// journal here, so its closed file can go once they are persisted.
	if ix.journal != nil {
		name, err := ix.journal.rotate()
		if err != nil {
			ix.log.Warn("index: journal rotation failed; the current file stays in use", "error", err)
		} else {
			ix.unpersisted = append(ix.unpersisted, name)
		}
	}
	return out
}

// writeAll writes each shard's batch, the shards side by side; flushMu
// must be held. A batch that fails goes back in front of the documents
// added since, to be written again at the next flush: a failed write is
// retried, never dropped.
func (ix *Index) writeAll(batches []*bleve.Batch) error {
	errs := make([]error, len(batches))
	ix.eachShard(func(i int) {
		if batches[i] != nil {
			errs[i] = ix.shards[i].write(batches[i])
		}
	})
	ix.mu.Lock()
	for i, err := range errs {
		if err == nil || ix.closed {
			continue
		}
		sh := ix.shards[i]
		failed := batches[i]
		failed.SetPersistedCallback(nil)
		failed.Merge(sh.batch)
		ix.pending += failed.Size() - sh.batch.Size()
		sh.batch = failed
	}
	ix.mu.Unlock()
	return errors.Join(errs...)
}

// write executes b; Index.flushMu must be held. Batches persist in the
// order they are written, so the signal of the last one covers all before
// it.
func (sh *shard) write(b *bleve.Batch) error {
	done := make(chan struct{})
	var once sync.Once
	b.SetPersistedCallback(func(err error) {
		if err == nil {
			sh.failure.Store(nil)
			once.Do(func() { close(done) })
		}
	})
	if err := sh.bi.Batch(b); err != nil {
		return fmt.Errorf("index: write %d documents to %s: %w", b.Size(), sh.path, err)
	}
	sh.persisted = done
	return nil
}

// Count returns the number of documents written (pending ones excluded).
func (ix *Index) Count() (uint64, error) {
	var total uint64
	for _, sh := range ix.shards {
		n, err := sh.bi.DocCount()
		if err != nil {
			return 0, fmt.Errorf("index: count: %w", err)
		}
		total += n
	}
	return total, nil
}

// failureMemory is how long a background write failure counts as current
// when no write has succeeded since.
const failureMemory = time.Minute

// WriteFailure returns the error of the index's latest failure to write to
// disk when no write has succeeded since (and it is less than a minute
// old), else nil. Readiness reports it.
func (ix *Index) WriteFailure() error {
	for _, sh := range ix.shards {
		if f := sh.failure.Load(); f != nil && time.Since(f.at) < failureMemory {
			return fmt.Errorf("index: writing to %s failed: %w", sh.path, f.err)
		}
	}
	return nil
}

// Has reports whether a document with the given key (see Doc.Key) has been
// written (pending ones excluded).
func (ix *Index) Has(ctx context.Context, key string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, fmt.Errorf("index: has: %w", err)
	}
	d, err := ix.shardFor(key).bi.Document(key)
	if err != nil {
		return false, fmt.Errorf("index: has %s: %w", key, err)
	}
	return d != nil, nil
}

// Shards returns the number of shards of the index.
func (ix *Index) Shards() int { return len(ix.shards) }

// Close writes the pending documents and closes the index.
func (ix *Index) Close() error {
	ix.mu.Lock()
	if ix.closed {
		ix.mu.Unlock()
		return nil
	}
	ix.closed = true
	batches := ix.takeBatchesLocked()
	ix.mu.Unlock()
	close(ix.stop)
	<-ix.done
	<-ix.warmDone
	// Holding flushMu waits for a Flush in progress, keeping batch order.
	ix.flushMu.Lock()
	defer ix.flushMu.Unlock()
	var ferr error
	if err := ix.writeAll(batches); err != nil {
		ferr = fmt.Errorf("index: close: %w", err)
	}
	// Scorch drops what is not persisted when it closes: wait for the disk,
	// but not forever if it fails.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, sh := range ix.shards {
		if err := sh.waitPersisted(ctx, sh.persisted, time.Now()); err != nil && ferr == nil {
			ferr = fmt.Errorf("index: close: %w", err)
		}
	}
	// Everything is persisted (or the failure is reported): the journal
	// is no longer needed, unless something failed.
	ix.removers.Wait()
	ix.mu.Lock()
	files := ix.unpersisted
	ix.unpersisted = nil
	j := ix.journal
	ix.mu.Unlock()
	if j != nil {
		name, err := j.close()
		if err != nil && ferr == nil {
			ferr = fmt.Errorf("index: close: %w", err)
		}
		files = append(files, name)
	}
	if ferr == nil {
		if err := removeFiles(files); err != nil {
			ferr = fmt.Errorf("index: close: %w", err)
		}
	}
	for _, sh := range ix.shards {
		if err := sh.bi.Close(); err != nil && ferr == nil {
			ferr = fmt.Errorf("index: close: %w", err)
		}
		shardsByPath.Delete(filepath.Join(sh.path, "store"))
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
	deleted := 0
	for _, sh := range ix.shards {
		n, err := ix.deleteOlderThan(ctx, sh, t)
		deleted += n
		if err != nil {
			return deleted, err
		}
	}
	return deleted, ix.Flush(ctx)
}

func (ix *Index) deleteOlderThan(ctx context.Context, sh *shard, t time.Time) (int, error) {
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
		res, err := sh.bi.SearchInContext(ctx, req)
		if err != nil {
			return deleted, fmt.Errorf("index: retention: %w", err)
		}
		if len(res.Hits) == 0 {
			return deleted, nil
		}
		ix.flushMu.Lock()
		ix.mu.Lock()
		closed := ix.closed
		ix.mu.Unlock()
		if closed {
			ix.flushMu.Unlock()
			return deleted, ErrClosed
		}
		b := sh.bi.NewBatch()
		for _, h := range res.Hits {
			b.Delete(h.ID)
		}
		err = sh.write(b)
		ix.flushMu.Unlock()
		if err != nil {
			return deleted, fmt.Errorf("index: retention: %w", err)
		}
		deleted += len(res.Hits)
	}
}
