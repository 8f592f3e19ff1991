package nlp

import (
	"hash/fnv"
	"math/bits"
	"sort"
	"strings"
	"unicode/utf8"
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

// fingerprint segments the normalised fields and returns their SimHash and
// keywords (hazard terms of the evidence first, then words by tf·idf).
func fingerprint(fields []*fieldMatches, ev []Evidence) (uint64, []string) {
	tf := map[string]int{}
	var order []string
	for _, fm := range fields {
		for _, t := range segment(fm.nz.Text) {
			w := t.Text
			if stopWords[w] || !isWordToken(w) {
				continue
			}
			if tf[w] == 0 {
				order = append(order, w)
			}
			tf[w]++
		}
	}
	if len(tf) == 0 {
		return 0, nil
	}
	var v [64]float64
	h := fnv.New64a()
	for _, w := range order {
		h.Reset()
		_, _ = h.Write([]byte(w))
		x := h.Sum64()
		wt := float64(tf[w])
		for i := 0; i < 64; i++ {
			if x&(1<<uint(i)) != 0 {
				v[i] += wt
			} else {
				v[i] -= wt
			}
		}
	}
	var sh uint64
	for i := 0; i < 64; i++ {
		if v[i] > 0 {
			sh |= 1 << uint(i)
		}
	}

	var kw []string
	seen := map[string]bool{}
	for _, e := range ev {
		w := NormalizeText(e.Text)
		if strings.Contains(e.Rule, "/+") || utf8.RuneCountInString(w) > 8 || seen[w] {
			continue
		}
		seen[w] = true
		kw = append(kw, w)
		if len(kw) >= maxKeywords/2 {
			break
		}
	}
	type cand struct {
		w string
		s float64
	}
	var cs []cand
	for _, w := range order {
		if seen[w] || utf8.RuneCountInString(w) < 2 {
			continue
		}
		cs = append(cs, cand{w, float64(tf[w]) * wordIDF(w)})
	}
	sort.SliceStable(cs, func(i, j int) bool {
		if cs[i].s != cs[j].s {
			return cs[i].s > cs[j].s
		}
		return cs[i].w < cs[j].w
	})
	for _, c := range cs {
		if len(kw) >= maxKeywords {
			break
		}
		kw = append(kw, c.w)
	}
	return sh, kw
}

// HammingDistance is the number of bits in which two SimHashes differ;
// near-duplicate posts differ in few (≤ 3 of 64 is the usual cut).
func HammingDistance(a, b uint64) int {
	return bits.OnesCount64(a ^ b)
}
