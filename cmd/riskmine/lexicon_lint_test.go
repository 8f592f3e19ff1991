package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestLexiconLintCommand(t *testing.T) {
	dir := t.TempDir()
	lex := filepath.Join(dir, "lex")
	if err := os.Mkdir(lex, 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(path, s string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	lexFile := filepath.Join(lex, "lint_test.yaml")
	write(lexFile, `code: lint_test
name: 测试
terms:
  - {term: 樓道堆滿雜物, weight: 3, variants: [楼道堆满杂物了吗, 阳台晾满了被子]}
  - {term: 漏水, weight: 1, variants: [水管漏水了]}
rules:
  - name: pipe
    groups: [[水管爆裂的声音, 水管], [滴答滴答响]]
    within: 10
    weight: 2
negations: [并没有听见什么]
exclusions: [物业已经处理好]
intensifiers:
  - {term: 邻居们都很担心, weight: 1}
`)
	write(filepath.Join(lex, "_common.yaml"), "negations: [谁也没有想到]\n")
	cfg := filepath.Join(dir, "riskmine.yaml")
	write(cfg, "nlp:\n  lexicon_dir: "+lex+"\n")

	posts := filepath.Join(dir, "posts.jsonl")
	write(posts, strings.Join([]string{
		// 楼道堆满杂物 (written traditional) in one post only, twice.
		`{"id": "p1", "title": "楼道堆满杂物", "text": "楼道堆满杂物，物业已经处理好。"}`,
		// 水管漏水了 in two posts; 滴答滴答响 in one, in the title.
		`{"id": "p2", "text": "水管漏水了，物业已经处理好"}`,
		`{"id": "p3", "title": "滴答滴答响", "text": "水管漏水了"}`,
		`not json`,
		``,
		`{"id": 42, "text": "邻居们都很担心"}`,
		`{"text": "谁也没有想到"}`,
		// A pattern may not span title and text.
		`{"id": "p6", "title": "并没有听", "text": "见什么"}`,
		`{"id": "p7", "text": "unterminated`,
	}, "\n")+"\n")

	code, out, errs := runCmd(t, "", "lexicon", "lint", "--config", cfg, "--data", posts)
	if code != 1 {
		t.Fatalf("exit %d, want 1; out %q err %q", code, out, errs)
	}
	want := []string{
		lex + string(filepath.Separator) + `_common.yaml: pattern "谁也没有想到" (negation) matches only post ` + posts + ":7",
		lexFile + `: pattern "樓道堆滿雜物" (term) matches only post p1`,
		lexFile + `: pattern "滴答滴答响" (rule word) matches only post p3`,
		lexFile + `: pattern "物业已经处理好" (exclusion) matches only 2 posts: p1, p2`,
		lexFile + `: pattern "邻居们都很担心" (intensifier) matches only post 42`,
	}
	var got []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if strings.Contains(l, "matches only") {
			got = append(got, l)
		}
	}
	for _, w := range want {
		if w == want[3] {
			continue // two posts: listed with --max-posts 2 only
		}
		if !slices.Contains(got, w) {
			t.Errorf("missing %q in\n%s", w, out)
		}
	}
	if len(got) != 4 {
		t.Errorf("%d patterns listed, want 4 (not 水管漏水了: two posts; not 并没有听见什么: across title and text; not the short ones):\n%s", len(got), out)
	}
	if !strings.Contains(out, "against 6 posts: 4 match only one post") {
		t.Errorf("summary: %q", out)
	}
	for _, w := range []string{posts + ":4: skipped", posts + ":9: skipped"} {
		if !strings.Contains(errs, w) {
			t.Errorf("stderr %q lacks %q", errs, w)
		}
	}

	code, out, _ = runCmd(t, "", "lexicon", "lint", "--config", cfg, "--data", posts, "--max-posts", "2")
	if code != 1 || !strings.Contains(out, want[3]) || !strings.Contains(out, `"水管漏水了" (variant) matches only 2 posts: p2, p3`) {
		t.Errorf("--max-posts 2: exit %d out %q", code, out)
	}

	// Counted over two files, every long pattern is in two posts or none.
	more := filepath.Join(dir, "more.jsonl")
	write(more, `{"id": "q1", "text": "谁也没有想到楼道堆满杂物，滴答滴答响，邻居们都很担心"}`+"\n")
	code, out, errs = runCmd(t, "", "lexicon", "lint", "--config", cfg, "--data", posts, "--data", more)
	if code != 0 || !strings.Contains(out, "against 7 posts: 0 match only one post") {
		t.Errorf("two files: exit %d out %q err %q", code, out, errs)
	}

	// Patterns shorter than --min-runes are not checked.
	code, out, _ = runCmd(t, "", "lexicon", "lint", "--config", cfg, "--data", posts, "--min-runes", "7")
	if code != 1 || strings.Contains(out, "樓道堆滿雜物") || !strings.Contains(out, "邻居们都很担心") {
		t.Errorf("--min-runes 7: exit %d out %q", code, out)
	}

	// Files after the flags are data too (a shell glob after --data).
	code, out, errs = runCmd(t, "", "lexicon", "lint", "--config", cfg, "--data", posts, more)
	if code != 0 || !strings.Contains(out, "against 7 posts: 0 match only one post") {
		t.Errorf("--data FILE FILE: exit %d out %q err %q", code, out, errs)
	}

	for _, args := range [][]string{
		{"lexicon", "lint", "--config", cfg},
		{"lexicon", "lint", "--config", cfg, "--data", posts, "--min-runes", "0"},
	} {
		if code, _, _ := runCmd(t, "", args...); code != 2 {
			t.Errorf("%q: exit %d, want 2 (usage)", args, code)
		}
	}
	if code, _, errs := runCmd(t, "", "lexicon", "lint", "--config", cfg, "--data", filepath.Join(dir, "nope.jsonl")); code != 1 || !strings.Contains(errs, "nope.jsonl") {
		t.Errorf("missing file: exit %d err %q", code, errs)
	}
}
