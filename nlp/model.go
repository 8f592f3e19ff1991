package nlp

import (
	"bufio"
	"bytes"
	"cmp"
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
	"slices"
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
	// The scoring table, built from the file's table (fileTable) when the
	// model is read or trained: recs holds per filled slot, in slot order,
	// the feature's key (two uint16) then its weights, recStride int16
	// each, so a known n-gram costs one read of main memory; occ marks the
	// filled slots with the count of filled slots before each word, so a
	// feature the model does not know is mostly turned away by occ (a few
	// hundred KB, in cache). nslots is the size of the slot space.
	recs      []int16
	recStride int
	occ       []occWord
	nslots    int
}

// fileTable is the model's table as its file holds it: keys+1 by open
// addressing (0 an empty slot) over a power-of-two slot space, each slot's
// row, and the rows' weights (rows * categories). It only exists while a
// model is read, built or written: scoring reads recs, which hold the same.
type fileTable struct {
	slots, rows []uint32
	w           []int16
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
	// Pruned is the least effect a feature row kept (Model.Pruned), 0
	// for a model not pruned.
	Pruned float64 `json:"pruned,omitempty"`
	// Levels is the learned part of the levels (model_levels.go); nil
	// for a model whose levels are the rubric's alone.
	Levels *LevelModel `json:"levels,omitempty"`
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
	domainSuffix = domainPart + ":v5"
	domainPart   = "/dom-court-short120"
	// cueSuffix replaces the version of any set above in a set with the
	// severity cues' features (cueFeatures); in a set with both, the cues'
	// part comes first: "…/lex2/sev1/dom-court-short120:v6".
	cueSuffix = cuePart + ":v6"
	cuePart   = "/sev1"
)

// featureFlags are the optional parts of a feature set.
type featureFlags struct {
	words     bool // gse words and word pairs
	registers bool // register features
	domains   bool // court records' and short posts' n-grams and lexicon features also under their domain's keys
	cues      bool // the severity cues' kinds, alone and at their level
}

// featureSetName names the feature set of ff.
func (ff featureFlags) featureSetName() string {
	if ff.domains || ff.cues {
		base := featureFlags{words: ff.words, registers: ff.registers}.featureSetName()
		stem := base[:strings.LastIndexByte(base, ':')]
		switch {
		case ff.domains && ff.cues:
			return stem + cuePart + domainPart + ":v6"
		case ff.cues:
			return stem + cueSuffix
		}
		return stem + domainSuffix
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
	for i := range 16 {
		ff := featureFlags{words: i&1 != 0, registers: i&2 != 0, domains: i&4 != 0, cues: i&8 != 0}
		if ff.featureSetName() == fs {
			return ff, true
		}
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

// maxModelSlots bounds the slot space a model file may declare (keys are
// keyBits wide, and a table has at most twice as many slots as keys, a
// power of two), so a damaged file cannot make the reader allocate
// without end.
const maxModelSlots = 1 << (keyBits + 2)

// DecodeModel reads a model from r. Errors say what was expected. The
// file's table is read in pieces straight into its arrays and packed into
// the scoring table, so reading holds the model about twice, never the
// whole decompressed file beside it.
func DecodeModel(r io.Reader) (*Model, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, errors.New("not a riskmine model: expected a gzip stream")
	}
	br := bufio.NewReaderSize(zr, 64<<10)
	magic := make([]byte, len(modelMagic))
	if _, err := io.ReadFull(br, magic); err != nil || !bytes.Equal(magic, modelMagic) {
		return nil, errors.New("not a riskmine model: the header is missing")
	}
	sum := crc32.NewIEEE()
	rd := io.TeeReader(br, sum)
	var hl uint32
	if err := binary.Read(rd, binary.LittleEndian, &hl); err != nil || hl > 64<<20 {
		return nil, errors.New("truncated model: header")
	}
	hdr := make([]byte, hl)
	if _, err := io.ReadFull(rd, hdr); err != nil {
		return nil, errors.New("truncated model: header")
	}
	m := &Model{}
	if err := json.Unmarshal(hdr, &m.Info); err != nil {
		return nil, fmt.Errorf("damaged model header: %v", err)
	}
	if !knownFeatureSet(m.Info.Features) {
		return nil, fmt.Errorf("model features %q, expected one of %q, %q, %q or %q, or one with %q or %q (made by another riskmine version)", m.Info.Features, featureSetChars, featureSetWords, featureSetCharsReg, featureSetWordsReg, domainSuffix, cueSuffix)
	}
	if m.Info.Levels != nil {
		if err := m.Info.Levels.valid(); err != nil {
			return nil, err
		}
	}
	nc := len(m.Info.Categories)
	if nc == 0 || len(m.Info.Platt) != nc || len(m.Info.Thresholds) != nc {
		return nil, errors.New("damaged model header: categories, calibration and thresholds disagree")
	}
	var nrows, nslots uint32
	if binary.Read(rd, binary.LittleEndian, &nrows) != nil || binary.Read(rd, binary.LittleEndian, &nslots) != nil {
		return nil, errors.New("truncated model: table size")
	}
	if nslots&(nslots-1) != 0 || nrows > nslots || nslots > maxModelSlots || int64(nrows)*int64(nc)*2 > 512<<20 {
		return nil, errors.New("damaged model: table sizes disagree")
	}
	m.bias = make([]float32, nc)
	m.scale = make([]float32, nc)
	t := fileTable{slots: make([]uint32, nslots), rows: make([]uint32, nslots), w: make([]int16, int(nrows)*nc)}
	if readFloat32s(rd, m.bias) != nil || readFloat32s(rd, m.scale) != nil ||
		readUint32s(rd, t.slots) != nil || readUint32s(rd, t.rows) != nil || readInt16s(rd, t.w) != nil {
		return nil, errors.New("truncated model: weights")
	}
	var want uint32
	if err := binary.Read(br, binary.LittleEndian, &want); err != nil {
		return nil, errors.New("truncated model: no checksum")
	}
	if sum.Sum32() != want {
		return nil, errors.New("damaged model: checksum mismatch")
	}
	if _, err := br.ReadByte(); err != io.EOF {
		if err != nil {
			return nil, fmt.Errorf("truncated or damaged model: %v", err)
		}
		return nil, errors.New("damaged model: table sizes disagree with the file's length")
	}
	for _, r := range t.rows {
		if r >= nrows && nrows > 0 {
			return nil, errors.New("damaged model: row index out of range")
		}
	}
	m.pack(t)
	m.index()
	return m, nil
}

// hashInt16s writes v to h, little-endian, through a small buffer (a
// model's weights are tens of millions: formatting them as text costs
// hundreds of MB).
func hashInt16s(h io.Writer, v []int16) {
	var buf [32 << 10]byte
	for len(v) > 0 {
		n := min(len(v), len(buf)/2)
		for i, x := range v[:n] {
			binary.LittleEndian.PutUint16(buf[2*i:], uint16(x))
		}
		h.Write(buf[:2*n])
		v = v[n:]
	}
}

// readUint32s, readInt16s and readFloat32s fill dst from r, little-endian,
// through a small buffer.
func readUint32s(r io.Reader, dst []uint32) error {
	return readWords(r, 4, len(dst), func(i int, b []byte) { dst[i] = binary.LittleEndian.Uint32(b) })
}

func readInt16s(r io.Reader, dst []int16) error {
	return readWords(r, 2, len(dst), func(i int, b []byte) { dst[i] = int16(binary.LittleEndian.Uint16(b)) })
}

func readFloat32s(r io.Reader, dst []float32) error {
	return readWords(r, 4, len(dst), func(i int, b []byte) { dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(b)) })
}

// readWords reads n words of size bytes from r and hands each to put.
func readWords(r io.Reader, size, n int, put func(i int, b []byte)) error {
	var buf [32 << 10]byte
	per := len(buf) / size
	for i := 0; i < n; i += per {
		k := min(per, n-i)
		b := buf[:k*size]
		if _, err := io.ReadFull(r, b); err != nil {
			return err
		}
		for j := range k {
			put(i+j, b[j*size:(j+1)*size])
		}
	}
	return nil
}

// pack builds the scoring table (recs, occ) from the file's table t.
func (m *Model) pack(t fileTable) {
	nc := len(m.Info.Categories)
	m.recStride = nc + 2
	m.nslots = len(t.slots)
	m.occ = make([]occWord, (len(t.slots)+63)/64)
	filled := 0
	for i, s := range t.slots {
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
	for i, s := range t.slots {
		if s == 0 {
			continue
		}
		rec := m.recs[r*m.recStride : (r+1)*m.recStride]
		rec[0], rec[1] = int16(uint16(s-1)), int16(uint16((s-1)>>16))
		row := int(t.rows[i])
		copy(rec[2:], t.w[row*nc:row*nc+nc])
		r++
	}
}

// table returns the file's table of m, made from the scoring table: the
// same slots, and each slot's record as its row.
func (m *Model) table() fileTable {
	nc := len(m.Info.Categories)
	t := fileTable{slots: make([]uint32, m.nslots), rows: make([]uint32, m.nslots), w: make([]int16, 0, m.Size()*nc)}
	r := 0
	for i := range t.slots {
		if m.occ[i>>6].bits&(1<<(i&63)) == 0 {
			continue
		}
		t.slots[i] = m.recKey(r) + 1
		t.rows[i] = uint32(r)
		t.w = append(t.w, m.recWeights(r)...)
		r++
	}
	return t
}

// recKey returns the feature key of record r.
func (m *Model) recKey(r int) uint32 {
	rec := m.recs[r*m.recStride:]
	return uint32(uint16(rec[0])) | uint32(uint16(rec[1]))<<16
}

// lookup returns the record (in recs) of feature key k, or -1. It probes
// as row does: from slot k&mask on until k or an empty slot.
func (m *Model) lookup(k uint32) int {
	if len(m.occ) == 0 {
		return -1
	}
	mask := uint32(m.nslots - 1)
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
	t := m.table()
	_ = binary.Write(&body, binary.LittleEndian, uint32(len(t.w)/max(nc, 1)))
	_ = binary.Write(&body, binary.LittleEndian, uint32(len(t.slots)))
	for _, v := range []any{m.bias, m.scale, t.slots, t.rows, t.w} {
		_ = binary.Write(&body, binary.LittleEndian, v)
	}
	cw := &countWriter{w: w}
	zw, _ := gzip.NewWriterLevel(cw, gzip.DefaultCompression) // best compression saves 2 % for 14× the time on a 20 MB model
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
// the model's table, quantised to int16 per category, and returns the
// quantised weights in the order of keys. keys must be sorted and unique;
// w[i*nc+c] is the weight of keys[i] for category c.
func (m *Model) buildTable(keys []uint32, w []float64, nc int) []int16 {
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
	q := make([]int16, len(keys)*nc)
	for r := range keys {
		for c := 0; c < nc; c++ {
			q[r*nc+c] = int16(math.Round(w[r*nc+c] / float64(m.scale[c])))
		}
	}
	m.placeTable(keys, q, nc)
	return q
}

// placeTable makes the model's table of keys (sorted, unique) with the
// quantised weights q (q[i*nc+c] of keys[i] for category c, at m.scale).
func (m *Model) placeTable(keys []uint32, q []int16, nc int) {
	n := 1
	for n < 2*len(keys)+2 {
		n *= 2
	}
	t := fileTable{slots: make([]uint32, n), rows: make([]uint32, n), w: q}
	mask := uint32(n - 1)
	for r, k := range keys {
		for i := k & mask; ; i = (i + 1) & mask {
			if t.slots[i] == 0 {
				t.slots[i] = k + 1
				t.rows[i] = uint32(r)
				break
			}
		}
	}
	m.pack(t)
	m.index()
}

// Size returns the number of feature rows of the model.
func (m *Model) Size() int {
	if m.recStride == 0 {
		return 0
	}
	return len(m.recs) / m.recStride
}

// sortedCats returns the model's categories sorted, for display.
func (m *Model) sortedCats() []string {
	out := append([]string(nil), m.Info.Categories...)
	sort.Strings(out)
	return out
}

// Pruned returns a copy of m without the feature rows whose largest effect
// on a category's calibrated log-odds, |weight × Platt slope| (an n-gram's
// effect before the post's 1/sqrt(n-grams)), is under minEffect; the
// rest keep their weights. A smaller table stays in the processor's
// caches: most n-grams of a page are ones the model does not know, and
// each costs a probe of the table. minEffect ≤ 0 returns m.
func (m *Model) Pruned(minEffect float64) *Model {
	if minEffect <= 0 {
		return m
	}
	nc := len(m.Info.Categories)
	effect := make([]float64, nc)
	for c := range nc {
		effect[c] = math.Abs(float64(m.scale[c]) * m.Info.Platt[c][0])
	}
	var keys []uint32
	var q []int16
	for _, e := range m.recordsByKey(nil) {
		w := m.recWeights(int(e.rec))
		keep := false
		for c, v := range w {
			if math.Abs(float64(v))*effect[c] >= minEffect {
				keep = true
				break
			}
		}
		if keep {
			keys = append(keys, e.key)
			q = append(q, w...)
		}
	}
	out := m.derived(slices.Clone(m.scale))
	out.Info.Pruned = minEffect
	out.Info.Version = fmt.Sprintf("%s-p%g", m.Info.Version, minEffect)
	out.placeTable(keys, q, nc)
	return out
}

// keyRec is a feature key and its record in the scoring table (-1: none).
type keyRec struct {
	key uint32
	rec int32
}

// recordsByKey returns m's records and the keys extra (without a record),
// sorted by key, as placeTable wants them.
func (m *Model) recordsByKey(extra []uint32) []keyRec {
	out := make([]keyRec, 0, m.Size()+len(extra))
	for r := range m.Size() {
		out = append(out, keyRec{m.recKey(r), int32(r)})
	}
	for _, k := range extra {
		out = append(out, keyRec{k, -1})
	}
	slices.SortFunc(out, func(a, b keyRec) int { return cmp.Compare(a.key, b.key) })
	return out
}

// derived returns a model with a copy of m's info and bias and the given
// scale, for a table of its own (placeTable).
func (m *Model) derived(scale []float32) *Model {
	out := &Model{Info: m.Info, bias: slices.Clone(m.bias), scale: scale}
	out.Info.Categories = slices.Clone(m.Info.Categories)
	out.Info.Platt = slices.Clone(m.Info.Platt)
	out.Info.Thresholds = slices.Clone(m.Info.Thresholds)
	out.Info.Figures = slices.Clone(m.Info.Figures)
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
