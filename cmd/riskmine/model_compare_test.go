package main

import (
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func det(codes ...string) map[string]bool {
	d := map[string]bool{}
	for _, c := range codes {
		d[c] = true
	}
	return d
}

// The figures of a small hand-counted case: recall and precision per
// category averaged, the dev-sources figures without the hand-written
// sets, the hand-written shares.
func TestTallyFiguresByHand(t *testing.T) {
	codes := []string{"fire", "fraud"}
	outs := []evalOutcome{
		{set: "news", labels: []string{"fire"}, det: det("fire")},
		{set: "news", labels: []string{"fire"}, det: det()},
		{set: "sms", labels: []string{"fraud"}, det: det("fraud", "fire")},
		{set: "news", labels: nil, det: det("fraud")},
		{set: "handwritten", labels: []string{"fire"}, det: det("fire")},
		{set: "handwritten_neg", labels: nil, det: det()},
		{set: "handwritten_neg", labels: nil, det: det("fire")},
	}
	f := tallyFigures(codes, outs, nil)
	// fire: 3 positives, 2 found; flagged 4 times, 2 right. fraud: 1 of
	// 1; flagged twice, once right.
	want := compareFigures{
		macroRecall:    (2.0/3 + 1) / 2,
		macroPrecision: (2.0/4 + 1.0/2) / 2,
		devRecall:      (1.0/2 + 1) / 2, // fire 1 of 2 in news, fraud 1 of 1
		devPrecision:   (1.0/2 + 1.0/2) / 2,
		hwFound:        1,
		hwNegFlagged:   0.5,
		negFlagged:     2.0 / 3,
	}
	got := []float64{f.macroRecall, f.macroPrecision, f.devRecall, f.devPrecision, f.hwFound, f.hwNegFlagged, f.negFlagged}
	exp := []float64{want.macroRecall, want.macroPrecision, want.devRecall, want.devPrecision, want.hwFound, want.hwNegFlagged, want.negFlagged}
	for i := range got {
		if math.Abs(got[i]-exp[i]) > 1e-12 {
			t.Errorf("figure %d: got %.4f, want %.4f", i, got[i], exp[i])
		}
	}
	// A resample that draws the first post twice and no other.
	mult := []int{2, 0, 0, 0, 0, 0, 0}
	if g := tallyFigures(codes, outs, mult); g.macroRecall != 1 || g.macroPrecision != 1 {
		t.Errorf("resample of one right post: recall %v precision %v", g.macroRecall, g.macroPrecision)
	}
}

// A model against itself differs by nothing in every resample; a model
// that finds strictly more of the positives and flags nothing more has an
// interval above zero.
func TestCompareModelsIntervals(t *testing.T) {
	codes := []string{"fire"}
	var base, better []evalOutcome
	for i := range 200 {
		o := evalOutcome{set: "news", labels: []string{"fire"}}
		if i%2 == 0 {
			o.labels = nil
		}
		b, c := o, o
		b.det, c.det = det(), det()
		if o.labels != nil {
			if i%4 == 1 {
				b.det = det("fire")
			}
			c.det = det("fire")
		}
		base, better = append(base, b), append(better, c)
	}
	one := func(o []evalOutcome) [][]evalOutcome { return [][]evalOutcome{o} }
	for _, r := range compareModels(codes, one(base), one(base), 200, 1) {
		if r.lo != 0 || r.hi != 0 || r.this != r.other {
			t.Errorf("%s against itself: %v %v interval %v..%v", r.name, r.this, r.other, r.lo, r.hi)
		}
	}
	rows := compareModels(codes, one(better), one(base), 200, 1)
	if r := rows[0]; r.name != "macro recall" || r.this != 1 || r.other != 0.5 || r.lo <= 0 || r.hi < r.lo {
		t.Errorf("macro recall row: %+v", r)
	}
	if r := rows[4]; r.defined {
		t.Errorf("no hand-written post, yet the row is defined: %+v", r)
	}
	if r := rows[len(rows)-1]; r.name != "recall fire" || r.this != 1 || r.other != 0.5 {
		t.Errorf("per-category row: %+v", r)
	}
	// A side of two models counts with their mean: better and base
	// against base is half the gain.
	two := compareModels(codes, [][]evalOutcome{better, base}, one(base), 200, 1)
	if r := two[0]; r.this != 0.75 || r.other != 0.5 || r.lo < 0 || r.hi > 0.5 {
		t.Errorf("mean of two models: %+v", r)
	}
	// The same seed gives the same intervals.
	again := compareModels(codes, one(better), one(base), 200, 1)
	for i := range rows {
		if rows[i] != again[i] {
			t.Errorf("row %d differs between runs: %+v %+v", i, rows[i], again[i])
		}
	}
}

// model eval --against on the command line: the embedded model with its
// thresholds raised (fewer detections) against the embedded model.
func TestModelEvalAgainst(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "labelled.jsonl")
	writeFile(t, file, strings.Join([]string{
		`{"id":"p1","set":"news","title":"小区火灾","text":"昨天小区七号楼发生火灾，浓烟滚滚，消防员赶到扑救，两名老人被困。","labels":["fire"]}`,
		`{"id":"p2","set":"handwritten","title":"","text":"楼下饭店着火了，火从窗户往外窜，整条街都是烟。","labels":["fire"]}`,
		`{"id":"n1","set":"news","title":"","text":"股市今天上涨，成交量放大。","labels":[]}`,
		`{"id":"n2","set":"handwritten_neg","title":"","text":"今天学校组织了消防演练，同学们有序撤离。","labels":[]}`,
	}, "\n")+"\n")
	code, out, errs := runCmd(t, "", "model", "eval", "--model", "default", "--min-threshold", "0.999", "--against", "default", "--resamples", "50", file)
	if strings.Contains(errs, "no model:") {
		t.Skip("no embedded model")
	}
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{"paired bootstrap of the posts (50 resamples)", "macro recall", "dev sources: macro precision", "hand-written positives found",
		"the rule for replacing the embedded model (docs/DETECTION.md), on the means of 1 against 1 models (the rule asks for three seeds a side)", "part 1 FAIL", "verdict: not replaced"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// Raised thresholds find no more than the model itself.
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) >= 5 && f[0] == "macro" && f[1] == "recall" && strings.Contains(line, "..") {
			this, err1 := strconv.ParseFloat(f[2], 64)
			other, err2 := strconv.ParseFloat(f[3], 64)
			if err1 != nil || err2 != nil || this > other {
				t.Errorf("macro recall row %q: raised thresholds found more", line)
			}
		}
	}
	code, out, errs = runCmd(t, "", "model", "eval", "--model", "default", "--against", "default", "--resamples", "0", file)
	if code != 0 || !strings.Contains(out, "no resamples, no interval") || strings.Contains(out, " .. ") {
		t.Errorf("--resamples 0: exit %d, %s%s", code, out, errs)
	}
	// Two copies of a model against one: the same figures, no interval
	// off zero, both versions named.
	code, out, errs = runCmd(t, "", "model", "eval", "--model", "default", "--with", "default", "--against", "default", "--resamples", "20", file)
	if code != 0 || !strings.Contains(out, "+0.0000 .. +0.0000") || strings.Contains(out, "-0.0") {
		t.Errorf("--with: exit %d, %s%s", code, out, errs)
	}
	if code, _, errs := runCmd(t, "", "model", "eval", "--model", "default", "--with", "default", file); code == 0 || !strings.Contains(errs, "--with: needs --against") {
		t.Errorf("--with without --against: exit %d, %q", code, errs)
	}
	if code, _, errs := runCmd(t, "", "model", "eval", "--against", "default", file); code == 0 || !strings.Contains(errs, "--against: needs --model") {
		t.Errorf("--against without --model: exit %d, %q", code, errs)
	}
}

// The rule's five parts on hand-made rows: the amended part 3 lets a
// small dev fall pass only where its interval reaches zero (and never
// without resamples), part 5 names the category that fell most, and a
// figure the posts cannot give leaves its part without a verdict.
func TestJudgeRule(t *testing.T) {
	type fig struct {
		name        string
		this, other float64
		lo, hi      float64
		undefined   bool
	}
	rowsOf := func(fs ...fig) []compareRow {
		var rows []compareRow
		for _, f := range fs {
			rows = append(rows, compareRow{name: f.name, this: f.this, other: f.other, lo: f.lo, hi: f.hi, defined: !f.undefined})
		}
		return rows
	}
	base := func(devRecall fig, fire fig) []compareRow {
		return rowsOf(
			fig{name: "macro recall", this: 0.83, other: 0.78},
			fig{name: "macro precision", this: 0.735, other: 0.738},
			devRecall,
			fig{name: "dev sources: macro precision", this: 0.756, other: 0.755, lo: -0.01, hi: 0.02},
			fig{name: "hand-written positives found", this: 0.68, other: 0.58},
			fig{name: "hand-written negatives flagged", this: 0.19, other: 0.22},
			fig{name: "negatives flagged", this: 0.03, other: 0.03},
			fire,
			fig{name: "recall fraud", this: 0.80, other: 0.80},
		)
	}
	fireOK := fig{name: "recall fire", this: 0.82, other: 0.80}
	verdicts := func(parts []rulePart) string {
		s := ""
		for _, p := range parts {
			switch {
			case !p.known:
				s += "?"
			case p.pass:
				s += "+"
			default:
				s += "-"
			}
		}
		return s
	}
	for _, c := range []struct {
		name      string
		dev, fire fig
		resamples int
		want      string
	}{
		{"a small fall", fig{name: "dev sources: macro recall", this: 0.947, other: 0.948, lo: -0.01, hi: 0.01}, fireOK, 1000, "+++++"},
		{"a noisy fall", fig{name: "dev sources: macro recall", this: 0.939, other: 0.948, lo: -0.017, hi: 0.001}, fireOK, 1000, "+++++"},
		{"a fall the interval confirms", fig{name: "dev sources: macro recall", this: 0.939, other: 0.948, lo: -0.017, hi: -0.002}, fireOK, 1000, "++-++"},
		{"a large fall", fig{name: "dev sources: macro recall", this: 0.928, other: 0.948, lo: -0.03, hi: 0.001}, fireOK, 1000, "++-++"},
		{"a noisy fall without resamples", fig{name: "dev sources: macro recall", this: 0.939, other: 0.948}, fireOK, 0, "++-++"},
		{"a category falls", fig{name: "dev sources: macro recall", this: 0.948, other: 0.948}, fig{name: "recall fire", this: 0.70, other: 0.76}, 1000, "++++-"},
		{"no dev posts", fig{name: "dev sources: macro recall", undefined: true}, fireOK, 1000, "++?++"},
	} {
		parts := judgeRule(base(c.dev, c.fire), c.resamples)
		if got := verdicts(parts); got != c.want {
			t.Errorf("%s: parts %s, want %s: %+v", c.name, got, c.want, parts)
		}
	}
	parts := judgeRule(base(fig{name: "dev sources: macro recall", this: 0.948, other: 0.948}, fig{name: "recall fire", this: 0.70, other: 0.76}), 1000)
	if !strings.Contains(parts[4].what, "fire -0.0600") {
		t.Errorf("part 5 does not name the category that fell most: %q", parts[4].what)
	}
	var b strings.Builder
	printRule(&b, parts, 3, 3)
	if out := b.String(); !strings.Contains(out, "part 5 FAIL") || !strings.Contains(out, "verdict: not replaced (part 5 fails)") || strings.Contains(out, "three seeds a side") {
		t.Errorf("printed rule:\n%s", out)
	}
	b.Reset()
	printRule(&b, judgeRule(base(fig{name: "dev sources: macro recall", undefined: true}, fireOK), 1000), 1, 2)
	if out := b.String(); !strings.Contains(out, "verdict: none (these posts cannot judge part 3)") || !strings.Contains(out, "the rule asks for three seeds a side") {
		t.Errorf("printed rule without dev posts:\n%s", out)
	}
}
