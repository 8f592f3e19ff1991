package index

import (
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/mapping"

	"riskmine/level"
)

// Field names in the Bleve index. The character fields (named _bg: they
// held bigrams in indexes made before) are extra field mappings of the same
// document property, so the text is sent once.
const (
	fieldDocID        = "doc_id"
	fieldURL          = "url"
	fieldCanonical    = "canonical_url"
	fieldSource       = "source"
	fieldSite         = "site"
	fieldTitle        = "title"
	fieldTitleBigrams = "title_bg"
	fieldBody         = "body"
	fieldBodyBigrams  = "body_bg"
	fieldPublished    = "published_at"
	fieldFetched      = "fetched_at"
	fieldAt           = "at" // published_at, or fetched_at when unknown: sorting, filters, retention
	fieldDay          = "day"
	fieldCategories   = "categories"
	fieldLevel        = "level"
	fieldLevelRank    = "level_rank"
	fieldScore        = "score"
	fieldLocCodes     = "location_codes"
	fieldLocNames     = "location_names"
	fieldLeadID       = "lead_id"
)

// LevelRank returns the rank of l (level.Rank) and whether it is known.
func LevelRank(l string) (int, bool) {
	r := level.Rank(l)
	return max(r, 0), r >= 0
}

// newMapping builds the mapping of a new index; basic selects the fallback
// analyzers. The fields title_bg and body_bg hold single characters (they
// held character pairs in indexes made before; such an index keeps its
// mapping, and gramAnalyzer tells the searches which it has).
func newMapping(basic bool) *mapping.IndexMappingImpl {
	if basic {
		return mappingWith(analyzerBasicWords, analyzerBasicChars, false)
	}
	return mappingWith(analyzerWords, analyzerChars, false)
}

// gramAnalyzer returns the analyzer of m's body_bg field (bigrams in
// indexes made before the character fields, characters since); def when m
// has none (benchmark variants without it).
func gramAnalyzer(m mapping.IndexMapping, def string) string {
	impl, ok := m.(*mapping.IndexMappingImpl)
	if !ok || impl.DefaultMapping == nil {
		return def
	}
	p := impl.DefaultMapping.Properties[fieldBody]
	if p == nil {
		return def
	}
	for _, f := range p.Fields {
		if f.Name == fieldBodyBigrams && f.Analyzer != "" {
			return f.Analyzer
		}
	}
	return def
}

// mappingWith builds the mapping with the given analyzers for the title and
// body; an empty grams leaves out the bigram fields (benchmarks compare).
// wordVectors keeps term vectors on the word fields too, as indexes made
// before they were dropped have them (tests check both answer alike).
func mappingWith(words, grams string, wordVectors bool) *mapping.IndexMappingImpl {
	kw := func(store bool) *mapping.FieldMapping {
		f := bleve.NewKeywordFieldMapping()
		f.Store = store
		f.IncludeInAll = false
		f.DocValues = true
		return f
	}
	// The word fields answer words, wildcards, regular expressions and
	// fuzzy words, none of which needs positions; phrases and highlights
	// come from the bigram fields. Term vectors on the word fields were
	// about a fifth of the index's CPU per post in its benchmark, so only
	// the bigram fields keep them (an index made before keeps its own
	// mapping, and works alike).
	text := func(name, analyzer string, store, vectors bool) *mapping.FieldMapping {
		f := bleve.NewTextFieldMapping()
		f.Name = name
		f.Analyzer = analyzer
		f.Store = store
		f.IncludeTermVectors = vectors
		f.IncludeInAll = false
		f.DocValues = false
		return f
	}
	num := func(store bool) *mapping.FieldMapping {
		f := bleve.NewNumericFieldMapping()
		f.Store = store
		f.IncludeInAll = false
		return f
	}
	date := func(store bool) *mapping.FieldMapping {
		f := bleve.NewDateTimeFieldMapping()
		f.Store = store
		f.IncludeInAll = false
		return f
	}

	doc := bleve.NewDocumentStaticMapping()
	doc.AddFieldMappingsAt(fieldDocID, kw(true))
	doc.AddFieldMappingsAt(fieldURL, kw(true))
	doc.AddFieldMappingsAt(fieldCanonical, kw(true))
	doc.AddFieldMappingsAt(fieldSource, kw(true))
	doc.AddFieldMappingsAt(fieldSite, kw(true))
	if grams != "" {
		doc.AddFieldMappingsAt(fieldTitle, text(fieldTitle, words, true, wordVectors), text(fieldTitleBigrams, grams, false, true))
		doc.AddFieldMappingsAt(fieldBody, text(fieldBody, words, true, wordVectors), text(fieldBodyBigrams, grams, false, true))
	} else {
		doc.AddFieldMappingsAt(fieldTitle, text(fieldTitle, words, true, true))
		doc.AddFieldMappingsAt(fieldBody, text(fieldBody, words, true, true))
	}
	doc.AddFieldMappingsAt(fieldPublished, date(true))
	doc.AddFieldMappingsAt(fieldFetched, date(true))
	doc.AddFieldMappingsAt(fieldAt, date(false))
	doc.AddFieldMappingsAt(fieldDay, kw(false))
	doc.AddFieldMappingsAt(fieldCategories, kw(true))
	doc.AddFieldMappingsAt(fieldLevel, kw(true))
	doc.AddFieldMappingsAt(fieldLevelRank, num(false))
	doc.AddFieldMappingsAt(fieldScore, num(true))
	doc.AddFieldMappingsAt(fieldLocCodes, kw(false))
	doc.AddFieldMappingsAt(fieldLocNames, kw(true))
	doc.AddFieldMappingsAt(fieldLeadID, kw(true))

	m := bleve.NewIndexMapping()
	m.DefaultMapping = doc
	m.DefaultAnalyzer = words
	m.DefaultField = fieldBody
	m.IndexDynamic = false
	m.StoreDynamic = false
	m.DocValuesDynamic = false
	return m
}

// toBleve maps a Doc to the property map Bleve indexes. Zero values are left
// out so that, for example, an unknown publication time is not "year 1".
func toBleve(d *Doc, loc *time.Location) map[string]any {
	m := map[string]any{
		fieldDocID: d.ID,
		fieldTitle: d.Title,
		fieldBody:  d.Body,
	}
	put := func(k, v string) {
		if v != "" {
			m[k] = v
		}
	}
	put(fieldURL, d.URL)
	put(fieldCanonical, d.CanonicalURL)
	put(fieldSource, d.Source)
	put(fieldSite, d.Site)
	put(fieldLevel, d.Level)
	put(fieldLeadID, d.LeadID)
	if rank, ok := LevelRank(d.Level); ok {
		m[fieldLevelRank] = float64(rank)
	}
	m[fieldScore] = d.Score
	at := d.PublishedAt
	if !d.PublishedAt.IsZero() {
		m[fieldPublished] = d.PublishedAt.UTC()
	}
	if !d.FetchedAt.IsZero() {
		m[fieldFetched] = d.FetchedAt.UTC()
		if at.IsZero() {
			at = d.FetchedAt
		}
	}
	if !at.IsZero() {
		m[fieldAt] = at.UTC()
		m[fieldDay] = at.In(loc).Format(time.DateOnly)
	}
	if len(d.Categories) > 0 {
		m[fieldCategories] = d.Categories
	}
	if codes := withParents(d.LocationCodes); len(codes) > 0 {
		m[fieldLocCodes] = codes
	}
	if len(d.LocationNames) > 0 {
		m[fieldLocNames] = d.LocationNames
	}
	return m
}

// withParents returns the codes and all their parent division codes
// (2023 statistical codes: 2 digits province, 4 city, 6 county, 9
// township, 12 village), without duplicates: 350105 gives 35, 3501, 350105.
func withParents(codes []string) []string {
	if len(codes) == 0 {
		return nil
	}
	seen := make(map[string]bool, len(codes)*3)
	out := make([]string, 0, len(codes)*3)
	add := func(c string) {
		if c != "" && !seen[c] {
			seen[c] = true
			out = append(out, c)
		}
	}
	for _, c := range codes {
		for _, n := range []int{2, 4, 6, 9} {
			if len(c) > n {
				add(c[:n])
			}
		}
		add(c)
	}
	return out
}
