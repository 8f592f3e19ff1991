package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"riskmine/index"
)

// openSearchIndex opens a real index in a temporary folder with a few posts
// and the words 10000 to 12999, so that a wildcard can match too many words.
func openSearchIndex(t *testing.T) *index.Index {
	t.Helper()
	ix, err := index.Open(index.Options{Path: filepath.Join(t.TempDir(), "index"), FlushInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ix.Close() })
	ctx := context.Background()
	docs := []index.Doc{
		{ID: "a", URL: "https://a.example/1", Title: "小区发生火灾", Body: "消防救援人员赶到现场扑救。", Level: "high", PublishedAt: time.Now()},
		{ID: "b", URL: "https://a.example/2", Title: "燃气泄漏", Body: "居民已疏散，燃气公司正在抢修。", Level: "medium", PublishedAt: time.Now()},
	}
	for d := range 30 {
		var b strings.Builder
		for n := range 100 {
			fmt.Fprintf(&b, "%d ", 10000+d*100+n)
		}
		docs = append(docs, index.Doc{ID: fmt.Sprintf("n%d", d), URL: fmt.Sprintf("https://n.example/%d", d), Title: "编号", Body: b.String(), PublishedAt: time.Now()})
	}
	for _, d := range docs {
		if err := ix.Add(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	if err := ix.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	return ix
}

// TestHostileSearchRequests sends the audit's queries through the search API
// and the search page: each gets its expected status and one clear line,
// never Bleve's insides.
func TestHostileSearchRequests(t *testing.T) {
	ix := openSearchIndex(t)
	e := newTestEnv(t, Options{AdminToken: adminToken}, Deps{Search: ix})
	viewer := e.login("viv")
	cases := []struct {
		q      string
		status int
		say    string
	}{
		{"*1*", 400, "begins with a *"},
		{"/.*/", 400, "begins with an open repetition"},
		{strings.Repeat("/.*/ ", 5), 400, "begins with an open repetition"},
		{"火灾~2", 400, "fuzziness of 2"},
		{"1*", 400, "matches more than 1024 words"},
		{strings.Repeat("词语 ", 300), 400, "more than 256 words"},
		{"/", 400, "could not be read"},
		{strings.Repeat("王 李 张 刘 陈 杨 黄 赵 吴 周 徐 孙 胡 朱 高 林 何 ", 14), 400, "characters alone"},
		{"火灾 /", 400, "could not be read"},
		{strings.Repeat("(", 200) + "火灾" + strings.Repeat(")", 200), 200, ""},
		{"火灾", 200, ""},
		{"燃*", 200, ""},
		{"/燃.*/", 200, ""},
	}
	for _, c := range cases {
		name := c.q
		if len(name) > 20 {
			name = name[:20]
		}
		t.Run(name, func(t *testing.T) {
			resp := e.apiReq("GET", "/api/v1/search?q="+url.QueryEscape(c.q), adminToken, "")
			if resp.StatusCode != c.status {
				t.Fatalf("API %q: status %d, want %d", c.q, resp.StatusCode, c.status)
			}
			if c.status == 400 {
				msg := decode[apiError](t, resp).Error
				if !strings.HasPrefix(msg, "bad query: ") || !strings.Contains(msg, c.say) || strings.Contains(msg, "runtime") || strings.Contains(msg, "index: search") || strings.Contains(msg, "\n") {
					t.Errorf("API %q: %q does not say %q in one clean line", c.q, msg, c.say)
				}
			}
			// The search export refuses what the search refuses, with the
			// same message.
			exp := e.apiReq("GET", "/api/v1/export/search?q="+url.QueryEscape(c.q), adminToken, "")
			if exp.StatusCode != c.status {
				t.Fatalf("export %q: status %d, want %d", c.q, exp.StatusCode, c.status)
			}
			if c.status == 400 {
				msg := decode[apiError](t, exp).Error
				if !strings.HasPrefix(msg, "bad query: ") || !strings.Contains(msg, c.say) || strings.Contains(msg, "index: search") || strings.Contains(msg, "\n") {
					t.Errorf("export %q: %q does not say %q in one clean line", c.q, msg, c.say)
				}
			} else {
				exp.Body.Close()
			}
			page := viewer.get("/search?q=" + url.QueryEscape(c.q))
			body := readAll(t, page)
			if page.StatusCode != c.status {
				t.Fatalf("page %q: status %d, want %d", c.q, page.StatusCode, c.status)
			}
			if c.status == 400 && !strings.Contains(body, c.say) {
				t.Errorf("page %q does not say %q", c.q, c.say)
			}
		})
	}
}

// TestRefusedQueryIsNoAlertRule: a saved search whose query the index
// refuses cannot become an alert rule, for admins too.
func TestRefusedQueryIsNoAlertRule(t *testing.T) {
	ix := openSearchIndex(t)
	e := newTestEnv(t, Options{AdminToken: adminToken}, Deps{Search: ix})
	ss, err := e.srv.store.SaveSearch(context.Background(), "admin", "all", "q="+url.QueryEscape("*1*"))
	if err != nil {
		t.Fatal(err)
	}
	resp := e.apiReq("POST", "/api/v1/alert-rules", adminToken, `{"saved_search_id":`+strconv.FormatInt(ss.ID, 10)+`,"min_level":"high","interval":"15m"}`)
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("status %d, want 400", resp.StatusCode)
	}
	if msg := decode[apiError](t, resp).Error; !strings.Contains(msg, "begins with a *") {
		t.Errorf("message %q", msg)
	}
	admin := e.login("admin")
	form := admin.postForm("/search/saved/"+strconv.FormatInt(ss.ID, 10)+"/rule", url.Values{"min_level": {"high"}, "interval": {"15m"}}, true)
	if !strings.Contains(form.Header.Get("Location"), "rule_failed") {
		t.Errorf("form: %s", form.Header.Get("Location"))
	}
	if rules, _ := e.srv.store.AlertRules(context.Background()); len(rules) != 0 {
		t.Errorf("rules %+v", rules)
	}
}

// heldSearcher holds every search until released, so that searches overlap.
type heldSearcher struct {
	ix      *index.Index
	started chan struct{}
	release chan struct{}
}

func (h *heldSearcher) Search(ctx context.Context, q index.Query) (*index.Result, error) {
	h.started <- struct{}{}
	<-h.release
	return h.ix.Search(ctx, q)
}

// TestSearchesPerUser: a third search of one user while two run is a 429;
// another user still searches.
func TestSearchesPerUser(t *testing.T) {
	h := &heldSearcher{ix: openSearchIndex(t), started: make(chan struct{}, 8), release: make(chan struct{})}
	e := newTestEnv(t, Options{SearchesPerUser: 2}, Deps{Search: h})
	viewer, analyst := e.login("viv"), e.login("ana")
	done := make(chan int, 3)
	for range 2 {
		go func() {
			resp, err := viewer.hc.Get(e.http.URL + "/api/v1/search?q=" + url.QueryEscape("火灾"))
			if err != nil {
				done <- 0
				return
			}
			resp.Body.Close()
			done <- resp.StatusCode
		}()
	}
	<-h.started
	<-h.started
	third := viewer.get("/api/v1/search?q=" + url.QueryEscape("火灾"))
	if third.StatusCode != http.StatusTooManyRequests {
		t.Errorf("third search: %d, want 429", third.StatusCode)
	} else if msg := decode[apiError](t, third).Error; !strings.Contains(msg, "2 at the same time") {
		t.Errorf("429 message %q", msg)
	}
	if page := viewer.get("/search?q=" + url.QueryEscape("火灾")); page.StatusCode != http.StatusTooManyRequests {
		t.Errorf("third search page: %d, want 429", page.StatusCode)
	}
	// An export is a run of searches and takes a place too.
	if exp := viewer.get("/api/v1/export/search?q=" + url.QueryEscape("火灾")); exp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("export while two searches run: %d, want 429", exp.StatusCode)
	} else if msg := decode[apiError](t, exp).Error; !strings.Contains(msg, "2 at the same time") {
		t.Errorf("export 429 message %q", msg)
	}
	// Another user is not held back by the viewer's searches.
	go func() {
		resp, err := analyst.hc.Get(e.http.URL + "/api/v1/search?q=" + url.QueryEscape("火灾"))
		if err != nil {
			done <- 0
			return
		}
		resp.Body.Close()
		done <- resp.StatusCode
	}()
	<-h.started
	close(h.release)
	for range 3 {
		if st := <-done; st != http.StatusOK {
			t.Errorf("held search: %d", st)
		}
	}
	if again := viewer.get("/api/v1/search?q=" + url.QueryEscape("火灾")); again.StatusCode != http.StatusOK {
		t.Errorf("after the others ended: %d, want 200", again.StatusCode)
	}
}

// TestSavedSearchParamsBounded: a saved search (and so an alert rule)
// cannot carry parameters beyond 8 KB.
func TestSavedSearchParamsBounded(t *testing.T) {
	e := newTestEnv(t, Options{AdminToken: adminToken}, Deps{})
	_, err := e.srv.store.SaveSearch(context.Background(), "admin", "big", "q="+strings.Repeat("火", 3000))
	if err == nil || !strings.Contains(err.Error(), "at most 8192 are allowed") {
		t.Fatalf("oversized parameters: %v", err)
	}
	if _, err := e.srv.store.SaveSearch(context.Background(), "admin", "fine", "q="+url.QueryEscape("起火")); err != nil {
		t.Fatalf("a normal search: %v", err)
	}
}
