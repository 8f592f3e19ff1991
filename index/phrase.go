package index

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/bleve/v2/mapping"
	"github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/query"
	bindex "github.com/blevesearch/bleve_index_api"
	segment "github.com/blevesearch/scorch_segment_api/v2"
)

// Phrases on the bigram fields.
//
// A quoted phrase, and every word of three or more characters, is answered
// as a phrase of character pairs on title_bg or body_bg. Bleve's phrase
// searcher reads the positions of every document holding all the pairs
// through its generic machinery: per document a map of term locations,
// merged and searched recursively, about 2 µs per candidate. That made
// phrases the slowest common query. bigramPhrase gives the same hits and
// the same scores (checked against Bleve's own phrase searcher in the
// tests) by working on the segments directly: the candidates of a segment
// are the intersection of the pairs' postings bitmaps, and for each
// candidate the pairs' positions are read into reused slices and checked
// for a run of consecutive positions.
//
// Searches that need term locations (highlighting) or explanations, and
// readers that are not scorch snapshots, use Bleve's phrase searcher.

// bigramPhrase matches documents whose field holds terms at consecutive
// positions. Scores are those of Bleve's phrase searcher: the sum of the
// tf-idf term scores of the phrase's terms.
type bigramPhrase struct {
	field string
	terms []string
	// offs[i] is term i's position after the first term's: i, unless the
	// phrase itself leaves a position out (a break between two characters
	// of a character field).
	offs  []uint64
	boost float64
	// bleve is the same phrase as a Bleve query, for the searches the fast
	// searcher does not serve.
	bleve query.Query
}

func newBigramPhrase(field string, terms []string, offs []uint64, boost float64, fallback query.Query) *bigramPhrase {
	return &bigramPhrase{field: field, terms: terms, offs: offs, boost: boost, bleve: fallback}
}

// Searcher implements query.Query.
func (q *bigramPhrase) Searcher(ctx context.Context, r bindex.IndexReader, m mapping.IndexMapping, opts search.SearcherOptions) (search.Searcher, error) {
	snap, ok := r.(*scorch.IndexSnapshot)
	if !ok || opts.IncludeTermVectors || opts.Explain || len(q.terms) == 0 || bm25(ctx) {
		return q.bleve.Searcher(ctx, r, m, opts)
	}
	return newPhraseSearcher(ctx, snap, q, opts)
}

// bm25 reports whether the search scores with BM25, which the fast
// searcher does not reproduce (the index mapping uses tf-idf).
func bm25(ctx context.Context) bool {
	if ctx == nil {
		return false
	}
	f, ok := ctx.Value(search.GetScoringModelCallbackKey).(search.GetScoringModelCallbackFn)
	return ok && f() == bindex.BM25Scoring
}

// phraseSearcher is the search.Searcher of a bigramPhrase.
type phraseSearcher struct {
	q       *bigramPhrase
	segs    []*scorch.SegmentSnapshot
	offsets []uint64 // first global document number of each segment
	// postings[s][i] is the postings list of term i in segment s.
	postings [][]segment.PostingsList
	idf      []float64
	weight   []float64 // query weight of each term once the norm is set
	count    uint64    // the smallest document frequency: at most this many hits
	scoring  bool
	// order lists the terms rarest first (by document frequency): the
	// candidates start from the rarest term's documents, and a candidate's
	// positions are checked term by term in this order, so one that does
	// not hold the phrase is left after a few terms. On character fields
	// a phrase is many common terms, where this matters.
	order []int
	// starts holds, while a candidate is checked, the phrase starts its
	// terms checked so far allow.
	starts []uint64

	// The segment being read: its candidates and the terms' iterators.
	seg   int
	cands roaring.IntPeekable
	taken int64 // the last candidate taken in the segment, -1 before any
	iters []segment.PostingsIterator
	pos   [][]uint64
	freq  []uint64
	norm  []float64
}

func newPhraseSearcher(ctx context.Context, snap *scorch.IndexSnapshot, q *bigramPhrase, opts search.SearcherOptions) (*phraseSearcher, error) {
	n := len(q.terms)
	s := &phraseSearcher{
		q:        q,
		segs:     snap.Segments(),
		idf:      make([]float64, n),
		weight:   make([]float64, n),
		scoring:  opts.Score != "none",
		seg:      -1,
		taken:    -1,
		iters:    make([]segment.PostingsIterator, n),
		pos:      make([][]uint64, n),
		freq:     make([]uint64, n),
		norm:     make([]float64, n),
		count:    math.MaxUint64,
		postings: make([][]segment.PostingsList, 0, len(snap.Segments())),
	}
	for range q.terms {
		// The limit on term searchers counts ours too.
		if err := search.RecordTermSearcher(ctx); err != nil {
			return nil, err
		}
	}
	total, err := snap.DocCount()
	if err != nil {
		return nil, err
	}
	df := make([]uint64, n)
	var running uint64
	for _, ss := range s.segs {
		s.offsets = append(s.offsets, running)
		running += ss.Segment().Count()
		dict, err := ss.Segment().Dictionary(q.field)
		if err != nil {
			return nil, fmt.Errorf("phrase: dictionary of %s: %w", q.field, err)
		}
		pls := make([]segment.PostingsList, n)
		for i, t := range q.terms {
			if pls[i], err = dict.PostingsList([]byte(t), ss.Deleted(), nil); err != nil {
				return nil, fmt.Errorf("phrase: postings of %s:%s: %w", q.field, t, err)
			}
			df[i] += pls[i].Count()
		}
		s.postings = append(s.postings, pls)
	}
	for i := range q.terms {
		s.idf[i] = 1 + math.Log(float64(total)/float64(df[i]+1))
		s.count = min(s.count, df[i])
		s.order = append(s.order, i)
	}
	slices.SortStableFunc(s.order, func(a, b int) int { return cmp.Compare(df[a], df[b]) })
	// A phrase searcher on its own normalises its query weight, as
	// Bleve's does; a parent query sets the norm again.
	s.SetQueryNorm(1 / math.Sqrt(s.Weight()))
	return s, nil
}

// enter starts reading segment si: its candidates are the documents that
// hold every term.
func (s *phraseSearcher) enter(si int) error {
	s.seg, s.cands, s.taken = si, nil, -1
	if si >= len(s.segs) {
		return nil
	}
	for _, pl := range s.postings[si] {
		if pl.Count() == 0 {
			return nil
		}
	}
	var cands *roaring.Bitmap
	for _, i := range s.order {
		pl := s.postings[si][i]
		s.iters[i] = pl.Iterator(true, true, true, s.iters[i])
		bm, err := postingsBitmap(pl, s.iters[i])
		if err != nil {
			return fmt.Errorf("phrase: postings of %s:%s: %w", s.q.field, s.q.terms[i], err)
		}
		if cands == nil {
			cands = bm.Clone()
		} else {
			cands.And(bm)
		}
		if cands.IsEmpty() {
			return nil
		}
	}
	s.cands = cands.Iterator()
	return nil
}

// postingsBitmap returns the documents of a postings list (deleted ones
// excluded), from the bitmap its iterator exposes when it can.
func postingsBitmap(pl segment.PostingsList, it segment.PostingsIterator) (*roaring.Bitmap, error) {
	if o, ok := it.(segment.OptimizablePostingsIterator); ok {
		if bm := o.ActualBitmap(); bm != nil {
			return bm, nil
		}
		if d, ok := o.DocNum1Hit(); ok {
			return roaring.BitmapOf(uint32(d)), nil
		}
	}
	bm := roaring.New()
	walk := pl.Iterator(false, false, false, nil)
	for {
		p, err := walk.Next()
		if err != nil {
			return nil, err
		}
		if p == nil {
			return bm, nil
		}
		bm.Add(uint32(p.Number()))
	}
}

// Next implements search.Searcher.
func (s *phraseSearcher) Next(ctx *search.SearchContext) (*search.DocumentMatch, error) {
	for {
		if s.cands == nil || !s.cands.HasNext() {
			if s.seg >= len(s.segs) {
				return nil, nil
			}
			if err := s.enter(s.seg + 1); err != nil {
				return nil, err
			}
			continue
		}
		d := uint64(s.cands.Next())
		s.taken = int64(d)
		ok, err := s.match(d)
		if err != nil {
			return nil, err
		}
		if ok {
			return s.hit(ctx, d), nil
		}
	}
}

// Advance implements search.Searcher: the first match at or after ID.
func (s *phraseSearcher) Advance(ctx *search.SearchContext, ID bindex.IndexInternalID) (*search.DocumentMatch, error) {
	if len(s.segs) == 0 {
		return nil, nil
	}
	target := ID.Value()
	si, found := slices.BinarySearch(s.offsets, target)
	if !found {
		si--
	}
	// Segments without documents share their offset with the next one.
	for si+1 < len(s.offsets) && s.offsets[si+1] == s.offsets[si] {
		si++
	}
	if si < 0 {
		si = 0
	}
	local := uint32(target - s.offsets[si])
	// The postings iterators only move forward: going back re-enters.
	if si != s.seg || int64(local) <= s.taken {
		if err := s.enter(si); err != nil {
			return nil, err
		}
	}
	if s.cands != nil {
		s.cands.AdvanceIfNeeded(local)
	}
	return s.Next(ctx)
}

// match reads the terms' positions in document d of the current segment,
// rarest term first, and reports whether they hold the phrase: the starts
// the first term allows are narrowed by each next term, and the check
// stops when none is left.
func (s *phraseSearcher) match(d uint64) (bool, error) {
	s.starts = s.starts[:0]
	for k, i := range s.order {
		p, err := s.iters[i].Advance(d)
		if err != nil {
			return false, err
		}
		if p == nil || p.Number() != d {
			return false, nil
		}
		s.freq[i], s.norm[i] = p.Frequency(), p.Norm()
		pos := s.pos[i][:0]
		for _, l := range p.Locations() {
			pos = append(pos, l.Pos())
		}
		slices.Sort(pos) // already sorted when written in order; cheap
		s.pos[i] = pos
		off := s.q.offs[i]
		if k == 0 {
			for _, x := range pos {
				if x >= off {
					s.starts = append(s.starts, x-off)
				}
			}
		} else {
			kept := s.starts[:0]
			for _, st := range s.starts {
				if _, ok := slices.BinarySearch(pos, st+off); ok {
					kept = append(kept, st)
				}
			}
			s.starts = kept
		}
		if len(s.starts) == 0 {
			return false, nil
		}
	}
	return true, nil
}

// hit builds the document match of document d of the current segment.
func (s *phraseSearcher) hit(ctx *search.SearchContext, d uint64) *search.DocumentMatch {
	dm := ctx.DocumentMatchPool.Get()
	dm.IndexInternalID = bindex.NewIndexInternalID(dm.IndexInternalID, d+s.offsets[s.seg])
	if s.scoring {
		var sum float64
		for i := range s.freq {
			score := math.Sqrt(float64(s.freq[i])) * s.norm[i] * s.idf[i]
			if s.weight[i] != 1 {
				score *= s.weight[i]
			}
			sum += score
		}
		dm.Score = sum
	}
	return dm
}

// Weight implements search.Searcher: the sum of the terms' squared weights.
func (s *phraseSearcher) Weight() float64 {
	var w float64
	for _, idf := range s.idf {
		w += (s.q.boost * idf) * (s.q.boost * idf)
	}
	return w
}

// SetQueryNorm implements search.Searcher.
func (s *phraseSearcher) SetQueryNorm(norm float64) {
	for i, idf := range s.idf {
		s.weight[i] = s.q.boost * idf * norm
	}
}

// Count implements search.Searcher: an upper bound of the hits.
func (s *phraseSearcher) Count() uint64 { return s.count }

// Min implements search.Searcher.
func (s *phraseSearcher) Min() int { return 0 }

// Size implements search.Searcher (an estimate, for Bleve's memory checks).
func (s *phraseSearcher) Size() int {
	n := 256 + len(s.segs)*len(s.q.terms)*64
	for _, p := range s.pos {
		n += 8 * cap(p)
	}
	return n
}

// DocumentMatchPoolSize implements search.Searcher.
func (s *phraseSearcher) DocumentMatchPoolSize() int { return 1 }

// Close implements search.Searcher.
func (s *phraseSearcher) Close() error { return nil }
