// Package nlp turns Chinese posts into risk assessments.
//
// It normalises text (width folding, traditional to simplified, case folding,
// removal of zero-width characters and of separators inserted to dodge
// filters) while keeping a map back to the original, segments it with gse,
// matches hazard lexicons with Aho-Corasick, and scores each category with
// the evidence behind it: every hit points, in rune offsets, into the title or
// text the caller gave, and hits suppressed by a negation or an exclusion are
// listed with the reason. It also computes a 64-bit SimHash and salient
// keywords used to cluster near-duplicate posts.
//
// The package knows gse; it knows nothing of Bleve, HTTP or the other riskmine
// packages but level, the shared vocabulary of risk levels. An Analyzer is
// safe for concurrent use.
package nlp
