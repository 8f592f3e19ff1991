package index_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"riskmine/index"
)

// FuzzSearch feeds arbitrary query strings to Search: it must return hits or
// an error wrapping ErrBadQuery, never panic.
//
//	go test -run '^$' -fuzz FuzzSearch -fuzztime 60s ./index
func FuzzSearch(f *testing.F) {
	for _, s := range []string{
		"火灾", `"基站起火"`, "+燃气 -演练", "title:爆炸^2", "categories:fire", "score:>=6",
		`published_at:>"2026-11-01"`, "/火.*/", "火*", "火灾~1", `"未结束`, "title:", "+", "-",
		"((", ")", "a:b:c", `\`, "score:>abc", "ＡＢＣ", "火災", "5G基站", "\x00", "\xff",
		"location:3501", `body:"区某小"`, "*", "?", "^", "~", "a^-1", "title:/[/", "*1*", "/.*/", "火灾~2", "/[一-龥]*/",
	} {
		f.Add(s)
	}
	ix := openFuzz(f)
	f.Fuzz(func(t *testing.T, q string) {
		_, err := ix.Search(context.Background(), index.Query{Text: q, Size: 3})
		if err != nil && !errors.Is(err, index.ErrBadQuery) {
			t.Fatalf("query %q: error %v does not wrap ErrBadQuery", q, err)
		}
	})
}

func openFuzz(f *testing.F) *index.Index {
	ix := openAt(f, filepath.Join(f.TempDir(), "idx"))
	load(f, ix, corpus())
	return ix
}
