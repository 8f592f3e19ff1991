package main

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/jackc/pgx/v5/pgxpool"

	"riskmine/config"
	"riskmine/internal/pgtest"
)

// clusterNode is one `riskmine serve` process of the cluster test.
type clusterNode struct {
	name, role string
	dir        string // its data folder, also its lexicon folder's and model's
	cmd        *exec.Cmd
	addr       string
	exited     chan struct{}
	mu         sync.Mutex
	log        strings.Builder
}

func (n *clusterNode) Write(p []byte) (int, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.log.Write(p)
}

func (n *clusterNode) output() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.log.String()
}

var readyLine = regexp.MustCompile(`riskmine ready at http://(\S+)`)

// startClusterNode runs `riskmine serve --store DSN --role ROLE` with the
// config at cfgPath and waits until it answers /readyz.
func startClusterNode(t testing.TB, bin, cfgPath, name, role, dsn, agent string) *clusterNode {
	t.Helper()
	n := &clusterNode{name: name, role: role, exited: make(chan struct{})}
	n.dir = filepath.Join(filepath.Dir(cfgPath), name)
	// The node's own lexicon folder and model file (the config names them
	// through RISKMINE_TEST_NODE_DIR): the embedded model to start with.
	if err := os.MkdirAll(filepath.Join(n.dir, "lexicons"), 0o755); err != nil {
		t.Fatal(err)
	}
	model, err := os.ReadFile(filepath.Join("..", "..", "nlp", "modeldata", "default.rmm"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(n.dir, "site.rmm"), model, 0o644); err != nil {
		t.Fatal(err)
	}
	n.cmd = exec.Command(bin, "serve", "--config", cfgPath, "--data", n.dir, "--store", dsn, "--role", role)
	n.cmd.Env = append(os.Environ(), "RISKMINE_API_TOKEN="+clusterToken, "RISKMINE_TEST_USER_AGENT="+agent,
		"RISKMINE_TEST_NODE_DIR="+n.dir)
	stdout, err := n.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	n.cmd.Stderr = n
	if err := n.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { n.cmd.Wait(); close(n.exited) }()
	t.Cleanup(func() {
		n.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-n.exited:
		case <-time.After(30 * time.Second):
			n.cmd.Process.Kill()
			<-n.exited
		}
	})
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := readyLine.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
			}
		}
	}()
	select {
	case n.addr = <-addr:
	case <-n.exited:
		t.Fatalf("%s exited at start:\n%s", name, n.output())
	case <-time.After(60 * time.Second):
		t.Fatalf("%s not ready after 60s:\n%s", name, n.output())
	}
	return n
}

const clusterToken = "cluster-test-admin-token"

// clusterAPI calls the JSON API of a node with the admin token.
func clusterAPI(t testing.TB, method, addr, path string, out any) int {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+addr+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+clusterToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, raw)
		}
	}
	return resp.StatusCode
}

// clusterCounts is what the cluster holds, read from PostgreSQL.
type clusterCounts struct {
	Posts, PostURLs, Leads, Sources, SourceURLs, Deliveries, Pending int
}

func readClusterCounts(t testing.TB, db *pgxpool.Pool) clusterCounts {
	t.Helper()
	ctx := context.Background()
	var c clusterCounts
	for _, q := range []struct {
		sql string
		to  *int
	}{
		{`SELECT count(*) FROM search_posts`, &c.Posts},
		{`SELECT count(DISTINCT url) FROM search_posts`, &c.PostURLs},
		{`SELECT count(*) FROM alerts_lead`, &c.Leads},
		{`SELECT count(*) FROM alerts_source`, &c.Sources},
		{`SELECT count(DISTINCT canonical_url) FROM alerts_source`, &c.SourceURLs},
		{`SELECT count(*) FROM alerts_delivery`, &c.Deliveries},
		{`SELECT count(*) FROM alerts_delivery WHERE state <> 'delivered'`, &c.Pending},
	} {
		if err := db.QueryRow(ctx, q.sql).Scan(q.to); err != nil {
			t.Fatalf("%s: %v", q.sql, err)
		}
	}
	return c
}

// TestClusterOnPostgres runs two worker nodes and one api node on one
// PostgreSQL over the demo world and a slow forum, SIGKILLs the worker
// crawling the slow forum in mid-run, and checks that the other worker
// finishes its work within 60 s, that every post is stored once, every
// lead filed once, every webhook delivered, that search on the api node
// finds the tour's words, and that a rerun changes nothing.
func TestClusterOnPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs three nodes")
	}
	dsn := pgtest.DSN(t)
	bin := buildRiskmine(t)
	ctx := context.Background()

	world := newDemoWorld(time.Now(), time.Now)
	if err := world.Start(nil); err != nil {
		t.Fatal(err)
	}
	defer world.Close(ctx)
	slow := newSlowKillSite(60, 150*time.Millisecond)
	defer slow.srv.Close()
	secretKey := []byte("cluster-test-webhook-secret-key")
	sink := &hookSink{t: t, key: secretKey}
	receiver := httptest.NewServer(sink)
	defer receiver.Close()

	// One config file for every node; the flags give each its role.
	cfg := config.Default()
	cfg.Log.Level = "info"
	cfg.Web.Addr = "127.0.0.1:0"
	cfg.Crawler.Jitter = 0
	cfg.Crawler.UserAgent = "${RISKMINE_TEST_USER_AGENT}"
	cfg.NLP.LexiconDir = "${RISKMINE_TEST_NODE_DIR}/lexicons"
	cfg.NLP.Model = "${RISKMINE_TEST_NODE_DIR}/site.rmm"
	dir := t.TempDir()
	cfg.Evidence.Dir = filepath.Join(dir, "evidence") // storage every node reaches
	cfg.Evidence.Node = "${RISKMINE_TEST_USER_AGENT}"
	cfg.Crawler.LeaseTTL = config.Duration(6 * time.Second)
	cfg.Cluster.Store = dsn // the nodes also get it as --store; `users` reads it here
	cfg.Web.LoginMaxFailures = 2
	noDelay := config.Duration(0)
	cfg.Crawler.Sources = append(demoSources(world, "@every 1h"), config.Source{
		Name: "slow-forum", Kind: "sitemap", Seeds: []string{slow.srv.URL + "/sitemap.xml"}, Schedule: "@every 1h",
		AllowPrivate: true, Delay: &noDelay, Parallelism: 2, MaxPages: 100,
	})
	cfg.Alerts.Webhooks = []config.Webhook{{Name: "sink", URL: receiver.URL,
		Secret: "whsec_" + base64.StdEncoding.EncodeToString(secretKey), AllowPrivate: true}}
	raw, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "riskmine.yaml")
	if err := os.WriteFile(cfgPath, raw, 0o600); err != nil {
		t.Fatal(err)
	}

	w1 := startClusterNode(t, bin, cfgPath, "w1", "worker", dsn, "riskmine-cluster-w1")
	w2 := startClusterNode(t, bin, cfgPath, "w2", "worker", dsn, "riskmine-cluster-w2")
	api := startClusterNode(t, bin, cfgPath, "api", "api", dsn, "riskmine-cluster-api")
	api2 := startClusterNode(t, bin, cfgPath, "api2", "api", dsn, "riskmine-cluster-api2")
	workers := map[string]*clusterNode{"riskmine-cluster-w1": w1, "riskmine-cluster-w2": w2}

	db, err := pgxpool.New(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	// A worker serves no UI; the api node crawls nothing itself.
	if code := clusterAPI(t, "GET", w1.addr, "/api/v1/leads", nil); code != http.StatusNotFound {
		t.Errorf("a worker answered the API with %d, want 404", code)
	}
	runAll := func() time.Time {
		started := time.Now()
		for _, s := range cfg.Crawler.Sources {
			if code := clusterAPI(t, "POST", api.addr, "/api/v1/sources/"+url.PathEscape(s.Name)+"/run", nil); code != http.StatusAccepted {
				t.Fatalf("run %s on the api node: %d", s.Name, code)
			}
		}
		return started
	}
	// runsEnded reports whether every source has a run that started after
	// since and ended well.
	runsEnded := func(since time.Time) bool {
		var n int
		err := db.QueryRow(ctx, `SELECT count(DISTINCT source) FROM crawl_runs
			WHERE started_at >= $1 AND ended_at IS NOT NULL AND NOT abandoned AND error = ''`, since.Add(-time.Second)).Scan(&n)
		return err == nil && n == len(cfg.Crawler.Sources)
	}
	wait := func(what string, d time.Duration, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(d)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out after %s waiting for %s\nw1:\n%s\nw2:\n%s\napi:\n%s", d, what, tail(w1.output()), tail(w2.output()), tail(api.output()))
			}
			time.Sleep(100 * time.Millisecond)
		}
	}

	// 1. The api node asks for a run of every source; the workers take
	// them. Kill the worker that crawls the slow forum in mid-run.
	first := runAll()
	var victim *clusterNode
	wait("the slow forum's crawl to be under way", 60*time.Second, func() bool {
		if slow.served.Load() < 10 {
			return false
		}
		slow.agents.Range(func(k, v any) bool {
			if n := workers[k.(string)]; n != nil {
				victim = n
			}
			return victim == nil
		})
		return victim != nil
	})
	if _, ok := slow.agents.Load("riskmine-cluster-api"); ok {
		t.Error("the api node fetched pages itself")
	}
	// The api node shows the slow forum running, on the worker.
	var listed struct {
		Sources []struct {
			Name     string `json:"name"`
			Running  bool   `json:"running"`
			Progress *struct {
				Elsewhere string `json:"elsewhere"`
			} `json:"progress"`
		} `json:"items"`
	}
	if code := clusterAPI(t, "GET", api.addr, "/api/v1/sources", &listed); code != http.StatusOK {
		t.Fatalf("sources on the api node: %d", code)
	}
	shown := false
	for _, src := range listed.Sources {
		if src.Name == "slow-forum" {
			shown = src.Running && src.Progress != nil && src.Progress.Elsewhere != ""
		}
	}
	if !shown {
		t.Errorf("the api node does not show the slow forum running on a worker: %+v", listed.Sources)
	}
	victim.cmd.Process.Signal(syscall.SIGKILL)
	<-victim.exited
	killed := time.Now()
	servedAtKill := slow.served.Load()
	if servedAtKill >= int64(slow.n) {
		t.Fatalf("the slow forum was done (%d pages) before the kill; make it slower", servedAtKill)
	}
	survivor := w1
	if victim == w1 {
		survivor = w2
	}
	t.Logf("killed %s after %d of %d slow pages", victim.name, servedAtKill, slow.n)

	// 2. Within 60 s the other worker has finished the killed worker's run.
	wait("the survivor to finish every source", 90*time.Second, func() bool { return runsEnded(first) })
	took := time.Since(killed)
	if took > 60*time.Second {
		t.Errorf("the survivor finished the slow forum %s after the kill, want within 60s", took.Round(time.Second))
	}
	var byVictim, bySurvivor int64
	if v, ok := slow.agents.Load("riskmine-cluster-" + survivor.name); ok {
		bySurvivor = v.(interface{ Load() int64 }).Load()
	}
	if v, ok := slow.agents.Load("riskmine-cluster-" + victim.name); ok {
		byVictim = v.(interface{ Load() int64 }).Load()
	}
	t.Logf("the survivor finished %s after the kill; slow pages fetched: %s %d, %s %d", took.Round(time.Second), victim.name, byVictim, survivor.name, bySurvivor)
	if bySurvivor == 0 {
		t.Errorf("the survivor fetched none of the slow forum's pages")
	}

	// 3. Deliveries drain; every webhook id reaches the receiver.
	wait("every webhook to be delivered", 60*time.Second, func() bool {
		c := readClusterCounts(t, db)
		return c.Deliveries > 0 && c.Pending == 0
	})
	after := readClusterCounts(t, db)
	if after.Posts != after.PostURLs {
		t.Errorf("%d posts stored for %d pages: some twice", after.Posts, after.PostURLs)
	}
	if after.Sources != after.SourceURLs {
		t.Errorf("%d lead sources for %d pages: a post filed twice", after.Sources, after.SourceURLs)
	}
	// Every risky page of the slow forum is one lead's source, once.
	var slowFiled int
	if err := db.QueryRow(ctx, `SELECT count(*) FROM alerts_source WHERE url LIKE $1`, slow.srv.URL+"/%").Scan(&slowFiled); err != nil {
		t.Fatal(err)
	}
	risky := 0
	for i := range slow.n {
		if slow.risky(i) {
			risky++
		}
	}
	if slowFiled != risky {
		t.Errorf("%d slow-forum pages filed, want the %d risky ones", slowFiled, risky)
	}
	ids := map[string]bool{}
	rows, err := db.Query(ctx, `SELECT id FROM alerts_delivery`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		rows.Scan(&id)
		ids[id] = true
	}
	rows.Close()
	got := sink.ids()
	var missing []string
	for id := range ids {
		if !got[id] {
			missing = append(missing, id)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("%d of %d webhook ids never reached the receiver: %v", len(missing), len(ids), missing[:min(5, len(missing))])
	}
	if _, bad := sink.count(); bad > 0 {
		t.Errorf("%d webhooks failed their signature check", bad)
	}

	// 4. Search on the api node finds the tour's words.
	for _, q := range []string{"井盖", "火災"} {
		var res struct {
			Total int `json:"total"`
		}
		if code := clusterAPI(t, "GET", api.addr, "/api/v1/search?q="+url.QueryEscape(q), &res); code != http.StatusOK || res.Total == 0 {
			t.Errorf("search %s on the api node: status %d, %d hits", q, code, res.Total)
		}
	}
	// The manhole report is one lead, its reports clustered.
	var manhole int
	if err := db.QueryRow(ctx, `SELECT count(*) FROM alerts_lead WHERE title LIKE '%井盖%'`).Scan(&manhole); err != nil || manhole != 1 {
		t.Errorf("manhole leads: %d (%v), want 1", manhole, err)
	}

	// 5. A rerun changes nothing.
	second := runAll()
	wait("the rerun", 90*time.Second, func() bool { return runsEnded(second) })
	time.Sleep(2 * time.Second) // a delivery the rerun might have queued
	if again := readClusterCounts(t, db); again != after {
		t.Errorf("the rerun changed the cluster's state:\nbefore %+v\nafter  %+v", after, again)
	}

	// 6. A lexicon edited on the api node is written into the surviving
	// worker's lexicon folder and reloaded there; a model put live on the
	// api node (SIGHUP) is used by the worker.
	var lex struct {
		YAML string `json:"yaml"`
	}
	if code := clusterAPI(t, "GET", api.addr, "/api/v1/lexicons/weapons", &lex); code != http.StatusOK {
		t.Fatalf("GET the weapons lexicon: %d", code)
	}
	edited := strings.Replace(lex.YAML, "terms:\n", "terms:\n  - {term: 紫电连弩, weight: 2.5}\n", 1)
	if edited == lex.YAML {
		t.Fatalf("no terms list in the weapons lexicon:\n%s", lex.YAML)
	}
	if code := clusterAPIBody(t, "PUT", api.addr, "/api/v1/lexicons/weapons", edited); code != http.StatusOK {
		t.Fatalf("PUT the weapons lexicon: %d", code)
	}
	workerLex := filepath.Join(survivor.dir, "lexicons", "weapons.yaml")
	wait("the edited lexicon on the worker", 10*time.Second, func() bool {
		b, err := os.ReadFile(workerLex)
		return err == nil && string(b) == edited && strings.Contains(survivor.output(), "lexicons changed on another node reloaded")
	})

	newModel := trainTinyModel(t, bin, filepath.Join(dir, "tiny.rmm"))
	if err := os.WriteFile(filepath.Join(api.dir, "site.rmm"), newModel, 0o644); err != nil {
		t.Fatal(err)
	}
	reloads := strings.Count(survivor.output(), "model reloaded")
	api.cmd.Process.Signal(syscall.SIGHUP)
	wait("the api node's model to be used by the worker", 10*time.Second, func() bool {
		b, err := os.ReadFile(filepath.Join(survivor.dir, "site.rmm"))
		return err == nil && string(b) == string(newModel) && strings.Count(survivor.output(), "model reloaded") > reloads
	})

	// 7. A login limit reached through one api node holds on the other,
	// and the session then started on the second opens, on the first, the
	// archived copy of a page a worker fetched.
	const pw = "Harbour lights at 7, quietly"
	add := exec.Command(bin, "users", "add", "ana", "--password-stdin", "--config", cfgPath)
	add.Env = append(os.Environ(), "RISKMINE_TEST_NODE_DIR="+api.dir, "RISKMINE_TEST_USER_AGENT=cli")
	add.Stdin = strings.NewReader(pw + "\n")
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("users add on the cluster: %v\n%s", err, out)
	}
	br := newClusterBrowser(t)
	for i := range 2 {
		if code := br.login(api, "not the password"); code != http.StatusUnauthorized {
			t.Fatalf("wrong password %d on api: %d, want 401", i+1, code)
		}
	}
	if code := br.login(api2, pw); code != http.StatusTooManyRequests {
		t.Errorf("the right password on api2 after two failures on api: %d, want 429", code)
	}
	wait("a login on api2 once the wait is over", 30*time.Second, func() bool { return br.login(api2, pw) == http.StatusSeeOther })
	var capture int64
	var leadID string
	if err := db.QueryRow(ctx, `SELECT id, lead_id FROM evidence_capture ORDER BY id LIMIT 1`).Scan(&capture, &leadID); err != nil {
		t.Fatalf("no archived capture: %v", err)
	}
	code, page := br.get(api, fmt.Sprintf("/leads/%s/evidence/%d", url.PathEscape(leadID), capture))
	if code != http.StatusOK || !strings.Contains(page, "</html>") {
		t.Errorf("the archived copy %d of lead %s on api: %d, %.200q", capture, leadID, code, page)
	}
}

// clusterBrowser is an analyst's browser: cookies (which ignore ports, so
// they reach every node on 127.0.0.1, as behind a load balancer), no
// redirects followed.
type clusterBrowser struct {
	t  *testing.T
	hc *http.Client
}

func newClusterBrowser(t *testing.T) *clusterBrowser {
	jar, _ := cookiejar.New(nil)
	return &clusterBrowser{t: t, hc: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *clusterBrowser) get(n *clusterNode, path string) (int, string) {
	b.t.Helper()
	resp, err := b.hc.Get("http://" + n.addr + path)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

var loginFormToken = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// login posts the login form of n as ana and returns the status.
func (b *clusterBrowser) login(n *clusterNode, password string) int {
	b.t.Helper()
	_, form := b.get(n, "/login")
	m := loginFormToken.FindStringSubmatch(form)
	if m == nil {
		b.t.Fatalf("no token in the login form of %s", n.name)
	}
	resp, err := b.hc.PostForm("http://"+n.addr+"/login", url.Values{"csrf": {m[1]}, "username": {"ana"}, "password": {password}})
	if err != nil {
		b.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// clusterAPIBody sends body to a node's JSON API with the admin token.
func clusterAPIBody(t testing.TB, method, addr, path, body string) int {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+addr+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+clusterToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		raw, _ := io.ReadAll(resp.Body)
		t.Logf("%s %s: %d %s", method, path, resp.StatusCode, raw)
	}
	return resp.StatusCode
}

// trainTinyModel trains a small fire model with the binary and returns
// the file.
func trainTinyModel(t testing.TB, bin, out string) []byte {
	t.Helper()
	var b strings.Builder
	for i := range 30 {
		fmt.Fprintf(&b, `{"id":"p%d","text":"%d号楼厨房起火，浓烟很大，消防车赶到","labels":["fire"]}`+"\n", i, i)
		fmt.Fprintf(&b, `{"id":"n%d","text":"周末去公园散步%d圈，天气很好","labels":[]}`+"\n", i, i)
	}
	data := out + ".jsonl"
	if err := os.WriteFile(data, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if res, err := exec.Command(bin, "model", "train", "--epochs", "2", "--out", out, data).CombinedOutput(); err != nil {
		t.Fatalf("model train: %v\n%s", err, res)
	}
	m, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// tail returns the last lines of a node's log.
func tail(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > 30 {
		lines = lines[len(lines)-30:]
	}
	return strings.Join(lines, "\n")
}
