package crawler

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/PuerkitoBio/goquery"
)

// Test modes: which reading TestSource gives the fetched page.
const (
	TestAuto   = ""       // a seed is read as the source's list (or feed, sitemap), any other URL as a detail page
	TestList   = "list"   // the list selectors, a feed's entries or a sitemap's URLs
	TestDetail = "detail" // the detail selectors and the generic extractor
)

// Limits of a test's preview, so a test answer stays small.
const (
	maxTestItems = 100
	maxTestText  = 4000 // runes of main text
)

// TestItem is one item a list page, feed or sitemap yields.
type TestItem struct {
	URL   string `json:"url"`
	Title string `json:"title,omitempty"`
}

// TestPage is what a detail page yields, and where each field came from:
// "selector" (the source's detail selector), "generic" (the extractor) or
// "" (nothing found).
type TestPage struct {
	Title        string    `json:"title"`
	TitleFrom    string    `json:"title_from"`
	PublishedAt  time.Time `json:"published_at,omitzero"`
	TimeFrom     string    `json:"time_from"`
	Author       string    `json:"author"`
	AuthorFrom   string    `json:"author_from"`
	Text         string    `json:"text"`
	TextFrom     string    `json:"text_from"`
	TextRunes    int       `json:"text_runes"`
	Truncated    bool      `json:"truncated,omitempty"`
	CanonicalURL string    `json:"canonical_url,omitempty"`
}

// TestResult is the preview of one page fetched for a source test.
type TestResult struct {
	URL         string `json:"url"`
	FinalURL    string `json:"final_url,omitempty"`
	Mode        string `json:"mode"` // list or detail
	Status      int    `json:"status,omitempty"`
	ContentType string `json:"content_type,omitempty"`
	Bytes       int    `json:"bytes,omitempty"`
	// ErrorKind names why the page was not read (the run statistics'
	// kinds: robots, blocked, domain, timeout, too_large, http_4xx, …);
	// Error says it in a line. Both are empty on success.
	ErrorKind string `json:"error_kind,omitempty"`
	Error     string `json:"error,omitempty"`
	// Items are the list items (link and title), at most 100; ItemsTotal
	// counts them all.
	Items      []TestItem `json:"items,omitempty"`
	ItemsTotal int        `json:"items_total"`
	// Next is the next list page's link, when list.next matched.
	Next string    `json:"next,omitempty"`
	Page *TestPage `json:"page,omitempty"`
	// Unmatched names the source's selectors (list.items, detail.title, …)
	// that matched nothing on the page.
	Unmatched []string `json:"unmatched"`
}

// TestSource fetches one page of src the way a run does — the address
// guard, allowed_domains, robots.txt, the per-host delay shared with the
// running crawls, the timeouts and size limits — and previews what the run
// would take from it. Nothing is recorded in the crawl state or run
// history. rawURL "" means the first seed. An error is returned only for
// an invalid source or URL; a page that could not be fetched is a result
// with ErrorKind set.
func (c *Crawler) TestSource(ctx context.Context, src Source, rawURL, mode string) (TestResult, error) {
	src, err := src.withDefaults()
	if err != nil {
		return TestResult{}, err
	}
	if rawURL == "" {
		rawURL = src.Seeds[0]
	}
	canon, err := Canonicalize(nil, strings.TrimSpace(rawURL))
	if err != nil {
		return TestResult{}, fmt.Errorf("crawler: test URL %q is not an http(s) URL", rawURL)
	}
	switch mode {
	case TestAuto:
		mode = TestDetail
		for _, s := range src.Seeds {
			if sc, err := Canonicalize(nil, s); err == nil && sc == canon {
				mode = TestList
			}
		}
	case TestList, TestDetail:
	default:
		return TestResult{}, fmt.Errorf("crawler: test mode %q, expected list or detail", mode)
	}
	res := TestResult{URL: canon, Mode: mode, Unmatched: []string{}}
	// A test makes one attempt: retries would hold the admin's page.
	tc := *c
	tc.opts.Retries = 0
	r, err := tc.newRun(ctx, src, func(context.Context, Page) error { return nil }, &Progress{})
	if err != nil {
		return TestResult{}, err
	}
	defer r.stop(nil)
	defer r.tr.base.CloseIdleConnections()
	f, err := r.get(canon, nil)
	if err != nil {
		res.ErrorKind, res.Error = errKind(err), err.Error()
		return res, nil
	}
	res.Status, res.ContentType, res.Bytes = f.status, f.contentType, len(f.body)
	if f.finalURL != nil {
		res.FinalURL = f.finalURL.String()
	}
	if f.status < 200 || f.status > 299 {
		res.ErrorKind, res.Error = statusKind(f.status), fmt.Sprintf("HTTP %d", f.status)
		return res, nil
	}
	if mode == TestDetail {
		testDetail(r, f, &res)
		return res, nil
	}
	switch src.Kind {
	case KindRSS, KindAtom:
		items, err := parseFeed(f.body)
		if err != nil {
			res.ErrorKind, res.Error = "parse", err.Error()
			return res, nil
		}
		for _, it := range items {
			if it.Link != "" {
				if u, err := f.finalURL.Parse(it.Link); err == nil {
					res.addItem(u.String(), it.Title)
				}
			}
		}
	case KindSitemap:
		urls, children, err := parseSitemap(f.body)
		if err != nil {
			res.ErrorKind, res.Error = "parse", err.Error()
			return res, nil
		}
		for _, c := range children {
			res.addItem(c.Loc, "sitemap")
		}
		for _, u := range urls {
			res.addItem(u.Loc, "")
		}
	default:
		testList(src, f, &res)
	}
	return res, nil
}

func (res *TestResult) addItem(u, title string) {
	res.ItemsTotal++
	if len(res.Items) < maxTestItems {
		res.Items = append(res.Items, TestItem{URL: u, Title: title})
	}
}

// testList reads a list page as processList does.
func testList(src Source, f *fetched, res *TestResult) {
	body, _, _ := DecodeCharset(f.body, f.contentType)
	doc, err := goquery.NewDocumentFromReader(bytes.NewReader(body))
	if err != nil {
		res.ErrorKind, res.Error = "parse", err.Error()
		return
	}
	base := baseURL(doc, f.finalURL)
	doc.Find(src.List.Items).Each(func(_ int, s *goquery.Selection) {
		a := s
		href, ok := s.Attr("href")
		if !ok || !s.Is("a") {
			a = s.Find("a[href]").First()
			href, ok = a.Attr("href")
		}
		if !ok {
			return
		}
		canon, err := Canonicalize(base, href)
		if err != nil {
			return
		}
		title := collapseSpace(a.Text())
		if title == "" {
			title = collapseSpace(s.Text())
		}
		res.addItem(canon, title)
	})
	if res.ItemsTotal == 0 {
		res.Unmatched = append(res.Unmatched, "list.items")
	}
	if src.List.Next != "" {
		if href, ok := doc.Find(src.List.Next).First().Attr("href"); ok {
			if canon, err := Canonicalize(base, href); err == nil {
				res.Next = canon
			}
		} else {
			res.Unmatched = append(res.Unmatched, "list.next")
		}
	}
}

// testDetail extracts a detail page as processDetail does and notes which
// detail selectors matched nothing.
func testDetail(r *run, f *fetched, res *TestResult) {
	if !isPageType(f.contentType) {
		res.ErrorKind, res.Error = "not_html", fmt.Sprintf("content type %q is not a web page", f.contentType)
		return
	}
	sel := r.src.Detail
	p, err := r.extractPage(f)
	if err != nil {
		res.ErrorKind, res.Error = "extract", err.Error()
		return
	}
	// Which fields the selectors gave: extractPage takes a selector's
	// value first and fills only the empty fields generically.
	bySel := selectorFields(sel, f)
	from := func(selVal bool, v bool) string {
		switch {
		case selVal:
			return "selector"
		case v:
			return "generic"
		}
		return ""
	}
	tp := &TestPage{Title: p.Title, PublishedAt: p.PublishedAt, Author: p.Author, CanonicalURL: p.CanonicalURL}
	tp.TitleFrom = from(bySel.title, p.Title != "")
	tp.TimeFrom = from(bySel.time, !p.PublishedAt.IsZero())
	tp.AuthorFrom = from(bySel.author, p.Author != "")
	tp.TextFrom = from(bySel.body, strings.TrimSpace(p.Text) != "")
	tp.TextRunes = utf8.RuneCountInString(p.Text)
	tp.Text = p.Text
	if tp.TextRunes > maxTestText {
		tp.Text = string([]rune(p.Text)[:maxTestText])
		tp.Truncated = true
	}
	res.Page = tp
	for _, k := range []struct {
		key, css string
		gave     bool
	}{{"detail.title", sel.Title, bySel.title}, {"detail.body", sel.Body, bySel.body},
		{"detail.time", sel.Time, bySel.time}, {"detail.author", sel.Author, bySel.author}} {
		// A selector that finds an element with nothing usable in it
		// (an empty node, a time that does not parse) counts as unmatched.
		if k.css != "" && !k.gave {
			res.Unmatched = append(res.Unmatched, k.key)
		}
	}
}

// selGave is which detail fields the source's selectors gave a value.
type selGave struct{ title, body, time, author bool }

// selectorFields reads f with the detail selectors alone, as extractPage
// does before the generic extractor.
func selectorFields(sel DetailSelectors, f *fetched) selGave {
	var out selGave
	if sel.Title == "" && sel.Body == "" && sel.Time == "" && sel.Author == "" {
		return out
	}
	body, _, _ := DecodeCharset(f.body, f.contentType)
	doc, err := goquery.NewDocumentFromReader(bytes.NewReader(body))
	if err != nil {
		return out
	}
	if sel.Title != "" {
		out.title = collapseSpace(doc.Find(sel.Title).First().Text()) != ""
	}
	if sel.Body != "" {
		out.body = selectionText(doc.Find(sel.Body)) != ""
	}
	if sel.Time != "" {
		s := doc.Find(sel.Time).First()
		v, ok := s.Attr("datetime")
		if !ok {
			v = s.Text()
		}
		out.time = !parseLooseTime(v).IsZero()
	}
	if sel.Author != "" {
		out.author = collapseSpace(doc.Find(sel.Author).First().Text()) != ""
	}
	return out
}

// IsTestRefusal reports whether kind is a refusal by the crawl's rules
// (robots.txt, the address guard, allowed_domains) rather than a failure of
// the site.
func IsTestRefusal(kind string) bool {
	return kind == "robots" || kind == "blocked" || kind == "domain"
}

// TestSource tests src with the scheduler's crawler (see Crawler.TestSource):
// the test waits its turn at the host like the scheduled runs.
func (s *Scheduler) TestSource(ctx context.Context, src Source, rawURL, mode string) (TestResult, error) {
	return s.c.TestSource(ctx, src, rawURL, mode)
}
