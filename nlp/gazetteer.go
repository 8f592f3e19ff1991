package nlp

import (
	"bufio"
	"bytes"
	"compress/gzip"
	_ "embed"
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/coregx/ahocorasick"
)

// gazetteerData is the table of Chinese administrative divisions, generated
// by nlp/internal/gengazetteer from modood/Administrative-divisions-of-China
// (WTFPL; national statistics 2023): gzip of "code<TAB>parent<TAB>level<TAB>name"
// lines, placeholders such as 市辖区 removed.
//
//go:embed gazetteer_data.tsv.gz
var gazetteerData []byte

// Division levels as in the statistical code: 2 digits province, 4 city,
// 6 county, 9 township.
const (
	gazProvince = 1
	gazCity     = 2
	gazCounty   = 3
	gazTownship = 4
)

// gazDivision is one administrative division.
type gazDivision struct {
	key    string // statistical code, or the source id (hkmotw/…) for Hong Kong, Macao, Taiwan
	name   string
	parent int32 // index in gazetteer.divs, -1 for a province
	level  uint8
}

// gazCandidate is one division a written name may refer to. weak marks
// names that are common words or very short (朝阳, 和县, 滨海): they count
// only when a related division is mentioned in the same text.
type gazCandidate struct {
	div  int32
	weak bool
}

// gazetteer is the loaded table plus the matchers built from it.
type gazetteer struct {
	divs []gazDivision
	// upper matches names of provinces, cities and counties, full and short.
	upper     *ahocorasick.Automaton
	upperCand [][]gazCandidate // by pattern id
	// towns holds township names ending in 镇, 乡, 街道 or 苏木; they are
	// looked up backwards from those suffixes rather than put in the
	// automaton, which keeps its memory small (41k names would multiply it).
	towns        map[string][]gazCandidate
	townMaxBytes int
	// subtreeEnd[i] is the index after the last division below i: the
	// table is sorted by code, so a division's subtree follows it.
	subtreeEnd []int32
	// townShort[i] is the short name of township i (雁门口 for 雁门口镇),
	// "" for other divisions and townships without a usable one.
	townShort []string
}

var (
	gazOnce   sync.Once
	gazLoaded *gazetteer
	gazErr    error
)

// loadGazetteer returns the process-wide gazetteer, building it on first use.
func loadGazetteer() (*gazetteer, error) {
	gazOnce.Do(func() { gazLoaded, gazErr = buildGazetteer(gazetteerData) })
	return gazLoaded, gazErr
}

// gazShortBlocked lists short forms of city names that are also ordinary
// words or other well-known things (大同小异, 日照充足, 阿里巴巴, 三明治,
// 中山路, 黄山 the mountain…); these cities are matched by their full name only.
var gazShortBlocked = map[string]bool{
	"大同": true, "白银": true, "日照": true, "阿里": true, "来宾": true,
	"三明": true, "安康": true, "四平": true, "长治": true, "中山": true,
	"北海": true, "黄山": true, "红河": true, "大理": true, "普洱": true,
	"和田": true, "朝阳": true, "白山": true, "黑河": true, "海东": true,
	"山南": true, "海北": true, "海西": true, "玉树": true, "开封": true,
	"兴安": true, "河源": true, "吉安": true, "海南": true, "果洛": true,
	"黄南": true, "阿拉善": true, "双鸭山": true, "七台河": true,
}

// gazEthnic are the names of China's ethnic groups, stripped from
// autonomous divisions to get the name people use (延边朝鲜族自治州 → 延边).
var gazEthnic = strings.Fields(`汉 蒙古 回 藏 维吾尔 苗 彝 壮 布依 朝鲜 满 侗 瑶 白 土家
	哈尼 哈萨克 傣 黎 傈僳 佤 畲 高山 拉祜 水 东乡 纳西 景颇 柯尔克孜 土 达斡尔 仫佬 羌
	布朗 撒拉 毛南 仡佬 锡伯 阿昌 普米 塔吉克 怒 乌孜别克 俄罗斯 鄂温克 德昂 保安 裕固
	京 塔塔尔 独龙 鄂伦春 赫哲 门巴 珞巴 基诺 各`)

// gazSuffixes are the generic endings of division names, longest first.
var gazSuffixes = []string{"特别行政区", "自治区", "自治州", "自治县", "自治旗",
	"地区", "新区", "林区", "特区", "省", "市", "区", "县", "盟", "旗"}

// gazTownSuffixes end the township names that are indexed.
var gazTownSuffixes = []string{"街道", "苏木", "镇", "乡"}

// gazShortForm returns the name without its generic ending and, for
// autonomous divisions, without the ethnic groups, and the ending removed.
// It returns "" when nothing of at least two characters is left.
func gazShortForm(name string) (short, suffix string) {
	for _, s := range gazSuffixes {
		if strings.HasSuffix(name, s) && utf8.RuneCountInString(name) > utf8.RuneCountInString(s) {
			short, suffix = strings.TrimSuffix(name, s), s
			break
		}
	}
	if short == "" {
		return "", ""
	}
	if strings.HasPrefix(suffix, "自治") {
		for changed := true; changed; {
			changed = false
			base := strings.TrimSuffix(short, "族")
			for _, e := range gazEthnic {
				if strings.HasSuffix(base, e) && utf8.RuneCountInString(base)-utf8.RuneCountInString(e) >= 2 {
					short, changed = strings.TrimSuffix(base, e), true
					break
				}
			}
		}
	}
	if utf8.RuneCountInString(short) < 2 {
		return "", suffix
	}
	return short, suffix
}

func buildGazetteer(data []byte) (*gazetteer, error) {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("nlp: gazetteer: %w", err)
	}
	defer zr.Close()
	g := &gazetteer{towns: make(map[string][]gazCandidate, 42000)}
	index := make(map[string]int32, 46000)
	parents := make([]string, 0, 46000)
	sc := bufio.NewScanner(zr)
	line := 0
	for sc.Scan() {
		line++
		f := strings.Split(sc.Text(), "\t")
		if len(f) != 4 || len(f[2]) != 1 || f[2][0] < '1' || f[2][0] > '4' || f[0] == "" || f[3] == "" {
			return nil, fmt.Errorf("nlp: gazetteer line %d: want code, parent, level 1-4 and name", line)
		}
		index[f[0]] = int32(len(g.divs))
		g.divs = append(g.divs, gazDivision{key: f[0], name: f[3], level: f[2][0] - '0', parent: -1})
		parents = append(parents, f[1])
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("nlp: gazetteer: %w", err)
	}
	for i, p := range parents {
		if p == "" {
			continue
		}
		pi, ok := index[p]
		if !ok {
			return nil, fmt.Errorf("nlp: gazetteer: %s has unknown parent %s", g.divs[i].key, p)
		}
		g.divs[i].parent = pi
	}

	patIndex := map[string]int{}
	var pats []string
	add := func(name string, div int32, weak bool) {
		id, ok := patIndex[name]
		if !ok {
			id = len(pats)
			patIndex[name] = id
			pats = append(pats, name)
			g.upperCand = append(g.upperCand, nil)
		}
		for _, c := range g.upperCand[id] {
			if c.div == div {
				return
			}
		}
		g.upperCand[id] = append(g.upperCand[id], gazCandidate{div: div, weak: weak})
	}
	for i := range g.divs {
		d := &g.divs[i]
		di := int32(i)
		if d.level == gazTownship {
			g.addTown(d, di)
			continue
		}
		short, suffix := gazShortForm(d.name)
		switch d.level {
		case gazProvince, gazCity:
			add(d.name, di, false)
			if short != "" {
				add(short, di, d.level == gazCity && gazShortBlocked[short])
			}
		case gazCounty:
			// A full county name with a one-character stem (和县, 城区, 东区)
			// reads as ordinary words too often to stand alone.
			add(d.name, di, short == "")
			if short != "" {
				add(short, di, true)
			}
		}
		// Autonomous divisions go by their short name and plain ending:
		// 大理州, 临夏州, 积石山县, 鄂温克旗.
		if short != "" && strings.HasPrefix(suffix, "自治") && suffix != "自治区" {
			add(short+strings.TrimPrefix(suffix, "自治"), di, false)
		}
	}
	for _, h := range gazHistoric {
		di, ok := index[h.code]
		if !ok {
			return nil, fmt.Errorf("nlp: gazetteer: former name %s: no division %s", h.name, h.code)
		}
		add(h.name, di, h.weak)
	}
	g.townShort = make([]string, len(g.divs))
	for i := range g.divs {
		if g.divs[i].level == gazTownship {
			g.townShort[i] = gazTownShort(g.divs[i].name)
		}
	}
	g.subtreeEnd = make([]int32, len(g.divs))
	var open []int32 // divisions whose subtree is still being read (keys are sorted)
	for i := range g.divs {
		for len(open) > 0 && !strings.HasPrefix(g.divs[i].key, g.divs[open[len(open)-1]].key) {
			g.subtreeEnd[open[len(open)-1]] = int32(i)
			open = open[:len(open)-1]
		}
		open = append(open, int32(i))
	}
	for _, o := range open {
		g.subtreeEnd[o] = int32(len(g.divs))
	}
	g.upper, err = ahocorasick.NewBuilder().SetMatchKind(ahocorasick.LeftmostLongest).AddStrings(pats).Build()
	if err != nil {
		return nil, fmt.Errorf("nlp: gazetteer automaton: %w", err)
	}
	return g, nil
}

// addTown indexes a township under its name and the forms people write:
// without a repeated county prefix (济源市克井镇 → 克井镇) and without a
// parenthesised note (科技城（东渚街道） → 东渚街道).
func (g *gazetteer) addTown(d *gazDivision, di int32) {
	names := []string{d.name}
	if i := strings.Index(d.name, "（"); i > 0 {
		inner := strings.TrimSuffix(d.name[i+len("（"):], "）")
		names = append(names, d.name[:i], inner)
	}
	if d.parent >= 0 {
		if p := g.divs[d.parent].name; strings.HasPrefix(d.name, p) {
			names = append(names, strings.TrimPrefix(d.name, p))
		}
	}
	for _, n := range names {
		var suffix string
		for _, s := range gazTownSuffixes {
			if strings.HasSuffix(n, s) {
				suffix = s
				break
			}
		}
		// A one-character stem (张镇, 唐镇) is too easily part of other words.
		if suffix == "" || utf8.RuneCountInString(n)-utf8.RuneCountInString(suffix) < 2 || strings.ContainsAny(n, "（）()") {
			continue
		}
		// 新城镇, 古城镇 also read as "new/old towns"; 城乡, 家乡 endings as words.
		weak := strings.HasSuffix(n, "城镇") || strings.HasSuffix(n, "城乡") || strings.HasSuffix(n, "水乡")
		dup := false
		for _, c := range g.towns[n] {
			dup = dup || c.div == di
		}
		if !dup {
			g.towns[n] = append(g.towns[n], gazCandidate{div: di, weak: weak})
		}
		if len(n) > g.townMaxBytes {
			g.townMaxBytes = len(n)
		}
	}
}

// code returns the statistical code of a division, "" for the divisions of
// Hong Kong, Macao and Taiwan that have none in the source.
func (g *gazetteer) code(i int32) string {
	k := g.divs[i].key
	if strings.HasPrefix(k, "hkmotw/") {
		return ""
	}
	return k
}

// path returns the full name path of a division, e.g. 福建省/福州市/马尾区.
func (g *gazetteer) path(i int32) string {
	var parts [5]string
	n := 0
	for ; i >= 0 && n < len(parts); i = g.divs[i].parent {
		parts[n] = g.divs[i].name
		n++
	}
	var b strings.Builder
	for j := n - 1; j >= 0; j-- {
		b.WriteString(parts[j])
		if j > 0 {
			b.WriteByte('/')
		}
	}
	return b.String()
}

// isAncestor reports whether a is a proper ancestor of c.
func (g *gazetteer) isAncestor(a, c int32) bool {
	for p := g.divs[c].parent; p >= 0; p = g.divs[p].parent {
		if p == a {
			return true
		}
	}
	return false
}

// related reports whether one division contains the other.
func (g *gazetteer) related(a, b int32) bool {
	return a != b && (g.isAncestor(a, b) || g.isAncestor(b, a))
}
