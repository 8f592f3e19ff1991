package index

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/query"

	"riskmine/level"
)

// ErrBadQuery is wrapped by the errors Search returns for a query it cannot
// run: a syntax error, an unknown level or sort, an impossible page.
var ErrBadQuery = errors.New("bad query")

// MaxSize is the largest page Search returns.
const MaxSize = 1000

// Sort orders of Query.Sort.
const (
	SortRelevance = "relevance"
	SortTime      = "time"
	SortScore     = "score"
)

// Query is a search: Text in Bleve query-string syntax, narrowed by the
// structured filters, which are all optional.
type Query struct {
	// Text is a query string: 火灾, "基站起火", +燃气 -演练, title:爆炸,
	// categories:fire, score:>=6, published_at:>"2024-05-01". Empty matches
	// every document.
	Text string
	// Categories keeps documents with any of these category codes.
	Categories []string
	// MinLevel keeps documents at this level or above (one of Levels).
	MinLevel string
	// Sources and Sites keep documents from any of these.
	Sources, Sites []string
	// Since and Until bound the publication time (fetch time when unknown):
	// Since inclusive, Until exclusive. Zero values leave the side open.
	Since, Until time.Time
	// Location is the zone of dates written without one in Text
	// (published_at:>"2024-05-01" means that day's midnight there); nil
	// means UTC.
	Location *time.Location
	// Locations keeps documents mentioning a division with one of these
	// codes or inside it (a city code finds its districts).
	Locations []string
	// Sort is SortRelevance (default), SortTime (newest first) or SortScore.
	Sort string
	// From and Size select the page (Size 0 means 10, at most MaxSize).
	From, Size int
	// NoFacets skips the facet counts.
	NoFacets bool
	// FacetSize is the number of terms per facet (default 10); the day
	// histogram always keeps up to 1,000 days.
	FacetSize int
}

// Result is one page of hits with the total count and facets. Its JSON form
// is the search API's answer (riskmine search --json and the web API).
type Result struct {
	Total  uint64        `json:"total"`
	Hits   []Hit         `json:"hits"`
	Facets *Facets       `json:"facets,omitempty"`
	Took   time.Duration `json:"-"`
	// TookMS is Took in milliseconds, for JSON.
	TookMS float64 `json:"took_ms"`
}

// WriteJSON writes r as one line of JSON, the search API's answer, with
// the <mark> tags of the fragments left readable (not \u003c-escaped).
func (r *Result) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("index: write result: %w", err)
	}
	return nil
}

// Hit is one matching document.
type Hit struct {
	ID    string `json:"id"`
	URL   string `json:"url"`
	Title string `json:"title"`
	// Score is the relevance score of the match.
	Score      float64  `json:"score"`
	Categories []string `json:"categories"`
	Level      string   `json:"level"`
	// Fragments holds, per field ("title", "body"), HTML fragments with the
	// matched words in <mark>; everything else is HTML-escaped. A body
	// without matches gives its opening as the one fragment.
	Fragments   map[string][]string `json:"fragments"`
	PublishedAt time.Time           `json:"published_at,omitzero"`
	Source      string              `json:"source,omitempty"`
	Site        string              `json:"site,omitempty"`
	// RiskScore is the document's risk score (Doc.Score).
	RiskScore     float64  `json:"risk_score"`
	LocationNames []string `json:"location_names,omitempty"`
	LeadID        string   `json:"lead_id,omitempty"`
	// Key is the document key (Doc.Key).
	Key string `json:"key"`
}

// Facets are counts over all matching documents, largest first, except
// Days, which is in date order.
type Facets struct {
	Categories []FacetCount `json:"categories"`
	Levels     []FacetCount `json:"levels"`
	Sources    []FacetCount `json:"sources"`
	Locations  []FacetCount `json:"locations"`
	// Days counts documents per UTC day (YYYY-MM-DD) of publication.
	Days []FacetCount `json:"days"`
}

// FacetCount is one facet value and its document count.
type FacetCount struct {
	Term  string `json:"term"`
	Count int    `json:"count"`
}

// Search runs q. Errors caused by the query itself wrap ErrBadQuery.
//
// The shards are searched side by side, each for the first From+Size hits
// of its own, and their hits merged in the requested order. Relevance
// scores use each shard's term statistics; the shards are filled by a hash
// of the key, so their statistics differ only by chance.
func (ix *Index) Search(ctx context.Context, q Query) (res *Result, err error) {
	start := time.Now()
	// Bleve has panicked on odd queries in the past; a query must never
	// take the process down, and its answer must not be Bleve's insides.
	defer func() {
		if r := recover(); r != nil {
			ix.log.Error("search panicked", "query", q.Text, "panic", fmt.Sprint(r))
			res, err = nil, fmt.Errorf("index: search %q: %w: the query could not be run: simplify it", q.Text, ErrBadQuery)
		}
	}()
	req, text, err := buildRequest(q, ix.basic, ix.grams)
	if err != nil {
		return nil, fmt.Errorf("index: search %q: %w", q.Text, err)
	}
	ix.mu.Lock()
	closed := ix.closed
	ix.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	// The deadline covers the whole search, the check of the query's
	// expansion included.
	if ix.searchTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, ix.searchTimeout)
		defer cancel()
	}
	// Bounded before Bleve expands anything: a deadline stops a long
	// search but not the memory its expansion takes.
	if text != nil {
		if err := ix.checkExpansion(ctx, text); err != nil {
			if ctx.Err() != nil {
				return nil, ix.stopped(ctx)
			}
			return nil, fmt.Errorf("index: search %q: %w", q.Text, err)
		}
	}
	from, size := req.From, req.Size
	n := len(ix.shards)
	results := make([]*bleve.SearchResult, n)
	counters := make([]*facetCounter, n)
	errs := make([]error, n)
	ix.eachShard(func(i int) {
		sh := ix.shards[i]
		sreq := *req
		sreq.Sort = req.Sort.Copy()
		if n > 1 {
			sreq.From, sreq.Size = 0, from+size
		}
		sctx := ctx
		if !q.NoFacets {
			sctx, counters[i] = sh.facets.counting(ctx)
		}
		results[i], errs[i] = searchShard(sctx, sh, &sreq, q.Text, ix.log)
	})
	for _, err := range errs {
		if err == nil {
			continue
		}
		if ctx.Err() != nil {
			return nil, ix.stopped(ctx)
		}
		return nil, err
	}
	var total uint64
	var hits search.DocumentMatchCollection
	for _, r := range results {
		total += r.Total
		hits = append(hits, r.Hits...)
	}
	if n > 1 {
		// Stable: ties keep shard order, so a page is the same every time.
		isScore, desc := req.Sort.CacheIsScore(), req.Sort.CacheDescending()
		slices.SortStableFunc(hits, func(a, b *search.DocumentMatch) int {
			return req.Sort.Compare(isScore, desc, a, b)
		})
		hits = hits[min(from, len(hits)):min(from+size, len(hits))]
	}
	// The page is read with the marking variant of the text, which places
	// the highlights; the rewrite changes a parsed query in place, so it
	// is made from the text again.
	marks, marked := text, text != nil && len(hits) > 0
	var pats pagePatterns
	if marked {
		if marks, pats, err = markingQuery(q, ix.basic, ix.grams); err != nil {
			return nil, fmt.Errorf("index: search %q: %w", q.Text, err)
		}
	}
	details, err := ix.pageDetails(ctx, marks, hits)
	if err != nil && ctx.Err() == nil && marked {
		// The marking clauses expand on the bigram fields, which the
		// bounds above did not count; rather than fail a search that
		// passed them, the page goes without the marks they add.
		ix.log.Debug("search: marking the page failed, reading it unmarked", "query", q.Text, "err", err)
		details, err = ix.pageDetails(ctx, text, hits)
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, ix.stopped(ctx)
		}
		return nil, fmt.Errorf("index: search %q: %w", q.Text, err)
	}
	res = &Result{Total: total, Hits: make([]Hit, 0, len(hits))}
	for _, dm := range hits {
		d := details[dm.ID]
		if d == nil {
			// Deleted or changed by a write between the two searches.
			continue
		}
		dm.Fields = d.Fields
		res.Hits = append(res.Hits, toHit(dm, d.Locations, pats))
	}
	if !q.NoFacets {
		res.Facets = mergeFacets(q, ix.codes, counters)
	}
	res.Took = time.Since(start)
	res.TookMS = math.Round(float64(res.Took.Microseconds())/10) / 100
	return res, nil
}

// stopped is the error of a search whose context ended: ErrTimeout when
// the deadline passed.
func (ix *Index) stopped(ctx context.Context) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("index: search: %w: it ran longer than %s; narrow it with a field, a filter or fewer wildcards", ErrTimeout, ix.searchTimeout)
	}
	return fmt.Errorf("index: search: %w", ctx.Err())
}

// searchShard runs req on one shard. Errors of the query wrap ErrBadQuery.
func searchShard(ctx context.Context, sh *shard, req *bleve.SearchRequest, text string, log *slog.Logger) (sr *bleve.SearchResult, err error) {
	// A query must never take the process down, whatever Bleve does with it.
	defer func() {
		if r := recover(); r != nil {
			log.Error("search panicked", "query", text, "panic", fmt.Sprint(r))
			sr, err = nil, fmt.Errorf("index: search %q: %w: the query could not be run: simplify it", text, ErrBadQuery)
		}
	}()
	sr, err = sh.bi.SearchInContext(ctx, req)
	if err != nil {
		// The query parsed, so what Bleve refuses now is in the query
		// (an invalid regular expression, a wildcard with too many terms).
		if ctx.Err() == nil && strings.Contains(err.Error(), "TooManyClauses") {
			return nil, fmt.Errorf("index: search %q: %w: the query expands to more than %d words of the index: use fewer or more specific wildcards", text, ErrBadQuery, backstopClauses)
		}
		return nil, fmt.Errorf("index: search %q: %w: %v", text, ErrBadQuery, firstLine(err.Error()))
	}
	return sr, nil
}

// pageFields are the stored fields a Hit is made of.
var pageFields = []string{fieldDocID, fieldURL, fieldTitle, fieldBody, fieldSource, fieldSite,
	fieldCategories, fieldLevel, fieldScore, fieldPublished, fieldLocNames, fieldLeadID}

// pageDetails reads the stored fields of the hits of a page and the term
// locations of the text query in them, by document key. A second search
// restricted to those few documents does it: asking for locations in the
// main search would read the term vectors of every matching document
// (which dominated the cost of queries with many hits), and asking for
// fields there would make each shard read the fields of all the hits
// before the page too.
func (ix *Index) pageDetails(ctx context.Context, text query.Query, hits search.DocumentMatchCollection) (map[string]*search.DocumentMatch, error) {
	if len(hits) == 0 {
		return nil, nil
	}
	ids := make([][]string, len(ix.shards))
	for _, h := range hits {
		i := ix.shardOf(h.ID)
		ids[i] = append(ids[i], h.ID)
	}
	results := make([]*bleve.SearchResult, len(ix.shards))
	errs := make([]error, len(ix.shards))
	ix.eachShard(func(i int) {
		if len(ids[i]) > 0 {
			results[i], errs[i] = pageSearch(ctx, ix.shards[i], text, ids[i])
		}
	})
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	out := make(map[string]*search.DocumentMatch, len(hits))
	for _, sr := range results {
		if sr != nil {
			for _, h := range sr.Hits {
				out[h.ID] = h
			}
		}
	}
	return out, nil
}

func pageSearch(ctx context.Context, sh *shard, text query.Query, ids []string) (sr *bleve.SearchResult, err error) {
	defer func() {
		if r := recover(); r != nil {
			sr, err = nil, fmt.Errorf("reading the page: %v", r)
		}
	}()
	var q query.Query = query.NewDocIDQuery(ids)
	if text != nil {
		q = query.NewConjunctionQuery([]query.Query{q, text})
	}
	req := bleve.NewSearchRequestOptions(q, len(ids), 0, false)
	req.Fields = pageFields
	req.IncludeLocations = text != nil
	sr, err = sh.bi.SearchInContext(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("reading the page: %w", err)
	}
	return sr, nil
}

func badQuery(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrBadQuery, fmt.Sprintf(format, args...))
}

// queryRewriter is the rewriter of q's text on an index with the fallback
// analyzers (basic) or the injected ones, whose title_bg and body_bg fields
// use the analyzer grams (characters, or pairs in older indexes).
func queryRewriter(q Query, basic bool, grams string) rewriter {
	rw := rewriter{normalize: basicNormalize}
	if !basic {
		rw = rewriter{normalize: func(s string) string {
			if f := installed(); f != nil {
				return f.normalize(s)
			}
			return basicNormalize(s)
		}}
		if f := installed(); f != nil {
			rw.tokenize = f.tokenize
		}
	}
	rw.gramAnalyzer = grams
	// Bleve reads a date without a zone as UTC; such dates are taken in
	// the query's zone instead, unless the text names UTC explicitly.
	if q.Location != nil && q.Location != time.UTC && !explicitUTC.MatchString(q.Text) {
		rw.loc = q.Location
	}
	return rw
}

// markingQuery is q's text rewritten with the clauses that place its
// highlights (see rewriter.marks): it matches the same documents as the
// text of buildRequest. It is made only for a page that has hits. On an
// index of character fields the wildcards and regular expressions are
// returned too, to be marked in the page's texts (pagePatterns).
func markingQuery(q Query, basic bool, grams string) (query.Query, pagePatterns, error) {
	parsed, err := parseQueryString(q.Text)
	if err != nil {
		return nil, pagePatterns{}, err
	}
	rw := queryRewriter(q, basic, grams)
	rw.marks = true
	pats := &pagePatterns{cut: rw.wordTokens}
	rw.patterns = pats
	mq, err := rw.rewrite(parsed)
	return mq, *pats, err
}

// buildRequest turns q into a Bleve search request; text is the rewritten
// query-string part (nil when there is none), used again for the page.
func buildRequest(q Query, basic bool, grams string) (req *bleve.SearchRequest, text query.Query, err error) {
	rw := queryRewriter(q, basic, grams)
	if q.From < 0 {
		return nil, nil, badQuery("from must not be negative, got %d", q.From)
	}
	if q.Size < 0 || q.Size > MaxSize {
		return nil, nil, badQuery("size must be between 1 and %d, got %d", MaxSize, q.Size)
	}
	size := q.Size
	if size == 0 {
		size = 10
	}
	if q.From > 100000 {
		return nil, nil, badQuery("from must be at most 100000, got %d", q.From)
	}

	var main query.Query
	if strings.TrimSpace(q.Text) == "" {
		main = query.NewMatchAllQuery()
	} else {
		if len(q.Text) > MaxQueryBytes {
			return nil, nil, badQuery("the query is %d bytes long, at most %d are allowed: shorten it or split it into several searches", len(q.Text), MaxQueryBytes)
		}
		if !utf8.ValidString(q.Text) {
			return nil, nil, badQuery("query is not valid UTF-8")
		}
		parsed, err := parseQueryString(q.Text)
		if err != nil {
			return nil, nil, err
		}
		if err := checkShape(q.Text, parsed); err != nil {
			return nil, nil, err
		}
		if main, err = rw.rewrite(parsed); err != nil {
			return nil, nil, err
		}
		text = main
		if v, ok := main.(query.ValidatableQuery); ok {
			if err := v.Validate(); err != nil {
				return nil, nil, badQuery("%s", firstLine(err.Error()))
			}
		}
	}

	filters := []query.Query{main}
	if len(q.Categories) > 0 {
		filters = append(filters, anyTerm(fieldCategories, q.Categories))
	}
	if len(q.Sources) > 0 {
		filters = append(filters, anyTerm(fieldSource, q.Sources))
	}
	if len(q.Sites) > 0 {
		filters = append(filters, anyTerm(fieldSite, q.Sites))
	}
	if len(q.Locations) > 0 {
		filters = append(filters, anyTerm(fieldLocCodes, q.Locations))
	}
	if q.MinLevel != "" {
		rank, ok := LevelRank(q.MinLevel)
		if !ok {
			return nil, nil, badQuery("level %q is not one of %s", q.MinLevel, strings.Join(level.All(), ", "))
		}
		minRank, incl := float64(rank), true
		nr := query.NewNumericRangeInclusiveQuery(&minRank, nil, &incl, nil)
		nr.SetField(fieldLevelRank)
		filters = append(filters, nr)
	}
	if !q.Since.IsZero() || !q.Until.IsZero() {
		if !q.Since.IsZero() && !q.Until.IsZero() && !q.Since.Before(q.Until) {
			return nil, nil, badQuery("since (%s) must be before until (%s)", q.Since.Format(time.RFC3339), q.Until.Format(time.RFC3339))
		}
		incl, excl := true, false
		dr := query.NewDateRangeInclusiveQuery(q.Since.UTC(), q.Until.UTC(), &incl, &excl)
		dr.SetField(fieldAt)
		filters = append(filters, dr)
	}
	var top query.Query = main
	if len(filters) > 1 {
		top = query.NewConjunctionQuery(filters)
	}

	req = bleve.NewSearchRequestOptions(top, size, q.From, false)
	// The stored fields are read afterwards for the page only (pageDetails).
	req.Fields = nil
	// One sort key each: every extra key (a time, _id) makes Bleve read doc
	// values for every matching document, which cost more than the facets.
	// Ties keep index order, which is stable for a given index state.
	switch q.Sort {
	case "", SortRelevance:
		req.SortBy([]string{"-_score"})
	case SortTime:
		req.SortBy([]string{"-" + fieldAt})
	case SortScore:
		req.SortBy([]string{"-" + fieldScore})
	default:
		return nil, nil, badQuery("sort must be %s, %s or %s, got %q", SortRelevance, SortTime, SortScore, q.Sort)
	}
	return req, text, nil
}

// anyTerm matches documents whose keyword field holds one of the values.
func anyTerm(field string, values []string) query.Query {
	qs := make([]query.Query, 0, len(values))
	for _, v := range values {
		t := query.NewTermQuery(v)
		t.SetField(field)
		qs = append(qs, t)
	}
	if len(qs) == 1 {
		return qs[0]
	}
	return query.NewDisjunctionQuery(qs)
}

// fieldAliases lets analysts write the singular names the filters use.
var fieldAliases = map[string]string{
	"category":  fieldCategories,
	"location":  fieldLocCodes,
	"locations": fieldLocCodes,
	"date":      fieldAt,
	"time":      fieldAt,
	"text":      fieldBody,
}

// Boosts: a match in the title counts more; an exact substring (bigram
// phrase) counts more than the same words scattered.
const (
	boostTitle  = 2.0
	boostPhrase = 1.5
)

// rewriter knows the analyzers of the index a query runs on.
type rewriter struct {
	// gramAnalyzer is the analyzer of the title_bg and body_bg fields:
	// single characters (new indexes) or character pairs (indexes made
	// before).
	gramAnalyzer string
	normalize    func(string) string
	// tokenize cuts a query text into words as the word fields were cut
	// (nil with the fallback analyzers).
	tokenize func(string) []Token
	loc      *time.Location // zone of dates parsed as UTC; nil keeps them
	// marks asks for the query of a page's highlights: the word fields
	// keep no positions, so each word, and the known start of a wildcard
	// or regular expression, is also sought on the bigram fields as an
	// optional clause. The matches are the same; only the term locations
	// (and scores, which the page search does not use) differ.
	marks bool
	// patterns collects, in a marking rewrite on character fields, the
	// wildcards and regular expressions on words, which no character
	// term can stand for: they are marked in the page's stored texts.
	patterns *pagePatterns
}

// explicitUTC finds a date written with a UTC designator (Z or +00:00).
var explicitUTC = regexp.MustCompile(`\d(Z|[+-]00:?00)"`)

// inZone reads the wall clock of a date Bleve parsed as UTC in rw.loc.
func (rw rewriter) inZone(t time.Time) time.Time {
	if rw.loc == nil || t.IsZero() || t.Location() != time.UTC {
		return t
	}
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), rw.loc)
}

// charFields reports whether title_bg and body_bg hold single characters.
func (rw rewriter) charFields() bool {
	return rw.gramAnalyzer == analyzerChars || rw.gramAnalyzer == analyzerBasicChars
}

// grams analyses s as the title_bg and body_bg fields do.
func (rw rewriter) grams(s string) analysis.TokenStream {
	text, offs := normalizeMapped(s, rw.normalize)
	if rw.charFields() {
		return chars(text, offs)
	}
	return bigrams(text, offs)
}

// twoChars reports whether toks (of grams) are exactly two CJK characters:
// one pair, or two single characters side by side.
func (rw rewriter) twoChars(toks analysis.TokenStream) bool {
	if rw.charFields() {
		return len(toks) == 2 && toks[0].Type == analysis.Ideographic && toks[1].Type == analysis.Ideographic
	}
	return len(toks) == 1 && toks[0].Type == analysis.Double
}

// rewrite maps a parsed query-string query onto the index fields. Words
// without a field search title and body; text-field terms become "all words
// (search-mode segments) OR the exact substring (bigram phrase)", and
// quoted phrases are answered from the bigram fields, which match any
// substring of the text whatever the word boundaries.
func (rw rewriter) rewrite(q query.Query) (query.Query, error) {
	switch q := q.(type) {
	case *query.BooleanQuery:
		var err error
		for _, sub := range []*query.Query{&q.Must, &q.Should, &q.MustNot, &q.Filter} {
			if *sub != nil {
				if *sub, err = rw.rewrite(*sub); err != nil {
					return nil, err
				}
			}
		}
		return q, nil
	case *query.ConjunctionQuery:
		for i, c := range q.Conjuncts {
			r, err := rw.rewrite(c)
			if err != nil {
				return nil, err
			}
			q.Conjuncts[i] = r
		}
		return q, nil
	case *query.DisjunctionQuery:
		for i, c := range q.Disjuncts {
			r, err := rw.rewrite(c)
			if err != nil {
				return nil, err
			}
			q.Disjuncts[i] = r
		}
		return q, nil
	case *query.MatchQuery:
		fields, text := textFields(q.FieldVal)
		if !text {
			q.FieldVal = fields[0]
			return q, nil
		}
		return rw.textMatch(q.Match, fields, boostOf(q.BoostVal), q.Fuzziness), nil
	case *query.MatchPhraseQuery:
		fields, text := textFields(q.FieldVal)
		if !text {
			q.FieldVal = fields[0]
			return q, nil
		}
		return rw.textPhrase(q.MatchPhrase, fields, boostOf(q.BoostVal)), nil
	case *query.WildcardQuery:
		lit := wildcardLiteral(q.Wildcard)
		return perField(q.FieldVal, func(f string) query.Query {
			on := func(field string) query.Query {
				w := query.NewWildcardQuery(q.Wildcard)
				w.SetField(field)
				return w
			}
			return marked(on(f), rw.markPattern(f, lit, wildcardRegexp(q.Wildcard), on))
		}), nil
	case *query.RegexpQuery:
		lit := regexpLiteral(q.Regexp)
		return perField(q.FieldVal, func(f string) query.Query {
			on := func(field string) query.Query {
				r := query.NewRegexpQuery(q.Regexp)
				r.SetField(field)
				return r
			}
			return marked(on(f), rw.markPattern(f, lit, q.Regexp, on))
		}), nil
	case *query.NumericRangeQuery:
		if q.FieldVal == "" {
			// A bare number also yields a numeric range on no field; it
			// can match nothing, the word alternative does the work.
			return query.NewMatchNoneQuery(), nil
		}
		q.FieldVal = alias(q.FieldVal)
		return q, nil
	case *query.DateRangeQuery:
		if q.FieldVal == "" {
			return nil, badQuery("a date range needs a field, e.g. published_at:>\"2024-05-01\"")
		}
		q.FieldVal = alias(q.FieldVal)
		q.Start.Time = rw.inZone(q.Start.Time)
		q.End.Time = rw.inZone(q.End.Time)
		return q, nil
	}
	return q, nil
}

func alias(f string) string {
	if a, ok := fieldAliases[f]; ok {
		return a
	}
	return f
}

// textFields returns the word fields searched for a query-string field name
// and whether they are analysed text; other fields are returned as is.
func textFields(f string) ([]string, bool) {
	switch alias(f) {
	case "":
		return []string{fieldTitle, fieldBody}, true
	case fieldTitle:
		return []string{fieldTitle}, true
	case fieldBody:
		return []string{fieldBody}, true
	}
	return []string{alias(f)}, false
}

func bigramField(f string) string {
	if f == fieldTitle {
		return fieldTitleBigrams
	}
	return fieldBodyBigrams
}

func fieldBoost(f string) float64 {
	if f == fieldTitle {
		return boostTitle
	}
	return 1
}

func boostOf(b *query.Boost) float64 {
	if b == nil {
		return 1
	}
	return b.Value()
}

// textMatch: every word of text in a field, or text as a substring.
func (rw rewriter) textMatch(text string, fields []string, boost float64, fuzziness int) query.Query {
	var qs []query.Query
	// Two Chinese characters: every post whose words hold them has them
	// side by side in its character (or pair) field, so that field alone
	// finds them (together, not two scattered characters) at half the
	// cost.
	if toks := rw.grams(text); fuzziness == 0 && rw.twoChars(toks) {
		for _, f := range fields {
			qs = append(qs, rw.substring(text, f, boost*fieldBoost(f)*boostPhrase))
		}
		if len(qs) == 1 {
			return qs[0]
		}
		return query.NewDisjunctionQuery(qs)
	}
	if !rw.marks {
		for _, f := range fields {
			m := query.NewMatchQuery(text)
			m.SetField(f)
			m.SetOperator(query.MatchQueryOperatorAnd)
			m.Fuzziness = fuzziness
			m.SetBoost(boost * fieldBoost(f))
			qs = append(qs, m)
			qs = append(qs, rw.substring(text, f, boost*fieldBoost(f)*boostPhrase))
		}
		return query.NewDisjunctionQuery(qs)
	}
	words := rw.words(text)
	for _, f := range fields {
		m := query.NewMatchQuery(text)
		m.SetField(f)
		m.SetOperator(query.MatchQueryOperatorAnd)
		m.Fuzziness = fuzziness
		either := query.NewDisjunctionQuery([]query.Query{m, rw.substring(text, f, 1)})
		opt := make([]query.Query, 0, len(words))
		for _, w := range words {
			opt = append(opt, rw.substring(w, f, 1))
		}
		qs = append(qs, marked(either, opt))
	}
	if len(qs) == 1 {
		return qs[0]
	}
	return query.NewDisjunctionQuery(qs)
}

// marked returns q with optional clauses: they add the term locations of
// the highlights and change no match.
func marked(q query.Query, opt []query.Query) query.Query {
	if len(opt) == 0 {
		return q
	}
	return query.NewBooleanQuery([]query.Query{q}, opt, nil)
}

// markPattern is, in a marking rewrite, what marks the matches of a
// wildcard or regular expression on word field f in its bigram field: the
// same pattern there (runs of letters and digits are whole tokens in it,
// and a pattern of one or two Chinese characters matches the pairs that
// start the words it matched), and its literal start as a substring when
// that has two or more Chinese characters (燃气泄* marks 燃气泄). Nil
// outside a marking rewrite. On character fields nothing stands for a
// word in them: the pattern (re, Bleve's regular expression of the words)
// goes to rw.patterns instead, to be marked in the page's texts.
func (rw rewriter) markPattern(f, literal, re string, same func(field string) query.Query) []query.Query {
	if !rw.marks {
		return nil
	}
	if _, text := textFields(f); !text {
		return nil
	}
	if rw.charFields() {
		if rw.patterns != nil {
			rw.patterns.add(f, re)
		}
		return nil
	}
	opt := []query.Query{same(bigramField(f))}
	if utf8.RuneCountInString(literal) >= 2 && strings.ContainsFunc(literal, isCJK) {
		opt = append(opt, rw.substring(literal, f, 1))
	}
	return opt
}

// words returns the words the word fields hold for text, as substrings to
// mark: those of two or more characters (a single character would be
// sought through every pair holding it), each once, and none that lies
// inside a longer one (search mode also gives the parts of a long word).
func (rw rewriter) words(text string) []string {
	if rw.tokenize == nil {
		return nil
	}
	norm := rw.normalize(text)
	toks := rw.tokenize(norm)
	var out []string
	for i, t := range toks {
		if t.Start < 0 || t.End > len(norm) || t.Start >= t.End || !hasWordRune(t.Text) || utf8.RuneCountInString(t.Text) < 2 {
			continue
		}
		inside := false
		for j, u := range toks {
			if j != i && u.Start <= t.Start && t.End <= u.End && u.End-u.Start > t.End-t.Start {
				inside = true
				break
			}
		}
		if !inside && !slices.Contains(out, t.Text) {
			out = append(out, t.Text)
		}
	}
	return out
}

// textPhrase: text as a substring of a field.
func (rw rewriter) textPhrase(text string, fields []string, boost float64) query.Query {
	var qs []query.Query
	for _, f := range fields {
		qs = append(qs, rw.substring(text, f, boost*fieldBoost(f)))
	}
	if len(qs) == 1 {
		return qs[0]
	}
	return query.NewDisjunctionQuery(qs)
}

// substring matches text anywhere in field f through its character (or, in
// older indexes, bigram) field. A single CJK character is a term of a
// character field; in a bigram field it is indexed only inside pairs (or
// alone), so it becomes a prefix or suffix match on the pairs.
func (rw rewriter) substring(text string, f string, boost float64) query.Query {
	bg := bigramField(f)
	t := strings.TrimSpace(text)
	if r, n := utf8.DecodeRuneInString(t); n == len(t) && n > 0 && isCJK(r) && !rw.charFields() {
		c := rw.normalize(t)
		if strings.ContainsAny(c, `*?\`) || c == "" {
			return query.NewMatchNoneQuery()
		}
		// The character starting a bigram, ending one, or standing alone.
		p := query.NewPrefixQuery(c)
		p.SetField(bg)
		w := query.NewWildcardQuery("?" + c)
		w.SetField(bg)
		d := query.NewDisjunctionQuery([]query.Query{p, w})
		d.SetBoost(boost)
		return d
	}
	// A text that is a single token (a character, a pair, a word of
	// letters) needs no positions: a term query is much cheaper than a
	// one-term phrase.
	toks := rw.grams(t)
	if len(toks) == 1 {
		tq := query.NewTermQuery(string(toks[0].Term))
		tq.SetField(bg)
		tq.SetBoost(boost)
		return tq
	}
	p := query.NewMatchPhraseQuery(text)
	p.SetField(bg)
	// The character and bigram fields are extra mappings of the title and
	// body properties; Bleve cannot find their analyzer from the field name.
	p.Analyzer = rw.gramAnalyzer
	p.SetBoost(boost)
	if len(toks) == 0 {
		return p
	}
	// The phrase is its terms at their positions: one after another, but
	// for the position a character field leaves out at a break.
	terms := make([]string, len(toks))
	offs := make([]uint64, len(toks))
	for i, tok := range toks {
		terms[i] = string(tok.Term)
		offs[i] = uint64(tok.Position - toks[0].Position)
	}
	return newBigramPhrase(bg, terms, offs, boost, p)
}

// perField applies mk to the text fields named by f (both when empty).
func perField(f string, mk func(string) query.Query) query.Query {
	fields, text := textFields(f)
	if !text || len(fields) == 1 {
		return mk(fields[0])
	}
	qs := make([]query.Query, 0, len(fields))
	for _, f := range fields {
		qs = append(qs, mk(f))
	}
	return query.NewDisjunctionQuery(qs)
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// toHit builds a Hit from a document match with stored fields, the term
// locations of the match and the query's patterns to mark in its texts.
func toHit(dm *search.DocumentMatch, locs search.FieldTermLocationMap, pats pagePatterns) Hit {
	h := Hit{
		Key:   dm.ID,
		Score: dm.Score,
	}
	str := func(k string) string {
		s, _ := dm.Fields[k].(string)
		return s
	}
	h.ID = str(fieldDocID)
	if h.ID == "" {
		h.ID = dm.ID
	}
	h.URL = str(fieldURL)
	h.Title = str(fieldTitle)
	h.Source = str(fieldSource)
	h.Site = str(fieldSite)
	h.Level = str(fieldLevel)
	h.LeadID = str(fieldLeadID)
	h.Categories = strs(dm.Fields[fieldCategories])
	h.LocationNames = strs(dm.Fields[fieldLocNames])
	if v, ok := dm.Fields[fieldScore].(float64); ok {
		h.RiskScore = v
	}
	if s := str(fieldPublished); s != "" {
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			h.PublishedAt = t
		}
	}
	h.Fragments = map[string][]string{}
	if frag := highlightTitle(h.Title, pats.with(spansOf(locs, fieldTitle, fieldTitleBigrams), fieldTitle, h.Title)); frag != "" {
		h.Fragments[fieldTitle] = []string{frag}
	}
	body := str(fieldBody)
	if frags := highlightBody(body, pats.with(spansOf(locs, fieldBody, fieldBodyBigrams), fieldBody, body)); len(frags) > 0 {
		h.Fragments[fieldBody] = frags
	}
	if h.Categories == nil {
		h.Categories = []string{}
	}
	return h
}

// strs reads a stored keyword field, which Bleve returns as a string for one
// value and a slice for several.
func strs(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// wildcardLiteral is the start of a wildcard before its first * or ?.
func wildcardLiteral(w string) string {
	if i := strings.IndexAny(w, `*?\`); i >= 0 {
		return w[:i]
	}
	return w
}

// regexpLiteral is the literal start every match of a regular expression
// begins with ("" when it has none or cannot be read).
func regexpLiteral(re string) string {
	r, err := regexp.Compile(re)
	if err != nil {
		return ""
	}
	prefix, _ := r.LiteralPrefix()
	return prefix
}
