package nlp

import (
	"cmp"
	"math"
	"slices"
	"sync"
)

// suppressedMinProb is the probability a category needs when the lexicons
// found its words negated or excluded and scored it under medium.
const suppressedMinProb = 0.9

// secondaryMinShare is the least share of a post's strongest detected
// probability that another category the model detects must reach. Chosen
// on the train part's out-of-fold scores (docs/DETECTION.md): at 0.2 the
// dev sources lose no recall and gain about 0.01 of macro precision.
const secondaryMinShare = 0.2

// maxModelEvidence is the most phrases listed as a category's model
// evidence.
const maxModelEvidence = 3

// gramHit is one n-gram of the post that the model knows and that is
// long enough to be shown as evidence (two runes or more).
type gramHit struct {
	field      *fieldMatches
	start, end int  // runes of the normalised field
	row        int  // record of the model's scoring table (Model.lookup)
	word       bool // a word or word pair (weighted by wnorm), not an n-gram
}

// modelRun is the model's reading of one post. Runs are pooled: a run and
// its slices are reused by the next post once released.
type modelRun struct {
	raw   []float64 // per model category
	prob  []float64
	hits  []gramHit // each distinct n-gram once (and its domain copy), a field's in text order
	norm  float64   // weight of one distinct n-gram: 1/sqrt(distinct n-grams)
	wnorm float64   // weight of one distinct word or pair (word models)
	wsum  []int64
	wseen gramSet
	dense []denseFeature
	nlex  int // dense[:nlex] are the lexicon features (the level heads read them too)
	sum   []int64
	seen  gramSet
	// a field's distinct n-grams: keys, ends and orders (packGram), rows
	keys []uint32
	ends []uint32
	rows []int32
	cs   []contrib // modelEvidence's scratch
	// assessWithModel's scratch, per analyzer category
	det, byModel []bool
	// the post's severity cues, once found (cuesDone): a model that reads
	// them as features finds them for every post, the levels reuse them
	cues     []SeverityCue
	cuesDone bool
}

var modelRuns = sync.Pool{New: func() any { return &modelRun{} }}

// release returns the run to the pool; it must not be used after.
func (run *modelRun) release() {
	clear(run.hits)
	run.hits = run.hits[:0]
	clear(run.cs)
	run.cs = run.cs[:0]
	run.cues, run.cuesDone = nil, false
	modelRuns.Put(run)
}

// gramSeeds[n] starts gramKey's hash of an n-gram.
var gramSeeds = func() (s [maxGramOrder + 1]uint64) {
	for n := range s {
		s[n] = uint64(n) * 0x9E3779B97F4A7C15
	}
	return s
}()

// runModel scores the post with the model: n-grams of every field, then the
// lexicon features. The caller releases the run.
//
// The n-grams are those of forEachGram, with the same keys, in the same
// order; the loop is written out here so a post costs no call per n-gram.
func (a *Analyzer) runModel(m *Model, fields []*fieldMatches, acc []catScore) *modelRun {
	nc := len(m.Info.Categories)
	run := modelRuns.Get().(*modelRun)
	run.raw = resize(run.raw, nc)
	run.prob = resize(run.prob, nc)
	run.sum = resize(run.sum, nc)
	sum := run.sum
	runes := 0
	seen := &run.seen
	seen.reset(fields)
	dom := 0
	if m.flags().domains {
		dom = postDomain(fields)
	}
	for _, fm := range fields {
		runes += fm.nz.RuneLen()
		var p1, p2 rune // the two runes before, when n allows
		n := 0          // runes since the last boundary
		i := 0
		for _, r := range fm.nz.Text {
			if i >= maxModelRunes {
				break
			}
			c := gramClass(r)
			if c == 0 {
				n = 0
				i++
				continue
			}
			n++
			var ks [maxGramOrder]uint32
			// gramKey(w) for w = [c], [p1 c], [p2 p1 c].
			const prime = 0x100000001B3
			ks[0] = keyOf((gramSeeds[1] ^ uint64(c)) * prime)
			if n >= 2 {
				ks[1] = keyOf(((gramSeeds[2]^uint64(p1))*prime ^ uint64(c)) * prime)
			}
			if n >= 3 {
				ks[2] = keyOf((((gramSeeds[3]^uint64(p2))*prime^uint64(p1))*prime ^ uint64(c)) * prime)
			}
			for k := 0; k < min(n, maxGramOrder); k++ {
				// Each distinct n-gram counts once: a text repeated is
				// the same text.
				if seen.add(ks[k]) {
					run.keys = append(run.keys, ks[k])
					run.ends = append(run.ends, packGram(i+1, k+1))
				}
			}
			p2, p1 = p1, c
			i++
		}
		// The table is read in a loop of its own, so the reads of main
		// memory of several n-grams overlap.
		run.rows = resize(run.rows, len(run.keys))
		for j, k := range run.keys {
			run.rows[j] = int32(m.lookup(k))
		}
		for j, row := range run.rows {
			if row < 0 {
				continue
			}
			if end, order := unpackGram(run.ends[j]); order > 1 {
				run.hits = append(run.hits, gramHit{field: fm, start: end - order, end: end, row: int(row)})
			}
			for c, v := range m.recWeights(int(row)) {
				sum[c] += int64(v)
			}
		}
		if dom != 0 {
			// The domain's copies weigh in like the n-grams themselves,
			// and as evidence of the same spans.
			for j, k := range run.keys {
				row := m.lookup(domainKey(k, dom))
				if row < 0 {
					continue
				}
				if end, order := unpackGram(run.ends[j]); order > 1 {
					run.hits = append(run.hits, gramHit{field: fm, start: end - order, end: end, row: row})
				}
				for c, v := range m.recWeights(row) {
					sum[c] += int64(v)
				}
			}
		}
		run.keys, run.ends = run.keys[:0], run.ends[:0]
	}
	grams := seen.n
	run.norm = 0
	if grams > 0 {
		run.norm = 1 / math.Sqrt(float64(grams))
	}
	run.wnorm = 0
	if m.words() {
		run.wsum = resize(run.wsum, nc)
		wsum := run.wsum
		wseen := &run.wseen
		wseen.reset(fields)
		for _, fm := range fields {
			forEachWord(fm.nz.Text, fm.modelSegments(), func(k uint32, start, end int) {
				if !wseen.add(k) {
					return
				}
				row := m.lookup(k)
				if row < 0 {
					return
				}
				if end-start > 1 {
					run.hits = append(run.hits, gramHit{field: fm, start: start, end: end, row: row, word: true})
				}
				for c, v := range m.recWeights(row) {
					wsum[c] += int64(v)
				}
			})
		}
		if wseen.n > 0 {
			run.wnorm = 1 / math.Sqrt(float64(wseen.n))
		}
	}
	run.dense = a.lexiconFeatures(acc, runes, run.dense[:0])
	run.nlex = len(run.dense)
	if m.flags().registers {
		run.dense = a.registerFeatures(acc, fieldRegisters(fields), run.dense)
	}
	if m.flags().cues {
		run.cues, run.cuesDone = fieldCues(fields), true
		run.dense = cueFeatures(run.cues, run.dense)
	}
	if dom != 0 {
		run.dense = withDomainCopies(run.dense, dom)
	}
	for c := 0; c < nc; c++ {
		run.raw[c] = float64(m.bias[c]) + float64(sum[c])*float64(m.scale[c])*run.norm
		if run.wnorm > 0 {
			run.raw[c] += float64(run.wsum[c]) * float64(m.scale[c]) * run.wnorm
		}
	}
	for _, d := range run.dense {
		r := m.lookup(d.key)
		if r < 0 {
			continue
		}
		for c, v := range m.recWeights(r) {
			run.raw[c] += d.val * float64(v) * float64(m.scale[c])
		}
	}
	for c := range run.raw {
		run.prob[c] = m.calibrate(c, run.raw[c])
	}
	return run
}

// packGram packs an n-gram's end (runes) and order.
func packGram(end, order int) uint32 { return uint32(end)<<2 | uint32(order) }

func unpackGram(p uint32) (end, order int) { return int(p >> 2), int(p & 3) }

// resize returns s with length n, zeroed, reusing its array when it can.
func resize[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	s = s[:n]
	clear(s)
	return s
}

// contrib is an n-gram (an index in modelRun.hits) with what it added to
// a category's raw score; small, so sorting moves little.
type contrib struct {
	w   float64
	hit int32
}

// evidenceGrams is how many of a category's strongest n-grams its model
// evidence is grown from.
const evidenceGrams = 24

// strongerContrib orders contributions strongest first, an earlier n-gram
// first among equals.
func strongerContrib(x, y contrib) int {
	if c := cmp.Compare(y.w, x.w); c != 0 {
		return c
	}
	return cmp.Compare(x.hit, y.hit)
}

// strongest returns the k strongest of cs in strongerContrib's order,
// reordering cs: a post has a thousand n-grams or more, and sorting them
// all for two dozen was about a tenth of the model's CPU in a profile of
// BenchmarkAnalyzeModel.
func strongest(cs []contrib, k int) []contrib {
	if len(cs) <= k {
		slices.SortFunc(cs, strongerContrib)
		return cs
	}
	top := cs[:k]
	slices.SortFunc(top, strongerContrib)
	for _, c := range cs[k:] {
		if strongerContrib(c, top[k-1]) >= 0 {
			continue
		}
		i, _ := slices.BinarySearchFunc(top, c, strongerContrib)
		copy(top[i+1:], top[i:k-1])
		top[i] = c
	}
	return top
}

// contribHit is a contrib with its n-gram.
type contribHit struct {
	gramHit
	w float64
}

// modelEvidence returns the phrases that pushed category c (a model index)
// up most: the strongest n-grams, merged where they touch, at most
// maxModelEvidence phrases, each weighted by what its n-grams added to the
// raw score.
func (a *Analyzer) modelEvidence(m *Model, run *modelRun, c int, code string) []Evidence {
	// Single characters explain nothing to a reader: evidence is made of
	// the longer n-grams, the only ones runModel keeps.
	cs := run.cs[:0]
	scale := float64(m.scale[c])
	for i, h := range run.hits {
		norm := run.norm
		if h.word {
			norm = run.wnorm
		}
		w := float64(m.recWeights(h.row)[c]) * scale * norm
		if w > 0 {
			cs = append(cs, contrib{w, int32(i)})
		}
	}
	run.cs = cs
	return evidencePhrases(run.hits, cs, "model/"+code, code)
}

// evidencePhrases returns the phrases grown from the strongest
// contributions cs (indexes into hits): n-grams overlapping or touching a
// phrase join it, at most maxModelEvidence phrases, each weighted by what
// its n-grams added. It reorders cs.
func evidencePhrases(hits []gramHit, cs []contrib, rule, code string) []Evidence {
	if len(cs) == 0 {
		return nil
	}
	// Phrases grow from the strongest n-grams; n-grams overlapping or
	// touching a phrase join it.
	type phrase struct {
		field      *fieldMatches
		start, end int
		w          float64
	}
	var buf [maxModelEvidence]phrase
	ps := buf[:0]
	for _, t := range strongest(cs, evidenceGrams) {
		h := contribHit{hits[t.hit], t.w}
		joined := false
		for i := range ps {
			p := &ps[i]
			if p.field == h.field && h.start <= p.end && h.end >= p.start {
				p.start, p.end = min(p.start, h.start), max(p.end, h.end)
				p.w += h.w
				joined = true
				break
			}
		}
		if !joined && len(ps) < maxModelEvidence {
			ps = append(ps, phrase{h.field, h.start, h.end, h.w})
		}
	}
	out := make([]Evidence, 0, len(ps))
	for _, p := range ps {
		os, oe := p.field.nz.OrigSpan(p.start, p.end)
		out = append(out, Evidence{
			Rule:     rule,
			Category: code,
			Field:    p.field.name,
			Text:     p.field.origText(os, oe),
			Start:    os,
			End:      oe,
			Weight:   round2(p.w),
		})
	}
	return out
}

// assessWithModel replaces the lexicon's categories and level with the
// model's: a category is detected when its probability reaches the model's
// threshold, and a detected category's level comes from the severity
// rubric. Categories the lexicons scored but the model does not detect stay
// listed at level none, so the evidence keeps its context.
func (a *Analyzer) assessWithModel(as *Assessment, acc []catScore, fields []*fieldMatches) {
	m := a.model
	run := a.runModel(m, fields, acc)
	defer run.release()
	lex := make(map[string]float64, len(as.Categories))
	for _, c := range as.Categories {
		lex[c.Code] = c.Score
	}
	// First which categories the model (or the lexicons' override)
	// detects, then which of them are too weak beside the strongest.
	detected := run.det[:0]
	byModel := run.byModel[:0]
	top := 0.0
	for i, c := range a.cats {
		j := a.modelCat[i]
		if j < 0 {
			detected, byModel = append(detected, false), append(byModel, false)
			continue
		}
		p := run.prob[j]
		model := p >= m.Info.Thresholds[j]
		det := model
		// Lexicon evidence that alone reaches the critical score (several
		// independent hazard terms and rules, none negated) is detected
		// whatever the model says: short posts in words the training data
		// rarely used are where the model is weakest.
		if !det && acc[i].raw*c.lex.Severity >= a.th.Critical {
			det = true
		}
		// Lexicon hits of the category negated or excluded (a drill, a
		// rebuttal, a film) and little else counted: the model must be
		// sure.
		if det && acc[i].raw*c.lex.Severity < a.th.Medium && len(acc[i].supp) > 0 && p < suppressedMinProb {
			det = false
		}
		if det {
			top = max(top, p)
		}
		detected, byModel = append(detected, det), append(byModel, model)
	}
	run.det, run.byModel = detected, byModel
	cues, cuesDone := run.cues, run.cuesDone
	learned := -1   // the level model's rank, once read
	raised := false // whether it raised a category's level
	cats := make([]CategoryScore, 0, len(as.Categories)+1)
	for i, c := range a.cats {
		j := a.modelCat[i]
		if j < 0 {
			continue
		}
		code := c.lex.Code
		p := run.prob[j]
		det := detected[i]
		// A category the model detects at under secondaryMinShare of the
		// post's strongest category is that category's neighbour (the
		// fire of an explosion, the collapse of a site accident), not a
		// hazard of its own; the lexicons' override is kept.
		if det && byModel[i] && p < secondaryMinShare*top {
			det = false
		}
		ls, hasLex := lex[code]
		if !det && !hasLex {
			continue
		}
		cs := CategoryScore{Code: code, Score: round2(10 * p), Probability: round4(p), Level: LevelNone, Lexicon: ls}
		if det {
			if !cuesDone {
				cues, cuesDone = fieldCues(fields), true
			}
			cs.Level = SeverityLevel(code, cues)
			if lm := m.Info.Levels; lm != nil {
				if learned < 0 {
					learned = a.rankRun(lm, run, fields, acc, cues)
				}
				rubric := cs.Level
				cs.Level = combineLevel(code, rubric, learned)
				raised = raised || cs.Level != combineLevel(code, rubric, LevelRank(LevelNone))
			}
			as.Evidence = append(as.Evidence, a.modelEvidence(m, run, j, code)...)
		}
		cats = append(cats, cs)
	}
	slices.SortStableFunc(cats, func(x, y CategoryScore) int {
		if d := cmp.Compare(LevelRank(y.Level), LevelRank(x.Level)); d != 0 {
			return d
		}
		if d := cmp.Compare(y.Probability, x.Probability); d != 0 {
			return d
		}
		return cmp.Compare(x.Code, y.Code)
	})
	as.Categories = cats
	as.Level, as.Score = LevelNone, 0
	if len(cats) > 0 {
		as.Level, as.Score = cats[0].Level, cats[0].Score
	}
	as.Severity = cues
	if raised {
		as.Severity = append(as.Severity, a.levelCues(m.Info.Levels, fields, learned)...)
	}
}

// fieldCues finds the severity cues of every field.
func fieldCues(fields []*fieldMatches) []SeverityCue {
	var out []SeverityCue
	for _, fm := range fields {
		if fm.orig == "" {
			continue
		}
		for _, c := range severityCuesOf(fm.orig, fm.nz, fm.sev) {
			c.Field = fm.name
			out = append(out, c)
		}
	}
	return out
}

func round4(f float64) float64 { return math.Round(f*1e4) / 1e4 }

// ModelProbabilities returns the model's calibrated probability of every
// model category for in (nil without a model), in Model().Info.Categories
// order. Evaluation uses it for precision-recall curves.
func (a *Analyzer) ModelProbabilities(in Input) []float64 {
	if a.model == nil {
		return nil
	}
	acc, fields := a.lexiconScore(in)
	run := a.runModel(a.model, fields, acc)
	defer run.release()
	return slices.Clone(run.prob)
}

// gramSet is a set of n-gram keys for one post: open addressing over a
// power-of-two table, cleared by the slots it used, reused through a pool.
type gramSet struct {
	slots []uint32 // key+1, 0 empty
	used  []uint32 // slots filled, to clear
	n     int
}

// reset empties the set and sizes it for the n-grams of fields.
func (g *gramSet) reset(fields []*fieldMatches) {
	for _, i := range g.used {
		g.slots[i] = 0
	}
	g.used, g.n = g.used[:0], 0
	want := 0
	for _, fm := range fields {
		want += maxGramOrder * min(fm.nz.RuneLen(), maxModelRunes)
	}
	size := 64
	for size < 2*want {
		size *= 2
	}
	if len(g.slots) < size {
		g.slots = make([]uint32, size)
	}
}

// add puts k in the set and reports whether it was new.
func (g *gramSet) add(k uint32) bool {
	mask := uint32(len(g.slots) - 1)
	for i := (k * 0x9E3779B1) & mask; ; i = (i + 1) & mask {
		switch g.slots[i] {
		case 0:
			g.slots[i] = k + 1
			g.used = append(g.used, i)
			g.n++
			return true
		case k + 1:
			return false
		}
	}
}
