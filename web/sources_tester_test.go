package web

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"riskmine/crawler"
)

// testerEnv is a web server whose scheduler is a real crawler, and a
// loopback site with a list page, an article and a robots.txt.
func testerEnv(t *testing.T) (*testEnv, *httptest.Server) {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/robots.txt", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("User-agent: *\nDisallow: /closed/\n"))
	})
	mux.HandleFunc("/board", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(`<html><body><div class=threads>
			<a class=thread href="/t/1">小区燃气泄漏 居民疏散</a>
			<a class=thread href="/t/2">河堤 渗水 请关注</a></div></body></html>`))
	})
	mux.HandleFunc("/t/1", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(`<html><head><title>小区燃气泄漏</title></head><body><h1 class=subject>小区燃气泄漏 居民疏散</h1>
			<span class=date>2024年5月1日 08:30</span><div class=post><p>今天上午，市区一处老旧小区发生燃气泄漏，消防人员迅速赶到现场处置，疏散居民二十余人，未造成人员伤亡。</p>
			<p>事故原因正在进一步调查中，相关部门提醒居民注意用气安全，定期检查燃气管道和阀门。</p></div></body></html>`))
	})
	mux.HandleFunc("/closed/", func(w http.ResponseWriter, r *http.Request) {
		t.Error("a page disallowed by robots.txt was fetched")
	})
	site := httptest.NewServer(mux)
	t.Cleanup(site.Close)

	cstore, err := crawler.OpenStore(filepath.Join(t.TempDir(), "crawl.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cstore.Close() })
	cr, err := crawler.New(crawler.Options{Store: cstore})
	if err != nil {
		t.Fatal(err)
	}
	sched, err := crawler.NewScheduler(cr, nil, func(context.Context, crawler.Page) error { return nil }, crawler.SchedulerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sched.Stop(context.Background()) })
	return newTestEnv(t, Options{}, Deps{SourceEditor: sched}), site
}

func testerYAML(site *httptest.Server, items string) string {
	return "name: board\nkind: html\nseeds: [" + site.URL + "/board]\nallow_private: true\nlist: {items: '" + items + "'}\n" +
		"detail: {title: h1.subject, time: span.date, author: span.poster}\n"
}

func TestSourceTesterPage(t *testing.T) {
	e, site := testerEnv(t)
	admin := e.login("admin")

	// The list page: both threads, with their titles.
	r := admin.postForm("/sources/manage/test", url.Values{"yaml": {testerYAML(site, "a.thread")}}, true)
	body := readAll(t, r)
	if r.StatusCode != http.StatusOK {
		t.Fatalf("test: %d %s", r.StatusCode, body)
	}
	for _, want := range []string{`id="source-test-items"`, "找到 2 条", "小区燃气泄漏 居民疏散", site.URL + "/t/2", "所有选择器均有匹配"} {
		if !strings.Contains(body, want) {
			t.Errorf("list test page lacks %q", want)
		}
	}

	// A list selector matching nothing is reported.
	body = readAll(t, admin.postForm("/sources/manage/test", url.Values{"yaml": {testerYAML(site, "a.gone")}}, true))
	if !strings.Contains(body, `id="source-test-unmatched"`) || !strings.Contains(body, "<code>list.items</code>") || !strings.Contains(body, "找到 0 条") {
		t.Errorf("unmatched list selector not reported:\n%s", section(body))
	}

	// A detail page: selector fields, the author selector reported.
	body = readAll(t, admin.postForm("/sources/manage/test", url.Values{"yaml": {testerYAML(site, "a.thread")},
		"url": {site.URL + "/t/1"}}, true))
	for _, want := range []string{`id="source-test-page"`, "小区燃气泄漏 居民疏散", "详情页选择器", "通用抽取", "疏散居民二十余人", "<code>detail.author</code>"} {
		if !strings.Contains(body, want) {
			t.Errorf("detail test page lacks %q:\n%s", want, section(body))
		}
	}

	// robots.txt disallow and the address guard are reported in Chinese.
	body = readAll(t, admin.postForm("/sources/manage/test", url.Values{"yaml": {testerYAML(site, "a.thread")},
		"url": {site.URL + "/closed/x"}}, true))
	if !strings.Contains(body, `data-kind="robots"`) || !strings.Contains(body, "robots.txt 禁止抓取") {
		t.Errorf("robots refusal not shown:\n%s", section(body))
	}
	guarded := strings.Replace(testerYAML(site, "a.thread"), "allow_private: true\n", "", 1)
	body = readAll(t, admin.postForm("/sources/manage/test", url.Values{"yaml": {guarded}}, true))
	if !strings.Contains(body, `data-kind="blocked"`) || !strings.Contains(body, "安全防护拒绝") {
		t.Errorf("guard refusal not shown:\n%s", section(body))
	}

	// An invalid source is refused with its key; no CSRF token, no test;
	// a viewer may not test.
	r = admin.postForm("/sources/manage/test", url.Values{"yaml": {"name: board\nkind: html\nseeds: [" + site.URL + "/board]\n"}}, true)
	if body = readAll(t, r); r.StatusCode != http.StatusBadRequest || !strings.Contains(body, "list.items") {
		t.Errorf("invalid source: %d", r.StatusCode)
	}
	if st := admin.postForm("/sources/manage/test", url.Values{"yaml": {testerYAML(site, "a.thread")}}, false).StatusCode; st != http.StatusForbidden {
		t.Errorf("without CSRF token: %d, want 403", st)
	}
	if st := e.login("viv").postForm("/sources/manage/test", url.Values{"yaml": {testerYAML(site, "a.thread")}}, true).StatusCode; st != http.StatusForbidden {
		t.Errorf("viewer: %d, want 403", st)
	}
	// The page offers the tester.
	if body = admin.getBody("/sources/manage"); !strings.Contains(body, `id="source-test-form"`) {
		t.Error("the sources page has no tester form")
	}
}

// section cuts the tester's part out of a page for failure messages.
func section(body string) string {
	if i := strings.Index(body, `id="source-test"`); i >= 0 {
		body = body[i:]
	}
	if len(body) > 3000 {
		body = body[:3000]
	}
	return body
}

func TestSourceTesterAPI(t *testing.T) {
	e, site := testerEnv(t)
	ctx := context.Background()
	adminTok, _ := e.srv.store.CreateToken(ctx, "admin", "t")
	anaTok, _ := e.srv.store.CreateToken(ctx, "ana", "t")
	req := func(tok string, in sourceTestRequest) (*http.Response, crawler.TestResult) {
		b, _ := json.Marshal(in)
		r := e.apiReq("POST", "/api/v1/sources/test", tok, string(b))
		var res crawler.TestResult
		json.NewDecoder(r.Body).Decode(&res)
		return r, res
	}
	r, res := req(adminTok, sourceTestRequest{YAML: testerYAML(site, "a.thread")})
	if r.StatusCode != http.StatusOK || res.ItemsTotal != 2 || res.Mode != "list" || len(res.Unmatched) != 0 {
		t.Fatalf("list test: %d %+v", r.StatusCode, res)
	}
	_, res = req(adminTok, sourceTestRequest{YAML: testerYAML(site, "a.thread"), URL: site.URL + "/closed/a"})
	if res.ErrorKind != "robots" {
		t.Errorf("robots: %+v", res)
	}
	_, res = req(adminTok, sourceTestRequest{YAML: testerYAML(site, "a.thread"), URL: "http://203.0.113.9/x"})
	if res.ErrorKind != "domain" {
		t.Errorf("a host outside the source's domains: %+v, want domain", res)
	}
	if r, _ := req(anaTok, sourceTestRequest{YAML: testerYAML(site, "a.thread")}); r.StatusCode != http.StatusForbidden {
		t.Errorf("analyst: %d, want 403", r.StatusCode)
	}
	if r := e.apiReq("POST", "/api/v1/sources/test", adminTok, "yaml: x"); r.StatusCode != http.StatusBadRequest {
		t.Errorf("not JSON: %d", r.StatusCode)
	}

	// One test at a time per user: while one is held, the next is refused.
	release, err := e.srv.srcTests.enter("admin")
	if err != nil {
		t.Fatal(err)
	}
	if r, _ := req(adminTok, sourceTestRequest{YAML: testerYAML(site, "a.thread")}); r.StatusCode != http.StatusTooManyRequests {
		t.Errorf("second test of a user: %d, want 429", r.StatusCode)
	}
	release()
	if r, _ := req(adminTok, sourceTestRequest{YAML: testerYAML(site, "a.thread")}); r.StatusCode != http.StatusOK {
		t.Errorf("after release: %d", r.StatusCode)
	}
}
