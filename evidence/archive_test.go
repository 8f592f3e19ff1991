package evidence

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testClock is a settable clock.
type testClock struct{ t time.Time }

func (c *testClock) now() time.Time { return c.t }

func openTest(t *testing.T, dir string, mod func(*Options)) (*Archive, *RepairReport) {
	t.Helper()
	o := Options{Dir: filepath.Join(dir, "evidence"), DB: filepath.Join(dir, "riskmine.db"), Version: "test"}
	if mod != nil {
		mod(&o)
	}
	a, rep, err := Open(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	return a, rep
}

// crash drops the current file as a killed process would: no sync, no
// seal, the lock released with the descriptor.
func (a *Archive) crash() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.cur != nil {
		a.cur.unlock()
		a.cur.f.Close()
		a.cur = nil
	}
	a.done = true
	a.closeIndex()
}

func testPage(n int, body string) Page {
	u := fmt.Sprintf("http://news.example.test/post/%d?x=1", n)
	return Page{LeadID: fmt.Sprintf("L%d", n), URL: u, Source: "news", Capture: Capture{
		Method: http.MethodGet, RequestURL: u,
		RequestHeader:  http.Header{"User-Agent": {"riskmine-test/1"}, "Accept": {"text/html"}},
		Status:         http.StatusOK,
		ResponseHeader: http.Header{"Content-Type": {"text/html; charset=utf-8"}, "Etag": {`"abc"`}},
		Body:           []byte(body), RemoteAddr: "127.0.0.1:8080",
		FetchedAt: time.Date(2026, 12, 5, 8, 30, 0, 123, time.UTC), Robots: "allowed",
	}}
}

func TestPutReadBack(t *testing.T) {
	ctx := context.Background()
	a, _ := openTest(t, t.TempDir(), nil)
	defer a.Close()
	body := "<html><body><p>某县化工厂发生爆炸</p><script>alert(1)</script></body></html>"
	e, wrote, err := a.Put(ctx, testPage(1, body))
	if err != nil || !wrote {
		t.Fatalf("put: %v %v", wrote, err)
	}
	if e.PayloadDigest != "sha256:"+hexSHA256([]byte(body)) || !strings.HasPrefix(e.BlockDigest, "sha256:") || len(e.BlockDigest) != 7+64 {
		t.Errorf("digests %q %q", e.PayloadDigest, e.BlockDigest)
	}
	recs, err := a.Records(e)
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, r := range recs {
		types = append(types, r.Type)
	}
	if got := strings.Join(types, ","); got != "response,request,metadata" {
		t.Fatalf("record types %s", got)
	}
	resp, _ := Response(recs)
	if string(resp.Payload) != body || resp.Status != 200 || resp.Header.Get("Etag") != `"abc"` || resp.ID != e.ResponseID {
		t.Errorf("response %d %q %v", resp.Status, resp.Payload, resp.Header)
	}
	if !strings.HasPrefix(string(recs[1].Block), "GET /post/1?x=1 HTTP/1.1\r\nHost: news.example.test\r\n") {
		t.Errorf("request block %q", recs[1].Block)
	}
	meta := string(recs[2].Block)
	for _, want := range []string{"software: riskmine/test\r\n", "source: news\r\n", "robots: allowed\r\n", "fetched-at: 2026-12-05T08:30:00.000000123Z\r\n", "lead-id: L1\r\n"} {
		if !strings.Contains(meta, want) {
			t.Errorf("metadata lacks %q: %q", want, meta)
		}
	}
	if !resp.Date.Equal(time.Date(2026, 12, 5, 8, 30, 0, 123, time.UTC)) {
		t.Errorf("WARC-Date %v", resp.Date)
	}

	// The same page again is not written twice; a changed page is.
	again, wrote, err := a.Put(ctx, testPage(1, body))
	if err != nil || wrote || again.ID != e.ID {
		t.Errorf("second put: %v %v %d", wrote, err, again.ID)
	}
	changed, wrote, err := a.Put(ctx, testPage(1, body+"<p>更新</p>"))
	if err != nil || !wrote || changed.ID == e.ID {
		t.Errorf("changed page: %v %v", wrote, err)
	}
	list, err := a.ForURLs(ctx, []string{testPage(1, "").URL, "http://other.test/"})
	if err != nil || len(list) != 2 || list[0].ID != changed.ID {
		t.Errorf("ForURLs: %v %+v", err, list)
	}
	if has, _ := a.Has(ctx, "http://other.test/"); has {
		t.Error("Has of an unknown URL")
	}
}

func TestPutRendered(t *testing.T) {
	ctx := context.Background()
	a, _ := openTest(t, t.TempDir(), nil)
	defer a.Close()
	p := testPage(2, "<html><body><div id=app></div><script src=app.js></script></body></html>")
	p.Capture.RenderedDOM = []byte("<html><body><div id=app><p>帖子正文</p></div></body></html>")
	p.Capture.Screenshot = []byte("\x89PNG\r\n\x1a\nnot really a picture")
	e, _, err := a.Put(ctx, p)
	if err != nil || !e.Rendered || !e.HasScreenshot {
		t.Fatalf("put: %v %+v", err, e)
	}
	recs, err := a.Records(e)
	if err != nil || len(recs) != 5 {
		t.Fatalf("records: %v %d", err, len(recs))
	}
	dom, ok := RenderedDOM(recs)
	if !ok || !bytes.Equal(dom.Payload, p.Capture.RenderedDOM) || dom.PayloadDigest != "sha256:"+hexSHA256(p.Capture.RenderedDOM) {
		t.Errorf("dom %v %q", ok, dom.PayloadDigest)
	}
	shot, ok := Screenshot(recs)
	if !ok || !bytes.Equal(shot.Payload, p.Capture.Screenshot) || shot.ContentType != "image/png" {
		t.Errorf("screenshot %v %q", ok, shot.ContentType)
	}
}

func TestPutBadCapture(t *testing.T) {
	a, _ := openTest(t, t.TempDir(), nil)
	defer a.Close()
	for name, mod := range map[string]func(*Page){
		"no url":    func(p *Page) { p.Capture.RequestURL = "" },
		"relative":  func(p *Page) { p.Capture.RequestURL = "/post/1" },
		"no status": func(p *Page) { p.Capture.Status = 0 },
		"no time":   func(p *Page) { p.Capture.FetchedAt = time.Time{} },
	} {
		p := testPage(3, name)
		mod(&p)
		if _, _, err := a.Put(context.Background(), p); err == nil || !strings.HasPrefix(err.Error(), "evidence: ") {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestRotateBySizeAndDay(t *testing.T) {
	ctx := context.Background()
	clock := &testClock{t: time.Date(2026, 12, 5, 23, 0, 0, 0, time.UTC)}
	dir := t.TempDir()
	a, _ := openTest(t, dir, func(o *Options) { o.MaxFileBytes = 20 << 10; o.Now = clock.now })
	var entries []Entry
	for i := range 6 {
		e, _, err := a.Put(ctx, testPage(i, strings.Repeat(fmt.Sprintf("正文%d ", i), 800)))
		if err != nil {
			t.Fatal(err)
		}
		entries = append(entries, e)
	}
	clock.t = clock.t.Add(2 * time.Hour) // the next UTC day
	e, _, err := a.Put(ctx, testPage(9, "next day"))
	if err != nil {
		t.Fatal(err)
	}
	if e.File == entries[len(entries)-1].File || !strings.Contains(e.File, "-20261206") {
		t.Errorf("no new file on a new day: %s", e.File)
	}
	files := map[string]bool{}
	for _, e := range entries {
		files[e.File] = true
	}
	if len(files) < 2 {
		t.Errorf("six 10 KB captures in %d files of 20 KB", len(files))
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	open, _ := filepath.Glob(filepath.Join(dir, "evidence", "*.open"))
	if len(open) != 0 {
		t.Errorf("files left open after Close: %v", open)
	}
	a, _ = openTest(t, dir, nil)
	defer a.Close()
	for _, e := range append(entries, e) {
		if _, err := a.Records(e); err != nil {
			t.Errorf("capture %d after rotation: %v", e.ID, err)
		}
	}
}

// TestRepairCutRecord cuts the file a crashed process was writing in the
// middle of its last record: the next Open keeps every complete record,
// cuts the rest, drops nothing indexed that is whole, and seals the file.
func TestRepairCutRecord(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	a, _ := openTest(t, dir, nil)
	var entries []Entry
	for i := range 3 {
		e, _, err := a.Put(ctx, testPage(i, strings.Repeat("内容 ", 2000+i)))
		if err != nil {
			t.Fatal(err)
		}
		entries = append(entries, e)
	}
	path := filepath.Join(dir, "evidence", entries[0].File+openSuffix)
	a.crash()
	last := entries[2]
	cutAt := last.Offset + last.Length/2
	if err := os.Truncate(path, cutAt); err != nil {
		t.Fatal(err)
	}

	a, rep := openTest(t, dir, nil)
	defer a.Close()
	if len(rep.Files) != 1 || rep.Files[0].Name != entries[0].File || rep.Files[0].Cut <= 0 || rep.Files[0].Removed {
		t.Fatalf("repair report %+v", rep)
	}
	// The cut capture's response record was whole (it is written first),
	// so the file keeps it; its index row goes, the page comes again.
	if rep.Files[0].Kept <= last.Offset || rep.Files[0].Kept >= cutAt {
		t.Errorf("kept %d, want between %d and %d", rep.Files[0].Kept, last.Offset, cutAt)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("file still open: %v", err)
	}
	for _, e := range entries[:2] {
		if _, err := a.Records(e); err != nil {
			t.Errorf("capture %d lost: %v", e.ID, err)
		}
	}
	if _, err := a.Get(ctx, last.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("index row of the cut capture: %v", err)
	}
	e, wrote, err := a.Put(ctx, testPage(2, strings.Repeat("内容 ", 2002)))
	if err != nil || !wrote || e.File == last.File {
		t.Errorf("archive again: %v %v %s", wrote, err, e.File)
	}
	if _, err := a.Records(e); err != nil {
		t.Error(err)
	}
}

// TestRepairCutHeader: a crash before the warcinfo record was whole leaves
// nothing worth keeping; the file is removed.
func TestRepairCutHeader(t *testing.T) {
	dir := t.TempDir()
	a, _ := openTest(t, dir, nil)
	e, _, err := a.Put(context.Background(), testPage(1, "x"))
	if err != nil {
		t.Fatal(err)
	}
	a.crash()
	path := filepath.Join(dir, "evidence", e.File+openSuffix)
	if err := os.Truncate(path, 10); err != nil {
		t.Fatal(err)
	}
	a, rep := openTest(t, dir, nil)
	defer a.Close()
	if len(rep.Files) != 1 || !rep.Files[0].Removed {
		t.Fatalf("report %+v", rep)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("file kept: %v", err)
	}
}

// TestRepairLeavesLiveFile: a file another live archive is writing is
// not touched.
func TestRepairLeavesLiveFile(t *testing.T) {
	dir := t.TempDir()
	a, _ := openTest(t, dir, nil)
	defer a.Close()
	if _, _, err := a.Put(context.Background(), testPage(1, "x")); err != nil {
		t.Fatal(err)
	}
	b, rep := openTest(t, dir, nil)
	defer b.Close()
	if len(rep.Files) != 0 {
		t.Errorf("repaired a live file: %+v", rep)
	}
	if _, _, err := a.Put(context.Background(), testPage(2, "y")); err != nil {
		t.Error(err)
	}
}

func TestPutRefusedUnderFloor(t *testing.T) {
	dir := t.TempDir()
	full := errors.New("data folder: 1 bytes free, under data.min_free_bytes (100)")
	var check error
	a, _ := openTest(t, dir, func(o *Options) { o.SpaceCheck = func() error { return check } })
	defer a.Close()
	e, _, err := a.Put(context.Background(), testPage(1, "first"))
	if err != nil {
		t.Fatal(err)
	}
	check = full
	if _, _, err := a.Put(context.Background(), testPage(2, "second")); !errors.Is(err, full) {
		t.Fatalf("put under the floor: %v", err)
	}
	info, _ := os.Stat(filepath.Join(dir, "evidence", e.File+openSuffix))
	if info.Size() != e.Offset+e.Length {
		t.Errorf("file grew to %d under the floor, want %d", info.Size(), e.Offset+e.Length)
	}
	check = nil
	if _, _, err := a.Put(context.Background(), testPage(2, "second")); err != nil {
		t.Errorf("after space is freed: %v", err)
	}
}

func TestPrune(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	clock := &testClock{t: time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)}
	a, _ := openTest(t, dir, func(o *Options) { o.Now = clock.now })
	defer a.Close()
	put := func(n int) Entry {
		e, _, err := a.Put(ctx, testPage(n, fmt.Sprint("page ", n)))
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	closedOld := put(1) // 1 January: lead L1 closed
	clock.t = clock.t.AddDate(0, 0, 1)
	openOld := put(2) // 2 January: lead L2 still open
	clock.t = clock.t.AddDate(0, 0, 1)
	mixed := put(3) // 3 January: L3 closed, and L4 open in the same file
	mixed4 := put(4)
	clock.t = clock.t.AddDate(0, 3, 0)
	recent := put(5) // April: current file
	open := map[string]bool{"L2": true, "L4": true}
	keep := func(_ context.Context, lead, _ string) (bool, error) { return open[lead], nil }

	res, err := a.Prune(ctx, clock.t.AddDate(0, 0, -30), keep)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Deleted) != 1 || res.Deleted[0] != closedOld.File || res.Captures != 1 {
		t.Errorf("deleted %+v", res)
	}
	if len(res.Held) != 2 {
		t.Errorf("held %v, want the files of L2 and L3+L4", res.Held)
	}
	if _, err := a.Get(ctx, closedOld.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("row of a deleted file: %v", err)
	}
	for _, e := range []Entry{openOld, mixed, mixed4, recent} {
		if _, err := a.Records(e); err != nil {
			t.Errorf("capture of %s: %v", e.LeadID, err)
		}
	}
	// Once L4 closes its file goes too.
	open["L4"] = false
	res, err = a.Prune(ctx, clock.t.AddDate(0, 0, -30), keep)
	if err != nil || len(res.Deleted) != 1 || res.Deleted[0] != mixed.File {
		t.Errorf("after L4 closed: %v %+v", err, res)
	}
	// A keep that fails stops retention with the error.
	_, err = a.Prune(ctx, clock.t.AddDate(1, 0, 0), func(context.Context, string, string) (bool, error) { return false, errors.New("store down") })
	if err == nil || !strings.Contains(err.Error(), "store down") {
		t.Errorf("keep error: %v", err)
	}
}

// TestNodeCrashRepair: a node's process that dies leaves its file open in
// the node's subfolder; another node starting leaves it be, the node
// itself seals it when it starts again, and its captures read back.
func TestNodeCrashRepair(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	node := func(name string) func(*Options) { return func(o *Options) { o.Node = name } }
	a, _ := openTest(t, dir, node("w1"))
	e, _, err := a.Put(ctx, testPage(1, "<p>井盖松动</p>"))
	if err != nil {
		t.Fatal(err)
	}
	a.crash()
	open := filepath.Join(dir, "evidence", filepath.FromSlash(e.File)) + openSuffix
	if !strings.HasPrefix(e.File, "w1/") {
		t.Fatalf("file %q not in w1's folder", e.File)
	}
	b, rep := openTest(t, dir, node("w2"))
	defer b.Close()
	if len(rep.Files) != 0 {
		t.Errorf("w2 repaired %+v", rep.Files)
	}
	if _, err := os.Stat(open); err != nil {
		t.Fatalf("w1's open file after w2 started: %v", err)
	}
	// Readable while still open.
	if _, err := b.Records(e); err != nil {
		t.Errorf("w2 reads w1's open file: %v", err)
	}
	a2, rep := openTest(t, dir, node("w1"))
	defer a2.Close()
	if len(rep.Files) != 1 || rep.Files[0].Name != e.File || rep.Files[0].Cut != 0 || rep.Files[0].Removed {
		t.Fatalf("w1's repair %+v", rep.Files)
	}
	if _, err := os.Stat(strings.TrimSuffix(open, openSuffix)); err != nil {
		t.Errorf("not sealed: %v", err)
	}
	if _, err := b.Records(e); err != nil {
		t.Errorf("w2 reads w1's sealed file: %v", err)
	}
	if _, _, err := Open(ctx, Options{Dir: filepath.Join(dir, "evidence"), Node: "../w1", DB: filepath.Join(dir, "riskmine.db")}); err == nil || !strings.Contains(err.Error(), "node name") {
		t.Errorf("a node name with ../: %v", err)
	}
}

// TestValidFileName: an indexed name is a file of the folder or of one
// node's subfolder, never a way out of the folder.
func TestValidFileName(t *testing.T) {
	for name, want := range map[string]bool{
		"riskmine-1.warc.gz":     true,
		"w1/riskmine-1.warc.gz":  true,
		"host.example/r.warc.gz": true,
		"":                       false,
		".hidden":                false,
		"../r.warc.gz":           false,
		"w1/../r.warc.gz":        false,
		"w1/sub/r.warc.gz":       false,
		"/etc/passwd":            false,
		`w1\r.warc.gz`:           false,
		"w1/":                    false,
		"-w/r.warc.gz":           false,
	} {
		if got := validFileName(name); got != want {
			t.Errorf("validFileName(%q) = %v, want %v", name, got, want)
		}
	}
}
