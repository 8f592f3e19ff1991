package index_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"riskmine/index"
)

// TestStoredEachDoc reads back every post of a closed index, read-only,
// with the fields Add was given (location codes with their parents).
func TestStoredEachDoc(t *testing.T) {
	path := filepath.Join(t.TempDir(), "idx")
	ix := openAt(t, path)
	ctx := context.Background()
	want := map[string]index.Doc{}
	for _, d := range corpus() {
		if err := ix.Add(ctx, d); err != nil {
			t.Fatal(err)
		}
		want[d.Key()] = d
	}
	deleted := corpus()[0]
	if err := ix.Delete(ctx, deleted.Key()); err != nil {
		t.Fatal(err)
	}
	delete(want, deleted.Key())
	if err := ix.Close(); err != nil {
		t.Fatal(err)
	}
	before := treeSizes(t, path)

	st, err := index.OpenStored(path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	n, err := st.Count()
	if err != nil || n != uint64(len(want)) {
		t.Fatalf("Count = %d, %v; want %d", n, err, len(want))
	}
	got := map[string]index.Doc{}
	err = st.EachDoc(ctx, func(d index.Doc) error {
		got[d.Key()] = d
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("EachDoc gave %d posts, want %d", len(got), len(want))
	}
	for k, w := range want {
		g := got[k]
		w.LocationCodes = index.WithParents(w.LocationCodes)
		slices.Sort(w.LocationCodes)
		slices.Sort(g.LocationCodes)
		if !reflect.DeepEqual(w, g) {
			t.Errorf("post %s:\nadded %+v\nread  %+v", k, w, g)
		}
	}
	stop := errors.New("stop")
	if err := st.EachDoc(ctx, func(index.Doc) error { return stop }); err != stop {
		t.Errorf("an error of fn came back as %v", err)
	}
	st.Close()
	if after := treeSizes(t, path); !maps.Equal(before, after) {
		t.Errorf("reading the index changed its files:\nbefore %v\nafter  %v", before, after)
	}
}

// TestStoredRefusesHeldIndex: an index another opener holds for writing
// (riskmine serve) is refused with ErrLocked, not waited for forever.
func TestStoredRefusesHeldIndex(t *testing.T) {
	path := filepath.Join(t.TempDir(), "idx")
	ix := openAt(t, path)
	if err := ix.Add(context.Background(), corpus()[0]); err != nil {
		t.Fatal(err)
	}
	if err := ix.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	st, err := index.OpenStored(path)
	if err == nil {
		st.Close()
		t.Fatal("OpenStored opened an index held for writing")
	}
	if !errors.Is(err, index.ErrLocked) {
		t.Fatalf("err = %v, want ErrLocked", err)
	}
}

// treeSizes maps every file under dir to its size and modification time.
func treeSizes(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, e os.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		fi, err := e.Info()
		if err != nil {
			return err
		}
		out[p] = fmt.Sprint(fi.ModTime(), fi.Size())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestStoredRefusesCrashJournal: an index whose journal a crash left (its
// posts acknowledged but maybe not in Bleve yet) is refused with what to
// do, since read-only it cannot be replayed.
func TestStoredRefusesCrashJournal(t *testing.T) {
	path := filepath.Join(t.TempDir(), "idx")
	ix := openAt(t, path)
	ctx := context.Background()
	if err := ix.Add(ctx, corpus()[0]); err != nil {
		t.Fatal(err)
	}
	if err := ix.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	// A copy of the folder as a SIGKILL leaves it: the journal is there
	// and nobody holds the files.
	crashed := filepath.Join(t.TempDir(), "crashed")
	if err := os.CopyFS(crashed, os.DirFS(path)); err != nil {
		t.Fatal(err)
	}
	st, err := index.OpenStored(crashed)
	if err == nil {
		st.Close()
		t.Fatal("an index with a crash journal was opened")
	}
	if !strings.Contains(err.Error(), "journal") || !strings.Contains(err.Error(), "replays") {
		t.Errorf("err = %v, want the journal named and what to do", err)
	}
}
