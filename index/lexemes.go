package index

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/search/query"
)

// This file gives another search backend (index/pgsearch) the analysis of
// this index: the same normalisation, gse words and character bigrams,
// written as PostgreSQL tsvector and tsquery text, and the same highlights.
//
// A lexeme is a prefix and a term: "w/" a word of the word fields, "b/" a
// bigram (or lone character, or run of letters and digits) of the bigram
// fields, "k/field=value" a keyword field (source, site, level, categories,
// location codes with their parents). Title lexemes carry weight A, body
// lexemes weight D; bigram positions are the bigram analyzer's, so a
// phrase is its bigrams at consecutive positions (<->).

// InstallAnalysis makes tokenize and normalize the analysis of this
// process, as Open does with Options.Tokenize and Options.Normalize; a
// backend that uses the lexemes without opening a Bleve index calls it.
func InstallAnalysis(tokenize func(string) []Token, normalize func(string) string) error {
	if tokenize == nil {
		return nil
	}
	return install(tokenize, normalize)
}

// analysisFuncs returns the installed analysis, or the built-in fallback.
func analysisFuncs() (tokenize func(string) []Token, normalize func(string) string) {
	if f := installed(); f != nil {
		return f.tokenize, f.normalize
	}
	return basicTokenize, basicNormalize
}

// maxLexemePos is PostgreSQL's largest position; later ones are clamped.
const maxLexemePos = 16383

// maxPositions is how many positions PostgreSQL keeps per lexeme.
const maxPositions = 255

// fieldLexemes are the word and bigram tokens of one title or body value.
func fieldLexemes(text string) (words, bgs analysis.TokenStream) {
	tokenize, normalize := analysisFuncs()
	norm, offs := normalizeMapped(text, normalize)
	return wordTokens(tokenize(norm), norm, offs), bigrams(norm, offs)
}

// TSVector returns the tsvector literal of d (see the top of this file).
func TSVector(d *Doc) string {
	pos := map[string][]string{}
	add := func(lex string, p int, weight string) {
		ps := pos[lex]
		if len(ps) >= maxPositions {
			return
		}
		p = min(max(p, 1), maxLexemePos)
		pos[lex] = append(ps, strconv.Itoa(p)+weight)
	}
	// Body positions start after the title's with a gap, so a phrase never
	// runs from the title into the body.
	base := 0
	for _, f := range []struct {
		text, weight string
	}{{d.Title, "A"}, {d.Body, ""}} {
		words, bgs := fieldLexemes(f.text)
		last := 0
		for _, t := range words {
			add("w/"+string(t.Term), base+t.Position, f.weight)
		}
		for _, t := range bgs {
			add("b/"+string(t.Term), base+t.Position, f.weight)
			last = max(last, t.Position)
		}
		for _, t := range words {
			last = max(last, t.Position)
		}
		base += last + 10
	}
	var b strings.Builder
	keys := make([]string, 0, len(pos)+8)
	for k := range pos {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		b.WriteString(quoteLexeme(k))
		b.WriteByte(':')
		b.WriteString(strings.Join(pos[k], ","))
		b.WriteByte(' ')
	}
	kw := func(field string, values ...string) {
		for _, v := range values {
			if v != "" {
				b.WriteString(quoteLexeme("k/" + field + "=" + v))
				b.WriteByte(' ')
			}
		}
	}
	kw(fieldSource, d.Source)
	kw(fieldSite, d.Site)
	kw(fieldLevel, d.Level)
	kw(fieldCategories, d.Categories...)
	kw(fieldLocCodes, withParents(d.LocationCodes)...)
	return strings.TrimSpace(b.String())
}

// quoteLexeme writes s as a quoted tsvector or tsquery lexeme.
func quoteLexeme(s string) string {
	s = strings.ReplaceAll(s, `\`, `\\`)
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// WithParents returns location codes with their parent division codes, as
// the locations filter and facet count them.
func WithParents(codes []string) []string { return withParents(codes) }

// At is the time a post is filed under: its publication time, else its
// fetch time.
func (d *Doc) At() time.Time {
	if !d.PublishedAt.IsZero() {
		return d.PublishedAt
	}
	return d.FetchedAt
}

// TSQuery translates a query string into tsquery text over TSVector's
// lexemes; "" means every document. It takes the syntax Search takes,
// except for what a tsquery cannot say, which is refused with an error
// wrapping ErrBadQuery: wildcards, regular expressions, fuzzy terms,
// numeric and date ranges (use the Since/Until filters), a single Chinese
// character, and should-clauses with a minimum above one.
func TSQuery(text string) (string, error) {
	if strings.TrimSpace(text) == "" {
		return "", nil
	}
	if len(text) > MaxQueryBytes {
		return "", badQuery("the query is %d bytes long, at most %d are allowed: shorten it or split it into several searches", len(text), MaxQueryBytes)
	}
	if !utf8.ValidString(text) {
		return "", badQuery("query is not valid UTF-8")
	}
	parsed, err := parseQueryString(text)
	if err != nil {
		return "", err
	}
	if err := checkShape(text, parsed); err != nil {
		return "", err
	}
	s, err := tsq(parsed)
	if err != nil {
		return "", err
	}
	if s == "" {
		return "", badQuery("the query has no word to search for")
	}
	return s, nil
}

// noMatch is a tsquery that matches nothing (no lexeme has this prefix).
const noMatch = "'x/none'"

// tsq translates one node of a parsed query string.
func tsq(q query.Query) (string, error) {
	join := func(qs []query.Query, op string) (string, error) {
		var parts []string
		for _, c := range qs {
			s, err := tsq(c)
			if err != nil {
				return "", err
			}
			if s != "" {
				parts = append(parts, "("+s+")")
			}
		}
		return strings.Join(parts, " "+op+" "), nil
	}
	switch q := q.(type) {
	case *query.BooleanQuery:
		var parts []string
		if q.Must != nil {
			s, err := tsq(q.Must)
			if err != nil {
				return "", err
			}
			if s != "" {
				parts = append(parts, "("+s+")")
			}
		}
		if q.Should != nil {
			if d, ok := q.Should.(*query.DisjunctionQuery); ok && d.Min > 1 {
				return "", badQuery("a minimum number of should-clauses is not supported by the PostgreSQL search")
			}
			s, err := tsq(q.Should)
			if err != nil {
				return "", err
			}
			// With a must part, should-clauses only rank in Bleve; they
			// do not filter.
			if s != "" && len(parts) == 0 {
				parts = append(parts, "("+s+")")
			}
		}
		if q.MustNot != nil {
			s, err := tsq(q.MustNot)
			if err != nil {
				return "", err
			}
			if s != "" {
				if len(parts) == 0 {
					return "", badQuery("a query of exclusions only (-word) is not supported by the PostgreSQL search: add a word to look for")
				}
				parts = append(parts, "!("+s+")")
			}
		}
		return strings.Join(parts, " & "), nil
	case *query.ConjunctionQuery:
		return join(q.Conjuncts, "&")
	case *query.DisjunctionQuery:
		if q.Min > 1 {
			return "", badQuery("a minimum number of should-clauses is not supported by the PostgreSQL search")
		}
		return join(q.Disjuncts, "|")
	case *query.MatchAllQuery:
		return "", nil
	case *query.MatchNoneQuery:
		return noMatch, nil
	case *query.MatchQuery:
		if q.Fuzziness != 0 {
			return "", badQuery("fuzzy terms (~) are not supported by the PostgreSQL search")
		}
		return textQuery(q.FieldVal, q.Match, false)
	case *query.MatchPhraseQuery:
		return textQuery(q.FieldVal, q.MatchPhrase, true)
	case *query.TermQuery:
		return textQuery(q.FieldVal, q.Term, false)
	case *query.NumericRangeQuery:
		if q.FieldVal == "" {
			// A bare number: its word alternative does the work.
			return noMatch, nil
		}
		return "", badQuery("the range on %s is not supported by the PostgreSQL search", q.FieldVal)
	case *query.DateRangeQuery:
		return "", badQuery("date ranges in the query are not supported by the PostgreSQL search: use the since and until filters")
	case *query.WildcardQuery, *query.RegexpQuery, *query.PrefixQuery, *query.FuzzyQuery:
		return "", badQuery("wildcards, regular expressions and fuzzy terms are not supported by the PostgreSQL search")
	}
	return "", badQuery("this kind of query (%T) is not supported by the PostgreSQL search", q)
}

// keywordFields are the fields a query string may name for an exact value.
var keywordFields = map[string]bool{fieldSource: true, fieldSite: true, fieldLevel: true, fieldCategories: true, fieldLocCodes: true}

// textQuery is a term or phrase on field f: every word of it, or it as a
// substring (its bigrams in a row); a phrase is the substring only. A
// keyword field takes its value as is.
func textQuery(f, text string, phrase bool) (string, error) {
	f = alias(f)
	if keywordFields[f] {
		return quoteLexeme("k/" + f + "=" + text), nil
	}
	weight := ""
	switch f {
	case "":
	case fieldTitle:
		weight = ":A"
	case fieldBody:
		weight = ":D"
	default:
		return "", badQuery("the field %q is not one of title, body, source, site, level, categories, locations", f)
	}
	words, bgs := fieldLexemes(text)
	if len(bgs) == 0 {
		return "", nil
	}
	if len(bgs) == 1 && bgs[0].Type == analysis.Single {
		return "", badQuery("a single Chinese character (%s) cannot be searched on PostgreSQL: write two or more characters", string(bgs[0].Term))
	}
	terms := make([]string, len(bgs))
	for i, t := range bgs {
		terms[i] = quoteLexeme("b/"+string(t.Term)) + weight
	}
	sub := strings.Join(terms, " <-> ")
	if phrase || len(bgs) == 1 && bgs[0].Type == analysis.Double || len(words) == 0 {
		return sub, nil
	}
	ws := make([]string, 0, len(words))
	seen := map[string]bool{}
	for _, t := range words {
		if !seen[string(t.Term)] {
			seen[string(t.Term)] = true
			ws = append(ws, quoteLexeme("w/"+string(t.Term))+weight)
		}
	}
	return fmt.Sprintf("(%s) | (%s)", strings.Join(ws, " & "), sub), nil
}

// Highlight marks, in a stored title and body, the words and substrings of
// the query string text (its positive terms), as Search does: the title
// with its matches or "" when none, and up to three body fragments.
func Highlight(title, body, text string) (string, []string) {
	terms := map[string]bool{}
	if parsed, err := parseQueryString(text); err == nil && strings.TrimSpace(text) != "" {
		collectTerms(parsed, terms)
	}
	spans := func(s string) []span {
		if len(terms) == 0 {
			return nil
		}
		words, bgs := fieldLexemes(s)
		var out []span
		for _, set := range []struct {
			prefix string
			toks   analysis.TokenStream
		}{{"w/", words}, {"b/", bgs}} {
			for _, t := range set.toks {
				if terms[set.prefix+string(t.Term)] && t.End > t.Start {
					out = append(out, span{t.Start, t.End})
				}
			}
		}
		return mergeSpans(out)
	}
	return highlightTitle(title, spans(title)), highlightBody(body, spans(body))
}

// collectTerms gathers the word and bigram lexemes of q's positive text
// terms.
func collectTerms(q query.Query, into map[string]bool) {
	addText := func(f, text string) {
		if keywordFields[alias(f)] {
			return
		}
		words, bgs := fieldLexemes(text)
		for _, t := range words {
			into["w/"+string(t.Term)] = true
		}
		for _, t := range bgs {
			into["b/"+string(t.Term)] = true
		}
	}
	switch q := q.(type) {
	case *query.BooleanQuery:
		for _, c := range []query.Query{q.Must, q.Should} {
			if c != nil {
				collectTerms(c, into)
			}
		}
	case *query.ConjunctionQuery:
		for _, c := range q.Conjuncts {
			collectTerms(c, into)
		}
	case *query.DisjunctionQuery:
		for _, c := range q.Disjuncts {
			collectTerms(c, into)
		}
	case *query.MatchQuery:
		addText(q.FieldVal, q.Match)
	case *query.MatchPhraseQuery:
		addText(q.FieldVal, q.MatchPhrase)
	case *query.TermQuery:
		addText(q.FieldVal, q.Term)
	}
}
