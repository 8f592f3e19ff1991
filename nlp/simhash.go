package nlp

import (
	"math"
	"math/bits"
	"strings"
	"unsafe"
)

// maxKeywords is how many keywords an assessment lists.
const maxKeywords = 10

// stopWords are frequent function words left out of fingerprints and
// keywords.
var stopWords = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(`的 了 是 在 和 与 及 或 也 都 就 而 被 把 对 从 到 向 为 以 于 之 其 这 那 这个 那个 这些 那些 有 没有 不 没 很 还 又 再 我 你 他 她 它 我们 你们 他们 她们 它们 自己 一个 一些 一种 什么 怎么 如何 为什么 因为 所以 但是 但 如果 可以 已经 正在 将 会 要 能 让 给 等 等等 着 过 吗 呢 吧 啊 哦 嗯 呀 哈 么 个 上 下 中 里 后 前 时 年 月 日 号 点 分 说 表示 称 据 记者 报道 今天 昨天 目前 现在 进行 通过 相关 一起 这样 那样 还是 以及 并 且 则 即 该 此 各 每 更 最 非常 比较 因此 然后 同时 其中`) {
		m[w] = true
	}
	return m
}()

// wordStat is one distinct word of a post.
type wordStat struct {
	w    string
	tf   int
	freq float64 // dictionary frequency (gse), 0 outside the dictionary
}

// fingerprint segments the normalised fields and returns their SimHash and
// keywords (hazard terms of the evidence first, then words by tf·idf, the
// idf taken from the segmenter dictionary's word frequencies), and with
// words set the fields' search-mode words from the same segmentation.
func fingerprint(fields []*fieldMatches, ev []Evidence, ruleIDs map[string]bool, words bool) (uint64, []string, []FieldWords) {
	n := 0
	for _, fm := range fields {
		n += len(fm.nz.Text)
	}
	idx := make(map[string]int32, n/12+4)
	stats := make([]wordStat, 0, n/12+4)
	var fws []FieldWords
	seg := segmenter()
	for _, fm := range fields {
		text := fm.nz.Text
		if text == "" {
			continue
		}
		segs := fm.segs
		if !fm.segsDone || !fm.segsWhole {
			segs = seg.Segment(unsafe.Slice(unsafe.StringData(text), len(text)))
		}
		if words {
			fws = append(fws, FieldWords{Field: fm.name, Normalized: text, Orig: fm.nz.Orig, Tokens: searchTokens(text, segs)})
		}
		for _, g := range segs {
			w := text[g.Start():g.End()]
			if k, ok := idx[w]; ok {
				stats[k].tf++
				continue
			}
			if stopWords[w] || !isWordToken(w) {
				continue
			}
			idx[w] = int32(len(stats))
			stats = append(stats, wordStat{w: w, tf: 1, freq: g.Token().Freq()})
		}
	}
	if len(stats) == 0 {
		return 0, nil, fws
	}
	var v [64]int
	for _, ws := range stats {
		x := fnv64a(ws.w)
		for i := 0; i < 64; i++ {
			// +tf for a set bit, -tf for a clear one, without a branch
			// (the bits are random, so a branch mispredicts half the time).
			v[i] += ws.tf * (int(x>>uint(i)&1)*2 - 1)
		}
	}
	var sh uint64
	for i := 0; i < 64; i++ {
		if v[i] > 0 {
			sh |= 1 << uint(i)
		}
	}

	// Hazard terms first, as the lexicon writes them (a variant or a
	// traditional spelling counts as its term): "fire/火灾" gives 火灾.
	// Rules ("fire/brigade") and intensifiers ("fire/+死亡") are no terms.
	var kw []string
	seen := map[string]bool{}
	for _, e := range ev {
		i := strings.IndexByte(e.Rule, '/')
		term := e.Rule[i+1:]
		if i < 0 || strings.HasPrefix(term, "+") || strings.HasPrefix(e.Rule, "model/") || ruleIDs[e.Rule] || seen[term] {
			continue
		}
		seen[term] = true
		kw = append(kw, term)
		if len(kw) >= maxKeywords/2 {
			break
		}
	}
	// Keep the best few candidates by tf·idf without sorting them all.
	type cand struct {
		w string
		s float64
	}
	best := make([]cand, 0, maxKeywords)
	better := func(a, b cand) bool { return a.s > b.s || a.s == b.s && a.w < b.w }
	for _, ws := range stats {
		if seen[ws.w] || len(ws.w) < 4 { // fewer than two Han runes
			continue
		}
		f := ws.freq
		if f < 3 {
			f = 3 // a word outside the dictionary weighs like a rare one
		}
		c := cand{ws.w, float64(ws.tf) * (segLogF - math.Log2(f))}
		if len(best) == cap(best) && !better(c, best[len(best)-1]) {
			continue
		}
		if len(best) < cap(best) {
			best = append(best, c)
		} else {
			best[len(best)-1] = c
		}
		for k := len(best) - 1; k > 0 && better(best[k], best[k-1]); k-- {
			best[k], best[k-1] = best[k-1], best[k]
		}
	}
	for _, c := range best {
		if len(kw) >= maxKeywords {
			break
		}
		kw = append(kw, c.w)
	}
	return sh, kw, fws
}

// fnv64a is the 64-bit FNV-1a hash of s.
func fnv64a(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// HammingDistance is the number of bits in which two SimHashes differ;
// near-duplicate posts differ in few (≤ 3 of 64 is the usual cut).
func HammingDistance(a, b uint64) int {
	return bits.OnesCount64(a ^ b)
}
