package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"riskmine/nlp"
)

func runCmd(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := runMain(context.Background(), &cmdEnv{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errb}, args)
	return code, out.String(), errb.String()
}

// scoreLineOut is what a test reads back from `riskmine score`.
type scoreLineOut struct {
	ID         json.RawMessage `json:"id"`
	Level      string          `json:"level"`
	Score      float64         `json:"score"`
	Categories []struct {
		Code  string  `json:"code"`
		Score float64 `json:"score"`
	} `json:"categories"`
	Evidence []struct {
		Rule, Category, Field, Text string
		Start, End                  int
	} `json:"evidence"`
	Locations []json.RawMessage `json:"locations"`
	Severity  []struct {
		Kind, Level, Field, Text string
		Start, End               int
	} `json:"severity"`
	Error string `json:"error"`
}

func TestScoreCommand(t *testing.T) {
	big := strings.Repeat("今天天气很好，大家出门散步。", 10<<20/42)
	lines := []string{
		`{"id": "fire", "title": "樓道起火", "text": "昨天下午小区发生火灾，消防员赶到现场扑救。"}`,
		`{"id": "calm", "text": "今天天气很好，适合出门。"}`,
		`this is not json`,
		``,
		`{"id": "broken", "text": "unterminated`,
		`{"id": 42, "text": "电话诈骗，要求转账到安全账户"}`,
		`{"id": "no-text"}`,
		`{"id": {"x": 1}, "text": "a"}`,
		`{"id": "big", "text": "` + big + `"}`,
		`{"id": "last", "text": "没有发生火灾"}`,
	}
	code, out, errs := runCmd(t, strings.Join(lines, "\n")+"\n", "score", "--workers", "3")
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	got := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(got) != len(lines)-1 {
		t.Fatalf("%d output lines for %d input lines (one blank):\n%s", len(got), len(lines)-1, out)
	}
	var res []scoreLineOut
	for i, l := range got {
		var r scoreLineOut
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("line %d is not JSON: %v: %.200s", i+1, err, l)
		}
		res = append(res, r)
	}
	wantIDs := []string{`"fire"`, `"calm"`, `null`, `"broken"`, `42`, `"no-text"`, `null`, `"big"`, `"last"`}
	for i, w := range wantIDs {
		if string(res[i].ID) != w {
			t.Errorf("line %d: id %s, want %s (order must follow the input)", i+1, res[i].ID, w)
		}
	}
	fire := res[0]
	if fire.Level == "none" || len(fire.Categories) == 0 || fire.Categories[0].Code != "fire" {
		t.Errorf("fire post: level %s categories %+v", fire.Level, fire.Categories)
	}
	in := map[string][]rune{"title": []rune("樓道起火"), "text": []rune("昨天下午小区发生火灾，消防员赶到现场扑救。")}
	for _, e := range fire.Evidence {
		if string(in[e.Field][e.Start:e.End]) != e.Text {
			t.Errorf("evidence %+v does not point into the %s field", e, e.Field)
		}
	}
	if fire.Locations == nil {
		t.Error("locations missing (must be [] when empty)")
	}
	if res[1].Level != "none" || res[1].Error != "" {
		t.Errorf("calm post: %+v", res[1])
	}
	for _, i := range []int{2, 3, 5, 6} {
		if res[i].Error == "" || !strings.HasPrefix(res[i].Error, "line ") {
			t.Errorf("line %d: error %q, want a located error", i+1, res[i].Error)
		}
	}
	// The numeric id is carried and the post scored; whether this short
	// fraud post is detected is the model's business (it is a known miss
	// of the embedded model: fraud is learnt mostly from SMS templates).
	if res[4].Error != "" || len(res[4].Categories) == 0 || res[4].Categories[0].Code != "fraud" {
		t.Errorf("numeric id: %+v", res[4])
	}
	// The 10 MB post is scored, without an error, and no cue of harm
	// lifts it above medium. Whether a category is detected is the
	// model's business: the embedded model of 2026-12-07 (afternoon)
	// flags this one sentence repeated, from a length of about 3,000
	// characters, at hazmat_leak 0.14 (threshold 0.1), where the model
	// before it flagged nothing: a known false alarm of its length
	// features on a degenerate page (docs/DETECTION.md).
	if res[7].Error != "" || res[7].Level == "" || nlp.LevelRank(res[7].Level) > nlp.LevelRank(nlp.LevelMedium) {
		t.Errorf("10 MB post: level %s error %q", res[7].Level, res[7].Error)
	}
	if res[8].Level != "none" {
		t.Errorf("negated post: level %s", res[8].Level)
	}
}

// TestScoreCommandSeverityCues: the cues that set a level are in the
// output, pointing into the field like evidence.
func TestScoreCommandSeverityCues(t *testing.T) {
	text := "楼里着火了，有人被困在五楼，浓烟很大"
	code, out, errs := runCmd(t, `{"id": "trapped", "text": "`+text+`"}`+"\n", "score")
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	var r scoreLineOut
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("not JSON: %v: %s", err, out)
	}
	if r.Level != "critical" {
		t.Errorf("level %s, want critical (people trapped in a fire)", r.Level)
	}
	found := false
	for _, c := range r.Severity {
		if c.Field != "text" || string([]rune(text)[c.Start:c.End]) != c.Text {
			t.Errorf("cue %+v does not point into the text", c)
		}
		found = found || c.Kind == "trapped" && c.Level == "critical"
	}
	if !found {
		t.Errorf("severity %+v lacks the trapped cue", r.Severity)
	}
}

func TestScoreCommandPlainText(t *testing.T) {
	code, out, errs := runCmd(t, "  昨天小区里发生火灾，三人被困，消防员赶到现场扑救。\n", "score")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{"level: ", "categories: fire", "evidence:", "火灾"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestScoreCommandEmptyInput(t *testing.T) {
	code, out, errs := runCmd(t, "", "score")
	if code != 0 || out != "" {
		t.Fatalf("empty input: exit %d out %q err %q", code, out, errs)
	}
}

func TestScoreCommandBrokenLexicon(t *testing.T) {
	dir := t.TempDir()
	lex := filepath.Join(dir, "lex")
	if err := os.Mkdir(lex, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(lex, "fire.yaml"), "code: fire\nname: 火灾\nterms:\n  - {term: 火灾, wieght: 3}\n")
	cfg := filepath.Join(dir, "riskmine.yaml")
	writeFile(t, cfg, "nlp:\n  lexicon_dir: "+lex+"\n")
	code, _, errs := runCmd(t, `{"id":"a","text":"火灾"}`, "score", "--config", cfg)
	if code != 1 || !strings.Contains(errs, "fire.yaml:4:") || strings.Count(strings.TrimSpace(errs), "\n") != 0 {
		t.Fatalf("exit %d, stderr %q; want one line naming fire.yaml:4", code, errs)
	}
}

func TestLexiconTestCommand(t *testing.T) {
	dir := t.TempDir()
	lex := filepath.Join(dir, "lex")
	if err := os.Mkdir(lex, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(lex, "leak_test.yaml"), "code: leak_test\nname: 测试\nterms:\n  - {term: 漏水, weight: 3}\n")
	cfg := filepath.Join(dir, "riskmine.yaml")
	writeFile(t, cfg, "nlp:\n  lexicon_dir: "+lex+"\n")

	writeFile(t, filepath.Join(lex, "leak_test.cases.yaml"), "positive:\n  - 楼上漏水了\nnegative:\n  - 今天天气很好\n")
	code, out, errs := runCmd(t, "", "lexicon", "test", "--config", cfg, "--code", "leak_test")
	if code != 0 || !strings.Contains(out, "2 cases, 0 failed") {
		t.Fatalf("passing cases: exit %d out %q err %q", code, out, errs)
	}

	writeFile(t, filepath.Join(lex, "leak_test.cases.yaml"), "positive:\n  - 楼上漏气了\nnegative:\n  - 水管漏水\n")
	code, out, _ = runCmd(t, "", "lexicon", "test", "--config", cfg, "--code", "leak_test")
	if code != 1 || !strings.Contains(out, "FAIL positive: 楼上漏气了") || !strings.Contains(out, "FAIL negative: 水管漏水") || !strings.Contains(out, "found: medium") {
		t.Fatalf("failing cases: exit %d out %q", code, out)
	}

	writeFile(t, filepath.Join(lex, "leak_test.cases.yaml"), "positive: [a]\nnegativ: [b]\n")
	code, _, errs = runCmd(t, "", "lexicon", "test", "--config", cfg, "--code", "leak_test")
	if code != 1 || !strings.Contains(errs, "leak_test.cases.yaml:2") {
		t.Fatalf("broken cases file: exit %d err %q", code, errs)
	}

	if code, _, errs = runCmd(t, "", "lexicon", "nope"); code != 2 || !strings.Contains(errs, "unknown subcommand") {
		t.Fatalf("unknown subcommand: exit %d err %q", code, errs)
	}
}

func TestLexiconEvalCommand(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "labelled.jsonl")
	writeFile(t, file, strings.Join([]string{
		`{"id":"p1","set":"news","title":"小区火灾","text":"昨天小区发生火灾，消防员赶到扑救。","labels":["fire"]}`,
		`{"id":"p2","set":"news","title":"","text":"今天天气很好。","labels":["fire"]}`,
		`{"id":"n1","set":"news","title":"","text":"股市今天上涨。","labels":[]}`,
		`{"id":"n2","set":"sms","title":"","text":"您的快递已到。","labels":[]}`,
	}, "\n")+"\n")
	code, out, errs := runCmd(t, "", "lexicon", "eval", file, "--misses", "fire", "--fps", "all")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{
		"fire                     1/2     0.500",
		"news                     0/1     0.000",
		"sms                      0/1     0.000",
		"confusion",
		"misses of fire",
		"- p2 [fire]",
		"4 posts",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	writeFile(t, file, "{\"id\":\"x\"}\nnot json\n")
	if code, _, errs = runCmd(t, "", "lexicon", "eval", file); code != 1 || !strings.Contains(errs, "labelled.jsonl:2") {
		t.Fatalf("bad file: exit %d err %q", code, errs)
	}
}

func writeFile(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestSalvageID(t *testing.T) {
	tests := map[string]string{
		`{"id": "a", "text": "unterminated`:           `"a"`,
		`{"text": {"id": "inner"}, "id": 7, "x": [1,`: `7`,
		`{"title": "id", "id": "b"`:                   `"b"`,
		`{"id": {"x": 1}`:                             ``,
		`not json`:                                    ``,
		`["id", "c"`:                                  ``,
	}
	for in, want := range tests {
		if got := string(salvageID([]byte(in))); got != want {
			t.Errorf("salvageID(%s) = %s, want %s", in, got, want)
		}
	}
}

// TestScoreCommandInterrupt checks that cancelling the context ends the
// command while it waits for input that never comes.
func TestScoreCommandInterrupt(t *testing.T) {
	pr, pw := io.Pipe()
	defer pw.Close()
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- runMain(ctx, &cmdEnv{stdin: pr, stdout: &out, stderr: &errb}, []string{"score"})
	}()
	if _, err := pw.Write([]byte(`{"id":"a","text":"小区发生火灾"}` + "\n")); err != nil {
		t.Fatal(err)
	}
	cancel()
	if code := <-done; code != 1 || !strings.Contains(errb.String(), "context canceled") {
		t.Fatalf("exit %d, stderr %q", code, errb.String())
	}

	// Also before the first byte of input arrives.
	pr2, pw2 := io.Pipe()
	defer pw2.Close()
	ctx2, cancel2 := context.WithCancel(context.Background())
	go func() {
		done <- runMain(ctx2, &cmdEnv{stdin: pr2, stdout: &out, stderr: &errb}, []string{"score"})
	}()
	cancel2()
	if code := <-done; code != 1 {
		t.Fatalf("exit %d waiting for the first input", code)
	}
}

// TestModelFileRefused checks that a broken nlp.model is refused in one line
// naming the file, by check-config and by score.
func TestModelFileRefused(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.rmm")
	os.WriteFile(bad, []byte("not a model"), 0o644)
	cfgFile := filepath.Join(dir, "c.yaml")
	os.WriteFile(cfgFile, []byte("nlp:\n  model: "+bad+"\n"), 0o644)
	for _, args := range [][]string{{"check-config", "--config", cfgFile}, {"score", "--config", cfgFile}} {
		code, _, errs := runCmd(t, "{\"id\":\"a\",\"text\":\"起火\"}\n", args...)
		if code != 1 || !strings.Contains(errs, bad) || !strings.Contains(errs, "not a riskmine model") || strings.Count(strings.TrimSpace(errs), "\n") > 0 {
			t.Errorf("%v: exit %d, stderr %q", args, code, errs)
		}
	}
}
