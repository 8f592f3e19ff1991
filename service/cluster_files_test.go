package service

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"riskmine/internal/pgdb"
	"riskmine/internal/pgtest"
)

// filesNode is one node's view of the shared files: its own lexicon
// folder and model file, and how often it reloaded.
type filesNode struct {
	c                        *clusterFiles
	lexDir, model            string
	lexReloads, modelReloads atomic.Int32
}

func newFilesNode(t *testing.T, ctx context.Context, dsn, name string) *filesNode {
	t.Helper()
	pool, err := pgdb.Open(ctx, dsn, pgdb.Options{MaxConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	dir := t.TempDir()
	n := &filesNode{lexDir: filepath.Join(dir, "lexicons"), model: filepath.Join(dir, "site.rmm")}
	if err := os.MkdirAll(n.lexDir, 0o755); err != nil {
		t.Fatal(err)
	}
	n.c, err = newClusterFiles(ctx, pool, name, n.lexDir, n.model,
		func() error { n.lexReloads.Add(1); return nil },
		func() (string, error) { n.modelReloads.Add(1); return "v", nil }, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after 10 s: %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func fileIs(path, want string) bool {
	b, err := os.ReadFile(path)
	if want == "" {
		return os.IsNotExist(err)
	}
	return err == nil && string(b) == want
}

// TestClusterFilesReachEveryNode: a lexicon saved, a lexicon removed and a
// model put live on one node are written into the other node's folders
// and reloaded there; a node that starts later gets them at start, and
// its own local file it had before does not overwrite a newer edit.
func TestClusterFilesReachEveryNode(t *testing.T) {
	dsn := pgtest.DSN(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a := newFilesNode(t, ctx, dsn, "a")
	b := newFilesNode(t, ctx, dsn, "b")
	if err := a.c.start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := b.c.start(ctx); err != nil {
		t.Fatal(err)
	}

	fire := "categories:\n  fire: {terms: [起火]}\n"
	os.WriteFile(filepath.Join(a.lexDir, "fire.yaml"), []byte(fire), 0o644)
	if err := a.c.publishLexicons(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "b has a's fire.yaml", func() bool { return fileIs(filepath.Join(b.lexDir, "fire.yaml"), fire) })
	waitFor(t, "b reloaded its lexicons", func() bool { return b.lexReloads.Load() >= 1 })
	if a.lexReloads.Load() != 0 {
		t.Errorf("a reloaded %d times on its own notice (it had the file already)", a.lexReloads.Load())
	}

	// b edits another file meanwhile; a's next publish must not send its
	// old copy of b's file back.
	drugs := "categories:\n  drugs: {terms: [冰毒]}\n"
	os.WriteFile(filepath.Join(b.lexDir, "drugs.yaml"), []byte(drugs), 0o644)
	if err := b.c.publishLexicons(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a has b's drugs.yaml", func() bool { return fileIs(filepath.Join(a.lexDir, "drugs.yaml"), drugs) })

	// a restores fire to the embedded version: the file goes everywhere.
	os.Remove(filepath.Join(a.lexDir, "fire.yaml"))
	if err := a.c.publishLexicons(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "fire.yaml removed on b", func() bool { return fileIs(filepath.Join(b.lexDir, "fire.yaml"), "") })
	if !fileIs(filepath.Join(b.lexDir, "drugs.yaml"), drugs) {
		t.Error("b's own drugs.yaml changed by a's removal of fire.yaml")
	}

	// A model put live on b reaches a.
	os.WriteFile(b.model, []byte("model bytes v2"), 0o644)
	if err := b.c.publishModel(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a has b's model", func() bool { return fileIs(a.model, "model bytes v2") })
	waitFor(t, "a reloaded its model", func() bool { return a.modelReloads.Load() >= 1 })

	// A third node, started later with a stale local drugs.yaml and a
	// local file of its own, takes the installation's copies and sends
	// its own file.
	c := newFilesNode(t, ctx, dsn, "c")
	os.WriteFile(filepath.Join(c.lexDir, "drugs.yaml"), []byte("stale"), 0o644)
	own := "categories:\n  weapons: {terms: [枪支]}\n"
	os.WriteFile(filepath.Join(c.lexDir, "weapons.yaml"), []byte(own), 0o644)
	if err := c.c.start(ctx); err != nil {
		t.Fatal(err)
	}
	if !fileIs(filepath.Join(c.lexDir, "drugs.yaml"), drugs) || !fileIs(c.model, "model bytes v2") {
		t.Error("a node started later did not take the installation's files")
	}
	waitFor(t, "a has c's weapons.yaml", func() bool { return fileIs(filepath.Join(a.lexDir, "weapons.yaml"), own) })
	waitFor(t, "b has c's weapons.yaml", func() bool { return fileIs(filepath.Join(b.lexDir, "weapons.yaml"), own) })
}

// TestClusterFilesRefuseABadKey: a row naming a path outside the lexicon
// folder is refused with its key, and nothing is written.
func TestClusterFilesRefuseABadKey(t *testing.T) {
	dsn := pgtest.DSN(t)
	ctx := context.Background()
	a := newFilesNode(t, ctx, dsn, "a")
	if _, err := a.c.pool.Exec(ctx, `INSERT INTO cluster_files (key, body, version, node) VALUES ('lexicon/../x.yaml', 'x', 1, 'evil')`); err != nil {
		t.Fatal(err)
	}
	_, err := a.c.apply(ctx, filesLexicons)
	if err == nil || !strings.Contains(err.Error(), "lexicon/../x.yaml") {
		t.Fatalf("err = %v, want the key named", err)
	}
	if fileIs(filepath.Join(filepath.Dir(a.lexDir), "x.yaml"), "x") {
		t.Fatal("a file was written outside the lexicon folder")
	}
}

// TestClusterFilesOwnCopyIsNoChange: a sync that reads back a node's own
// file before its put has noted the version (the listener's first sync
// can run between the two) writes nothing and reloads nothing, while a
// file that differs is written and reloaded.
func TestClusterFilesOwnCopyIsNoChange(t *testing.T) {
	dsn := pgtest.DSN(t)
	ctx := context.Background()
	a := newFilesNode(t, ctx, dsn, "a")
	fire := "categories:\n  fire: {terms: [起火]}\n"
	os.WriteFile(filepath.Join(a.lexDir, "fire.yaml"), []byte(fire), 0o644)
	if _, err := a.c.pool.Exec(ctx, `INSERT INTO cluster_files (key, body, version, node) VALUES ('lexicon/fire.yaml', $1, nextval('cluster_files_version'), 'a')`, []byte(fire)); err != nil {
		t.Fatal(err)
	}
	a.c.sync(ctx, filesLexicons)
	if n := a.lexReloads.Load(); n != 0 {
		t.Fatalf("reloaded %d times for a file it had", n)
	}
	drugs := "categories:\n  drugs: {terms: [冰毒]}\n"
	if _, err := a.c.pool.Exec(ctx, `INSERT INTO cluster_files (key, body, version, node) VALUES ('lexicon/drugs.yaml', $1, nextval('cluster_files_version'), 'b')`, []byte(drugs)); err != nil {
		t.Fatal(err)
	}
	a.c.sync(ctx, filesLexicons)
	if n := a.lexReloads.Load(); n != 1 || !fileIs(filepath.Join(a.lexDir, "drugs.yaml"), drugs) {
		t.Fatalf("after another node's file: %d reloads, drugs.yaml written %v", n, fileIs(filepath.Join(a.lexDir, "drugs.yaml"), drugs))
	}
}
