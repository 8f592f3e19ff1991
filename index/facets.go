package index

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/collector"
	segment "github.com/blevesearch/scorch_segment_api/v2"

	"riskmine/level"
)

// Facet counting.
//
// Bleve counts facets by reading the doc values of every matching document
// (a chunk lookup, a snappy decode and a map update per field per hit):
// about 4 µs per hit for our five facet fields, which made facets most of
// the cost of any query matching thousands of posts. Scorch segments never
// change once written, so instead each segment's facet fields are turned,
// once, into columns of small integer codes read from the segments' term
// dictionaries and postings. A search then passes every hit through a
// document-match handler that adds the hit's codes to per-field counters:
// a few array reads per hit.
//
// Columns are built on the first search that sees a segment and dropped
// when merges retire it. Counts are exact: they are checked against
// Bleve's own facets in the tests.

// facetField is one faceted keyword field.
type facetField struct {
	name  string // key in Facets
	field string // Bleve field
	size  func(q Query) int
}

// facetFields are counted in this order; the Facets fields follow it.
var facetFields = []facetField{
	{"categories", fieldCategories, facetSize},
	{"levels", fieldLevel, func(Query) int { return len(level.All()) }},
	{"sources", fieldSource, facetSize},
	{"locations", fieldLocCodes, facetSize},
	{"days", fieldDay, func(Query) int { return maxDays }},
}

// maxDays is how many days the histogram keeps.
const maxDays = 1000

func facetSize(q Query) int {
	if q.FacetSize <= 0 {
		return 10
	}
	return q.FacetSize
}

// segColumns hold the facet values of every document of one segment as
// codes, all fields of a document side by side (one or two cache lines
// per hit): the codes of document d are vals[off[d]:off[d+1]].
type segColumns struct {
	once  sync.Once
	built atomic.Bool // set once off and vals are read
	off   []uint32
	vals  []uint32
	err   error
}

// facetTerm is the field and term a code stands for.
type facetTerm struct {
	field int // index in facetFields
	term  string
}

// facetCodes numbers the facet terms; the shards of an index share it, so
// their counters add up code by code.
type facetCodes struct {
	mu    sync.Mutex
	codes map[facetTerm]uint32
	terms []facetTerm // by code
}

func newFacetCodes() *facetCodes {
	return &facetCodes{codes: map[facetTerm]uint32{}}
}

// code returns the code of term in field fi, assigning one if needed.
func (c *facetCodes) code(fi int, term string) uint32 {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := facetTerm{fi, term}
	if n, ok := c.codes[k]; ok {
		return n
	}
	n := uint32(len(c.terms))
	c.codes[k] = n
	c.terms = append(c.terms, k)
	return n
}

// size returns the number of codes assigned so far.
func (c *facetCodes) size() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.terms)
}

// facetCache keeps the columns of the segments of one shard in use.
type facetCache struct {
	codes *facetCodes
	mu    sync.Mutex
	segs  map[uint64]*segColumns // by segment id
}

func newFacetCache(codes *facetCodes) *facetCache {
	return &facetCache{codes: codes, segs: map[uint64]*segColumns{}}
}

// columns returns the columns of the snapshot's segments, building those
// not yet built, and forgets segments the snapshot no longer holds.
func (c *facetCache) columns(snap *scorch.IndexSnapshot) ([]*segColumns, error) {
	segs := snap.Segments()
	out := make([]*segColumns, len(segs))
	c.mu.Lock()
	live := make(map[uint64]bool, len(segs))
	for i, s := range segs {
		sc, ok := c.segs[s.Id()]
		if !ok {
			sc = &segColumns{}
			c.segs[s.Id()] = sc
		}
		out[i] = sc
		live[s.Id()] = true
	}
	// Segments merged away since are not in this snapshot; a search still
	// running on an older snapshot rebuilds its columns if it needs them.
	for id := range c.segs {
		if !live[id] {
			delete(c.segs, id)
		}
	}
	c.mu.Unlock()
	for i, s := range segs {
		sc := out[i]
		sc.once.Do(func() {
			sc.off, sc.vals, sc.err = c.safeBuild(s.Segment())
			sc.built.Store(sc.err == nil)
		})
		if sc.err != nil {
			// Forget the failure so that a later search tries again.
			c.mu.Lock()
			if c.segs[s.Id()] == sc {
				delete(c.segs, s.Id())
			}
			c.mu.Unlock()
			return nil, sc.err
		}
	}
	return out, nil
}

// safeBuild is build, turning a panic of the segment's reader into an
// error: a segment left broken by a failed write (scorch closes the
// segment of a batch whose persisting fails, and a closed segment panics
// on its next dictionary read) must cost a search its facets, not the
// process its life. The search, or the warmer, tries again later.
func (c *facetCache) safeBuild(seg segment.Segment) (off, vals []uint32, err error) {
	defer func() {
		if r := recover(); r != nil {
			off, vals, err = nil, nil, fmt.Errorf("facets: reading a segment failed: %v", r)
		}
	}()
	return c.build(seg)
}

// build reads the facet fields of one segment from its term dictionaries.
func (c *facetCache) build(seg segment.Segment) (off, vals []uint32, err error) {
	n := seg.Count()
	type pair struct{ doc, code uint32 }
	var pairs []pair
	counts := make([]uint32, n+1)
	var postings segment.PostingsList
	var iter segment.PostingsIterator
	for fi, f := range facetFields {
		dict, err := seg.Dictionary(f.field)
		if err != nil {
			return nil, nil, fmt.Errorf("facets: dictionary of %s: %w", f.field, err)
		}
		it := dict.AutomatonIterator(nil, nil, nil)
		for {
			e, err := it.Next()
			if err != nil {
				return nil, nil, fmt.Errorf("facets: terms of %s: %w", f.field, err)
			}
			if e == nil {
				break
			}
			code := c.codes.code(fi, e.Term)
			postings, err = dict.PostingsList([]byte(e.Term), nil, postings)
			if err != nil {
				return nil, nil, fmt.Errorf("facets: postings of %s:%s: %w", f.field, e.Term, err)
			}
			iter = postings.Iterator(false, false, false, iter)
			add := func(doc uint64) {
				pairs = append(pairs, pair{uint32(doc), code})
				counts[doc+1]++
			}
			if o, ok := iter.(segment.OptimizablePostingsIterator); ok && o.ActualBitmap() != nil {
				addBitmap(o.ActualBitmap(), add)
				continue
			}
			for {
				p, err := iter.Next()
				if err != nil {
					return nil, nil, fmt.Errorf("facets: postings of %s:%s: %w", f.field, e.Term, err)
				}
				if p == nil {
					break
				}
				add(p.Number())
			}
		}
	}
	for d := uint64(1); d <= n; d++ {
		counts[d] += counts[d-1]
	}
	vals = make([]uint32, len(pairs))
	next := slices.Clone(counts[:n])
	for _, p := range pairs {
		vals[next[p.doc]] = p.code
		next[p.doc]++
	}
	return counts, vals, nil
}

func addBitmap(bm *roaring.Bitmap, add func(uint64)) {
	it := bm.Iterator()
	for it.HasNext() {
		add(uint64(it.Next()))
	}
}

// facetCounter counts the facet codes of the hits of one search in one
// shard.
type facetCounter struct {
	cache   *facetCache
	cols    []*segColumns
	offsets []uint64 // first global document number of each segment
	seg     int      // segment of the previous hit
	counts  []int    // by code
}

// counting returns ctx set up so that a Bleve search of the shard run with
// it counts facets into the returned counter. The counter is filled once
// the search returns; the search fails if the index is not a scorch index.
func (c *facetCache) counting(ctx context.Context) (context.Context, *facetCounter) {
	fc := &facetCounter{cache: c}
	maker := func(sc *search.SearchContext) (search.DocumentMatchHandler, bool, error) {
		next, loadID, err := collector.MakeTopNDocumentMatchHandler(sc)
		if err != nil {
			return nil, false, err
		}
		snap, ok := sc.IndexReader.(*scorch.IndexSnapshot)
		if !ok {
			return nil, false, fmt.Errorf("facets: index reader is %T, not a scorch snapshot", sc.IndexReader)
		}
		if err := fc.prepare(snap); err != nil {
			return nil, false, err
		}
		return func(hit *search.DocumentMatch) error {
			if hit != nil {
				fc.add(hit.IndexInternalID.Value())
			}
			return next(hit)
		}, loadID, nil
	}
	return context.WithValue(ctx, search.MakeDocumentMatchHandlerKey, search.MakeDocumentMatchHandler(maker)), fc
}

func (fc *facetCounter) prepare(snap *scorch.IndexSnapshot) error {
	cols, err := fc.cache.columns(snap)
	if err != nil {
		return err
	}
	fc.cols = cols
	// Scorch numbers documents across segments in order, each segment
	// taking as many numbers as it holds documents, deleted ones included.
	var running uint64
	for _, s := range snap.Segments() {
		fc.offsets = append(fc.offsets, running)
		running += s.Segment().Count()
	}
	fc.counts = make([]int, fc.cache.codes.size())
	return nil
}

func (fc *facetCounter) add(doc uint64) {
	s := fc.seg
	if doc < fc.offsets[s] || (s+1 < len(fc.offsets) && doc >= fc.offsets[s+1]) {
		s, _ = slices.BinarySearch(fc.offsets, doc+1)
		s--
		fc.seg = s
	}
	local := doc - fc.offsets[s]
	sc := fc.cols[s]
	for _, code := range sc.vals[sc.off[local]:sc.off[local+1]] {
		fc.counts[code]++
	}
}

// mergeFacets adds up the counters of the shards and turns the counts into
// Facets: for each field the size largest counts (ties by term), the days
// in date order.
func mergeFacets(q Query, codes *facetCodes, counters []*facetCounter) *Facets {
	var counts []int
	for _, fc := range counters {
		if len(fc.counts) > len(counts) {
			counts = append(counts, make([]int, len(fc.counts)-len(counts))...)
		}
		for code, n := range fc.counts {
			counts[code] += n
		}
	}
	out := make([][]FacetCount, len(facetFields))
	for fi := range out {
		out[fi] = []FacetCount{}
	}
	codes.mu.Lock()
	for code, n := range counts {
		if n > 0 {
			t := codes.terms[code]
			out[t.field] = append(out[t.field], FacetCount{Term: t.term, Count: n})
		}
	}
	codes.mu.Unlock()
	for fi, f := range facetFields {
		fcs := out[fi]
		slices.SortFunc(fcs, func(a, b FacetCount) int {
			return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Term, b.Term))
		})
		out[fi] = fcs[:min(len(fcs), f.size(q))]
	}
	f := &Facets{Categories: out[0], Levels: out[1], Sources: out[2], Locations: out[3], Days: out[4]}
	slices.SortFunc(f.Days, func(a, b FacetCount) int { return cmp.Compare(a.Term, b.Term) })
	return f
}
