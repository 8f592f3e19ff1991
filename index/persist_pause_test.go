package index

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestPersistPauseKeepsEverything writes batches while the persister
// pauses between segment files: after Flush the index answers as one
// written without the pause, and after a reopen every post is there.
func TestPersistPauseKeepsEverything(t *testing.T) {
	docs := shardDocs(400)
	plain := openLoaded(t, 2, docs)
	path := filepath.Join(t.TempDir(), "idx")
	ix, err := Open(Options{Path: path, BatchSize: 40, FlushInterval: time.Hour, PersistPause: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, d := range docs {
		if err := ix.Add(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	if err := ix.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	keys := func(x *Index, q Query) []string {
		t.Helper()
		q.Size, q.Sort = MaxSize, SortTime
		res, err := x.Search(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, h := range res.Hits {
			out = append(out, h.ID)
		}
		return out
	}
	for _, q := range []Query{{Text: "火灾"}, {Text: `"燃气泄漏"`}, {Text: "区学"}, {Categories: []string{"fraud"}}} {
		want, got := keys(plain, q), keys(ix, q)
		if len(want) == 0 || !slices.Equal(got, want) {
			t.Errorf("%+v: with the pause %d hits %v…, without %d", q, len(got), strings.Join(got[:min(3, len(got))], " "), len(want))
		}
	}
	if err := ix.Close(); err != nil {
		t.Fatal(err)
	}
	ix, err = Open(Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	if n, err := ix.Count(); err != nil || n != uint64(len(docs)) {
		t.Fatalf("after reopening: %d posts (%v), want %d", n, err, len(docs))
	}
}

func TestPersistPauseOutOfRange(t *testing.T) {
	for _, p := range []time.Duration{-time.Second, MaxPersistPause + time.Second} {
		_, err := Open(Options{Path: filepath.Join(t.TempDir(), "idx"), PersistPause: p})
		if err == nil || !strings.Contains(err.Error(), "persist pause must be between 0 and 30s") {
			t.Errorf("pause %s: error %v, want the allowed range", p, err)
		}
	}
}
