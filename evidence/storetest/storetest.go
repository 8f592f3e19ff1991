// Package storetest is the conformance suite of evidence.Index: what the
// evidence archive expects of the store of its capture index, specified
// once and run against every backend (evidence.SQLiteIndex and
// evidence/pgindex). Run checks the index on its own; RunNodes runs two
// archives, as two nodes, over one folder and one store.
package storetest

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"riskmine/evidence"
)

// Run runs the index cases; open returns an empty index, closed by the
// test's cleanup.
func Run(t *testing.T, open func(t *testing.T) evidence.Index) {
	cases := []struct {
		name string
		fn   func(t *testing.T, x evidence.Index)
	}{
		{"InsertGet", testInsertGet},
		{"Find", testFind},
		{"ForURLs", testForURLs},
		{"ForLead", testForLead},
		{"FileRows", testFileRows},
		{"PinKey", testPinKey},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.fn(t, open(t)) })
	}
}

// Opener opens one more handle on the same store, as another node would.
type Opener func(t *testing.T) evidence.Index

// RunNodes runs the cases of archives on two nodes sharing a folder and a
// store; newStore makes an empty store and returns how to open handles on
// it (each closed by the test's cleanup).
func RunNodes(t *testing.T, newStore func(t *testing.T) Opener) {
	cases := []struct {
		name string
		fn   func(t *testing.T, open Opener)
	}{
		{"ReadAnotherNodesCapture", testReadAnotherNodesCapture},
		{"OneKeyForAllNodes", testOneKeyForAllNodes},
		{"FolderNotShared", testFolderNotShared},
		{"RepairOwnFilesOnly", testRepairOwnFilesOnly},
		{"PruneSharedFolder", testPruneSharedFolder},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.fn(t, newStore(t)) })
	}
}

// at is a time to the microsecond, the precision every backend keeps.
func at(min int) time.Time {
	return time.Date(2026, 12, 5, 8, min, 0, 123000, time.UTC)
}

func entry(lead, url, file string, off int64, captured time.Time) evidence.Entry {
	return evidence.Entry{LeadID: lead, URL: url, TargetURI: url + "?r=1", Source: "news", File: file,
		Offset: off, Length: 100, ResponseID: "<urn:uuid:" + fmt.Sprint(off) + ">",
		PayloadDigest: "sha256:" + strings.Repeat("a", 64), BlockDigest: "sha256:" + strings.Repeat("b", 64),
		Status: 200, ContentType: "text/html; charset=utf-8", Rendered: true, HasScreenshot: true,
		CapturedAt: captured, ArchivedAt: captured.Add(time.Second)}
}

func insert(t *testing.T, x evidence.Index, e evidence.Entry) evidence.Entry {
	t.Helper()
	id, err := x.Insert(context.Background(), e)
	if err != nil {
		t.Fatal(err)
	}
	e.ID = id
	return e
}

func ids(es []evidence.Entry) []int64 {
	var out []int64
	for _, e := range es {
		out = append(out, e.ID)
	}
	return out
}

func sameIDs(t *testing.T, what string, got []evidence.Entry, want ...evidence.Entry) {
	t.Helper()
	if g, w := fmt.Sprint(ids(got)), fmt.Sprint(ids(want)); g != w {
		t.Errorf("%s: ids %s, want %s", what, g, w)
	}
}

func testInsertGet(t *testing.T, x evidence.Index) {
	ctx := context.Background()
	a := insert(t, x, entry("L1", "http://a.test/1", "n1/f.warc.gz", 0, at(1)))
	b := insert(t, x, entry("L1", "http://a.test/2", "n1/f.warc.gz", 100, at(2)))
	if a.ID <= 0 || b.ID <= a.ID {
		t.Errorf("ids %d then %d: want positive and increasing", a.ID, b.ID)
	}
	got, err := x.Get(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got != a {
		t.Errorf("Get = %+v\nwant  %+v", got, a)
	}
	if _, err := x.Get(ctx, b.ID+1000); !errors.Is(err, evidence.ErrNotFound) {
		t.Errorf("Get of a missing id: %v, want ErrNotFound", err)
	}
	for url, want := range map[string]bool{"http://a.test/1": true, "http://a.test/3": false} {
		if has, err := x.Has(ctx, url); err != nil || has != want {
			t.Errorf("Has(%s) = %v, %v; want %v", url, has, err, want)
		}
	}
}

func testFind(t *testing.T, x evidence.Index) {
	ctx := context.Background()
	u := "http://a.test/p"
	old := insert(t, x, entry("L1", u, "f1", 0, at(1)))
	newer := insert(t, x, entry("L2", u, "f1", 100, at(5)))
	other := entry("L1", u, "f1", 200, at(9))
	other.PayloadDigest = "sha256:" + strings.Repeat("c", 64)
	insert(t, x, other)
	got, err := x.Find(ctx, u, old.PayloadDigest)
	if err != nil || got.ID != newer.ID {
		t.Errorf("Find = %d, %v; want the latest capture with that digest, %d", got.ID, err, newer.ID)
	}
	if _, err := x.Find(ctx, u, "sha256:"+strings.Repeat("d", 64)); !errors.Is(err, evidence.ErrNotFound) {
		t.Errorf("Find of an unknown digest: %v, want ErrNotFound", err)
	}
	if _, err := x.Find(ctx, "http://a.test/none", old.PayloadDigest); !errors.Is(err, evidence.ErrNotFound) {
		t.Errorf("Find of an unknown URL: %v, want ErrNotFound", err)
	}
}

func testForURLs(t *testing.T, x evidence.Index) {
	ctx := context.Background()
	a1 := insert(t, x, entry("L1", "http://a.test/a", "f", 0, at(1)))
	b1 := insert(t, x, entry("L1", "http://a.test/b", "f", 100, at(2)))
	a2 := insert(t, x, entry("L1", "http://a.test/a", "f", 200, at(3)))
	// Same capture time: the later id first.
	b2 := insert(t, x, entry("L1", "http://a.test/b", "f", 300, at(2)))
	got, err := x.ForURLs(ctx, []string{"http://a.test/b", "http://a.test/none", "http://a.test/a", "http://a.test/b"})
	if err != nil {
		t.Fatal(err)
	}
	sameIDs(t, "ForURLs(b, none, a, b)", got, b2, b1, a2, a1)
	if got, err := x.ForURLs(ctx, []string{"http://a.test/none"}); err != nil || len(got) != 0 {
		t.Errorf("ForURLs of an unknown URL = %v, %v", ids(got), err)
	}
	// Many URLs at once (a lead with hundreds of sources).
	var urls []string
	for i := range 450 {
		urls = append(urls, fmt.Sprintf("http://many.test/%d", i))
	}
	var want []evidence.Entry
	for i := len(urls) - 1; i >= 0; i -= 50 {
		insert(t, x, entry("L2", urls[i], "g", int64(i)*100, at(4)))
	}
	for i := range urls {
		if (len(urls)-1-i)%50 == 0 {
			e, err := x.Find(ctx, urls[i], "sha256:"+strings.Repeat("a", 64))
			if err != nil {
				t.Fatal(err)
			}
			want = append(want, e)
		}
	}
	got, err = x.ForURLs(ctx, urls)
	if err != nil {
		t.Fatal(err)
	}
	sameIDs(t, "ForURLs of 450 URLs", got, want...)
}

func testForLead(t *testing.T, x evidence.Index) {
	ctx := context.Background()
	a := insert(t, x, entry("L1", "http://a.test/a", "f", 0, at(1)))
	insert(t, x, entry("L2", "http://a.test/b", "f", 100, at(2)))
	c := insert(t, x, entry("L1", "http://a.test/c", "g", 0, at(3)))
	got, err := x.ForLead(ctx, "L1")
	if err != nil {
		t.Fatal(err)
	}
	sameIDs(t, "ForLead(L1)", got, c, a)
	if got, err := x.ForLead(ctx, "L9"); err != nil || len(got) != 0 {
		t.Errorf("ForLead of an unknown lead = %v, %v", ids(got), err)
	}
}

func testFileRows(t *testing.T, x evidence.Index) {
	ctx := context.Background()
	second := insert(t, x, entry("L1", "http://a.test/b", "n1/f", 100, at(2)))
	first := insert(t, x, entry("L1", "http://a.test/a", "n1/f", 0, at(3)))
	third := insert(t, x, entry("L1", "http://a.test/c", "n1/f", 200, at(1)))
	other := insert(t, x, entry("L1", "http://a.test/d", "n2/f", 0, at(1)))
	got, err := x.InFile(ctx, "n1/f")
	if err != nil {
		t.Fatal(err)
	}
	sameIDs(t, "InFile(n1/f), by offset", got, first, second, third)
	// The repair cut the file at 250: the capture at 200 (100 long) goes.
	if n, err := x.DeleteBeyond(ctx, "n1/f", 250); err != nil || n != 1 {
		t.Errorf("DeleteBeyond(250) = %d, %v; want 1", n, err)
	}
	if n, err := x.DeleteBeyond(ctx, "n1/f", 200); err != nil || n != 0 {
		t.Errorf("DeleteBeyond(200) = %d, %v; want 0 (the capture at 100 ends at 200)", n, err)
	}
	if _, err := x.Get(ctx, third.ID); !errors.Is(err, evidence.ErrNotFound) {
		t.Errorf("a capture beyond the cut is still indexed: %v", err)
	}
	if n, err := x.DeleteFile(ctx, "n1/f"); err != nil || n != 2 {
		t.Errorf("DeleteFile = %d, %v; want 2", n, err)
	}
	if got, err := x.InFile(ctx, "n1/f"); err != nil || len(got) != 0 {
		t.Errorf("InFile after DeleteFile = %v, %v", ids(got), err)
	}
	if _, err := x.Get(ctx, other.ID); err != nil {
		t.Errorf("another file's capture went too: %v", err)
	}
}

func testPinKey(t *testing.T, x evidence.Index) {
	ctx := context.Background()
	if got, err := x.PinnedKey(ctx); err != nil || got != "" {
		t.Fatalf("PinnedKey before any = %q, %v", got, err)
	}
	if got, err := x.PinKey(ctx, "fp-one"); err != nil || got != "fp-one" {
		t.Fatalf("first PinKey = %q, %v", got, err)
	}
	if got, err := x.PinKey(ctx, "fp-two"); err != nil || got != "fp-one" {
		t.Errorf("second PinKey = %q, %v; want the first key kept", got, err)
	}
	if got, err := x.PinnedKey(ctx); err != nil || got != "fp-one" {
		t.Errorf("PinnedKey = %q, %v", got, err)
	}
}

// page is a page as the pipeline hands it to the archive.
func page(lead, url, body string) evidence.Page {
	return evidence.Page{LeadID: lead, URL: url, Source: "forum", Capture: evidence.Capture{
		Method: http.MethodGet, RequestURL: url,
		RequestHeader:  http.Header{"User-Agent": {"riskmine-test/1"}},
		Status:         http.StatusOK,
		ResponseHeader: http.Header{"Content-Type": {"text/html; charset=utf-8"}},
		Body:           []byte(body), RemoteAddr: "127.0.0.1:8080",
		FetchedAt: time.Now().UTC().Truncate(time.Microsecond), Robots: "allowed",
	}}
}

// openArchive opens node's archive over dir and the index open gives; the
// test's cleanup closes it.
func openArchive(t *testing.T, dir, node string, x evidence.Index) (*evidence.Archive, *evidence.RepairReport) {
	t.Helper()
	a, rep, err := evidence.Open(context.Background(), evidence.Options{Dir: dir, Node: node, Index: x, Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a, rep
}

// unzip returns the files of a zip.
func unzip(t *testing.T, b []byte) map[string][]byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, zf := range zr.File {
		rc, err := zf.Open()
		if err != nil {
			t.Fatal(err)
		}
		out[zf.Name], err = io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// testReadAnotherNodesCapture: a worker (node a) archives a page; an api
// node (b) finds it by lead and by URL, reads its records back, and
// writes a bundle that verifies with the installation's key, while a
// still writes the file; and again once a has sealed it.
func testReadAnotherNodesCapture(t *testing.T, open Opener) {
	ctx := context.Background()
	dir := t.TempDir()
	a, _ := openArchive(t, dir, "worker-1", open(t))
	b, _ := openArchive(t, dir, "api-1", open(t))
	body := "<html><body><p>小区门口的井盖松动了</p></body></html>"
	e, wrote, err := a.Put(ctx, page("L1", "http://forum.test/t/1", body))
	if err != nil || !wrote {
		t.Fatalf("put on a: %v %v", wrote, err)
	}
	if !strings.HasPrefix(e.File, "worker-1/") {
		t.Errorf("a's file %q is not in its own folder", e.File)
	}
	check := func(when string) {
		t.Helper()
		got, err := b.ForLead(ctx, "L1")
		if err != nil || len(got) != 1 || got[0].ID != e.ID {
			t.Fatalf("%s: b's ForLead = %v, %v", when, ids(got), err)
		}
		byURL, err := b.ForURLs(ctx, []string{e.URL})
		if err != nil || len(byURL) != 1 || byURL[0].ID != e.ID {
			t.Fatalf("%s: b's ForURLs = %v, %v", when, ids(byURL), err)
		}
		raw, err := b.Raw(got[0])
		if err != nil || int64(len(raw)) != e.Length {
			t.Fatalf("%s: b's Raw: %d bytes, %v", when, len(raw), err)
		}
		recs, err := b.Records(got[0])
		if err != nil {
			t.Fatalf("%s: b's Records: %v", when, err)
		}
		resp, ok := evidence.Response(recs)
		if !ok || string(resp.Payload) != body || resp.PayloadDigest != e.PayloadDigest {
			t.Fatalf("%s: b read %q (%s), want the page a archived", when, resp.Payload, resp.PayloadDigest)
		}
		var buf bytes.Buffer
		if _, err := b.WriteBundle(ctx, &buf, []byte("<!doctype html><title>L1</title>"), got, time.Now()); err != nil {
			t.Fatalf("%s: b's bundle: %v", when, err)
		}
		files := unzip(t, buf.Bytes())
		if err := evidence.VerifyManifest(files[evidence.BundleManifest], files[evidence.BundleSignature], files[evidence.BundlePublicKey]); err != nil {
			t.Fatalf("%s: b's bundle: %v", when, err)
		}
		pub, _ := evidence.PublicKeyPEM(a.PublicKey())
		if !bytes.Equal(files[evidence.BundlePublicKey], pub) {
			t.Fatalf("%s: b's bundle is signed with another key than a's", when)
		}
		if recs, err := evidence.ParseRecords(files[evidence.BundleWARC]); err != nil || len(recs) != 4 {
			t.Fatalf("%s: the bundle's WARC: %d records, %v; want warcinfo and the capture's three", when, len(recs), err)
		}
	}
	check("while a writes the file")
	// The same page on b is already archived: not archived twice.
	if e2, wrote, err := b.Put(ctx, page("L1", "http://forum.test/t/1", body)); err != nil || wrote || e2.ID != e.ID {
		t.Errorf("b archived a page a had archived: %v %v (id %d, a's %d)", wrote, err, e2.ID, e.ID)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	check("after a sealed it")
}

// testOneKeyForAllNodes: nodes that start at once over an empty folder
// end up with one signing key, the one the store records.
func testOneKeyForAllNodes(t *testing.T, open Opener) {
	dir := t.TempDir()
	const n = 4
	idx := make([]evidence.Index, n)
	for i := range idx {
		idx[i] = open(t)
	}
	archives := make([]*evidence.Archive, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			archives[i], _, errs[i] = evidence.Open(context.Background(), evidence.Options{
				Dir: dir, Node: fmt.Sprintf("node-%d", i), Index: idx[i], Version: "test"})
		})
	}
	wg.Wait()
	for i, a := range archives {
		if errs[i] != nil {
			t.Fatalf("node %d: %v", i, errs[i])
		}
		t.Cleanup(func() { a.Close() })
		if !a.PublicKey().Equal(archives[0].PublicKey()) {
			t.Errorf("node %d signs with another key than node 0", i)
		}
	}
	left, _ := filepath.Glob(filepath.Join(dir, "*.tmp"))
	if len(left) > 0 {
		t.Errorf("temporary key files left: %v", left)
	}
}

// testFolderNotShared: a node whose folder is not the one the others
// share is refused with one line: an empty one (a mount missing) before
// it makes a key there, one with another key too.
func testFolderNotShared(t *testing.T, open Opener) {
	openArchive(t, t.TempDir(), "worker-1", open(t))
	empty := t.TempDir()
	_, _, err := evidence.Open(context.Background(), evidence.Options{Dir: empty, Node: "api-1", Index: open(t), Version: "test"})
	if err == nil || !strings.Contains(err.Error(), "holds no signing key") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("a node over an empty folder: %v", err)
	}
	if left, _ := os.ReadDir(empty); len(left) > 0 {
		t.Errorf("the refused node left %d files in its folder", len(left))
	}
	// A folder with a key of its own (made by an installation of its own).
	other := t.TempDir()
	a, _, err := evidence.Open(context.Background(), evidence.Options{Dir: other, DB: filepath.Join(t.TempDir(), "other.db"), Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	a.Close()
	_, _, err = evidence.Open(context.Background(), evidence.Options{Dir: other, Node: "api-1", Index: open(t), Version: "test"})
	if err == nil || !strings.Contains(err.Error(), "is not the installation's") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("a node over a folder with another key: %v", err)
	}
}

// testRepairOwnFilesOnly: a file a node's dead process left open is
// repaired by that node when it starts again, never by another node.
func testRepairOwnFilesOnly(t *testing.T, open Opener) {
	ctx := context.Background()
	dir := t.TempDir()
	a, _ := openArchive(t, dir, "worker-1", open(t))
	e1, _, err := a.Put(ctx, page("L1", "http://forum.test/t/1", "<p>第一帖</p>"))
	if err != nil {
		t.Fatal(err)
	}
	e2, _, err := a.Put(ctx, page("L1", "http://forum.test/t/2", "<p>第二帖</p>"))
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	// What a killed process leaves: its file still .open, the second
	// capture's records cut in the middle (its row was committed, which
	// an fsync that lied would allow).
	sealed := filepath.Join(dir, filepath.FromSlash(e1.File))
	data, err := os.ReadFile(sealed)
	if err != nil {
		t.Fatal(err)
	}
	cut := e2.Offset + e2.Length/2
	if err := os.WriteFile(sealed+".open", data[:cut], 0o600); err != nil {
		t.Fatal(err)
	}
	os.Remove(sealed)

	_, rep := openArchive(t, dir, "api-1", open(t))
	if len(rep.Files) != 0 {
		t.Errorf("another node repaired worker-1's file: %+v", rep.Files)
	}
	if fi, err := os.Stat(sealed + ".open"); err != nil || fi.Size() != cut {
		t.Fatalf("worker-1's open file after another node started: %v", err)
	}
	a2, rep := openArchive(t, dir, "worker-1", open(t))
	// The second capture's first records may be whole; the file is kept
	// up to the last whole record, short of the capture's end.
	if len(rep.Files) != 1 || rep.Files[0].Name != e1.File || rep.Files[0].Kept < e2.Offset || rep.Files[0].Kept >= cut ||
		rep.Files[0].Kept+rep.Files[0].Cut != cut {
		t.Fatalf("worker-1's repair: %+v; want %s kept to between %d and %d", rep.Files, e1.File, e2.Offset, cut)
	}
	if _, err := a2.Get(ctx, e2.ID); !errors.Is(err, evidence.ErrNotFound) {
		t.Errorf("the cut capture is still indexed: %v", err)
	}
	got, err := a2.Get(ctx, e1.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a2.Records(got); err != nil {
		t.Errorf("the whole capture after the repair: %v", err)
	}
}

// testPruneSharedFolder: retention on one node deletes old sealed files of
// every node and keeps another node's file still being written.
func testPruneSharedFolder(t *testing.T, open Opener) {
	ctx := context.Background()
	dir := t.TempDir()
	a, _ := openArchive(t, dir, "worker-1", open(t))
	b, _ := openArchive(t, dir, "worker-2", open(t))
	ea, _, err := a.Put(ctx, page("L1", "http://forum.test/t/1", "<p>一</p>"))
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil { // sealed
		t.Fatal(err)
	}
	eb, _, err := b.Put(ctx, page("L2", "http://forum.test/t/2", "<p>二</p>"))
	if err != nil {
		t.Fatal(err)
	}
	pruner, _ := openArchive(t, dir, "api-1", open(t))
	keepNone := func(context.Context, string, string) (bool, error) { return false, nil }
	res, err := pruner.Prune(ctx, time.Now().Add(time.Hour), keepNone)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Deleted) != 1 || res.Deleted[0] != ea.File || res.Captures != 1 {
		t.Errorf("pruned %+v; want worker-1's sealed file only", res)
	}
	if _, err := pruner.Get(ctx, ea.ID); !errors.Is(err, evidence.ErrNotFound) {
		t.Errorf("a pruned capture is still indexed: %v", err)
	}
	if _, err := b.Records(eb); err != nil {
		t.Errorf("worker-2's file being written: %v", err)
	}
	keepL2 := func(_ context.Context, lead, _ string) (bool, error) { return lead == "L2", nil }
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	res, err = pruner.Prune(ctx, time.Now().Add(time.Hour), keepL2)
	if err != nil || len(res.Deleted) != 0 || len(res.Held) != 1 || res.Held[0] != eb.File {
		t.Errorf("prune with L2 kept: %+v, %v; want worker-2's file held", res, err)
	}
}
