package index

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"regexp/syntax"
	"strings"
	"unicode/utf8"

	"github.com/blevesearch/bleve/v2/mapping"
	"github.com/blevesearch/bleve/v2/search/query"
	"github.com/blevesearch/bleve/v2/search/searcher"
	bindex "github.com/blevesearch/bleve_index_api"
)

// The bounds of one search. Wildcards, regular expressions and fuzzy words
// are expanded by Bleve into one term searcher per matching word of the
// dictionary, for every field and shard; without a bound a query such as
// *1* costs gigabytes. The bounds are checked before Bleve expands anything:
// the query text is measured, its shape checked, and every expanding term
// counted in the field dictionaries, stopping at the bound.
const (
	// MaxQueryBytes is the longest query text accepted.
	MaxQueryBytes = 4096
	// MaxQueryDepth is the deepest nesting of parentheses.
	MaxQueryDepth = 16
	// MaxQueryClauses is the largest number of words, phrases and other
	// clauses a query may hold.
	MaxQueryClauses = 256
	// MaxTermExpansion is the most dictionary words one wildcard, regular
	// expression or fuzzy word may match in one field of one shard.
	MaxTermExpansion = 1024
	// MaxQueryExpansion is the most dictionary words all the expanding
	// terms of one query may match together.
	MaxQueryExpansion = 4096
	// MaxCharExpansion is the most character pairs the single Chinese
	// characters of one query may match together, over both text fields
	// and every shard. A character searched alone is found through the
	// pairs that hold it (火 through 火灾, 起火, 着火…): a common one
	// holds a few thousand, and 250 of them in one query held a gigabyte
	// of term searchers.
	MaxCharExpansion = 32768
	// MaxSingleChars is the most Chinese characters one query may search
	// alone (火, not 火灾): finding each walks the character-pair
	// dictionaries of both text fields on every shard.
	MaxSingleChars = 8
)

// backstopClauses is Bleve's own limit on the clauses of one disjunction,
// for any expansion the checks below do not foresee: Bleve counts the
// candidate words and refuses before it builds a searcher per word. It is
// above what the checks allow and what a single character (a prefix and a
// suffix on the bigram fields) expands to.
const backstopClauses = 16384

func init() {
	// A process-wide Bleve setting; this package is riskmine's only
	// user of Bleve.
	searcher.DisjunctionMaxClauseCount = backstopClauses
}

// ErrTimeout is wrapped by the error of a search stopped by its deadline
// (Options.SearchTimeout).
var ErrTimeout = errors.New("the search took too long")

// parseQueryString parses a query string, turning a panic of Bleve's parser
// (it has panicked on input such as a lone /) into a bad-query error with a
// message for the person who typed it.
func parseQueryString(text string) (q query.Query, err error) {
	defer func() {
		if r := recover(); r != nil {
			q, err = nil, unreadable()
		}
	}()
	q, err = query.NewQueryStringQuery(text).Parse()
	if err != nil {
		msg := firstLine(err.Error())
		if strings.Contains(msg, "runtime error") {
			// The parser recovered from its own panic; its text is
			// of no use to the person who typed the query.
			return nil, unreadable()
		}
		return nil, badQuery("%s", msg)
	}
	return q, nil
}

func unreadable() error {
	return badQuery("the query could not be read (an unpaired / or quote?): put a \\ before special characters such as / or put the words in quotes")
}

// checkShape refuses a parsed query that is too long, too deep, has too many
// clauses, or holds a term that would match every word: a wildcard that
// begins with *, a regular expression that begins with an open repetition
// such as .*. It needs no index.
func checkShape(text string, q query.Query) error {
	if len(text) > MaxQueryBytes {
		return badQuery("the query is %d bytes long, at most %d are allowed: shorten it or split it into several searches", len(text), MaxQueryBytes)
	}
	clauses, depth, singles := 0, 0, 0
	var walk func(q query.Query, d int) error
	walk = func(q query.Query, d int) error {
		depth = max(depth, d)
		if depth > MaxQueryDepth {
			return badQuery("the query nests more than %d levels of parentheses: flatten it", MaxQueryDepth)
		}
		if kids := children(q); kids != nil {
			for _, k := range kids {
				if err := walk(k, d+1); err != nil {
					return err
				}
			}
			return nil
		}
		clauses++
		if clauses > MaxQueryClauses {
			return badQuery("the query has more than %d words and clauses: split it into several searches", MaxQueryClauses)
		}
		switch q := q.(type) {
		case *query.WildcardQuery:
			return checkWildcard(q.Wildcard)
		case *query.RegexpQuery:
			return checkRegexp(q.Regexp)
		case *query.MatchQuery:
			if singleChar(q.FieldVal, q.Match) {
				singles++
			}
		case *query.MatchPhraseQuery:
			if singleChar(q.FieldVal, q.MatchPhrase) {
				singles++
			}
		}
		if singles > MaxSingleChars {
			return badQuery("the query searches more than %d characters alone (such as %s): join them into words of two or more characters (a character alone matches it everywhere)", MaxSingleChars, leafText(q))
		}
		return nil
	}
	return walk(q, 0)
}

// singleChar reports whether a match of text in field is a Chinese (or
// Japanese, Korean) character searched alone in a text field, which the
// rewriter turns into a match of the character pairs that hold it.
func singleChar(field, text string) bool {
	if _, isText := textFields(field); !isText {
		return false
	}
	t := strings.TrimSpace(text)
	r, n := utf8.DecodeRuneInString(t)
	return n == len(t) && n > 0 && isCJK(r)
}

func leafText(q query.Query) string {
	switch q := q.(type) {
	case *query.MatchQuery:
		return q.Match
	case *query.MatchPhraseQuery:
		return q.MatchPhrase
	}
	return ""
}

// children returns the clauses of a compound query, nil for a leaf.
func children(q query.Query) []query.Query {
	switch q := q.(type) {
	case *query.BooleanQuery:
		var out []query.Query
		for _, c := range []query.Query{q.Must, q.Should, q.MustNot, q.Filter} {
			if c != nil {
				out = append(out, c)
			}
		}
		if out == nil {
			out = []query.Query{}
		}
		return out
	case *query.ConjunctionQuery:
		return append([]query.Query{}, q.Conjuncts...)
	case *query.DisjunctionQuery:
		return append([]query.Query{}, q.Disjuncts...)
	}
	return nil
}

// checkWildcard refuses a wildcard with a * before its first character: it
// walks the whole dictionary and matches every word.
func checkWildcard(w string) error {
	for _, r := range w {
		switch r {
		case '?':
			continue
		case '*':
			return badQuery("%q begins with a *, which matches every word: put at least one character before the * (e.g. 火*)", w)
		}
		return nil
	}
	return nil
}

// broadClassRunes is the size above which a character class counts as
// "any character" (it would take in all of a script).
const broadClassRunes = 256

// checkRegexp refuses a regular expression that begins with an open
// repetition of any character (.*, .+, .{0,9}, [^x]*, (.*)…): Bleve matches a
// regular expression against whole words, so such a pattern matches (nearly)
// every word of the dictionary.
func checkRegexp(re string) error {
	p, err := syntax.Parse(re, syntax.Perl)
	if err != nil {
		return badQuery("/%s/ is not a valid regular expression: %s", re, regexpReason(err))
	}
	if leadsWithAny(p) {
		return badQuery("/%s/ begins with an open repetition such as .* and would match every word: start it with the characters you know (e.g. /火.*/)", re)
	}
	return nil
}

func regexpReason(err error) string {
	var se *syntax.Error
	if errors.As(err, &se) {
		return fmt.Sprintf("%s in %q", se.Code, se.Expr)
	}
	return err.Error()
}

// leadsWithAny reports whether re can begin with a repetition of a broad
// class of characters.
func leadsWithAny(re *syntax.Regexp) bool {
	switch re.Op {
	case syntax.OpStar, syntax.OpPlus, syntax.OpQuest, syntax.OpRepeat:
		return broad(re.Sub[0]) || leadsWithAny(re.Sub[0])
	case syntax.OpCapture:
		return leadsWithAny(re.Sub[0])
	case syntax.OpConcat:
		for _, s := range re.Sub {
			if leadsWithAny(s) {
				return true
			}
			if !matchesEmpty(s) {
				return false
			}
		}
		return false
	case syntax.OpAlternate:
		for _, s := range re.Sub {
			if leadsWithAny(s) {
				return true
			}
		}
		return false
	case syntax.OpEmptyMatch, syntax.OpBeginLine, syntax.OpBeginText:
		return false
	}
	return false
}

// matchesEmpty reports whether re can match without consuming a character.
func matchesEmpty(re *syntax.Regexp) bool {
	switch re.Op {
	case syntax.OpEmptyMatch, syntax.OpStar, syntax.OpQuest, syntax.OpBeginLine, syntax.OpEndLine,
		syntax.OpBeginText, syntax.OpEndText, syntax.OpWordBoundary, syntax.OpNoWordBoundary:
		return true
	case syntax.OpRepeat:
		return re.Min == 0 || matchesEmpty(re.Sub[0])
	case syntax.OpCapture, syntax.OpPlus:
		return matchesEmpty(re.Sub[0])
	case syntax.OpConcat:
		for _, s := range re.Sub {
			if !matchesEmpty(s) {
				return false
			}
		}
		return true
	case syntax.OpAlternate:
		for _, s := range re.Sub {
			if matchesEmpty(s) {
				return true
			}
		}
	}
	return false
}

// broad reports whether re is one character of a large class.
func broad(re *syntax.Regexp) bool {
	switch re.Op {
	case syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		return true
	case syntax.OpCharClass:
		n := 0
		for i := 0; i+1 < len(re.Rune); i += 2 {
			n += int(re.Rune[i+1]-re.Rune[i]) + 1
		}
		return n > broadClassRunes
	case syntax.OpCapture:
		return broad(re.Sub[0])
	}
	return false
}

// expansionCheck counts, on every shard, the dictionary words the expanding
// terms of a rewritten query match, and refuses the query when a term or
// the whole query matches too many. Counting reads the dictionary only and
// stops at the bound, so its cost is bounded whatever the query.
type expansionCheck struct {
	ctx      context.Context // the search's; counting stops when it ends
	readers  []bindex.IndexReader
	mappings []mapping.IndexMapping
	total    int // words matched by wildcards, regexps and fuzzy words
	pairs    int // character pairs matched by single characters
}

func (ix *Index) checkExpansion(ctx context.Context, q query.Query) (err error) {
	c := &expansionCheck{ctx: ctx}
	defer func() {
		for _, r := range c.readers {
			if cerr := r.Close(); cerr != nil && err == nil {
				err = fmt.Errorf("index: close reader: %w", cerr)
			}
		}
	}()
	for _, sh := range ix.shards {
		adv, err := sh.bi.Advanced()
		if err != nil {
			return fmt.Errorf("index: open reader: %w", err)
		}
		r, err := adv.Reader()
		if err != nil {
			return fmt.Errorf("index: open reader: %w", err)
		}
		c.readers = append(c.readers, r)
		c.mappings = append(c.mappings, sh.bi.Mapping())
	}
	return c.walk(q)
}

func (c *expansionCheck) walk(q query.Query) error {
	if kids := children(q); kids != nil {
		for _, k := range kids {
			if err := c.walk(k); err != nil {
				return err
			}
		}
		return nil
	}
	switch q := q.(type) {
	case *query.WildcardQuery:
		dict := func(r bindex.IndexReader) (bindex.FieldDict, error) {
			rr, ok := r.(bindex.IndexReaderRegexp)
			if !ok {
				return nil, errors.New("the index cannot list words by pattern")
			}
			return rr.FieldDictRegexp(q.FieldVal, wildcardRegexp(q.Wildcard))
		}
		if ch := strings.TrimPrefix(q.Wildcard, "?"); internalSubstring(q.FieldVal, ch) {
			return c.countPairs(ch, dict)
		}
		return c.count(q.Wildcard, dict)
	case *query.RegexpQuery:
		return c.count("/"+q.Regexp+"/", func(r bindex.IndexReader) (bindex.FieldDict, error) {
			rr, ok := r.(bindex.IndexReaderRegexp)
			if !ok {
				return nil, errors.New("the index cannot list words by pattern")
			}
			return rr.FieldDictRegexp(q.FieldVal, q.Regexp)
		})
	case *query.PrefixQuery:
		dict := func(r bindex.IndexReader) (bindex.FieldDict, error) {
			return r.FieldDictPrefix(q.FieldVal, []byte(q.Prefix))
		}
		if internalSubstring(q.FieldVal, q.Prefix) {
			return c.countPairs(q.Prefix, dict)
		}
		return c.count(q.Prefix+"*", dict)
	case *query.FuzzyQuery:
		return c.fuzzy(q.Term, q.FieldVal, q.Fuzziness)
	case *query.MatchQuery:
		if q.Fuzziness > 0 {
			return c.fuzzyText(q.Match, q.FieldVal, q.Analyzer, q.Fuzziness)
		}
	case *query.MatchPhraseQuery:
		if q.Fuzziness > 0 {
			return c.fuzzyText(q.MatchPhrase, q.FieldVal, q.Analyzer, q.Fuzziness)
		}
	}
	return nil
}

// internalSubstring reports whether a prefix or wildcard is the rewriter's
// match of a single character on a bigram field: it expands to the
// character pairs holding that character, counted against
// MaxCharExpansion rather than the bounds of what the user typed.
func internalSubstring(field, s string) bool {
	if field != fieldTitleBigrams && field != fieldBodyBigrams {
		return false
	}
	r, n := utf8.DecodeRuneInString(s)
	return n == len(s) && n > 0 && isCJK(r)
}

// fuzzyText checks a fuzzy match: Bleve analyses the text and expands every
// word it yields.
func (c *expansionCheck) fuzzyText(text, field, analyzer string, fuzziness int) error {
	for i, m := range c.mappings {
		name := analyzer
		if name == "" {
			name = m.AnalyzerNameForPath(field)
		}
		a := m.AnalyzerNamed(name)
		if a == nil {
			return nil // Bleve refuses it with its own error
		}
		for _, tok := range a.Analyze([]byte(text)) {
			if err := c.fuzzyOn(i, string(tok.Term), field, fuzziness); err != nil {
				return err
			}
		}
	}
	return nil
}

func (c *expansionCheck) fuzzy(term, field string, fuzziness int) error {
	for i := range c.readers {
		if err := c.fuzzyOn(i, term, field, fuzziness); err != nil {
			return err
		}
	}
	return nil
}

func (c *expansionCheck) fuzzyOn(shard int, term, field string, fuzziness int) error {
	if n := utf8.RuneCountInString(term); fuzziness >= n {
		return badQuery("%s~%d: a fuzziness of %d on a word of %d characters matches almost every short word: use ~1 on words of 2 or more characters, ~2 on words of 3 or more, or no ~", term, fuzziness, fuzziness, n)
	}
	return c.countOn(shard, term+fmt.Sprintf("~%d", fuzziness), func(r bindex.IndexReader) (bindex.FieldDict, error) {
		rf, ok := r.(bindex.IndexReaderFuzzy)
		if !ok {
			return nil, errors.New("the index cannot list words by distance")
		}
		return rf.FieldDictFuzzy(field, term, fuzziness, "")
	})
}

// count counts the words of a term on every shard.
func (c *expansionCheck) count(what string, dict func(bindex.IndexReader) (bindex.FieldDict, error)) error {
	for i := range c.readers {
		if err := c.countOn(i, what, dict); err != nil {
			return err
		}
	}
	return nil
}

func (c *expansionCheck) countOn(shard int, what string, dict func(bindex.IndexReader) (bindex.FieldDict, error)) error {
	n := 0
	err := c.walkDict(shard, what, dict, func() error {
		n++
		if n > MaxTermExpansion {
			return badQuery("%s matches more than %d words of the index: make it more specific (more characters before a wildcard, a smaller fuzziness)", what, MaxTermExpansion)
		}
		return nil
	})
	if err != nil {
		return err
	}
	c.total += n
	if c.total > MaxQueryExpansion {
		return badQuery("the wildcards, regular expressions and fuzzy words of this query match more than %d words of the index together: use fewer or more specific ones", MaxQueryExpansion)
	}
	return nil
}

// countPairs counts, on every shard, the character pairs of a bigram
// field that the rewriter's match of the single character ch expands to.
func (c *expansionCheck) countPairs(ch string, dict func(bindex.IndexReader) (bindex.FieldDict, error)) error {
	for i := range c.readers {
		err := c.walkDict(i, ch, dict, func() error {
			c.pairs++
			if c.pairs > MaxCharExpansion {
				return badQuery("the characters searched alone in this query (%s and others) are found through more than %d character pairs of the index together: search words of two or more characters, or fewer single characters", ch, MaxCharExpansion)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// walkDict calls each for every word of a dictionary until it returns an
// error or the search's context ends.
func (c *expansionCheck) walkDict(shard int, what string, dict func(bindex.IndexReader) (bindex.FieldDict, error), each func() error) (err error) {
	if err := c.ctx.Err(); err != nil {
		return err
	}
	d, err := dict(c.readers[shard])
	if err != nil {
		return badQuery("%s: %s", what, firstLine(err.Error()))
	}
	defer func() {
		if cerr := d.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("index: close dictionary: %w", cerr)
		}
	}()
	for n := 1; ; n++ {
		e, err := d.Next()
		if err != nil {
			return fmt.Errorf("index: read dictionary: %w", err)
		}
		if e == nil {
			return nil
		}
		if err := each(); err != nil {
			return err
		}
		if n%1024 == 0 {
			if err := c.ctx.Err(); err != nil {
				return err
			}
		}
	}
}

// wildcardRegexp turns a wildcard (* any run, ? one character) into the
// regular expression Bleve matches words against.
func wildcardRegexp(w string) string {
	var b strings.Builder
	for _, r := range w {
		switch r {
		case '*':
			b.WriteString(".*")
		case '?':
			b.WriteString(".")
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	return b.String()
}
