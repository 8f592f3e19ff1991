package nlp

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"math/bits"
	"os"
	"sort"
	"strings"
	"time"
)

// A Model is a trained multi-label classifier: one logistic regression per
// category over hashed character n-grams of the normalised text, the
// lexicon hits (with their negation and exclusion state) and the post's
// length, each calibrated (Platt scaling on out-of-fold scores) into a
// probability, with a threshold chosen per category. It is read-only once
// loaded and safe for concurrent use.
type Model struct {
	Info ModelInfo

	catIndex map[string]int
	bias     []float32
	scale    []float32 // per category: weight = int16 * scale
	// table maps a feature key to its row: open addressing, keys+1 (0 is
	// an empty slot), len a power of two.
	slots []uint32
	rows  []uint32 // row of each slot
	w     []int16  // rows * len(categories)
	// The scoring table, built from the above when the model is loaded:
	// recs holds per filled slot, in slot order, the feature's key (two
	// uint16) then its weights, recStride int16 each, so a known n-gram
	// costs one read of main memory; occ marks the filled slots with the
	// count of filled slots before each word, so a feature the model does
	// not know is mostly turned away by occ (a few hundred KB, in cache).
	recs      []int16
	recStride int
	occ       []occWord
}

// occWord is 64 slots of the table: which are filled, and how many slots
// before them are.
type occWord struct {
	bits uint64
	rank uint32
}

// ModelInfo describes a model: what it was trained on, how, and what it
// reached. It is stored as JSON in the model file.
type ModelInfo struct {
	// Version names the model (riskmine-<date>-<hash>).
	Version string `json:"version"`
	// TrainedAt is when training ended.
	TrainedAt time.Time `json:"trained_at"`
	// Categories are the category codes, in the order of the weights.
	Categories []string `json:"categories"`
	// Platt holds per category the calibration a, b: p = σ(a·s + b).
	Platt [][2]float64 `json:"platt"`
	// Thresholds are per category the calibrated probability at which the
	// category is detected.
	Thresholds []float64 `json:"thresholds"`
	// Features describes the feature set; a model is only read by code
	// that computes the same features.
	Features string `json:"features"`
	// Sources lists the training files with their record counts.
	Sources []ModelSource `json:"sources"`
	// Examples is the number of training posts (verdicts included).
	Examples int `json:"examples"`
	// Figures are per category out-of-fold figures at the threshold.
	Figures []ModelFigure `json:"figures"`
	// Base is the version of the model a verdict stage was trained over,
	// "" for a model trained from files.
	Base string `json:"base,omitempty"`
	// Verdicts is the number of analyst verdicts in training.
	Verdicts int `json:"verdicts,omitempty"`
}

// ModelSource is one training file.
type ModelSource struct {
	Name  string `json:"name"`
	Posts int    `json:"posts"`
}

// ModelFigure is a category's out-of-fold figures at its threshold.
type ModelFigure struct {
	Code      string  `json:"code"`
	Positives int     `json:"positives"`
	Recall    float64 `json:"recall"`
	Precision float64 `json:"precision"`
	FPR       float64 `json:"fpr"`
}

// The feature sets this code computes; a model file made for another set is
// refused. A model names its set in ModelInfo.Features.
const (
	// featureSetChars: character 1–3-grams, lexicon hits, length.
	featureSetChars = "char1-3-distinct/hash22/len/lex2:v2"
	// featureSetWords: featureSetChars plus gse words and word bigrams.
	featureSetWords = "char1-3-distinct/word1-2/hash22/len/lex2:v3"
	// featureSetCharsReg: featureSetChars plus the register features
	// (register.go).
	featureSetCharsReg = "char1-3-distinct/hash22/len/lex2/reg1:v4"
	// featureSetWordsReg: featureSetWords plus the register features.
	featureSetWordsReg = "char1-3-distinct/word1-2/hash22/len/lex2/reg1:v4"
	// domainSuffix replaces the version of any set above in a set with
	// the domain copies (postDomain): "…/lex2:v2" becomes
	// "…/lex2/dom-court-short120:v5".
	domainSuffix = "/dom-court-short120:v5"
)

// featureFlags are the optional parts of a feature set.
type featureFlags struct {
	words     bool // gse words and word pairs
	registers bool // register features
	domains   bool // court records' and short posts' n-grams and lexicon features also under their domain's keys
}

// featureSetName names the feature set of ff.
func (ff featureFlags) featureSetName() string {
	if ff.domains {
		base := featureFlags{words: ff.words, registers: ff.registers}.featureSetName()
		return base[:strings.LastIndexByte(base, ':')] + domainSuffix
	}
	switch {
	case ff.words && ff.registers:
		return featureSetWordsReg
	case ff.words:
		return featureSetWords
	case ff.registers:
		return featureSetCharsReg
	}
	return featureSetChars
}

// featureSetFlags returns the flags of the feature set fs, and whether this
// code computes it.
func featureSetFlags(fs string) (featureFlags, bool) {
	if stem, ok := strings.CutSuffix(fs, domainSuffix); ok {
		for _, ff := range [...]featureFlags{{}, {words: true}, {registers: true}, {words: true, registers: true}} {
			if base := ff.featureSetName(); base[:strings.LastIndexByte(base, ':')] == stem {
				ff.domains = true
				return ff, true
			}
		}
		return featureFlags{}, false
	}
	switch fs {
	case featureSetChars:
		return featureFlags{}, true
	case featureSetWords:
		return featureFlags{words: true}, true
	case featureSetCharsReg:
		return featureFlags{registers: true}, true
	case featureSetWordsReg:
		return featureFlags{words: true, registers: true}, true
	}
	return featureFlags{}, false
}

// knownFeatureSet reports whether this code computes the feature set fs.
func knownFeatureSet(fs string) bool {
	_, ok := featureSetFlags(fs)
	return ok
}

// flags returns the optional parts of the model's feature set.
func (m *Model) flags() featureFlags {
	ff, _ := featureSetFlags(m.Info.Features)
	return ff
}

// words reports whether the model reads gse word features.
func (m *Model) words() bool { return m.flags().words }

// UsesWords reports whether scoring with the model segments the text into
// words (gse), which needs the segmenter's dictionary.
func (m *Model) UsesWords() bool { return m != nil && m.words() }

// modelMagic starts every model file (inside the gzip stream).
var modelMagic = []byte("riskmine-model\x00\x01")

// ReadModel reads a model file written by Model.WriteTo.
func ReadModel(path string) (*Model, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("nlp: model %s: %w", path, err)
	}
	defer f.Close()
	m, err := DecodeModel(bufio.NewReader(f))
	if err != nil {
		return nil, fmt.Errorf("nlp: model %s: %w", path, err)
	}
	return m, nil
}

// DecodeModel reads a model from r. Errors say what was expected.
func DecodeModel(r io.Reader) (*Model, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, errors.New("not a riskmine model: expected a gzip stream")
	}
	raw, err := io.ReadAll(io.LimitReader(zr, 512<<20))
	if err != nil {
		return nil, fmt.Errorf("truncated or damaged model: %v", err)
	}
	if !bytes.HasPrefix(raw, modelMagic) {
		return nil, errors.New("not a riskmine model: the header is missing")
	}
	raw = raw[len(modelMagic):]
	if len(raw) < 4 {
		return nil, errors.New("truncated model: no checksum")
	}
	body, sum := raw[:len(raw)-4], binary.LittleEndian.Uint32(raw[len(raw)-4:])
	if crc32.ChecksumIEEE(body) != sum {
		return nil, errors.New("damaged model: checksum mismatch")
	}
	rd := bytes.NewReader(body)
	var hl uint32
	if err := binary.Read(rd, binary.LittleEndian, &hl); err != nil || int(hl) > rd.Len() {
		return nil, errors.New("truncated model: header")
	}
	hdr := make([]byte, hl)
	_, _ = io.ReadFull(rd, hdr)
	m := &Model{}
	if err := json.Unmarshal(hdr, &m.Info); err != nil {
		return nil, fmt.Errorf("damaged model header: %v", err)
	}
	if !knownFeatureSet(m.Info.Features) {
		return nil, fmt.Errorf("model features %q, expected one of %q, %q, %q or %q, or one with %q (made by another riskmine version)", m.Info.Features, featureSetChars, featureSetWords, featureSetCharsReg, featureSetWordsReg, domainSuffix)
	}
	nc := len(m.Info.Categories)
	if nc == 0 || len(m.Info.Platt) != nc || len(m.Info.Thresholds) != nc {
		return nil, errors.New("damaged model header: categories, calibration and thresholds disagree")
	}
	var nrows, nslots uint32
	if binary.Read(rd, binary.LittleEndian, &nrows) != nil || binary.Read(rd, binary.LittleEndian, &nslots) != nil {
		return nil, errors.New("truncated model: table size")
	}
	if nslots&(nslots-1) != 0 || nrows > nslots || int64(nslots)*8+int64(nrows)*int64(nc)*2+int64(nc)*8 != int64(rd.Len()) {
		return nil, errors.New("damaged model: table sizes disagree with the file's length")
	}
	m.bias = make([]float32, nc)
	m.scale = make([]float32, nc)
	m.slots = make([]uint32, nslots)
	m.rows = make([]uint32, nslots)
	m.w = make([]int16, int(nrows)*nc)
	for _, v := range []any{m.bias, m.scale, m.slots, m.rows, m.w} {
		if err := binary.Read(rd, binary.LittleEndian, v); err != nil {
			return nil, errors.New("truncated model: weights")
		}
	}
	for _, r := range m.rows {
		if r >= nrows && nrows > 0 {
			return nil, errors.New("damaged model: row index out of range")
		}
	}
	m.pack()
	m.index()
	return m, nil
}

// pack builds the scoring table (recs, occ) from slots, rows and w.
func (m *Model) pack() {
	nc := len(m.Info.Categories)
	m.recStride = nc + 2
	m.occ = make([]occWord, (len(m.slots)+63)/64)
	filled := 0
	for i, s := range m.slots {
		if s != 0 {
			m.occ[i>>6].bits |= 1 << (i & 63)
			filled++
		}
	}
	rank := uint32(0)
	for i := range m.occ {
		m.occ[i].rank = rank
		rank += uint32(bits.OnesCount64(m.occ[i].bits))
	}
	m.recs = make([]int16, filled*m.recStride)
	r := 0
	for i, s := range m.slots {
		if s == 0 {
			continue
		}
		rec := m.recs[r*m.recStride : (r+1)*m.recStride]
		rec[0], rec[1] = int16(uint16(s-1)), int16(uint16((s-1)>>16))
		row := int(m.rows[i])
		copy(rec[2:], m.w[row*nc:row*nc+nc])
		r++
	}
}

// lookup returns the record (in recs) of feature key k, or -1. It probes
// as row does: from slot k&mask on until k or an empty slot.
func (m *Model) lookup(k uint32) int {
	if len(m.occ) == 0 {
		return -1
	}
	mask := uint32(len(m.slots) - 1)
	occ, recs, stride := m.occ, m.recs, m.recStride
	for i := k & mask; ; i = (i + 1) & mask {
		o := occ[i>>6]
		b := uint64(1) << (i & 63)
		if o.bits&b == 0 {
			return -1
		}
		r := int(o.rank) + bits.OnesCount64(o.bits&(b-1))
		rec := recs[r*stride : r*stride+2]
		if uint32(uint16(rec[0]))|uint32(uint16(rec[1]))<<16 == k {
			return r
		}
	}
}

// recWeights returns the weights of record r, one per category.
func (m *Model) recWeights(r int) []int16 {
	return m.recs[r*m.recStride+2 : (r+1)*m.recStride]
}

func (m *Model) index() {
	m.catIndex = make(map[string]int, len(m.Info.Categories))
	for i, c := range m.Info.Categories {
		m.catIndex[c] = i
	}
}

// WriteTo writes the model (gzip, magic, header, table, checksum).
func (m *Model) WriteTo(w io.Writer) (int64, error) {
	var body bytes.Buffer
	hdr, err := json.Marshal(m.Info)
	if err != nil {
		return 0, err
	}
	nc := len(m.Info.Categories)
	_ = binary.Write(&body, binary.LittleEndian, uint32(len(hdr)))
	body.Write(hdr)
	_ = binary.Write(&body, binary.LittleEndian, uint32(len(m.w)/max(nc, 1)))
	_ = binary.Write(&body, binary.LittleEndian, uint32(len(m.slots)))
	for _, v := range []any{m.bias, m.scale, m.slots, m.rows, m.w} {
		_ = binary.Write(&body, binary.LittleEndian, v)
	}
	cw := &countWriter{w: w}
	zw, _ := gzip.NewWriterLevel(cw, gzip.BestCompression)
	zw.Write(modelMagic)
	zw.Write(body.Bytes())
	_ = binary.Write(zw, binary.LittleEndian, crc32.ChecksumIEEE(body.Bytes()))
	if err := zw.Close(); err != nil {
		return cw.n, err
	}
	return cw.n, cw.err
}

type countWriter struct {
	w   io.Writer
	n   int64
	err error
}

func (c *countWriter) Write(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.w.Write(p)
	c.n += int64(n)
	c.err = err
	return n, err
}

// WriteFile writes the model to path (through a temporary file, renamed).
func (m *Model) WriteFile(path string) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(f)
	if _, err := m.WriteTo(bw); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, path)
}

// row returns the weight row of feature key k, or -1.
func (m *Model) row(k uint32) int {
	if len(m.slots) == 0 {
		return -1
	}
	mask := uint32(len(m.slots) - 1)
	want := k + 1
	for i := k & mask; ; i = (i + 1) & mask {
		s := m.slots[i]
		if s == want {
			return int(m.rows[i])
		}
		if s == 0 {
			return -1
		}
	}
}

// Threshold returns the detection threshold of category code, or 2 (never)
// when the model does not know the category.
func (m *Model) Threshold(code string) float64 {
	if i, ok := m.catIndex[code]; ok {
		return m.Info.Thresholds[i]
	}
	return 2
}

// calibrate maps a raw score of category c to a probability.
func (m *Model) calibrate(c int, s float64) float64 {
	p := m.Info.Platt[c]
	return sigmoid(p[0]*s + p[1])
}

func sigmoid(x float64) float64 {
	if x < -35 {
		return 0
	}
	if x > 35 {
		return 1
	}
	return 1 / (1 + math.Exp(-x))
}

// buildTable packs dense float weights (by feature key, per category) into
// the model's table, quantised to int16 per category. keys must be sorted
// and unique; w[i*nc+c] is the weight of keys[i] for category c.
func (m *Model) buildTable(keys []uint32, w []float64, nc int) {
	m.scale = make([]float32, nc)
	for c := 0; c < nc; c++ {
		mx := 0.0
		for i := range keys {
			mx = max(mx, math.Abs(w[i*nc+c]))
		}
		if mx == 0 {
			mx = 1
		}
		m.scale[c] = float32(mx / 32767)
	}
	n := 1
	for n < 2*len(keys)+2 {
		n *= 2
	}
	m.slots = make([]uint32, n)
	m.rows = make([]uint32, n)
	m.w = make([]int16, len(keys)*nc)
	mask := uint32(n - 1)
	for r, k := range keys {
		for c := 0; c < nc; c++ {
			m.w[r*nc+c] = int16(math.Round(w[r*nc+c] / float64(m.scale[c])))
		}
		for i := k & mask; ; i = (i + 1) & mask {
			if m.slots[i] == 0 {
				m.slots[i] = k + 1
				m.rows[i] = uint32(r)
				break
			}
		}
	}
	m.pack()
	m.index()
}

// Size returns the number of feature rows of the model.
func (m *Model) Size() int {
	if len(m.Info.Categories) == 0 {
		return 0
	}
	return len(m.w) / len(m.Info.Categories)
}

// sortedCats returns the model's categories sorted, for display.
func (m *Model) sortedCats() []string {
	out := append([]string(nil), m.Info.Categories...)
	sort.Strings(out)
	return out
}

// WithMinThreshold returns a copy of m whose thresholds are at least t.
func (m *Model) WithMinThreshold(t float64) *Model {
	c := *m
	c.Info.Thresholds = make([]float64, len(m.Info.Thresholds))
	for i, v := range m.Info.Thresholds {
		c.Info.Thresholds[i] = max(v, t)
	}
	c.index()
	return &c
}
