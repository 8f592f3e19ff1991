package web

import (
	"io/fs"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"

	"riskmine/alerts"
	"riskmine/nlp"
)

func TestCatalogLanguagesHaveSameKeys(t *testing.T) {
	zh, en := catalog["zh-CN"], catalog["en"]
	for k := range zh {
		if _, ok := en[k]; !ok {
			t.Errorf("key %q missing in en", k)
		}
	}
	for k := range en {
		if _, ok := zh[k]; !ok {
			t.Errorf("key %q missing in zh-CN", k)
		}
	}
}

// Every literal key a template translates must exist.
func TestTemplateKeysExist(t *testing.T) {
	re := regexp.MustCompile(`\.T "([a-z_.0-9]+)"`)
	files, _ := fs.Glob(templateFS, "templates/*.html")
	var missing []string
	for _, f := range files {
		b, _ := fs.ReadFile(templateFS, f)
		for _, m := range re.FindAllStringSubmatch(string(b), -1) {
			if _, ok := catalog["zh-CN"][m[1]]; !ok {
				missing = append(missing, f+": "+m[1])
			}
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("keys used by templates but not in the catalogue:\n%s", strings.Join(missing, "\n"))
	}
}

func TestLanguageChoice(t *testing.T) {
	e := newTestEnv(t, Options{}, Deps{})
	tests := []struct {
		accept string
		want   string
	}{
		{"", "登录"},
		{"en-US,en;q=0.9", "Log in"},
		{"zh-TW,zh;q=0.9,en;q=0.5", "登录"},
		{"fr-FR,en;q=0.5", "Log in"},
		{"fr-FR", "登录"},
	}
	for _, tc := range tests {
		c := e.client()
		c.lang = tc.accept
		if body := c.getBody("/login"); !strings.Contains(body, "<h1>"+tc.want+"</h1>") {
			t.Errorf("Accept-Language %q: want heading %q", tc.accept, tc.want)
		}
	}
	// The switch sets a cookie that wins over Accept-Language.
	c := e.client()
	c.lang = "zh-CN"
	resp := c.get("/lang?l=en&next=/login")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login" {
		t.Fatalf("switch: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if body := c.getBody("/login"); !strings.Contains(body, "<h1>Log in</h1>") || !strings.Contains(body, `lang="en"`) {
		t.Error("cookie did not switch to English")
	}
}

var lexiconTables = regexp.MustCompile(`(?s)<tbody>.*?</tbody>|<details.*?</details>`)

// In English, the pages' own texts have no Chinese left (crawled content
// aside: these pages run without data).
func TestEnglishPagesHaveNoChinese(t *testing.T) {
	w := newWorld(t, Options{})
	c := w.login("admin")
	c.lang = "en"
	allowed := strings.NewReplacer("中文", "", "燃气 泄漏", "", "+燃气 +泄漏 -演练", "", `"基站起火"`, "", "&#34;基站起火&#34;", "", "title:爆炸", "")
	for _, p := range []string{"/", "/leads", "/search", "/sources", "/lexicons", "/webhooks", "/users", "/export", "/nowhere"} {
		body := allowed.Replace(c.getBody(p))
		if p == "/lexicons" {
			// The lexicons' own terms and names are data, in Chinese in
			// every language: leave out the tables that list them.
			body = lexiconTables.ReplaceAllString(body, "")
		}
		for _, r := range body {
			if r >= 0x4e00 && r <= 0x9fff {
				i := strings.IndexRune(body, r)
				t.Errorf("%s: Chinese in the English page near %q", p, body[max(0, i-60):min(len(body), i+30)])
				break
			}
		}
	}
}

// TestAuditNoteInTheUsersLanguage: the reason, merge target and unit
// stored beside a transition's note read under labels in the user's
// language; the analyst's own words stay as written.
func TestAuditNoteInTheUsersLanguage(t *testing.T) {
	zh, en := loc{Lang: "zh-CN"}, loc{Lang: "en"}
	for _, c := range []struct {
		a      alerts.AuditEntry
		zh, en string
	}{
		{alerts.AuditEntry{Note: "已核实", Reason: "重复"}, "已核实（原因：重复）", "已核实 (reason: 重复)"},
		{alerts.AuditEntry{Unit: "鼓楼消防站"}, "（处置单位：鼓楼消防站）", "(unit: 鼓楼消防站)"},
		{alerts.AuditEntry{Note: "见现场照片", MergeInto: "01ABC"}, "见现场照片（并入 01ABC）", "见现场照片 (into 01ABC)"},
		{alerts.AuditEntry{Note: "先派", Reason: "误报(演练)", Unit: "一中队"}, "先派（原因：误报(演练)）（处置单位：一中队）", "先派 (reason: 误报(演练)) (unit: 一中队)"},
		{alerts.AuditEntry{Note: "普通备注 (reason: 这是备注里的字)"}, "普通备注 (reason: 这是备注里的字)", "普通备注 (reason: 这是备注里的字)"},
	} {
		if got := zh.AuditNote(c.a); got != c.zh {
			t.Errorf("zh %+v: got %q, want %q", c.a, got, c.zh)
		}
		if got := en.AuditNote(c.a); got != c.en {
			t.Errorf("en %+v: got %q, want %q", c.a, got, c.en)
		}
	}
}

// TestCueKindsNamed: every severity cue kind a lead can carry has a name
// in every language of the catalogue.
func TestCueKindsNamed(t *testing.T) {
	for lang, msgs := range catalog {
		for _, k := range nlp.CueKinds {
			if _, ok := msgs["cue."+k]; !ok {
				t.Errorf("%s: no name for the cue kind %q (cue.%s)", lang, k, k)
			}
		}
	}
}
