package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"riskmine/index"
)

// searchLoadPostsEnv sets the number of posts of TestSearchCostOnLargeIndex.
const searchLoadPostsEnv = "RISKMINE_SEARCHLOAD_POSTS"

const (
	// searchLoadTimeout is index.search_timeout of the test's server, the
	// default.
	searchLoadTimeout = 5 * time.Second
	// searchLoadMargin is what a request may take beyond the search
	// deadline: checking the query against the dictionary, reading the
	// page, writing the answer, on two cores shared with the test and the
	// other requests of the burst.
	searchLoadMargin = 5 * time.Second
	// searchLoadMaxRSS is the bound on the server's peak resident
	// set while it answers the hostile queries.
	searchLoadMaxRSS = 1536 << 20
)

// hostileSearch is a request sent several times at once by one viewer.
type hostileSearch struct {
	name     string
	path     string // with its query string
	parallel int
}

// searchAnswer is what one request got.
type searchAnswer struct {
	status int
	took   time.Duration
	msg    string // the error message of a refusal
	err    error  // the request itself failed
	page   bool   // an HTML page, whose message is not checked
}

// TestSearchCostOnLargeIndex is the acceptance test of the search-cost
// bounds (issue 14): a real riskmine binary, built without -race, serves an
// index of 20,000 generated posts; one viewer sends the audit's queries
// (*1* twenty times at once, /.*/ five times) and the other expensive forms
// the search API, the search page and the search export accept, in
// parallel bursts. Every request must be answered with a result, a refusal
// that says what to change (400), a 429, or the deadline's 503 (the bound
// at work); none may take longer than the search deadline plus a margin;
// the server's peak resident set (VmHWM, read from /proc after the load)
// must stay below 1.5 GiB. The figures go to the log (go test -v).
//
// The posts are imported with `riskmine index import`, nlp analysis
// included, as an operator would load them.
func TestSearchCostOnLargeIndex(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and indexes 20,000 posts")
	}
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("no /proc/PID/status on this system: the server's peak RSS cannot be read")
	}
	posts := 20000
	if v := os.Getenv(searchLoadPostsEnv); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 100 {
			t.Fatalf("%s=%q: want a number of posts of at least 100", searchLoadPostsEnv, v)
		}
		posts = n
	}
	began := time.Now()
	bin := buildRiskmine(t)
	built := time.Since(began)

	dir := t.TempDir()
	dataDir := filepath.Join(dir, "data")
	cfgPath := filepath.Join(dir, "riskmine.yaml")
	cfg := fmt.Sprintf("data_dir: %s\nlog: {level: warn}\nindex: {search_timeout: %s, searches_per_user: 2}\n", dataDir, searchLoadTimeout)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(stdin string, args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, append(args, "--config", cfgPath)...)
		cmd.Stdin = strings.NewReader(stdin)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("riskmine %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
		}
		return stdout.String()
	}

	postsPath := filepath.Join(dir, "posts.jsonl")
	f, err := os.Create(postsPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := writeLoadPosts(f, 14, posts, 500); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	importStart := time.Now()
	run("", "index", "import", postsPath)
	imported := time.Since(importStart)
	indexBytes := dirSize(t, filepath.Join(dataDir, "index"))
	t.Logf("built the binary in %.1fs; imported %d posts in %.1fs; index %.1f MiB", built.Seconds(), posts, imported.Seconds(), float64(indexBytes)/(1<<20))

	const password = "load-test-viewer-password-2026"
	run(password+"\n", "users", "add", "viv", "--role", "viewer", "--password-stdin")
	token := strings.TrimSpace(run("", "users", "token", "viv"))

	srv := exec.Command(bin, "serve", "--config", cfgPath, "--addr", "127.0.0.1:0")
	var srvErr bytes.Buffer
	srv.Stderr = &srvErr
	out, outW := io.Pipe()
	srv.Stdout = outW
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var waitErr error
	go func() {
		waitErr = srv.Wait()
		outW.Close()
		close(done)
	}()
	var stopOnce sync.Once
	var exitErr error
	// stop ends the server and waits for it; its log may be read after.
	stop := func() {
		stopOnce.Do(func() {
			srv.Process.Signal(syscall.SIGTERM)
			select {
			case <-done:
				exitErr = waitErr
			case <-time.After(30 * time.Second):
				srv.Process.Kill()
				<-done
				exitErr = fmt.Errorf("no exit 30s after SIGTERM, killed (%v)", waitErr)
			}
		})
	}
	defer stop()
	base, err := readyAddr(out, done)
	if err != nil {
		stop()
		t.Fatalf("%v\n%s", err, srvErr.String())
	}
	go io.Copy(io.Discard, out)

	client := &http.Client{Timeout: searchLoadTimeout + searchLoadMargin + time.Minute}
	// The pages take the viewer's session, the API its token.
	pages := loginClient(t, base, "viv", password)
	get := func(path string) searchAnswer {
		req, err := http.NewRequest("GET", base+path, nil)
		if err != nil {
			return searchAnswer{err: err}
		}
		c := pages
		if strings.HasPrefix(path, "/api/") {
			req.Header.Set("Authorization", "Bearer "+token)
			c = client
		}
		start := time.Now()
		resp, err := c.Do(req)
		if err != nil {
			return searchAnswer{err: err, took: time.Since(start)}
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		a := searchAnswer{status: resp.StatusCode, took: time.Since(start), err: err}
		if resp.StatusCode != http.StatusOK && !strings.HasPrefix(path, "/api/") {
			// A page: its message is in the HTML.
			a.msg, a.page = "", true
		} else if resp.StatusCode != http.StatusOK {
			var e struct {
				Error string `json:"error"`
			}
			if json.Unmarshal(body, &e) == nil {
				a.msg = e.Error
			} else {
				a.msg = string(body)
			}
		}
		return a
	}
	if a := get("/api/v1/search?q=" + url.QueryEscape("火灾")); a.status != http.StatusOK {
		t.Fatalf("a plain search: %d %s %v", a.status, a.msg, a.err)
	}

	limit := searchLoadTimeout + searchLoadMargin
	var worst time.Duration
	var worstName string
	for _, h := range hostileSearches() {
		answers := make([]searchAnswer, h.parallel)
		var wg sync.WaitGroup
		for i := range h.parallel {
			wg.Add(1)
			go func() {
				defer wg.Done()
				answers[i] = get(h.path)
			}()
		}
		wg.Wait()
		counts := map[int]int{}
		var longest time.Duration
		msg := ""
		for _, a := range answers {
			counts[a.status]++
			longest = max(longest, a.took)
			if a.msg != "" && a.status != http.StatusTooManyRequests && msg == "" {
				msg = a.msg
			}
			if problem := judgeAnswer(a, limit); problem != "" {
				t.Errorf("%s: %s", h.name, problem)
			}
		}
		if longest > worst {
			worst, worstName = longest, h.name
		}
		t.Logf("%-34s x%-2d %-22s longest %6.0f ms  %s", h.name, h.parallel, statusCounts(counts), float64(longest.Microseconds())/1000, clip(msg, 110))
	}

	peak, rss, err := procMemory(srv.Process.Pid)
	if err != nil {
		t.Fatalf("read the server's memory: %v", err)
	}
	stop()
	if exitErr != nil {
		t.Errorf("the server did not stop cleanly: %v", exitErr)
	}
	if s := srvErr.String(); strings.Contains(s, "panic") || strings.Contains(s, "fatal error") {
		t.Errorf("the server's log shows a panic:\n%s", clip(s, 4000))
	}
	t.Logf("posts %d, index %.1f MiB, worst request %.2fs (%s), server peak RSS %.0f MiB (%.0f MiB at the end), test %.1fs",
		posts, float64(indexBytes)/(1<<20), worst.Seconds(), worstName, float64(peak)/(1<<20), float64(rss)/(1<<20), time.Since(began).Seconds())
	if peak >= searchLoadMaxRSS {
		t.Errorf("the server's peak RSS is %.0f MiB, the bound is %.0f MiB", float64(peak)/(1<<20), float64(searchLoadMaxRSS)/(1<<20))
	}
}

// hostileSearches are the audit's queries and the other expensive forms
// the search API accepts, each with how many copies are sent at once.
func hostileSearches() []hostileSearch {
	q := func(name, text string, parallel int, extra ...string) hostileSearch {
		v := url.Values{"q": {text}}
		for i := 0; i+1 < len(extra); i += 2 {
			v.Add(extra[i], extra[i+1])
		}
		return hostileSearch{name: name, path: "/api/v1/search?" + v.Encode(), parallel: parallel}
	}
	repeat := func(n int, f func(i int) string) string {
		parts := make([]string, n)
		for i := range parts {
			parts[i] = f(i)
		}
		return strings.Join(parts, " ")
	}
	commonWords := []string{"火灾", "燃气", "泄漏", "小区", "消防", "居民", "工人", "订单号", "联系人", "电话", "车牌", "案号",
		"附近", "发生", "现场", "市场", "公司", "医院", "道路", "事故", "物业", "社区", "菜价", "预约", "金额"}
	many := func(n int, vals func(i int) string, key string) string {
		v := url.Values{}
		for i := range n {
			v.Add(key, vals(i))
		}
		return v.Encode()
	}
	return []hostileSearch{
		q("audit *1*", "*1*", 20),
		q("audit /.*/", "/.*/", 5),
		q("1*", "1*", 4),
		q("*起火*", "*起火*", 4),
		q("/[0-9]+/", "/[0-9]+/", 4),
		q("/.{2,}/", "/.{2,}/", 4),
		q("/1[0-9]{3}/", "/1[0-9]{3}/", 4),
		q("/[0-9]{1,20}q/ (no word matches)", "/[0-9]{1,20}q/", 4),
		q("/[a-z0-9]{1,12}/", "/[a-z0-9]{1,12}/", 4),
		q("13*", "13*", 4),
		q("2026*", "2026*", 4),
		q("1?*", "1?*", 4),
		q("火灾~2", "火灾~2", 4),
		q("火灾~1", "火灾~1", 4),
		q("消防救援人员~2", "消防救援人员~2", 4),
		q("latin word~2", "abcdefghijklmnopqrstuvwxyz~2", 4),
		q("plain 火灾", "火灾", 4),
		q("single character 王", "王", 4),
		q("250 single characters", repeat(250, func(i int) string { return string(loadGiven[i%len(loadGiven)]) }), 4),
		q("8 single characters (the most allowed)", repeat(index.MaxSingleChars, func(i int) string { return string(loadGiven[i]) }), 4),
		q("8 single surnames, +", repeat(index.MaxSingleChars, func(i int) string { return "+" + string(loadSurnames[i]) }), 4),
		q("250 single characters, +", repeat(250, func(i int) string { return "+" + string(loadSurnames[i%len(loadSurnames)]) }), 4),
		q("OR chain of 250 words", repeat(250, func(i int) string { return commonWords[i%len(commonWords)] }), 4),
		q("250 prefix wildcards 13000*…", repeat(250, func(i int) string { return fmt.Sprintf("1%d*", 3000+i) }), 4),
		q("250 wildcards 王?", repeat(250, func(i int) string { return string(loadSurnames[i%len(loadSurnames)]) + "?" }), 4),
		q("250 regexps /王./", repeat(250, func(i int) string { return "/" + string(loadSurnames[i%len(loadSurnames)]) + "./" }), 4),
		q("4 wildcards of 1,000 words", "20* 21* 22* 23*", 4),
		q("phrase of 1,300 characters", `"`+strings.Repeat("消防救援人员迅速赶到现场扑救", 95)+`"`, 4),
		q("163 long words, 4 KB", strings.Repeat("火灾现场消防救援 ", 163), 4),
		q("all, size 1000", "", 4, "size", "1000"),
		q("all, from 100000 size 1000", "", 4, "size", "1000", "from", "100000"),
		q("all, from 10000 size 1000 sort time", "", 4, "size", "1000", "from", "10000", "sort", "time"),
		q("all, sort score size 1000", "", 4, "size", "1000", "sort", "score"),
		q("火灾, sort time size 1000", "火灾", 4, "size", "1000", "sort", "time"),
		q("1* sort time", "1*", 4, "sort", "time"),
		q("page 100000", "", 4, "page", "100000"),
		q("date range", `published_at:>"2026-06-01"`, 4, "since", "2026-07-01", "until", "2026-11-30", "size", "1000"),
		q("score range", "score:>=0", 4, "size", "1000", "sort", "score"),
		{name: "5,000 categories", path: "/api/v1/search?" + many(5000, func(i int) string { return fmt.Sprintf("c%d", i) }, "category") + "&size=1000", parallel: 4},
		{name: "5,000 locations", path: "/api/v1/search?" + many(5000, func(i int) string { return fmt.Sprintf("35%04d", i) }, "location") + "&size=1000", parallel: 4},
		{name: "20,000 sources", path: "/api/v1/search?" + many(20000, func(i int) string { return strconv.Itoa(i) }, "source"), parallel: 4},
		{name: "export all", path: "/api/v1/export/search?format=jsonl", parallel: 5},
		{name: "export 1*", path: "/api/v1/export/search?q=1*", parallel: 5},
		{name: "export 火灾 csv", path: "/api/v1/export/search?format=csv&q=" + url.QueryEscape("火灾"), parallel: 5},
		{name: "search page *1*", path: "/search?q=" + url.QueryEscape("*1*"), parallel: 20},
		{name: "search page 250 single characters", path: "/search?q=" + url.QueryEscape(repeat(250, func(i int) string { return string(loadGiven[i%len(loadGiven)]) })), parallel: 5},
		{name: "export page 火灾", path: "/export/search?q=" + url.QueryEscape("火灾"), parallel: 5},
	}
}

// judgeAnswer says what is wrong with an answer, "" when nothing is.
func judgeAnswer(a searchAnswer, limit time.Duration) string {
	if a.err != nil {
		return fmt.Sprintf("no answer after %s: %v", a.took.Round(time.Millisecond), a.err)
	}
	if a.took > limit {
		return fmt.Sprintf("answered %d after %s, beyond the deadline and its margin (%s)", a.status, a.took.Round(time.Millisecond), limit)
	}
	switch a.status {
	case http.StatusOK:
		return ""
	case http.StatusTooManyRequests:
		if !a.page && !strings.Contains(a.msg, "at the same time") && !strings.Contains(a.msg, "wait") {
			return fmt.Sprintf("429 without saying why: %q", clip(a.msg, 200))
		}
		return ""
	case http.StatusBadRequest:
		if a.page {
			return ""
		}
		for _, inside := range []string{"runtime error", "panic", "goroutine", "TooManyClauses", "index: search", "\n"} {
			if strings.Contains(a.msg, inside) {
				return fmt.Sprintf("400 whose message shows %q: %s", inside, clip(a.msg, 200))
			}
		}
		if len(a.msg) < 20 {
			return fmt.Sprintf("400 without saying what to change: %q", a.msg)
		}
		return ""
	case http.StatusServiceUnavailable:
		// The deadline stopped the search: the bound at work, with a
		// message that says what to change.
		if a.page || strings.Contains(a.msg, "took too long") {
			return ""
		}
	}
	return fmt.Sprintf("status %d: %s", a.status, clip(a.msg, 200))
}

// loginClient logs name in through the login form and returns a client
// that carries the session.
func loginClient(t *testing.T, base, name, password string) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Jar: jar, Timeout: searchLoadTimeout + searchLoadMargin + time.Minute,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(base + "/login")
	if err != nil {
		t.Fatal(err)
	}
	page, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindSubmatch(page)
	if m == nil {
		t.Fatalf("the login page has no CSRF field:\n%s", clip(string(page), 500))
	}
	resp, err = c.PostForm(base+"/login", url.Values{"username": {name}, "password": {password}, "csrf": {string(m[1])}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login as %s: status %d", name, resp.StatusCode)
	}
	return c
}

// readyAddr reads the server's stdout up to its ready line and returns its
// base URL; done is closed when the server exits.
func readyAddr(out io.Reader, done <-chan struct{}) (string, error) {
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if addr, ok := strings.CutPrefix(sc.Text(), "riskmine ready at "); ok {
				lines <- addr
				return
			}
		}
		close(lines)
	}()
	select {
	case addr, ok := <-lines:
		if !ok {
			return "", errors.New("the server ended its output without a ready line")
		}
		return addr, nil
	case <-done:
		return "", errors.New("the server exited before it was ready")
	case <-time.After(2 * time.Minute):
		return "", errors.New("the server was not ready after 2 minutes")
	}
}

// procMemory reads the peak (VmHWM) and current (VmRSS) resident set of a
// process, in bytes.
func procMemory(pid int) (peak, rss int64, err error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	for _, l := range strings.Split(string(raw), "\n") {
		k, v, ok := strings.Cut(l, ":")
		if !ok || (k != "VmHWM" && k != "VmRSS") {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("%s: %q is not a size in kB", k, v)
		}
		if k == "VmHWM" {
			peak = kb << 10
		} else {
			rss = kb << 10
		}
	}
	if peak == 0 {
		return 0, 0, fmt.Errorf("/proc/%d/status has no VmHWM line", pid)
	}
	return peak, rss, nil
}

// dirSize is the size of the files under dir.
func dirSize(t *testing.T, dir string) int64 {
	t.Helper()
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			info, err := d.Info()
			if err != nil {
				return err
			}
			n += info.Size()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func statusCounts(c map[int]int) string {
	keys := make([]int, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%d×%d", c[k], k))
	}
	return strings.Join(parts, " ")
}
