package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"riskmine/config"
	"riskmine/nlp"
)

func runModelEval(ctx context.Context, env *cmdEnv, args []string) error {
	fs, cf := newFlagSet(env, "model eval", "model eval [--model MODEL] [--split all|train|validation] FILE.jsonl…",
		`Scores labelled JSON Lines files with the model and lexicons and prints, per category,
recall, precision and the false-positive rate over negative posts; per set, the share of
negatives flagged and the recall of positives; the threshold of each category; and points
of the precision-recall curve. A post is detected in a category when the category reaches
its lead level (alerts.lead_level, alerts.lead_levels); a negative is a false positive
when any category does. Without --model it runs k-fold cross-validation: each fold is
scored by a model trained on the other folds.`)
	path := fs.String("model", "", "model file, or \"default\" for the embedded one (default: cross-validation)")
	split := fs.String("split", "all", "posts to score: all, train (md5(id) mod 5 != 0) or validation")
	folds := fs.Int("folds", 5, "folds of the cross-validation")
	misses := fs.String("misses", "", "print the missed posts of this category (\"all\" for every one)")
	fps := fs.String("fps", "", "print the false positives of this set (\"all\" for every set)")
	weights := setWeights{}
	fs.Var(weights, "weight", "SET=W scales the posts of a set in cross-validation training (repeatable)")
	epochs := fs.Int("epochs", 0, "cross-validation training: passes over the data (default 6)")
	l1 := fs.Float64("l1", 0, "cross-validation training: L1 regularisation (default 0.5)")
	minPrec := fs.Float64("min-precision", 0, "cross-validation training: least out-of-fold precision at the threshold (default 0.9)")
	maxSetFPR := fs.Float64("max-set-fpr", 0, "cross-validation training: most share of one set's negatives flagged (default 0.012)")
	dump := fs.String("dump", "", "write each scored post's labels, categories, levels, probabilities and thresholds to this JSON Lines file")
	words := fs.Bool("words", false, "cross-validation training: also read gse words and word pairs")
	var balance stringList
	fs.Var(&balance, "balance", "SET: up-weight the set's positives in each category by √(other positives / its positives), 1 to 10 (repeatable)")
	registers := fs.Bool("registers", false, "cross-validation training: also read the register features (drill, publicity, film, rebuttal, fixed problem…)")
	domains := fs.Bool("domains", false, "cross-validation training: also read court records' and short posts' n-grams and lexicon features as features of their register only")
	cues := fs.Bool("cues", false, "cross-validation training: also read the severity cues the rubric finds, each kind alone and at its level")
	minT := fs.Float64("min-threshold", 0, "raise every category threshold of --model to at least this probability (what-if)")
	var against, with stringList
	fs.Var(&against, "against", "with --model: also score the posts with this model (a file or \"default\"; repeatable: the mean of several) and print both sides' figures with a paired bootstrap interval of each difference")
	fs.Var(&with, "with", "with --against: another model of --model's side (repeatable: a recipe trained with several seeds counts with the mean of its models)")
	resamples := fs.Int("resamples", 1000, "with --against: bootstrap resamples of the posts")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		fmt.Fprintln(env.stderr, "riskmine model eval: expected at least one FILE.jsonl")
		return errUsage
	}
	if len(against) > 0 && *path == "" {
		return fmt.Errorf("--against: needs --model (the model compared against it)")
	}
	if len(with) > 0 && len(against) == 0 {
		return fmt.Errorf("--with: needs --against (it adds a model to the side compared)")
	}
	if *resamples < 0 {
		return fmt.Errorf("--resamples: got %d, expected 0 or more", *resamples)
	}
	cfg, lex, posts, _, err := loadLabelled(env, cf, pos, *split)
	if err != nil {
		return err
	}
	start := time.Now()
	var rows []compareRow
	var thisNames, otherNames []string // the versions of each side's models
	out := make([]*nlp.Assessment, len(posts))
	probs := make([]map[string]float64, len(posts))
	thresholds := map[string][]float64{}
	postThresholds := make([]map[string]float64, len(posts)) // of the model that scored each post
	if *path != "" {
		m, err := loadModel(*path, "")
		if err != nil {
			return err
		}
		if m == nil {
			return errNoModel
		}
		if *minT > 0 {
			m = m.WithMinThreshold(*minT)
		}
		an := lex.WithModel(m)
		all := make([]int, len(posts))
		for i := range all {
			all[i] = i
		}
		if err := assessPosts(ctx, an, posts, all, out, probs); err != nil {
			return err
		}
		for _, i := range all {
			postThresholds[i] = modelThresholds(m)
		}
		for i, c := range m.Info.Categories {
			thresholds[c] = append(thresholds[c], m.Info.Thresholds[i])
		}
		if len(against) > 0 {
			// score returns each model's assessments of the posts and
			// its version; raise applies --min-threshold, as to --model.
			score := func(paths []string, raise bool) ([][]*nlp.Assessment, []string, error) {
				var outs [][]*nlp.Assessment
				var names []string
				for _, p := range paths {
					om, err := loadModel(p, "")
					if err != nil {
						return nil, nil, err
					}
					if om == nil {
						return nil, nil, errNoModel
					}
					if raise && *minT > 0 {
						om = om.WithMinThreshold(*minT)
					}
					o := make([]*nlp.Assessment, len(posts))
					if err := assessPosts(ctx, lex.WithModel(om), posts, all, o, make([]map[string]float64, len(posts))); err != nil {
						return nil, nil, err
					}
					outs, names = append(outs, o), append(names, om.Info.Version)
				}
				return outs, names, nil
			}
			thisOuts, withNames, err := score(with, true)
			if err != nil {
				return err
			}
			thisOuts, thisNames = append([][]*nlp.Assessment{out}, thisOuts...), append([]string{m.Info.Version}, withNames...)
			otherOuts, names, err := score(against, false)
			if err != nil {
				return err
			}
			otherNames = names
			a, b := pairedOutcomes(cfg, posts, thisOuts, otherOuts)
			rows = compareModels(m.Info.Categories, a, b, *resamples, 1)
		}
	} else {
		if *folds < 2 {
			return fmt.Errorf("--folds: got %d, expected 2 or more", *folds)
		}
		byFold := make([][]int, *folds)
		for i, p := range posts {
			h := fnv.New32a()
			h.Write([]byte("cv:" + p.ID))
			k := int(h.Sum32() % uint32(*folds))
			byFold[k] = append(byFold[k], i)
		}
		for k := range *folds {
			var train []labelledPost
			for j, idx := range byFold {
				if j == k {
					continue
				}
				for _, i := range idx {
					train = append(train, posts[i])
				}
			}
			fmt.Fprintf(env.stderr, "fold %d/%d: training on %d posts\n", k+1, *folds, len(train))
			m, err := lex.TrainModel(trainExamples(train, weights), nlp.TrainOptions{Workers: runtime.GOMAXPROCS(0),
				Epochs: *epochs, L1: *l1, MinPrecision: *minPrec, MaxSetFPR: *maxSetFPR, Words: *words, Registers: *registers, Domains: *domains, Cues: *cues, BalanceSets: balance, Context: ctx})
			if err != nil {
				return err
			}
			for i, c := range m.Info.Categories {
				thresholds[c] = append(thresholds[c], m.Info.Thresholds[i])
			}
			if err := assessPosts(ctx, lex.WithModel(m), posts, byFold[k], out, probs); err != nil {
				return err
			}
			for _, i := range byFold[k] {
				postThresholds[i] = modelThresholds(m)
			}
		}
	}
	printModelEval(env.stdout, cfg, posts, out, probs, thresholds, *misses, *fps)
	if rows != nil {
		printComparison(env.stdout, strings.Join(thisNames, "+"), strings.Join(otherNames, "+"), rows, *resamples)
		printRule(env.stdout, judgeRule(rows, *resamples), len(thisNames), len(otherNames))
	}
	if *dump != "" {
		if err := dumpEval(*dump, cfg, posts, out, probs, postThresholds); err != nil {
			return err
		}
	}
	fmt.Fprintf(env.stdout, "\n%d posts in %s\n", len(posts), time.Since(start).Round(time.Second))
	return nil
}

// pairedOutcomes returns, for the posts every model scored, the
// categories each model detected in them, in the same post order on both
// sides.
func pairedOutcomes(cfg *config.Config, posts []labelledPost, this, other [][]*nlp.Assessment) ([][]evalOutcome, [][]evalOutcome) {
	var keep []int
	for i := range posts {
		ok := true
		for _, side := range [][][]*nlp.Assessment{this, other} {
			for _, out := range side {
				ok = ok && out[i] != nil
			}
		}
		if ok {
			keep = append(keep, i)
		}
	}
	outcomes := func(side [][]*nlp.Assessment) [][]evalOutcome {
		res := make([][]evalOutcome, len(side))
		for k, out := range side {
			for _, i := range keep {
				p := posts[i]
				res[k] = append(res[k], evalOutcome{set: p.Set, labels: p.Labels, det: detectedCats(cfg, out[i])})
			}
		}
		return res
	}
	return outcomes(this), outcomes(other)
}

// assessPosts analyses posts[idx] on every core.
func assessPosts(ctx context.Context, an *nlp.Analyzer, posts []labelledPost, idx []int, out []*nlp.Assessment, probs []map[string]float64) error {
	var wg sync.WaitGroup
	next := make(chan int)
	cats := an.Model().Info.Categories
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				in := nlp.Input{ID: posts[i].ID, Title: posts[i].Title, Text: posts[i].Text}
				out[i] = an.Analyze(in)
				pm := map[string]float64{}
				for c, p := range an.ModelProbabilities(in) {
					pm[cats[c]] = p
				}
				probs[i] = pm
			}
		}()
	}
	for _, i := range idx {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	return ctx.Err()
}

// detectedCats returns the categories of as at or above their lead level.
func detectedCats(cfg *config.Config, as *nlp.Assessment) map[string]bool {
	d := map[string]bool{}
	for _, c := range as.Categories {
		lvl := c.Level
		if lvl == "" {
			lvl = as.Level // lexicons only: the post's level
		}
		if nlp.LevelRank(lvl) >= nlp.LevelRank(cfg.Alerts.LeadLevelOf(c.Code)) {
			d[c.Code] = true
		}
	}
	return d
}

func printModelEval(w io.Writer, cfg *config.Config, posts []labelledPost, out []*nlp.Assessment, probs []map[string]float64, thresholds map[string][]float64, misses, fps string) {
	type catTally struct{ pos, tp, fp, negFP int }
	cats := map[string]*catTally{}
	type setTally struct{ neg, negFlag, pos, posFound int }
	sets := map[string]*setTally{}
	negTotal := 0
	var codes []string
	for c := range thresholds {
		codes = append(codes, c)
	}
	sort.Strings(codes)
	for _, c := range codes {
		cats[c] = &catTally{}
	}
	var missLines, fpLines []string
	for i, p := range posts {
		as := out[i]
		if as == nil {
			continue
		}
		det := detectedCats(cfg, as)
		st := sets[p.Set]
		if st == nil {
			st = &setTally{}
			sets[p.Set] = st
		}
		labels := map[string]bool{}
		for _, l := range p.Labels {
			labels[l] = true
		}
		if len(p.Labels) == 0 {
			negTotal++
			st.neg++
			if len(det) > 0 {
				st.negFlag++
				if fps == "all" || fps == p.Set {
					fpLines = append(fpLines, fmt.Sprintf("FP %s [%s] %s | %s", p.ID, p.Set, describeModel(as), clip(p.Title+" "+p.Text, 160)))
				}
			}
		} else {
			st.pos++
			found := false
			for l := range labels {
				if det[l] {
					found = true
				}
			}
			if found {
				st.posFound++
			}
		}
		for c, t := range cats {
			if labels[c] {
				t.pos++
				if det[c] {
					t.tp++
				} else if misses == "all" || misses == c {
					missLines = append(missLines, fmt.Sprintf("MISS %s %s [%s] p=%.3f %s | %s", c, p.ID, p.Set, probs[i][c], describeModel(as), clip(p.Title+" "+p.Text, 160)))
				}
			} else if det[c] {
				t.fp++
				if len(p.Labels) == 0 {
					t.negFP++
				}
			}
		}
	}
	fmt.Fprintf(w, "per category (detected = the category at its lead level or above)\n  %-20s %6s %7s %9s %7s  %s\n", "category", "pos", "recall", "precision", "fpr", "threshold")
	var sumR, sumP float64
	nR, nP := 0, 0
	for _, c := range codes {
		t := cats[c]
		rec, prec := "-", "-"
		if t.pos > 0 {
			r := float64(t.tp) / float64(t.pos)
			rec = fmt.Sprintf("%.3f", r)
			sumR += r
			nR++
		}
		if t.tp+t.fp > 0 {
			pr := float64(t.tp) / float64(t.tp+t.fp)
			prec = fmt.Sprintf("%.3f", pr)
			sumP += pr
			nP++
		}
		fpr := 0.0
		if negTotal > 0 {
			fpr = float64(t.negFP) / float64(negTotal)
		}
		fmt.Fprintf(w, "  %-20s %6d %7s %9s %7.4f  %s\n", c, t.pos, rec, prec, fpr, fmtThresholds(thresholds[c]))
	}
	if nR > 0 && nP > 0 {
		fmt.Fprintf(w, "  macro recall %.3f, macro precision %.3f\n", sumR/float64(nR), sumP/float64(nP))
	}
	var names []string
	for s := range sets {
		names = append(names, s)
	}
	sort.Strings(names)
	fmt.Fprintf(w, "per set\n  %-24s %12s %8s %12s %8s\n", "set", "negatives", "fpr", "positives", "recall")
	for _, s := range names {
		t := sets[s]
		fpr, rec := "-", "-"
		if t.neg > 0 {
			fpr = fmt.Sprintf("%.4f", float64(t.negFlag)/float64(t.neg))
		}
		if t.pos > 0 {
			rec = fmt.Sprintf("%.3f", float64(t.posFound)/float64(t.pos))
		}
		fmt.Fprintf(w, "  %-24s %12d %8s %12d %8s\n", s, t.neg, fpr, t.pos, rec)
	}
	fmt.Fprintln(w, "precision-recall (model probability alone, at each cut: recall/precision)")
	cuts := []float64{0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9}
	fmt.Fprintf(w, "  %-20s", "category")
	for _, c := range cuts {
		fmt.Fprintf(w, " %11.1f", c)
	}
	fmt.Fprintln(w)
	for _, c := range codes {
		fmt.Fprintf(w, "  %-20s", c)
		for _, cut := range cuts {
			tp, fp, pos := 0, 0, 0
			for i, p := range posts {
				if probs[i] == nil {
					continue
				}
				lab := false
				for _, l := range p.Labels {
					if l == c {
						lab = true
					}
				}
				if lab {
					pos++
				}
				if probs[i][c] >= cut {
					if lab {
						tp++
					} else {
						fp++
					}
				}
			}
			if pos == 0 {
				fmt.Fprintf(w, " %11s", "-")
				continue
			}
			prec := 1.0
			if tp+fp > 0 {
				prec = float64(tp) / float64(tp+fp)
			}
			fmt.Fprintf(w, " %5.3f/%5.3f", float64(tp)/float64(pos), prec)
		}
		fmt.Fprintln(w)
	}
	printLevelAgreement(w, posts, out)
	for _, l := range missLines {
		fmt.Fprintln(w, l)
	}
	for _, l := range fpLines {
		fmt.Fprintln(w, l)
	}
}

func fmtThresholds(ts []float64) string {
	parts := make([]string, len(ts))
	for i, t := range ts {
		parts[i] = fmt.Sprintf("%.3f", t)
	}
	return strings.Join(parts, " ")
}

// describeModel is a one-line summary of an assessment: level and categories.
func describeModel(as *nlp.Assessment) string {
	parts := []string{as.Level}
	for _, c := range as.Categories {
		parts = append(parts, fmt.Sprintf("%s:%s/%.2f/lex%.1f", c.Code, c.Level, c.Probability, c.Lexicon))
	}
	for _, e := range as.Evidence {
		if strings.HasPrefix(e.Rule, "model/") {
			parts = append(parts, e.Rule+"="+e.Text)
		}
	}
	return strings.Join(parts, " ")
}

// printLevelAgreement compares the level of each post that carries an
// expected level ("level") with the assessed one: exact, within one step,
// life-threatening (critical) posts below high, and low or none posts at
// high or above.
func printLevelAgreement(w io.Writer, posts []labelledPost, out []*nlp.Assessment) {
	n, exact, near, critBelow, crit, lowAbove, low := 0, 0, 0, 0, 0, 0, 0
	for i, p := range posts {
		want := nlp.LevelRank(p.Level)
		if want < 0 || out[i] == nil {
			continue
		}
		got := nlp.LevelRank(out[i].Level)
		n++
		if got == want {
			exact++
		}
		if got-want <= 1 && want-got <= 1 {
			near++
		}
		if want == 4 {
			crit++
			if got < 3 {
				critBelow++
			}
		}
		if want <= 1 {
			low++
			if got >= 3 {
				lowAbove++
			}
		}
	}
	if n == 0 {
		return
	}
	fmt.Fprintf(w, "levels of %d posts with an expected level: exact %.3f, within one step %.3f; critical below high %d of %d; low or none at high or above %d of %d\n",
		n, float64(exact)/float64(n), float64(near)/float64(n), critBelow, crit, lowAbove, low)
}

func modelThresholds(m *nlp.Model) map[string]float64 {
	t := make(map[string]float64, len(m.Info.Categories))
	for i, c := range m.Info.Categories {
		t[c] = m.Info.Thresholds[i]
	}
	return t
}

// modelEvalRecord is one line of model eval --dump.
type modelEvalRecord struct {
	ID         string              `json:"id"`
	Set        string              `json:"set"`
	Labels     []string            `json:"labels"`
	Expected   string              `json:"expected_level,omitempty"`
	Level      string              `json:"level"`
	Detected   []string            `json:"detected"`
	Categories []nlp.CategoryScore `json:"categories"`
	Probs      map[string]float64  `json:"probs"`
	Thresholds map[string]float64  `json:"thresholds"`
	Cues       []string            `json:"cues,omitempty"`
}

// dumpEval writes the scored posts for analysis outside riskmine (which
// categories confuse which, what a combination rule would change).
func dumpEval(path string, cfg *config.Config, posts []labelledPost, out []*nlp.Assessment, probs []map[string]float64, ts []map[string]float64) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("--dump: %w", err)
	}
	bw := bufio.NewWriter(f)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	for i, p := range posts {
		as := out[i]
		if as == nil {
			continue
		}
		r := modelEvalRecord{ID: p.ID, Set: p.Set, Labels: p.Labels, Expected: p.Level, Level: as.Level,
			Categories: as.Categories, Probs: probs[i], Thresholds: ts[i], Detected: []string{}}
		if r.Labels == nil {
			r.Labels = []string{}
		}
		for c := range detectedCats(cfg, as) {
			r.Detected = append(r.Detected, c)
		}
		sort.Strings(r.Detected)
		for _, c := range as.Severity {
			r.Cues = append(r.Cues, c.Kind)
		}
		if err := enc.Encode(r); err != nil {
			f.Close()
			return fmt.Errorf("--dump %s: %w", path, err)
		}
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("--dump %s: %w", path, err)
	}
	return f.Close()
}
