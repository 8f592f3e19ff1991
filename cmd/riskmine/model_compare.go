package main

import (
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
)

// evalOutcome is what a comparison needs of one scored post: its set, its
// labels and the categories detected at their lead levels.
type evalOutcome struct {
	set    string
	labels []string
	det    map[string]bool
}

// compareFigures are the figures model eval --against compares; a figure
// the posts cannot give (no hand-written post, a category without
// positives) is NaN.
type compareFigures struct {
	macroRecall, macroPrecision float64
	devRecall, devPrecision     float64 // without the hand-written sets
	hwFound, hwNegFlagged       float64
	negFlagged                  float64
	catRecall                   []float64 // per code
}

// handwrittenSet reports whether a set is one of the team's hand-written
// ones (handwritten, handwritten_neg), which the dev-sources figures leave
// out.
func handwrittenSet(s string) bool { return strings.HasPrefix(s, "handwritten") }

// tallyFigures computes the figures over the posts, each counted mult[i]
// times (a bootstrap resample), the way printModelEval does: recall per
// category over its positives, precision per category over every post it
// flags (another category's posts included), both averaged over the
// categories that have positives, resp. flags.
func tallyFigures(codes []string, outs []evalOutcome, mult []int) compareFigures {
	type tally struct{ pos, tp, fp, dpos, dtp, dfp int }
	ts := make([]tally, len(codes))
	var hwPos, hwFound, hwNeg, hwNegFlag, neg, negFlag int
	for i, o := range outs {
		n := 1
		if mult != nil {
			n = mult[i]
		}
		if n == 0 {
			continue
		}
		hw := handwrittenSet(o.set)
		for ci, c := range codes {
			lab := slices.Contains(o.labels, c)
			t := &ts[ci]
			switch {
			case lab:
				t.pos += n
				if o.det[c] {
					t.tp += n
				}
				if !hw {
					t.dpos += n
					if o.det[c] {
						t.dtp += n
					}
				}
			case o.det[c]:
				t.fp += n
				if !hw {
					t.dfp += n
				}
			}
		}
		if len(o.labels) == 0 {
			neg += n
			if len(o.det) > 0 {
				negFlag += n
			}
			if hw {
				hwNeg += n
				if len(o.det) > 0 {
					hwNegFlag += n
				}
			}
			continue
		}
		if hw {
			hwPos += n
			for _, l := range o.labels {
				if o.det[l] {
					hwFound += n
					break
				}
			}
		}
	}
	macro := func(num, den func(t tally) int) float64 {
		sum, k := 0.0, 0
		for _, t := range ts {
			if d := den(t); d > 0 {
				sum += float64(num(t)) / float64(d)
				k++
			}
		}
		if k == 0 {
			return math.NaN()
		}
		return sum / float64(k)
	}
	share := func(a, b int) float64 {
		if b == 0 {
			return math.NaN()
		}
		return float64(a) / float64(b)
	}
	catRecall := make([]float64, len(codes))
	for i, t := range ts {
		catRecall[i] = math.NaN()
		if t.pos > 0 {
			catRecall[i] = float64(t.tp) / float64(t.pos)
		}
	}
	return compareFigures{
		catRecall:      catRecall,
		macroRecall:    macro(func(t tally) int { return t.tp }, func(t tally) int { return t.pos }),
		macroPrecision: macro(func(t tally) int { return t.tp }, func(t tally) int { return t.tp + t.fp }),
		devRecall:      macro(func(t tally) int { return t.dtp }, func(t tally) int { return t.dpos }),
		devPrecision:   macro(func(t tally) int { return t.dtp }, func(t tally) int { return t.dtp + t.dfp }),
		hwFound:        share(hwFound, hwPos),
		hwNegFlagged:   share(hwNegFlag, hwNeg),
		negFlagged:     share(negFlag, neg),
	}
}

// compareRow is one figure of both models with the paired bootstrap
// interval of their difference.
type compareRow struct {
	name        string
	this, other float64
	lo, hi      float64 // interval of this − other
	defined     bool    // the posts give the figure
}

// compareModels returns the figures of this against other on the same
// posts, with the 90 % interval of each difference from a paired
// bootstrap: the posts are drawn with replacement resamples times and
// every model's figures computed on the same draw. A side of several
// models (one recipe trained with several seeds) counts with the mean of
// its models' figures. The seed makes the intervals repeatable.
func compareModels(codes []string, this, other [][]evalOutcome, resamples int, seed uint64) []compareRow {
	names := []string{"macro recall", "macro precision", "dev sources: macro recall", "dev sources: macro precision",
		"hand-written positives found", "hand-written negatives flagged", "negatives flagged"}
	for _, c := range codes {
		names = append(names, "recall "+c)
	}
	pick := func(f compareFigures) []float64 {
		v := []float64{f.macroRecall, f.macroPrecision, f.devRecall, f.devPrecision, f.hwFound, f.hwNegFlagged, f.negFlagged}
		return append(v, f.catRecall...)
	}
	mean := func(side [][]evalOutcome, mult []int) []float64 {
		sum := make([]float64, len(names))
		for _, outs := range side {
			for k, v := range pick(tallyFigures(codes, outs, mult)) {
				sum[k] += v
			}
		}
		for k := range sum {
			sum[k] /= float64(len(side))
		}
		return sum
	}
	posts := this[0]
	fa, fb := mean(this, nil), mean(other, nil)
	diffs := make([][]float64, len(names))
	if resamples > 0 && len(posts) > 0 {
		rng := rand.New(rand.NewPCG(seed, 0x7269736b6d696e65))
		mult := make([]int, len(posts))
		for range resamples {
			clear(mult)
			for range len(posts) {
				mult[rng.IntN(len(posts))]++
			}
			ra, rb := mean(this, mult), mean(other, mult)
			for k := range names {
				// A figure the draw cannot give (a category without
				// positives in it) says nothing of the difference.
				if d := ra[k] - rb[k]; !math.IsNaN(d) {
					diffs[k] = append(diffs[k], d)
				}
			}
		}
	}
	rows := make([]compareRow, len(names))
	for k, n := range names {
		r := compareRow{name: n, this: fa[k], other: fb[k], defined: !math.IsNaN(fa[k])}
		if !r.defined {
			r.this, r.other = 0, 0
		}
		if d := diffs[k]; len(d) > 0 {
			slices.Sort(d)
			r.lo, r.hi = quantile(d, 0.05), quantile(d, 0.95)
		}
		rows[k] = r
	}
	return rows
}

// quantile returns the q quantile of sorted xs (linear between ranks).
func quantile(xs []float64, q float64) float64 {
	if len(xs) == 1 {
		return xs[0]
	}
	pos := q * float64(len(xs)-1)
	i := int(pos)
	if i >= len(xs)-1 {
		return xs[len(xs)-1]
	}
	f := pos - float64(i)
	return xs[i]*(1-f) + xs[i+1]*f
}

// printComparison writes the rows of model eval --against.
func printComparison(w io.Writer, thisName, otherName string, rows []compareRow, resamples int) {
	if resamples == 0 {
		fmt.Fprintf(w, "against %s: %s minus %s (no resamples, no interval)\n", otherName, thisName, otherName)
	} else {
		fmt.Fprintf(w, "against %s: %s minus %s, 90%% interval of a paired bootstrap of the posts (%d resamples)\n",
			otherName, thisName, otherName, resamples)
	}
	fmt.Fprintf(w, "  %-36s %8s %8s %8s  %s\n", "figure", "this", "other", "diff", "interval")
	for _, r := range rows {
		if !r.defined {
			continue
		}
		if resamples == 0 {
			fmt.Fprintf(w, "  %-36s %8.4f %8.4f %+8.4f  -\n", r.name, r.this, r.other, r.this-r.other)
			continue
		}
		fmt.Fprintf(w, "  %-36s %8.4f %8.4f %+8.4f  %+.4f .. %+.4f\n", r.name, r.this, r.other, r.this-r.other, r.lo, r.hi)
	}
}

// The bounds of the rule for replacing the embedded model
// (docs/DETECTION.md: "The rule's part 3 against training's own noise",
// part 3 as amended in "Part 3 read against the sample").
const (
	ruleMaxPrecisionFall = 0.01  // part 2
	ruleMaxDevFall       = 0.005 // part 3
	ruleMaxDevFallNoisy  = 0.015 // part 3, when the interval reaches zero
	ruleMaxCategoryFall  = 0.05  // part 5
	// ruleEps absorbs rounding in a difference compared with a bound.
	ruleEps = 1e-9
)

// rulePart is one part of the rule judged on a comparison's rows.
type rulePart struct {
	n     int
	known bool // the posts give the figures the part reads
	pass  bool
	what  string // the part's figures, as judged
}

// judgeRule judges the five parts of the rule for replacing the embedded
// model on the rows of compareModels: this side is the candidate recipe,
// the other the embedded one. Part 3's amended clause reads the interval,
// so without resamples a fall of more than ruleMaxDevFall fails.
func judgeRule(rows []compareRow, resamples int) []rulePart {
	byName := map[string]compareRow{}
	for _, r := range rows {
		byName[r.name] = r
	}
	diff := func(name string) (compareRow, float64, bool) {
		r, ok := byName[name]
		return r, r.this - r.other, ok && r.defined
	}
	var parts []rulePart
	if _, d, ok := diff("macro recall"); ok {
		parts = append(parts, rulePart{1, true, d > ruleEps, fmt.Sprintf("macro recall rises: %+.4f", d)})
	} else {
		parts = append(parts, rulePart{n: 1, what: "macro recall: no positives"})
	}
	if _, d, ok := diff("macro precision"); ok {
		parts = append(parts, rulePart{2, true, d >= -ruleMaxPrecisionFall-ruleEps,
			fmt.Sprintf("macro precision falls by at most %.3g: %+.4f", ruleMaxPrecisionFall, d)})
	} else {
		parts = append(parts, rulePart{n: 2, what: "macro precision: nothing flagged"})
	}
	p3 := rulePart{n: 3, known: true, pass: true}
	var what []string
	for _, name := range []string{"dev sources: macro recall", "dev sources: macro precision"} {
		r, d, ok := diff(name)
		if !ok {
			p3.known = false
			what = append(what, name+": no post of the dev sources")
			continue
		}
		pass := d >= -ruleMaxDevFall-ruleEps
		s := fmt.Sprintf("%s %+.4f", name, d)
		if resamples > 0 {
			s += fmt.Sprintf(" (interval %+.4f .. %+.4f)", r.lo, r.hi)
			if !pass && d >= -ruleMaxDevFallNoisy-ruleEps && r.hi >= 0 {
				pass = true
				s += ", a fall the sample cannot tell from none"
			}
		}
		p3.pass = p3.pass && pass
		what = append(what, s)
	}
	p3.what = fmt.Sprintf("neither falls by more than %.3g (%.3g where the interval reaches zero): %s",
		ruleMaxDevFall, ruleMaxDevFallNoisy, strings.Join(what, "; "))
	parts = append(parts, p3)
	if _, d, ok := diff("hand-written negatives flagged"); ok {
		parts = append(parts, rulePart{4, true, d <= ruleEps, fmt.Sprintf("hand-written negatives flagged do not rise: %+.4f", d)})
	} else {
		parts = append(parts, rulePart{n: 4, what: "hand-written negatives flagged: no hand-written negative"})
	}
	worst, worstD, found := "", 0.0, false
	for _, r := range rows {
		code, ok := strings.CutPrefix(r.name, "recall ")
		if !ok || !r.defined {
			continue
		}
		if d := r.this - r.other; !found || d < worstD {
			worst, worstD, found = code, d, true
		}
	}
	if found {
		parts = append(parts, rulePart{5, true, worstD >= -ruleMaxCategoryFall-ruleEps,
			fmt.Sprintf("no category's recall falls by more than %.3g: the largest change %s %+.4f", ruleMaxCategoryFall, worst, worstD)})
	} else {
		parts = append(parts, rulePart{n: 5, what: "no category has positives"})
	}
	return parts
}

// printRule writes the rule's verdict on a comparison of this side's
// models (the candidate recipe) against the other side's (the embedded
// one).
func printRule(w io.Writer, parts []rulePart, nThis, nOther int) {
	fmt.Fprintf(w, "the rule for replacing the embedded model (docs/DETECTION.md), on the means of %d against %d models", nThis, nOther)
	if nThis != 3 || nOther != 3 {
		fmt.Fprint(w, " (the rule asks for three seeds a side)")
	}
	fmt.Fprintln(w)
	var failed, unknown []string
	for _, p := range parts {
		verdict := "pass"
		switch {
		case !p.known:
			verdict = "n/a "
			unknown = append(unknown, strconv.Itoa(p.n))
		case !p.pass:
			verdict = "FAIL"
			failed = append(failed, strconv.Itoa(p.n))
		}
		fmt.Fprintf(w, "  part %d %s  %s\n", p.n, verdict, p.what)
	}
	switch {
	case len(failed) > 0:
		fmt.Fprintf(w, "  verdict: not replaced (part %s fails)\n", strings.Join(failed, ", "))
	case len(unknown) > 0:
		fmt.Fprintf(w, "  verdict: none (these posts cannot judge part %s)\n", strings.Join(unknown, ", "))
	default:
		fmt.Fprintln(w, "  verdict: every part passes")
	}
}
