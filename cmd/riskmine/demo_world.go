package main

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"html/template"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/text/encoding/simplifiedchinese"
)

// demoWorld serves the bundled demo sites on loopback: a local forum, a city
// news site in GBK, an RSS feed and a government notice board. Posts with a
// negative age appear while it runs.
type demoWorld struct {
	start time.Time
	now   func() time.Time
	posts []demoPost

	mu      sync.Mutex
	servers map[string]*http.Server
	addrs   map[string]string // site → host:port
}

// newDemoWorld returns a world whose clock starts at start.
func newDemoWorld(start time.Time, now func() time.Time) *demoWorld {
	return &demoWorld{start: start, now: now, posts: demoPosts, servers: map[string]*http.Server{}, addrs: map[string]string{}}
}

// demoSites lists the sites in the order they are started.
var demoSites = []string{demoForum, demoNews, demoFeed, demoNotice}

// Start listens on loopback for every site: on the address prefer gives for
// it when that is free (so a restarted demo keeps its URLs), else on a free port.
func (w *demoWorld) Start(prefer map[string]string) error {
	for _, site := range demoSites {
		var ln net.Listener
		err := errors.New("no preferred address")
		if a := prefer[site]; a != "" {
			ln, err = net.Listen("tcp", a)
		}
		if err != nil {
			ln, err = net.Listen("tcp", "127.0.0.1:0")
		}
		if err != nil {
			w.Close(context.Background())
			return fmt.Errorf("demo: listen for %s: %w", site, err)
		}
		srv := &http.Server{Handler: w.handler(site), ReadHeaderTimeout: 5 * time.Second}
		w.mu.Lock()
		w.servers[site] = srv
		w.addrs[site] = ln.Addr().String()
		w.mu.Unlock()
		go func() {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				_ = err // the demo world ends with the process; nothing to report to
			}
		}()
	}
	return nil
}

// Close stops every site.
func (w *demoWorld) Close(ctx context.Context) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, s := range w.servers {
		_ = s.Shutdown(ctx)
	}
}

// Addrs returns the address of every site.
func (w *demoWorld) Addrs() map[string]string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make(map[string]string, len(w.addrs))
	for k, v := range w.addrs {
		out[k] = v
	}
	return out
}

// URL returns the base URL of a site.
func (w *demoWorld) URL(site string) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return "http://" + w.addrs[site]
}

// visible returns the posts of site published by now, newest first.
func (w *demoWorld) visible(site string) []demoPost {
	now := w.now()
	var out []demoPost
	for _, p := range w.posts {
		if p.site == site && !w.published(p).After(now) {
			out = append(out, p)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return w.published(out[i]).After(w.published(out[j])) })
	return out
}

func (w *demoWorld) published(p demoPost) time.Time { return w.start.Add(-p.age).Truncate(time.Second) }

func (w *demoWorld) find(site, id string) (demoPost, bool) {
	for _, p := range w.visible(site) {
		if p.id == id {
			return p, true
		}
	}
	return demoPost{}, false
}

const demoRobots = "User-agent: *\nDisallow: /private/\n"

// demoPageSize is the number of posts per forum list page, small so that
// pagination is exercised.
const demoPageSize = 4

func (w *demoWorld) handler(site string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /robots.txt", func(rw http.ResponseWriter, r *http.Request) {
		rw.Header().Set("Content-Type", "text/plain")
		fmt.Fprint(rw, demoRobots)
	})
	mux.HandleFunc("GET /private/", func(rw http.ResponseWriter, r *http.Request) {
		http.Error(rw, "robots.txt forbids this page; a polite crawler never asks", http.StatusForbidden)
	})
	switch site {
	case demoForum:
		mux.HandleFunc("GET /forum/list", w.forumList)
		mux.HandleFunc("GET /forum/thread/{file}", w.detailPage(demoForum, "forumThread", false))
	case demoNews:
		mux.HandleFunc("GET /news/index.html", w.listPage(demoNews, "newsIndex", true))
		mux.HandleFunc("GET /news/{file}", w.detailPage(demoNews, "newsArticle", true))
	case demoFeed:
		mux.HandleFunc("GET /rss.xml", w.feedRSS)
		mux.HandleFunc("GET /item/{file}", w.detailPage(demoFeed, "forumThread", false))
	case demoNotice:
		// Declared gb2312, served as UTF-8: the trap of many government sites.
		mux.HandleFunc("GET /notices/", w.listPage(demoNotice, "noticeList", false))
		mux.HandleFunc("GET /notices/{file}", w.detailPage(demoNotice, "noticePage", false))
	}
	return mux
}

var demoTemplates = template.Must(template.New("").Funcs(template.FuncMap{
	"fmtTime": func(t time.Time) string { return t.Format("2006-01-02 15:04") },
}).Parse(`
{{define "forumList"}}<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>榕城社区 - 本地生活 - 第{{.Page}}页</title></head>
<body><div class="nav"><a href="/forum/list">首页</a> | 本地生活 | 二手 | 招聘</div>
<ul class="threads">{{range .Posts}}
<li class="thread"><a class="thread-link" href="/forum/thread/{{.ID}}">{{.Title}}</a> <span class="author">{{.Author}}</span> <span class="time">{{fmtTime .Published}}</span></li>{{end}}
</ul>
{{if .Next}}<a class="next" href="/forum/list?page={{.Next}}">下一页</a>{{end}}
<div class="footer">榕城社区 版权所有 | 联系我们</div></body></html>{{end}}

{{define "forumThread"}}<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>{{.Title}} - 榕城社区</title>
<meta property="article:published_time" content="{{.PublishedRFC}}"></head>
<body><div class="nav"><a href="/forum/list">首页</a> &gt; 本地生活</div>
<div class="post"><h1 class="post-title">{{.Title}}</h1>
<div class="meta">楼主：<span class="author">{{.Author}}</span> 发表于 <span class="time">{{fmtTime .Published}}</span></div>
<div class="post-body">{{range .Body}}<p>{{.}}</p>{{end}}</div></div>
<div class="replies"><div class="reply">顶一下，注意安全</div><div class="reply">已转发</div></div>
<div class="footer">榕城社区 版权所有 | 联系我们 | 免责声明</div></body></html>{{end}}

{{define "newsIndex"}}<!DOCTYPE html>
<html><head><meta http-equiv="Content-Type" content="text/html; charset=gbk"><title>福州城市新闻网</title></head>
<body><div class="menu">首页 | 本地 | 社会 | 民生</div>
<div class="list">{{range .Posts}}
<div class="item"><a href="/news/{{.ID}}.html">{{.Title}}</a><span>{{fmtTime .Published}}</span></div>{{end}}
</div><div class="copyright">福州城市新闻网 版权所有</div></body></html>{{end}}

{{define "newsArticle"}}<!DOCTYPE html>
<html><head><meta http-equiv="Content-Type" content="text/html; charset=gbk"><title>{{.Title}}_福州城市新闻网</title></head>
<body><div class="menu">首页 | 本地 | 社会 | 民生</div>
<div class="article"><h1>{{.Title}}</h1>
<div class="info">{{fmtTime .Published}} 来源：福州城市新闻网 作者：{{.Author}}</div>
<div class="content">{{range .Body}}<p>{{.}}</p>{{end}}</div>
<div class="editor">责任编辑：王芳</div></div>
<div class="related">相关新闻：福州地铁新线路明年开通 | 福州今年新增城市公园</div>
<div class="copyright">福州城市新闻网 版权所有 未经授权禁止转载</div></body></html>{{end}}

{{define "noticeList"}}<!DOCTYPE html>
<html><head><meta http-equiv="Content-Type" content="text/html; charset=gb2312"><title>通知公告 - 福州市政务公开</title></head>
<body><div class="banner">福州市人民政府 政务公开</div>
<table class="notices">{{range .Posts}}
<tr><td><a href="/notices/{{.ID}}.html">{{.Title}}</a></td><td>{{fmtTime .Published}}</td></tr>{{end}}
</table></body></html>{{end}}

{{define "noticePage"}}<!DOCTYPE html>
<html><head><meta http-equiv="Content-Type" content="text/html; charset=gb2312"><title>{{.Title}}</title>
<meta name="PubDate" content="{{fmtTime .Published}}"></head>
<body><div class="banner">福州市人民政府 政务公开</div>
<div class="notice"><h2>{{.Title}}</h2><div class="source">发布机构：{{.Author}} 发布日期：{{fmtTime .Published}}</div>
<div class="text">{{range .Body}}<p>{{.}}</p>{{end}}</div></div>
<div class="foot">主办：福州市人民政府办公厅</div></body></html>{{end}}
`))

// demoView is what the page templates show of a post.
type demoView struct {
	ID, Title, Author string
	Published         time.Time
	PublishedRFC      string
	Body              []string
}

func (w *demoWorld) view(p demoPost) demoView {
	pub := w.published(p)
	return demoView{ID: p.id, Title: p.title, Author: p.author, Published: pub, PublishedRFC: pub.Format(time.RFC3339), Body: p.body}
}

func (w *demoWorld) views(ps []demoPost) []demoView {
	out := make([]demoView, len(ps))
	for i, p := range ps {
		out[i] = w.view(p)
	}
	return out
}

func render(rw http.ResponseWriter, name string, data any, gbk bool) {
	var buf bytes.Buffer
	if err := demoTemplates.ExecuteTemplate(&buf, name, data); err != nil {
		http.Error(rw, err.Error(), http.StatusInternalServerError)
		return
	}
	body := buf.Bytes()
	if gbk {
		enc, err := simplifiedchinese.GBK.NewEncoder().Bytes(body)
		if err != nil {
			http.Error(rw, err.Error(), http.StatusInternalServerError)
			return
		}
		rw.Header().Set("Content-Type", "text/html")
		body = enc
	} else {
		rw.Header().Set("Content-Type", "text/html; charset=utf-8")
	}
	_, _ = rw.Write(body)
}

func (w *demoWorld) forumList(rw http.ResponseWriter, r *http.Request) {
	posts := w.visible(demoForum)
	page, _ := strconv.Atoi(r.URL.Query().Get("page"))
	if page < 1 {
		page = 1
	}
	from := (page - 1) * demoPageSize
	if from > len(posts) {
		from = len(posts)
	}
	to := min(from+demoPageSize, len(posts))
	next := 0
	if to < len(posts) {
		next = page + 1
	}
	render(rw, "forumList", map[string]any{"Page": page, "Posts": w.views(posts[from:to]), "Next": next}, false)
}

// listPage serves a site's list of visible posts with template name.
func (w *demoWorld) listPage(site, name string, gbk bool) http.HandlerFunc {
	return func(rw http.ResponseWriter, r *http.Request) {
		render(rw, name, map[string]any{"Posts": w.views(w.visible(site))}, gbk)
	}
}

// detailPage serves one visible post of a site, named by the {file} path
// value (an id, with or without .html), with template name.
func (w *demoWorld) detailPage(site, name string, gbk bool) http.HandlerFunc {
	return func(rw http.ResponseWriter, r *http.Request) {
		p, ok := w.find(site, strings.TrimSuffix(r.PathValue("file"), ".html"))
		if !ok {
			http.NotFound(rw, r)
			return
		}
		render(rw, name, w.view(p), gbk)
	}
}

func xmlEscape(s string) string {
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

func (w *demoWorld) feedRSS(rw http.ResponseWriter, r *http.Request) {
	base := w.URL(demoFeed)
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n<rss version=\"2.0\"><channel><title>福州城事</title><link>" + base + "/</link><description>福州本地资讯</description>\n")
	for _, p := range w.visible(demoFeed) {
		fmt.Fprintf(&b, "<item><title>%s</title><link>%s/item/%s</link><guid>%s/item/%s</guid><pubDate>%s</pubDate><author>%s</author><description>%s</description></item>\n",
			xmlEscape(p.title), base, p.id, base, p.id, w.published(p).Format(time.RFC1123Z), xmlEscape(p.author), xmlEscape(strings.Join(p.body, "\n")))
	}
	b.WriteString("</channel></rss>\n")
	rw.Header().Set("Content-Type", "application/rss+xml; charset=utf-8")
	fmt.Fprint(rw, b.String())
}
