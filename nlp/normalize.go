package nlp

import (
	"sort"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/longbridgeapp/opencc"
	"golang.org/x/text/unicode/norm"
)

// Normalized is a normalised text with a map back to the text it came from.
//
// Text is the NFKC width-folded, simplified, lower-cased text without
// zero-width characters and without separators inserted between Han
// characters. Orig[i] is the rune offset, in the original, of the rune that
// produced the i-th rune of Text.
type Normalized struct {
	// Text is the normalised text.
	Text string
	// Orig maps each rune of Text to the rune offset in the original.
	Orig []int32
	// OrigRunes is the number of runes of the original text (invalid UTF-8
	// bytes count one rune each, as in []rune(s)).
	OrigRunes int

	runeByte   []int32 // byte offset in Text of each rune of Text, plus len(Text)
	sentEnds   []int32 // rune offsets in Text of sentence-ending runes, ascending
	clauseEnds []int32 // rune offsets in Text of clause-ending runes (incl. sentence ends)
	spaceGaps  []int32 // rune offsets in Text after which white space between Han runes was dropped
}

// NormalizeText returns the normalised form of s (see Normalize) without the
// offset map. The index analyzer uses it so queries and documents fold alike.
func NormalizeText(s string) string {
	out, _, _ := normalizeRunes(s)
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range out {
		b.WriteRune(r)
	}
	return b.String()
}

// Normalize folds s for matching: NFKC width folding, traditional to
// simplified Chinese (OpenCC t2s), lower case, no zero-width characters, and
// no dodge separators between Han characters (诈 骗, 诈*骗, 诈-骗, 诈.骗 all
// become 诈骗). Sentence punctuation (。！？；and line breaks) is kept, so
// sentence rules still see sentence ends. Invalid UTF-8 bytes become U+FFFD.
func Normalize(s string) Normalized {
	out, orig, gaps := normalizeRunes(s)
	// RuneCountInString counts an invalid byte as one rune, as range does.
	nz := Normalized{Orig: orig, OrigRunes: utf8.RuneCountInString(s), spaceGaps: gaps}
	var b strings.Builder
	b.Grow(len(out) * 3)
	nz.runeByte = make([]int32, 0, len(out)+1)
	for i, r := range out {
		nz.runeByte = append(nz.runeByte, int32(b.Len()))
		b.WriteRune(r)
		switch {
		case isSentenceEnd(r):
			nz.sentEnds = append(nz.sentEnds, int32(i))
			nz.clauseEnds = append(nz.clauseEnds, int32(i))
		case isClauseEnd(r):
			nz.clauseEnds = append(nz.clauseEnds, int32(i))
		case len(gaps) > 0 && gaps[0] == int32(i):
			// White space dropped after this rune: in posts it often
			// stands for a comma, so a negation does not reach across.
			nz.clauseEnds = append(nz.clauseEnds, int32(i))
		}
		for len(gaps) > 0 && gaps[0] <= int32(i) {
			gaps = gaps[1:]
		}
	}
	nz.runeByte = append(nz.runeByte, int32(b.Len()))
	nz.Text = b.String()
	return nz
}

// normalizeRunes does the work of Normalize: the normalised runes, the
// original rune offset of each, and the dropped-space gaps (see
// dropDodgeSeparators).
func normalizeRunes(s string) (out []rune, orig []int32, gaps []int32) {
	t2s := loadT2S()
	out = make([]rune, 0, len(s)/2+8)
	orig = make([]int32, 0, len(s)/2+8)
	var (
		idx int32
		buf [utf8.UTFMax]byte
		nfk []byte
		raw []rune // pre-simplification runes, kept once a traditional rune is seen
	)
	for _, r := range s {
		i := idx
		idx++
		switch {
		case r < utf8.RuneSelf:
			if r >= 'A' && r <= 'Z' {
				r += 'a' - 'A'
			} else if r < 0x20 && r != '\n' && r != '\t' {
				r = ' '
			} else if r == 0x7f {
				r = ' '
			}
			out = append(out, r)
			orig = append(orig, i)
			if raw != nil {
				raw = append(raw, r)
			}
			continue
		case r >= hanLo && r <= hanHi:
			p := r
			if m := t2s.han[r-hanLo]; m != 0 {
				r = m
				if raw == nil {
					raw = append(make([]rune, 0, cap(out)), out...)
				}
			}
			out = append(out, r)
			orig = append(orig, i)
			if raw != nil {
				raw = append(raw, p)
			}
			continue
		case r >= 0xFF01 && r <= 0xFF5E:
			// Full-width ASCII: NFKC maps it to ASCII.
			r -= 0xFEE0
			if r >= 'A' && r <= 'Z' {
				r += 'a' - 'A'
			}
			out = append(out, r)
			orig = append(orig, i)
			if raw != nil {
				raw = append(raw, r)
			}
			continue
		case r > 0x3000 && r < 0x3036, r >= 0x3041 && r <= 0x3096, r >= 0x30A1 && r <= 0x30FA:
			// CJK punctuation and kana: NFKC leaves them as they are.
			out = append(out, r)
			orig = append(orig, i)
			if raw != nil {
				raw = append(raw, r)
			}
			continue
		case isZeroWidth(r):
			continue
		}
		// Rare runes: full NFKC of the rune alone, then simplification and
		// case folding of each resulting rune.
		n := utf8.EncodeRune(buf[:], r)
		nfk = norm.NFKC.Append(nfk[:0], buf[:n]...)
		for len(nfk) > 0 {
			q, sz := utf8.DecodeRune(nfk)
			nfk = nfk[sz:]
			if isZeroWidth(q) {
				continue
			}
			p := q
			if m := t2s.lookup(q); m != 0 {
				q = m
				if raw == nil {
					raw = append(make([]rune, 0, cap(out)), out...)
				}
			}
			q = unicode.ToLower(q)
			if q < 0x20 && q != '\n' && q != '\t' {
				q, p = ' ', ' '
			}
			out = append(out, q)
			orig = append(orig, i)
			if raw != nil {
				raw = append(raw, p)
			}
		}
	}
	if raw != nil {
		t2s.phrases(out, raw)
	}
	return dropDodgeSeparators(out, orig)
}

// RuneLen is the number of runes of the normalised text.
func (n *Normalized) RuneLen() int { return len(n.Orig) }

// runeAt returns the rune index in Text of byte offset b (which must be a
// rune start or len(Text)).
func (n *Normalized) runeAt(b int) int {
	return sort.Search(len(n.runeByte), func(i int) bool { return int(n.runeByte[i]) >= b })
}

// OrigSpan maps the rune range [start, end) of Text to the rune range of the
// original text that produced it. Separators dropped inside the range are
// part of the original span.
func (n *Normalized) OrigSpan(start, end int) (int, int) {
	if start >= end || start < 0 || end > len(n.Orig) {
		return 0, 0
	}
	return int(n.Orig[start]), int(n.Orig[end-1]) + 1
}

// countIn returns how many of the ascending positions in ends lie in [lo, hi).
func countIn(ends []int32, lo, hi int) int {
	a := sort.Search(len(ends), func(i int) bool { return int(ends[i]) >= lo })
	b := sort.Search(len(ends), func(i int) bool { return int(ends[i]) >= hi })
	return b - a
}

// sameSentence reports whether the rune range [lo, hi) holds no sentence end
// except possibly at its last rune.
func (n *Normalized) sameSentence(lo, hi int) bool {
	return countIn(n.sentEnds, lo, hi-1) == 0
}

// sameClause is sameSentence for clause punctuation (，、：also end clauses).
func (n *Normalized) sameClause(lo, hi int) bool {
	return countIn(n.clauseEnds, lo, hi-1) == 0
}

// acrossSpace reports whether the rune range [lo, hi) spans white space that
// normalisation dropped between Han runes. Dodging a filter is done on
// hazard words, not on the cues around them: a cue or exclusion read across
// such a gap (我想死 我 → 想死我) is a false match.
func (n *Normalized) acrossSpace(lo, hi int) bool {
	return countIn(n.spaceGaps, lo, hi-1) > 0
}

// sentenceBounds returns the rune range of the sentence holding rune i.
func (n *Normalized) sentenceBounds(i int) (int, int) {
	k := sort.Search(len(n.sentEnds), func(j int) bool { return int(n.sentEnds[j]) >= i })
	lo := 0
	if k > 0 {
		lo = int(n.sentEnds[k-1]) + 1
	}
	hi := len(n.Orig)
	if k < len(n.sentEnds) {
		hi = int(n.sentEnds[k]) + 1
	}
	return lo, hi
}

func isZeroWidth(r rune) bool {
	switch {
	case r >= 0x200B && r <= 0x200F, r >= 0x202A && r <= 0x202E, r >= 0x2060 && r <= 0x2064,
		r == 0xFEFF, r == 0x00AD, r == 0x180E, r == 0x034F,
		r >= 0xFE00 && r <= 0xFE0F:
		return true
	}
	return false
}

func isSentenceEnd(r rune) bool {
	switch r {
	case '。', '!', '?', ';', '\n', '！', '？', '；', '…':
		return true
	}
	return false
}

func isClauseEnd(r rune) bool {
	switch r {
	case ',', '、', ':', '，', '：', '(', ')', '"', '“', '”', '「', '」', '『', '』', '【', '】', '《', '》':
		return true
	}
	return false
}

func isHan(r rune) bool {
	if r >= 0x4E00 && r <= 0x9FFF {
		return true
	}
	return r >= 0x3400 && unicode.Is(unicode.Han, r)
}

// isDodgeSeparator reports runes people insert between characters of a
// banned word (after NFKC folding, so full-width forms are included).
func isDodgeSeparator(r rune) bool {
	switch r {
	case ' ', '\t', '*', '-', '.', '_', '·', '•', '/', '\\', '|', '~', '`', '\'', '#', '+', '=', '^', '@', '$', '%', '&',
		'・', '°', '○', '●', '☆', '★', '♡', '❤', '♥', '×', '—', '–', '～', '〇', '¤', '§', '▪', '■', '□', '◆', '◇', '※':
		return true
	}
	return false
}

// maxDodge is the longest run of separators removed between two Han runes.
const maxDodge = 3

// dropDodgeSeparators removes short runs of separators between Han runes.
// Its output slices alias its input. gaps lists, ascending, the output index
// of the rune before each removed run that held white space.
func dropDodgeSeparators(rs []rune, orig []int32) (out []rune, outOrig []int32, gaps []int32) {
	w := 0
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		if isDodgeSeparator(r) && w > 0 && isHan(rs[w-1]) {
			j := i
			for j < len(rs) && j-i < maxDodge+1 && isDodgeSeparator(rs[j]) {
				j++
			}
			if j-i <= maxDodge && j < len(rs) && isHan(rs[j]) {
				for k := i; k < j; k++ {
					if rs[k] == ' ' || rs[k] == '\t' {
						gaps = append(gaps, int32(w-1))
						break
					}
				}
				i = j - 1
				continue
			}
		}
		rs[w] = r
		orig[w] = orig[i]
		w++
	}
	return rs[:w], orig[:w], gaps
}

// t2sTable holds the traditional→simplified character table taken from
// OpenCC's t2s conversion, and the converter for phrase-level fixes.
type t2sTable struct {
	han [hanHi - hanLo + 1]rune // simplified form by rune - hanLo; 0 when unchanged
	cc  *opencc.OpenCC
}

// The rune table covers CJK Extension A and the Unified Ideographs; the few
// compatibility ideographs (U+F900…) are folded by NFKC first.
const (
	hanLo = 0x3400
	hanHi = 0x9FFF
)

// lookup returns the simplified form of r, or 0 when r is not traditional.
func (t *t2sTable) lookup(r rune) rune {
	if r < hanLo || r > hanHi {
		return 0
	}
	return t.han[r-hanLo]
}

var (
	t2sOnce sync.Once
	t2sTab  *t2sTable
)

// loadT2S builds the rune table once per process. OpenCC converts about
// 7 MB/s, too slow to run over every post, so the table is derived from
// OpenCC by converting every CJK ideograph once (one per line, so no phrase
// rule joins neighbours); only texts that hold a traditional character go
// through OpenCC's phrase conversion.
func loadT2S() *t2sTable {
	t2sOnce.Do(func() {
		t := &t2sTable{}
		cc, err := opencc.New("t2s")
		if err == nil {
			t.cc = cc
			var b strings.Builder
			add := func(lo, hi rune) {
				for r := lo; r <= hi; r++ {
					b.WriteRune(r)
					b.WriteByte('\n')
				}
			}
			add(hanLo, hanHi)
			in := b.String()
			if out, err := cc.Convert(in); err == nil {
				il, ol := strings.Split(in, "\n"), strings.Split(out, "\n")
				if len(il) == len(ol) {
					for i := range il {
						if il[i] == ol[i] || utf8.RuneCountInString(il[i]) != 1 || utf8.RuneCountInString(ol[i]) != 1 {
							continue
						}
						a, _ := utf8.DecodeRuneInString(il[i])
						z, _ := utf8.DecodeRuneInString(ol[i])
						if a >= hanLo && a <= hanHi && z != a {
							t.han[a-hanLo] = z
						}
					}
				}
			}
		}
		t2sTab = t
	})
	return t2sTab
}

// phrases applies OpenCC's phrase conversion to runs of Han runes that held a
// traditional character: raw holds the runes before the rune table, out the
// runes after it. A run whose phrase conversion changes its length keeps the
// rune-table result so that the offset map stays one to one.
func (t *t2sTable) phrases(out, raw []rune) {
	if t.cc == nil || len(out) != len(raw) {
		return
	}
	for i := 0; i < len(raw); {
		if !isHan(raw[i]) {
			i++
			continue
		}
		j, changed := i, false
		for j < len(raw) && isHan(raw[j]) {
			if raw[j] != out[j] {
				changed = true
			}
			j++
		}
		if changed && j-i >= 2 && j-i <= 256 {
			if conv, err := t.cc.Convert(string(raw[i:j])); err == nil {
				if cr := []rune(conv); len(cr) == j-i {
					copy(out[i:j], cr)
				}
			}
		}
		i = j
	}
}
