package web

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"riskmine/crawler"
)

// fakeEditor stands for the scheduler: one config source, the UI sources set.
type fakeEditor struct {
	mu    sync.Mutex
	extra []crawler.Source
}

func (f *fakeEditor) BaseSources() []crawler.Source {
	return []crawler.Source{{Name: "from-config", Kind: "rss", Seeds: []string{"https://example.org/feed"}}}
}

func (f *fakeEditor) SetExtraSources(s []crawler.Source) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.extra = s
	return nil
}

func (f *fakeEditor) names() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, s := range f.extra {
		out = append(out, s.Name)
	}
	return out
}

const goodSource = "name: forum\nkind: html\nseeds: [https://forum.example.org/board]\nlist: {items: a.thread}\n"

func TestUISourcesAPI(t *testing.T) {
	ed := &fakeEditor{}
	e := newTestEnv(t, Options{}, Deps{SourceEditor: ed})
	ctx := context.Background()
	adminTok, _ := e.srv.store.CreateToken(ctx, "admin", "t")
	vivTok, _ := e.srv.store.CreateToken(ctx, "viv", "t")
	errOf := func(r *http.Response) string {
		var b apiError
		json.NewDecoder(r.Body).Decode(&b)
		return b.Error
	}

	// The viewer is refused.
	if st := e.apiReq("POST", "/api/v1/sources", vivTok, goodSource).StatusCode; st != http.StatusForbidden {
		t.Fatalf("viewer add: %d, want 403", st)
	}
	// A validation error names the key.
	r := e.apiReq("POST", "/api/v1/sources", adminTok, "name: forum\nkind: html\nseeds: [https://forum.example.org/]\n")
	if msg := errOf(r); r.StatusCode != http.StatusBadRequest || !strings.Contains(msg, "list.items") || strings.Contains(msg, "\n") {
		t.Fatalf("missing list.items: %d %q", r.StatusCode, msg)
	}
	r = e.apiReq("POST", "/api/v1/sources", adminTok, `{"name":"j","kind":"rss","seeds":["https://x.org/"],"schedule":"every day"}`)
	if msg := errOf(r); r.StatusCode != http.StatusBadRequest || !strings.Contains(msg, "schedule") {
		t.Fatalf("bad schedule: %d %q", r.StatusCode, msg)
	}
	// A config source's name is refused.
	r = e.apiReq("POST", "/api/v1/sources", adminTok, "name: from-config\nkind: rss\nseeds: [https://x.org/]\n")
	if msg := errOf(r); r.StatusCode != http.StatusConflict || !strings.Contains(msg, "config") {
		t.Fatalf("clash: %d %q", r.StatusCode, msg)
	}
	// Added, scheduled; a second add of the name is refused.
	if st := e.apiReq("POST", "/api/v1/sources", adminTok, goodSource).StatusCode; st != http.StatusCreated {
		t.Fatalf("add: %d", st)
	}
	if got := ed.names(); len(got) != 1 || got[0] != "forum" {
		t.Fatalf("scheduled %v", got)
	}
	if st := e.apiReq("POST", "/api/v1/sources", adminTok, goodSource).StatusCode; st != http.StatusConflict {
		t.Fatalf("second add: %d, want 409", st)
	}
	// Renaming through PUT is refused; an edit is kept.
	if st := e.apiReq("PUT", "/api/v1/sources/forum", adminTok, strings.Replace(goodSource, "name: forum", "name: other", 1)).StatusCode; st != http.StatusBadRequest {
		t.Fatalf("rename: %d", st)
	}
	edited := goodSource + "schedule: '@every 30m'\n"
	if st := e.apiReq("PUT", "/api/v1/sources/forum", adminTok, edited).StatusCode; st != http.StatusOK {
		t.Fatalf("edit: %d", st)
	}
	// Paused: no longer scheduled; resumed: again.
	if st := e.apiReq("POST", "/api/v1/sources/forum/pause", adminTok, "").StatusCode; st != http.StatusOK {
		t.Fatalf("pause: %d", st)
	}
	if got := ed.names(); len(got) != 0 {
		t.Fatalf("paused yet scheduled: %v", got)
	}
	e.apiReq("POST", "/api/v1/sources/forum/resume", adminTok, "")
	if got := ed.names(); len(got) != 1 {
		t.Fatalf("resumed, not scheduled: %v", got)
	}
	if st := e.apiReq("DELETE", "/api/v1/sources/forum", adminTok, "").StatusCode; st != http.StatusOK {
		t.Fatalf("delete: %d", st)
	}
	if st := e.apiReq("DELETE", "/api/v1/sources/forum", adminTok, "").StatusCode; st != http.StatusNotFound {
		t.Fatalf("second delete: %d", st)
	}
	// Every change audited with actor, before and after.
	var audit struct {
		Items []SourceChange `json:"items"`
	}
	json.NewDecoder(e.apiReq("GET", "/api/v1/sources/audit", adminTok, "").Body).Decode(&audit)
	var actions []string
	for _, c := range audit.Items {
		actions = append(actions, c.Action)
		if c.Actor != "admin" || c.Name != "forum" || c.At.IsZero() {
			t.Errorf("audit row %+v", c)
		}
	}
	if strings.Join(actions, ",") != "delete,resume,pause,update,create" {
		t.Fatalf("audit actions %v", actions)
	}
	if up := audit.Items[3]; up.Before != goodSource || up.After != edited {
		t.Errorf("update before/after: %+v", up)
	}
	if p := audit.Items[2]; !strings.HasPrefix(p.After, "paused: true\n") {
		t.Errorf("pause after: %q", p.After)
	}
	if st := e.apiReq("GET", "/api/v1/sources/audit", vivTok, "").StatusCode; st != http.StatusForbidden {
		t.Errorf("viewer audit: %d", st)
	}
}

func TestUISourcesPage(t *testing.T) {
	e := newTestEnv(t, Options{}, Deps{SourceEditor: &fakeEditor{}})
	admin := e.login("admin")
	r := admin.postForm("/sources/manage", url.Values{"yaml": {"name: x\nkind: gopher\nseeds: [https://x.org/]\n"}}, true)
	body := readAll(t, r)
	if r.StatusCode != http.StatusBadRequest || !strings.Contains(body, "kind: got") || !strings.Contains(body, "gopher") {
		t.Fatalf("invalid form: %d %s", r.StatusCode, body)
	}
	if r = admin.postForm("/sources/manage", url.Values{"yaml": {goodSource}}, true); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("add: %d", r.StatusCode)
	}
	if r = admin.postForm("/sources/manage/forum/pause", url.Values{}, true); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("pause: %d", r.StatusCode)
	}
	body = admin.getBody("/sources/manage?ok=source_pause")
	for _, want := range []string{`data-source="from-config" data-origin="config"`, "配置文件", `data-source="forum" data-origin="ui"`, "已暂停", `id="source-audit"`} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if st := e.login("viv").get("/sources/manage").StatusCode; st != http.StatusForbidden {
		t.Errorf("viewer page: %d", st)
	}
}
