package nlp

// The place gold (testdata/places/gold.jsonl) holds posts written for
// riskmine with every place span marked by hand before the extractor was
// tuned on them. What one gold span is:
//
//   - The longest contiguous phrase of one layer. Division names written
//     together (福建省福州市鼓楼区) are one "admin" span; what follows them
//     down to the spot (五四路与湖东路交叉口东侧25米) is one "road" or
//     "place" span beside it. The admin span carries the code, the other
//     is the most precise place text.
//   - "road": one road or a point or section on it (体育西路189号,
//     国道324线274KM+600M, 104国道小溪岭路段). "place": everything else
//     below a division: crossings with their offset, villages, communities,
//     buildings with number, gate or unit, stations and exits, parks,
//     bridges, rivers and mountains named as the scene. "foreign": a chain
//     of foreign names (印度尼西亚中爪哇省日惹市), no code.
//   - A relative position written onto a place (门口, 东门, 东侧25米,
//     西北角) belongs to it; a trailing 处, 附近 or 一带 does not. Places
//     joined by 和 or 、 without a crossing word (交叉口, 路口, 交汇处) are
//     separate spans.
//   - The code of an admin span is the current statistical code of its
//     smallest division, also for renamed ones (密云县 → 110118), and ""
//     when the post leaves it ambiguous (鼓楼区 alone).
//
// Exact recall compares spans after trimming both sides (spaces,
// punctuation, a leading 在/于/位于, a trailing 处/附近/一带); overlap recall
// counts a gold span found when any mention shares a rune with it.

import (
	"bufio"
	"crypto/md5"
	"encoding/json"
	"math/big"
	"os"
	"regexp"
	"strings"
	"testing"
	"unicode"
)

type goldPlaceSpan struct {
	Text       string `json:"text"`
	Start, End int
	Kind, Code string
}

type goldPlacePost struct {
	ID    string          `json:"id"`
	Text  string          `json:"text"`
	Spans []goldPlaceSpan `json:"spans"`
}

func readPlaceGold(t testing.TB, path string) []goldPlacePost {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var posts []goldPlacePost
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var p goldPlacePost
		if err := json.Unmarshal(sc.Bytes(), &p); err != nil {
			t.Fatalf("gold line %d: %v", len(posts)+1, err)
		}
		rs := []rune(p.Text)
		for _, s := range p.Spans {
			if s.Start < 0 || s.End > len(rs) || s.Start >= s.End || string(rs[s.Start:s.End]) != s.Text {
				t.Fatalf("%s: span %+v does not match the text", p.ID, s)
			}
		}
		posts = append(posts, p)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return posts
}

// placeTrim narrows the rune span [start,end) of rs by what the gold
// leaves out of spans: spaces, punctuation, 在/于/位于 before, 处/附近/一带
// after (but 交汇处 is a crossing word, not "at").
func placeTrim(rs []rune, start, end int) (int, int) {
	for changed := true; changed && start < end; {
		changed = false
		switch s := string(rs[start:end]); {
		case unicode.IsSpace(rs[start]) || unicode.IsPunct(rs[start]):
			start++
		case unicode.IsSpace(rs[end-1]) || unicode.IsPunct(rs[end-1]):
			end--
		case strings.HasPrefix(s, "位于") && end-start > 2:
			start += 2
		case (strings.HasPrefix(s, "在") || strings.HasPrefix(s, "于")) && end-start > 1:
			start++
		case (strings.HasSuffix(s, "附近") || strings.HasSuffix(s, "一带")) && end-start > 2:
			end -= 2
		case strings.HasSuffix(s, "处") && end-start > 1 && !strings.HasSuffix(s, "交汇处") && !strings.HasSuffix(s, "交会处") && !strings.HasSuffix(s, "交界处"):
			end--
		default:
			continue
		}
		changed = true
	}
	return start, end
}

// placeScore is recall of gold spans by a set of found spans per post.
type placeScore struct {
	gold, exact, overlap     int
	coded, codeRight         int
	missed, codeWrong        []string
	byKind, exactK, overlapK map[string]int
}

func scorePlaces(posts []goldPlacePost, find func(text string) []Location) placeScore {
	sc := placeScore{byKind: map[string]int{}, exactK: map[string]int{}, overlapK: map[string]int{}}
	for _, p := range posts {
		rs := []rune(p.Text)
		found := find(p.Text)
		for _, g := range p.Spans {
			sc.gold++
			sc.byKind[g.Kind]++
			exact, overlap := false, false
			var best *Location
			bestOv := 0
			for i := range found {
				l := &found[i]
				s, e := placeTrim(rs, l.Start, l.End)
				if s == g.Start && e == g.End {
					exact = true
				}
				if ov := min(e, g.End) - max(s, g.Start); ov > 0 {
					overlap = true
					if l.Kind == "admin" && ov > bestOv {
						best, bestOv = l, ov
					}
				}
			}
			if exact {
				sc.exact++
				sc.exactK[g.Kind]++
			}
			if overlap {
				sc.overlap++
				sc.overlapK[g.Kind]++
			}
			if !exact {
				sc.missed = append(sc.missed, p.ID+" "+g.Kind+" "+g.Text+placeNear(found, g))
			}
			if g.Code != "" {
				sc.coded++
				got := ""
				if best != nil {
					got = best.Code
				}
				if got == g.Code {
					sc.codeRight++
				} else {
					sc.codeWrong = append(sc.codeWrong, p.ID+" "+g.Text+" want "+g.Code+" got "+got)
				}
			}
		}
	}
	return sc
}

// placeNear describes the mentions overlapping g, for the log of misses.
func placeNear(found []Location, g goldPlaceSpan) string {
	var parts []string
	for _, l := range found {
		if l.End > g.Start && l.Start < g.End {
			parts = append(parts, l.Kind+":"+l.Text)
		}
	}
	if len(parts) == 0 {
		return " (nothing)"
	}
	return " (got " + strings.Join(parts, ", ") + ")"
}

func (sc placeScore) log(t *testing.T, name string) {
	t.Helper()
	t.Logf("%s: %d gold spans, exact recall %.3f, overlap recall %.3f", name, sc.gold,
		float64(sc.exact)/float64(sc.gold), float64(sc.overlap)/float64(sc.gold))
	for _, k := range []string{"admin", "road", "place", "foreign"} {
		if n := sc.byKind[k]; n > 0 {
			t.Logf("  %-7s %3d spans: exact %.3f, overlap %.3f", k, n,
				float64(sc.exactK[k])/float64(n), float64(sc.overlapK[k])/float64(n))
		}
	}
}

// placeBaseline is the bare regular expression the place work is compared
// with: a run of Han characters ending in a division or road word.
var placeBaseline = regexp.MustCompile(`[\p{Han}]{2,}(省|市|区|县|镇|乡|村|路|街|道)`)

func baselinePlaces(text string) []Location {
	var out []Location
	for _, m := range placeBaseline.FindAllStringIndex(text, -1) {
		s := len([]rune(text[:m[0]]))
		out = append(out, Location{Text: text[m[0]:m[1]], Start: s, End: s + len([]rune(text[m[0]:m[1]]))})
	}
	return out
}

// TestPlaceGoldRecall measures ExtractLocations on the place gold. The
// floors sit just below the measured figures, so a change that loses
// places fails here; -v logs the figures, the misses and wrong codes.
func TestPlaceGoldRecall(t *testing.T) {
	posts := readPlaceGold(t, "testdata/places/gold.jsonl")
	if len(posts) < 120 {
		t.Fatalf("gold has %d posts, want at least 120", len(posts))
	}
	base := scorePlaces(posts, baselinePlaces)
	base.log(t, "regexp baseline")
	sc := scorePlaces(posts, ExtractLocations)
	sc.log(t, "ExtractLocations")
	codeAcc := float64(sc.codeRight) / float64(sc.coded)
	t.Logf("codes: %d of %d gold codes right (%.3f)", sc.codeRight, sc.coded, codeAcc)
	if testing.Verbose() {
		for _, m := range sc.missed {
			t.Logf("not exact: %s", m)
		}
		for _, m := range sc.codeWrong {
			t.Logf("code: %s", m)
		}
	}
	const minOverlap, minExact, minCode = 0.95, 0.86, 0.95
	if r := float64(sc.overlap) / float64(sc.gold); r < minOverlap {
		t.Errorf("overlap recall %.3f < %.2f", r, minOverlap)
	}
	if r := float64(sc.exact) / float64(sc.gold); r < minExact {
		t.Errorf("exact recall %.3f < %.2f", r, minExact)
	}
	if codeAcc < minCode {
		t.Errorf("code accuracy %.3f < %.2f", codeAcc, minCode)
	}
}

// TestPlaceGold2Recall measures ExtractLocations on the second gold
// (testdata/places/gold2.jsonl, written by hands that never saw the
// extractor), its tuning and frozen parts apart (md5(id) mod 2); -v logs
// the figures and, for the tuning part only, the misses. The floors sit
// just below the figures measured.
func TestPlaceGold2Recall(t *testing.T) {
	var tune, frozen []goldPlacePost
	for _, p := range readPlaceGold(t, "testdata/places/gold2.jsonl") {
		sum := md5.Sum([]byte(p.ID))
		if new(big.Int).SetBytes(sum[:]).Bit(0) == 0 {
			tune = append(tune, p)
		} else {
			frozen = append(frozen, p)
		}
	}
	if len(tune) < 50 || len(frozen) < 50 {
		t.Fatalf("parts of %d and %d posts, want at least 50 each", len(tune), len(frozen))
	}
	for _, part := range []struct {
		name                          string
		posts                         []goldPlacePost
		minOverlap, minExact, minCode float64
	}{
		{"tuning part", tune, 0.96, 0.88, 0.97},
		{"frozen part", frozen, 0.93, 0.77, 0.91},
	} {
		sc := scorePlaces(part.posts, ExtractLocations)
		sc.log(t, part.name)
		codeAcc := float64(sc.codeRight) / float64(sc.coded)
		t.Logf("%s codes: %d of %d right (%.3f)", part.name, sc.codeRight, sc.coded, codeAcc)
		if testing.Verbose() && part.name == "tuning part" {
			for _, m := range sc.missed {
				t.Logf("not exact: %s", m)
			}
			for _, m := range sc.codeWrong {
				t.Logf("code: %s", m)
			}
		}
		if r := float64(sc.overlap) / float64(sc.gold); r < part.minOverlap {
			t.Errorf("%s: overlap recall %.3f < %.2f", part.name, r, part.minOverlap)
		}
		if r := float64(sc.exact) / float64(sc.gold); r < part.minExact {
			t.Errorf("%s: exact recall %.3f < %.2f", part.name, r, part.minExact)
		}
		if codeAcc < part.minCode {
			t.Errorf("%s: code accuracy %.3f < %.2f", part.name, codeAcc, part.minCode)
		}
	}
}
