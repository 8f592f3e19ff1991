package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"riskmine/crawler"
)

// SourceTester fetches one page of a source through the crawler and
// previews what a run would take from it (*crawler.Scheduler). The sources
// admin page finds it on Deps.SourceEditor or Deps.Sources.
type SourceTester interface {
	TestSource(ctx context.Context, src crawler.Source, url, mode string) (crawler.TestResult, error)
}

// Bounds of the selector tester, so it cannot serve as an open proxy: one
// test at a time per user, at most maxSourceTests at once in all, each
// within sourceTestTimeout (the crawler's own per-request limits apply
// inside it). The crawler fetches only the source's allowed domains.
const (
	maxSourceTests    = 2
	sourceTestTimeout = 45 * time.Second
)

// errTestBusy refuses a test while the user's previous one runs.
var errTestBusy = errors.New("web: a test of yours is running")

// sourceTestGate counts the tests in flight; the zero value is ready.
type sourceTestGate struct {
	mu     sync.Mutex
	byUser map[string]bool
	n      int
}

func (g *sourceTestGate) enter(user string) (func(), error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.byUser == nil {
		g.byUser = map[string]bool{}
	}
	if g.byUser[user] || g.n >= maxSourceTests {
		return nil, errTestBusy
	}
	g.byUser[user] = true
	g.n++
	return func() {
		g.mu.Lock()
		delete(g.byUser, user)
		g.n--
		g.mu.Unlock()
	}, nil
}

func (s *Server) sourceTester() SourceTester {
	if t, ok := s.deps.SourceEditor.(SourceTester); ok {
		return t
	}
	if t, ok := s.deps.Sources.(SourceTester); ok {
		return t
	}
	return nil
}

// sourceTestRequest is a test: the source's YAML as edited, the URL
// ("": its first seed) and the mode ("", list or detail).
type sourceTestRequest struct {
	YAML string `json:"yaml"`
	URL  string `json:"url"`
	Mode string `json:"mode"`
}

// runSourceTest validates the source as a save would and fetches the page.
func (s *Server) runSourceTest(r *http.Request, in sourceTestRequest) (crawler.TestResult, error) {
	t := s.sourceTester()
	if t == nil {
		return crawler.TestResult{}, &errSourceInput{http.StatusServiceUnavailable, "the crawler is not available in this process"}
	}
	src, err := ParseUISource(in.YAML)
	if err != nil {
		return crawler.TestResult{}, &errSourceInput{http.StatusBadRequest, sourceErrorText(err)}
	}
	if len(in.URL) > 2048 {
		return crawler.TestResult{}, &errSourceInput{http.StatusBadRequest, "url: longer than 2048 characters"}
	}
	release, err := s.srcTests.enter(actor(r))
	if err != nil {
		return crawler.TestResult{}, &errSourceInput{http.StatusTooManyRequests, "a selector test is running; wait for it to end"}
	}
	defer release()
	ctx, cancel := context.WithTimeout(r.Context(), sourceTestTimeout)
	defer cancel()
	res, err := t.TestSource(ctx, src, strings.TrimSpace(in.URL), in.Mode)
	if err != nil {
		return res, &errSourceInput{http.StatusBadRequest, strings.TrimPrefix(err.Error(), "crawler: ")}
	}
	s.log.Info("source selector test", "source", src.Name, "url", res.URL, "status", res.Status,
		"items", res.ItemsTotal, "error_kind", res.ErrorKind, "by", actor(r))
	return res, nil
}

// sourceTestData is the tester's part of the sources admin page.
type sourceTestData struct {
	YAML   string
	URL    string
	Mode   string
	Result *crawler.TestResult
}

// sourceAdminTest answers POST /sources/manage/test (form fields yaml, url,
// mode): the sources admin page with the test's result.
func (s *Server) sourceAdminTest(w http.ResponseWriter, r *http.Request) {
	in := sourceTestRequest{YAML: r.PostFormValue("yaml"), URL: r.PostFormValue("url"), Mode: r.PostFormValue("mode")}
	td := &sourceTestData{YAML: in.YAML, URL: in.URL, Mode: in.Mode}
	res, err := s.runSourceTest(r, in)
	var bad *errSourceInput
	switch {
	case errors.As(err, &bad):
		s.renderSourceAdminTest(w, r, bad.status, s.sourceTestMsg(r, bad), td)
		return
	case err != nil:
		s.serverError(w, r, err)
		return
	}
	td.Result = &res
	s.renderSourceAdminTest(w, r, http.StatusOK, "", td)
}

// sourceTestMsg is the refusal in the page's language.
func (s *Server) sourceTestMsg(r *http.Request, e *errSourceInput) string {
	l := langFor(r)
	switch e.status {
	case http.StatusTooManyRequests:
		return l.T("srcadmin.test_busy")
	case http.StatusServiceUnavailable:
		return l.T("srcadmin.test_unavailable")
	}
	return l.T("srcadmin.test_invalid", e.msg)
}

// apiSourceTest answers POST /api/v1/sources/test; the body is JSON
// {"yaml": …, "url": …, "mode": …}, the answer a crawler.TestResult.
func (s *Server) apiSourceTest(w http.ResponseWriter, r *http.Request) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxSourceYAML+4096))
	if err != nil {
		writeJSONError(w, http.StatusRequestEntityTooLarge, "body: longer than 68 KiB")
		return
	}
	var in sourceTestRequest
	if err := json.Unmarshal(b, &in); err != nil {
		writeJSONError(w, http.StatusBadRequest, fmt.Sprintf("body: expected JSON {\"yaml\", \"url\", \"mode\"}: %v", err))
		return
	}
	res, err := s.runSourceTest(r, in)
	if err != nil {
		s.apiSourceError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}
