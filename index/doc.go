// Package index is riskmine's full-text search index: a Bleve v2 (scorch)
// index on disk with a Chinese analyzer, batched upserts keyed by canonical
// URL, structured filters, facets, highlighted fragments and retention.
//
// The package never imports nlp: the word segmenter and the text normaliser
// are injected through Options (service.OpenIndex passes nlp.CutSearch and
// nlp.NormalizeText). Without them a built-in normaliser and a per-character
// tokenizer are used, so the package works on its own in tests.
//
// Every analysed text field is indexed twice: once as words (the injected
// search-mode segmenter, so 安全 finds 公共安全) and once as single
// characters with positions (fields title_bg and body_bg; an index made
// before holds overlapping character bigrams there and keeps them).
// Phrase queries and fragments that users cut across word boundaries
// (站起火 out of 基站起火) are answered from those fields, where any
// substring is a phrase of consecutive characters (or bigrams).
package index
