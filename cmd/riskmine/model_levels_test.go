package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// model levels trains the learned levels on the posts with a level, writes a
// copy of the model with them, and model info shows them; --rubric-only
// takes them off again.
func TestModelLevelsCommand(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "levels.jsonl")
	var lines []string
	for i := range 12 {
		lines = append(lines,
			fmt.Sprintf(`{"id":"c%d","set":"handwritten","text":"%d号楼着火了，浓烟往上冒，窗口有人一直挥衣服","labels":["fire"],"level":"critical"}`, i, i+2),
			fmt.Sprintf(`{"id":"m%d","set":"handwritten","text":"%d号楼下电动车着火，保安在用灭火器","labels":["fire"],"level":"medium"}`, i, i+2),
			fmt.Sprintf(`{"id":"n%d","set":"handwritten_neg","text":"今天小区搞了第%d次消防演练","labels":[],"level":"none"}`, i, i+2))
	}
	lines = append(lines, `{"id":"x","text":"no level here","labels":["fire"]}`, `{"id":"bad","text":"着火","labels":["fire"],"level":"severe"}`, `not json`)
	writeFile(t, file, strings.Join(lines, "\n")+"\n")
	out := filepath.Join(dir, "m.rmm")
	code, stdout, errs := runCmd(t, "", "model", "levels", "--model", "default", "--level-epochs", "10", "--out", out, file)
	if strings.Contains(errs, "no model:") {
		t.Skip("no embedded model")
	}
	if code != 0 || !strings.Contains(errs, `levels.jsonl:38: skipped: level "severe", expected none, low, medium, high or critical`) || !strings.Contains(errs, "levels.jsonl:39: skipped") {
		t.Fatalf("bad lines: exit %d, %s", code, errs)
	}
	for _, want := range []string{"wrote " + out + ": model riskmine-", "levels: learned from 36 posts", "out of fold on 24 posts with a category"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
	code, stdout, errs = runCmd(t, "", "model", "info", "--model", out)
	if code != 0 || !strings.Contains(stdout, "levels: learned from 36 posts") {
		t.Errorf("model info: exit %d, %s%s", code, stdout, errs)
	}
	plain := filepath.Join(dir, "plain.rmm")
	code, stdout, errs = runCmd(t, "", "model", "levels", "--model", out, "--rubric-only", "--out", plain)
	if code != 0 || !strings.Contains(stdout, "levels: the severity rubric's alone") {
		t.Errorf("--rubric-only: exit %d, %s%s", code, stdout, errs)
	}
	if code, _, errs := runCmd(t, "", "model", "levels", "--model", "default", "--out", plain); code == 0 || !strings.Contains(errs, "expected --out MODEL and at least one FILE.jsonl") {
		t.Errorf("no files: exit %d, %s", code, errs)
	}
}
