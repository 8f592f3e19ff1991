package crawler

import (
	"regexp"
	"strings"
	"unicode"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// extractNode is an element of the page with the text statistics the main
// text extractor scores. Skipped elements (scripts, navigation, hidden
// elements) have no extractNode and contribute nothing.
type extractNode struct {
	n      *html.Node
	parent *extractNode
	kids   []*extractNode
	block  bool // a block-level element: it ends the line before and after it

	// Totals over the subtree, in non-space runes.
	text, link, punct int
	// Loose text: text that is not inside a block-level descendant, i.e.
	// the prose of this element as a paragraph.
	loose, looseLink, loosePunct int

	hint     int     // +1 for a class/id that suggests content, -1 for boilerplate, -2 for comments
	inBoiler bool    // inside (or being) a comment or related-links element
	score    float64 // propagated paragraph scores, decaying with distance
	prose    float64 // undecayed paragraph scores outside boilerplate descendants
}

// extractLine is one line of the page's visible text in document order: the
// text between two block boundaries.
type extractLine struct {
	text        string
	runes, link int
	block       *extractNode // the block element the text belongs to
}

// extractTree is the scored skeleton of a page.
type extractTree struct {
	root  *extractNode
	nodes []*extractNode // pre-order
	lines []extractLine
	// textStart is the index of the first line of the main text, -1 until
	// extractMainText found one.
	textStart int
}

// extractSkipTags are never part of the main text.
var extractSkipTags = map[atom.Atom]bool{
	atom.Head: true, atom.Script: true, atom.Style: true, atom.Noscript: true,
	atom.Template: true, atom.Iframe: true, atom.Svg: true, atom.Math: true,
	atom.Canvas: true, atom.Object: true, atom.Embed: true, atom.Select: true,
	atom.Option: true, atom.Button: true, atom.Input: true, atom.Textarea: true,
	atom.Nav: true, atom.Footer: true, atom.Aside: true, atom.Header: true,
	atom.Audio: true, atom.Video: true, atom.Map: true, atom.Dialog: true,
}

// extractBlockTags end a line of text before and after them.
var extractBlockTags = map[atom.Atom]bool{
	atom.Address: true, atom.Article: true, atom.Blockquote: true, atom.Body: true,
	atom.Center: true, atom.Dd: true, atom.Details: true, atom.Div: true, atom.Dl: true,
	atom.Dt: true, atom.Fieldset: true, atom.Figcaption: true, atom.Figure: true,
	atom.Form: true, atom.H1: true, atom.H2: true, atom.H3: true, atom.H4: true,
	atom.H5: true, atom.H6: true, atom.Hr: true, atom.Html: true, atom.Li: true,
	atom.Main: true, atom.Ol: true, atom.P: true, atom.Pre: true, atom.Section: true,
	atom.Summary: true, atom.Table: true, atom.Tbody: true, atom.Td: true,
	atom.Tfoot: true, atom.Th: true, atom.Thead: true, atom.Tr: true, atom.Ul: true,
	atom.Caption: true,
}

// extractContainerTags may hold a whole article.
var extractContainerTags = map[atom.Atom]bool{
	atom.Article: true, atom.Body: true, atom.Div: true, atom.Main: true,
	atom.Section: true, atom.Td: true, atom.Blockquote: true, atom.Center: true,
	atom.Font: true, atom.Span: true, atom.Dd: true, atom.Form: true,
}

// Class and id words that suggest article content or boilerplate, matched
// against the lower-cased words of the class and id attributes: "contains"
// lists match inside a word, "words" only a whole word or its start.
var (
	extractStrongNegative   = []string{"comment", "footer", "copyright", "sidebar", "related", "recommend", "pinglun", "reply", "tuijian", "xiangguan"}
	extractNegativeContains = []string{"share", "social", "breadcrumb", "advert", "banner", "login", "popup", "modal", "toolbar",
		"subscribe", "pagination", "pager"}
	extractNegativeWords    = []string{"nav", "foot", "side", "hot", "rank", "ad", "ads", "more", "menu", "crumb"}
	extractPositiveContains = []string{"article", "content", "post", "body", "main", "detail", "entry",
		"story", "text", "news", "artic", "neirong", "正文"}
	extractPositiveWords = []string{"cont", "zw"}
	extractHiddenRe      = regexp.MustCompile(`(?i)display\s*:\s*none|visibility\s*:\s*hidden`)
)

// extractClassHint scores a class and id string: -2 for comments and
// related links, -1 for other boilerplate, +1 for content, 0 for neither
// or both.
func extractClassHint(ci string) int {
	h := 0
	neg, pos, strong := false, false, false
	for _, w := range strings.FieldsFunc(strings.ToLower(ci), func(r rune) bool {
		return r == ' ' || r == '-' || r == '_' || r == '\t' || r == '\n'
	}) {
		for _, c := range extractStrongNegative {
			if strings.Contains(w, c) {
				strong = true
			}
		}
		for _, c := range extractNegativeContains {
			if strings.Contains(w, c) {
				neg = true
			}
		}
		for _, c := range extractNegativeWords {
			if w == c || strings.HasPrefix(w, c) && len(w) > len(c) && (w[len(c)] >= '0' && w[len(c)] <= '9' || c == "nav" || c == "menu" || c == "side") {
				neg = true
			}
		}
		for _, c := range extractPositiveContains {
			if strings.Contains(w, c) {
				pos = true
			}
		}
		for _, c := range extractPositiveWords {
			if w == c {
				pos = true
			}
		}
	}
	if strong {
		// A comment body or a related-news box is boilerplate whatever
		// else its class says ("comment-body", "related-content"), and
		// so is everything inside it.
		return -2
	}
	if neg {
		h--
	}
	if pos {
		h++
	}
	return h
}

// extractCountText counts the non-space runes of s and, among them, the
// sentence punctuation, Chinese and Western.
func extractCountText(s string) (runes, punct int) {
	for _, r := range s {
		switch r {
		case ' ', '\n', '\t', '\r', '\f', '\v', '\u00a0', '\u3000', '\u2002', '\u2003', '\u2009', '\u200b', '\ufeff':
			continue
		case '，', '。', '！', '？', '；', '：', '、', '“', '”', '（', '）', '《', '》', '…',
			',', '.', '!', '?', ';', ':', '"':
			punct++
		}
		runes++
	}
	return runes, punct
}

// extractBuilder walks a parsed page once, building the extractTree.
type extractBuilder struct {
	t        *extractTree
	cur      strings.Builder
	curLink  int
	curBlock *extractNode
	hints    map[string]int // class+id → hint, cached per page
}

// extractBuildTree builds the scored skeleton of doc.
func extractBuildTree(doc *html.Node) *extractTree {
	t := &extractTree{root: &extractNode{n: doc, block: true}, textStart: -1}
	b := &extractBuilder{t: t, curBlock: t.root, hints: map[string]int{}}
	t.nodes = append(t.nodes, t.root)
	for c := doc.FirstChild; c != nil; c = c.NextSibling {
		b.visit(c, t.root, false)
	}
	b.flush()
	extractScore(t)
	return t
}

func (b *extractBuilder) flush() {
	if b.cur.Len() == 0 {
		return
	}
	s, r := extractCollapseCount(b.cur.String())
	b.cur.Reset()
	if s != "" {
		l := b.curLink
		if l > r {
			l = r
		}
		b.t.lines = append(b.t.lines, extractLine{text: s, runes: r, link: l, block: b.curBlock})
	}
	b.curLink = 0
}

func (b *extractBuilder) visit(n *html.Node, parent *extractNode, inLink bool) {
	switch n.Type {
	case html.TextNode:
		r, p := extractCountText(n.Data)
		if r == 0 {
			b.cur.WriteByte(' ')
			return
		}
		parent.text += r
		parent.loose += r
		if inLink {
			parent.link += r
			parent.looseLink += r
			b.curLink += r
		} else {
			parent.punct += p
			parent.loosePunct += p
		}
		b.cur.WriteString(n.Data)
		return
	case html.ElementNode:
	default:
		return
	}
	if n.DataAtom == atom.Br {
		b.flush()
		return
	}
	if extractSkipTags[n.DataAtom] || extractHidden(n) {
		if extractBlockTags[n.DataAtom] || n.DataAtom == atom.Header || n.DataAtom == atom.Footer || n.DataAtom == atom.Nav || n.DataAtom == atom.Aside {
			b.flush()
		}
		return
	}
	en := &extractNode{n: n, parent: parent, block: extractBlockTags[n.DataAtom]}
	if ci := extractAttr(n, "class") + " " + extractAttr(n, "id"); len(ci) > 1 {
		h, ok := b.hints[ci]
		if !ok {
			h = extractClassHint(ci)
			b.hints[ci] = h
		}
		en.hint = h
	}
	b.t.nodes = append(b.t.nodes, en)
	parent.kids = append(parent.kids, en)
	outer := b.curBlock
	if en.block {
		b.flush()
		b.curBlock = en
	}
	link := inLink || n.DataAtom == atom.A
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		b.visit(c, en, link)
	}
	if en.block {
		b.flush()
		b.curBlock = outer
	}
	parent.text += en.text
	parent.link += en.link
	parent.punct += en.punct
	if !en.block {
		parent.loose += en.loose
		parent.looseLink += en.looseLink
		parent.loosePunct += en.loosePunct
	}
}

// extractHidden reports whether n is hidden by an attribute or inline style.
func extractHidden(n *html.Node) bool {
	for _, a := range n.Attr {
		switch a.Key {
		case "hidden":
			return true
		case "style":
			if extractHiddenRe.MatchString(a.Val) {
				return true
			}
		}
	}
	return false
}

// extractScore gives every element the scores of the paragraphs it holds:
// a block of loose prose scores 1 plus its punctuation plus up to 3 for its
// length (less for teaser text in list items). A paragraph credits itself
// and its parent in full, its grandparent by half and further ancestors
// less (score); prose written straight into a container starts one level
// up. prose sums the same scores undecayed. Neither passes above a
// boilerplate element.
func extractScore(t *extractTree) {
	// Boilerplate boxes mark their subtree, unless the "box" holds most of
	// the page (a body classed "comments-open").
	for _, en := range t.nodes {
		if en.parent != nil {
			en.inBoiler = en.parent.inBoiler || en.hint == -2 && en.text*2 < t.root.text
		}
	}
	for _, en := range t.nodes {
		if !en.block {
			continue
		}
		prose := en.loose - en.looseLink
		if prose < 8 || en.looseLink*2 > en.loose {
			continue
		}
		s := 1 + float64(en.loosePunct) + min(float64(prose)/50, 3)
		if extractInLinkedItem(en) {
			// A summary under a headline link in a list of news items
			// is teaser text, not the article.
			s *= extractTeaserWeight
		}
		for a := en; a != nil; a = a.parent {
			a.prose += s
			if a.hint < 0 {
				break
			}
		}
		// A paragraph credits its parent as the container; prose written
		// straight into a container (a div of text and <br>s) credits
		// the container itself first.
		level := 0
		if extractContainerTags[en.n.DataAtom] {
			level = 1
		}
		for a := en; a != nil && level < 5; a = a.parent {
			switch level {
			case 0, 1:
				a.score += s
			case 2:
				a.score += s / 2
			default:
				a.score += s / float64(3*level)
			}
			if a.hint < 0 {
				break
			}
			level++
		}
	}
}

// extractTeaserWeight scales the score of prose inside a list item that
// also holds a link (see extractInLinkedItem).
var extractTeaserWeight = 0.3

// extractInLinkedItem reports whether en is, or sits within two levels
// of, a short list item (<li>, <dd>, <dt>) that also contains links; a
// long one is a layout column, not an item.
func extractInLinkedItem(en *extractNode) bool {
	for a, lvl := en, 0; a != nil && lvl < 3; a, lvl = a.parent, lvl+1 {
		switch a.n.DataAtom {
		case atom.Li, atom.Dd, atom.Dt, atom.Dl:
			return a.link > 0 && a.text < 400
		}
	}
	return false
}

// extractFinal is the score of en as the article container: its paragraph
// score discounted by link density and adjusted by its class hint.
func extractFinal(en *extractNode) float64 {
	if en.text == 0 {
		return 0
	}
	ld := float64(en.link) / float64(en.text)
	f := en.score * (1 - ld)
	switch {
	case en.hint > 0:
		f *= 1.25
	case en.hint < 0:
		f *= 0.5
	}
	if en.inBoiler {
		f *= 0.25
	}
	return f
}

// Climbing from the best-scoring container to its parent (see
// extractMainText).
var (
	extractClimbRatio       = 2.0
	extractClimbLinkDensity = 0.2
)

// extractSiblingRatio is the share of the best container's score a
// sibling needs to be joined to it.
var extractSiblingRatio = 0.6

// extractMainText returns the main text of the page: the lines of the best
// container and of its siblings that score nearly as well, without
// link-heavy lines and boilerplate blocks.
func extractMainText(t *extractTree) string {
	var best *extractNode
	bestScore := 0.0
	for _, en := range t.nodes {
		if en.n.Type == html.ElementNode && !extractContainerTags[en.n.DataAtom] {
			continue
		}
		if f := extractFinal(en); f >= bestScore && f > 0 {
			best, bestScore = en, f
		}
	}
	if best == nil {
		return extractFallbackText(t)
	}
	// An article split into several columns or sections scores in each
	// part; climb to an ancestor (through up to two wrappers) that holds
	// clearly more prose and is not a link farm.
	for a, lvl := best.parent, 1; a != nil && lvl <= 3 && a.n.Type == html.ElementNode; a, lvl = a.parent, lvl+1 {
		if float64(a.link) > extractClimbLinkDensity*float64(a.text) {
			break
		}
		if extractContainerTags[a.n.DataAtom] && a.prose >= best.prose*extractClimbRatio {
			best, lvl = a, 0
		}
	}
	bestScore = max(bestScore, extractFinal(best))
	chosen := map[*extractNode]bool{best: true}
	if p := best.parent; p != nil {
		for _, k := range p.kids {
			if k == best || k.text == 0 {
				continue
			}
			f := extractFinal(k)
			ld := float64(k.link) / float64(k.text)
			if f >= extractSiblingRatio*bestScore && f > 3 ||
				k.n.DataAtom == atom.P && k.loose-k.looseLink >= 60 && ld < 0.25 && k.punct > 0 {
				chosen[k] = true
			}
		}
	}
	// An article cut into chunks by ads or pull quotes repeats its body
	// container: join the elements with the same tag and class that score
	// nearly as well.
	if class := extractAttr(best.n, "class"); class != "" {
		for _, k := range t.nodes {
			if k == best || chosen[k] || k.n.DataAtom != best.n.DataAtom || extractAttr(k.n, "class") != class {
				continue
			}
			if !k.inBoiler && extractFinal(k) >= extractSiblingRatio*bestScore && extractChosenAncestor(k, chosen) == nil && !extractHolds(k, best) {
				chosen[k] = true
			}
		}
	}
	var b strings.Builder
	for i, l := range t.lines {
		top := extractChosenAncestor(l.block, chosen)
		if top == nil {
			continue
		}
		if l.link*2 > l.runes {
			continue
		}
		if extractInBoilerplate(l.block, top) {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('\n')
		} else {
			t.textStart = i
		}
		b.WriteString(l.text)
	}
	return b.String()
}

// extractHolds reports whether outer is inner or one of its ancestors.
func extractHolds(outer, inner *extractNode) bool {
	for a := inner; a != nil; a = a.parent {
		if a == outer {
			return true
		}
	}
	return false
}

// extractChosenAncestor returns the chosen container that holds en, or nil.
func extractChosenAncestor(en *extractNode, chosen map[*extractNode]bool) *extractNode {
	for a := en; a != nil; a = a.parent {
		if chosen[a] {
			return a
		}
	}
	return nil
}

// extractInBoilerplate reports whether en sits, below top, inside an element
// whose class or id marks boilerplate (comments, share bars, related
// links) and which holds less than half of top's text.
func extractInBoilerplate(en, top *extractNode) bool {
	for a := en; a != nil && a != top; a = a.parent {
		if a.hint < 0 && a.text*2 < top.text {
			return true
		}
	}
	return false
}

// extractFallbackText returns all lines that are not link-heavy, for pages
// where no container scored (very short pages, plain text).
func extractFallbackText(t *extractTree) string {
	var b strings.Builder
	for _, l := range t.lines {
		if l.link*2 > l.runes {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(l.text)
	}
	return strings.TrimFunc(b.String(), unicode.IsSpace)
}
