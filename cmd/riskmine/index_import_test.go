package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestIndexImportAndSearch runs the two commands as a user would: import a
// file with good and malformed lines, then search it as text and as JSON.
func TestIndexImportAndSearch(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "posts.jsonl")
	lines := strings.Join([]string{
		`{"id":"1","url":"https://a.example/1","title":"马尾区一小区发生火灾","text":"今天上午，福州市马尾区某小区发生火灾，消防救援人员赶到现场扑救。","published_at":"2026-11-20T08:00:00+08:00","source":"forum"}`,
		`{"id":2,"url":"https://b.example/2","title":"5G基站起火","text":"昨晚一座5G基站起火，附近居民手机信号中断。","published_at":"2026-11-21 09:00:00","source":"news"}`,
		`not json`,
		`{"id":"4","title":"燃气泄漏","text":"居民已疏散。","published_at":"yesterday"}`,
		``,
		`{"id":"5","url":"https://b.example/5","title":"燃气泄漏","text":"厦门市思明区某街道燃气泄漏，居民已疏散，现场气味很大。","published_at":"2026-11-22","source":"news"}`,
	}, "\n")
	if err := os.WriteFile(file, []byte(lines), 0o644); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	run := func(args ...string) (string, string, int) {
		var out, errb bytes.Buffer
		code := runMain(context.Background(), &cmdEnv{stdin: strings.NewReader(""), stdout: &out, stderr: &errb}, args)
		return out.String(), errb.String(), code
	}

	_, stderr, code := run("index", "import", "--data", data, file)
	if code != 0 {
		t.Fatalf("import exit %d: %s", code, stderr)
	}
	for _, want := range []string{"posts.jsonl:3: not a JSON object", `posts.jsonl:4: "published_at" "yesterday"`, "imported 3 posts", "2 malformed lines skipped"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("import stderr lacks %q:\n%s", want, stderr)
		}
	}

	stdout, stderr, code := run("search", "--data", data, `"站起火"`, "--json")
	if code != 0 {
		t.Fatalf("search exit %d: %s", code, stderr)
	}
	var res struct {
		Total uint64 `json:"total"`
		Hits  []struct {
			ID         string              `json:"id"`
			URL        string              `json:"url"`
			Title      string              `json:"title"`
			Score      float64             `json:"score"`
			Categories []string            `json:"categories"`
			Level      string              `json:"level"`
			Fragments  map[string][]string `json:"fragments"`
		} `json:"hits"`
		Facets map[string]json.RawMessage `json:"facets"`
	}
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatalf("search --json output: %v\n%s", err, stdout)
	}
	if res.Total != 1 || len(res.Hits) != 1 || res.Hits[0].ID != "2" || res.Hits[0].URL != "https://b.example/2" {
		t.Fatalf("search result: %s", stdout)
	}
	h := res.Hits[0]
	if h.Level == "" || h.Level == "none" || len(h.Categories) == 0 || h.Score <= 0 {
		t.Errorf("hit not analysed on import: %+v", h)
	}
	if !strings.Contains(strings.Join(h.Fragments["body"], ""), "<mark>站起火</mark>") {
		t.Errorf("fragments: %v", h.Fragments)
	}
	for _, k := range []string{"categories", "levels", "sources", "locations", "days"} {
		if _, ok := res.Facets[k]; !ok {
			t.Errorf("facet %s missing: %s", k, stdout)
		}
	}

	stdout, stderr, code = run("search", "--data", data, "燃气", "--location", "3502", "--since", "2026-11-01", "--sort", "time")
	if code != 0 {
		t.Fatalf("search exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "1 results") || !strings.Contains(stdout, "[燃气]") {
		t.Errorf("text output:\n%s", stdout)
	}

	if _, stderr, code = run("search", "--data", data, "title:"); code != 1 || !strings.Contains(stderr, "bad query") {
		t.Errorf("bad query: exit %d, %s", code, stderr)
	}
	if _, stderr, code = run("search", "--data", data, "x", "--since", "someday"); code != 1 || !strings.Contains(stderr, "--since") {
		t.Errorf("bad --since: exit %d, %s", code, stderr)
	}
	if _, stderr, code = run("search", "--data", filepath.Join(dir, "empty"), "x"); code != 1 || !strings.Contains(stderr, "no index") {
		t.Errorf("missing index: exit %d, %s", code, stderr)
	}
}
