package main

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"riskmine/alerts"
	alertspg "riskmine/alerts/pgstore"
	"riskmine/config"
	"riskmine/internal/pgtest"
	"riskmine/nlp"
	"riskmine/service"
)

// verdictPost is a post of this test with the verdict analysts give it.
type verdictPost struct {
	cat, text string
	to        string // alerts state: confirmed or dismissed
	reason    string
}

// fileVerdicts writes a config whose data folder holds leads of posts, each
// moved to its verdict, and returns the config path.
func fileVerdicts(t *testing.T, posts []verdictPost) string {
	return fileVerdictsIn(t, posts, "")
}

// fileVerdictsIn is fileVerdicts into the cluster store dsn (PostgreSQL)
// when it is not empty.
func fileVerdictsIn(t *testing.T, posts []verdictPost, dsn string) string {
	t.Helper()
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "riskmine.yaml")
	conf := "data_dir: " + filepath.Join(dir, "data") + "\n"
	if dsn != "" {
		conf += "cluster:\n  store: " + dsn + "\nevidence:\n  enabled: false\n"
	}
	if err := os.WriteFile(cfgPath, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var st interface {
		File(context.Context, alerts.Candidate) (alerts.FileResult, error)
		Transition(context.Context, string, alerts.TransitionRequest) (*alerts.Lead, error)
		Close() error
	}
	// Lead ids in filing order: which verdicts are held out for the gate
	// follows a hash of the lead id, so random ids made the training set,
	// and the probabilities below, differ from run to run.
	opts := service.AlertsOptions(cfg, nil)
	var n int
	opts.NewLeadID = func() string { n++; return fmt.Sprintf("01VERDICTTEST%013d", n) }
	if dsn != "" {
		st, err = alertspg.Open(ctx, dsn, opts)
	} else {
		st, err = alerts.OpenSQLite(filepath.Join(cfg.DataDir, "riskmine.db"), opts)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for i, p := range posts {
		res, err := st.File(ctx, alerts.Candidate{
			URL: fmt.Sprintf("https://forum.test/t/%d", i), Title: "", Snippet: p.text, Level: "medium", Score: 5,
			Categories: []alerts.CategoryScore{{Code: p.cat, Score: 5}},
			SimHash:    uint64(i+1) * 0x9E3779B97F4A7C15, Terms: []string{fmt.Sprintf("term%d", i)},
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.Transition(ctx, res.LeadID, alerts.TransitionRequest{To: p.to, Reason: p.reason, Actor: "ana", Version: 1}); err != nil {
			t.Fatalf("post %d: %v", i, err)
		}
	}
	return cfgPath
}

// fundPosts are written for this test: fund announcements and investment
// tips a district's analysts dismiss (lawful finance, not illegal
// fundraising), schemes they confirm, and duplicates that must not count.
func fundPosts() []verdictPost {
	lawful := []string{"%s基金管理公司公告：旗下混合基金拟每10份派发现金红利%d.2元，投资者可选择红利再投资",
		"理财小课堂第%d期：收益越高风险越大，%s的投资者购买基金前请看清产品说明书",
		"%s银行发布公告，第%d期净值型理财产品到期分红已到账，历史业绩不代表未来表现"}
	schemes := []string{"%s有个养老项目，拉人投钱说月息%d分，保本保息，老人们都把养老钱投进去了，现在老板联系不上",
		"我妈在%s被人拉进一个群，说投%d万一年翻倍，还要发展下线才能提现，这是不是非法集资",
		"%s一家投资公司突然关门，几百个人的钱取不出来，据说承诺年化收益%d%%，大家在门口等着"}
	places := []string{"仓山区", "鼓楼区", "台江区", "晋安区", "马尾区", "长乐区", "闽侯县", "连江县"}
	var out []verdictPost
	for i := range 36 {
		pl := places[i%len(places)]
		if i%3 == 1 {
			out = append(out, verdictPost{"illegal_fundraising", fmt.Sprintf(lawful[i%3], i+2, pl), alerts.StateDismissed, "正规金融产品公告，不是非法集资"})
		} else {
			out = append(out, verdictPost{"illegal_fundraising", fmt.Sprintf(lawful[i%3], pl, i+2), alerts.StateDismissed, "正规金融产品公告，不是非法集资"})
		}
		out = append(out, verdictPost{"illegal_fundraising", fmt.Sprintf(schemes[i%3], pl, i+3), alerts.StateConfirmed, ""})
	}
	for i := range 4 {
		out = append(out, verdictPost{"illegal_fundraising", fmt.Sprintf(schemes[0], places[i], 40+i), alerts.StateDismissed, "重复线索"})
	}
	return out
}

func TestModelTrainWithVerdicts(t *testing.T) {
	base, err := nlp.DefaultModel()
	if err != nil || base == nil {
		t.Fatalf("embedded model: %v", err)
	}
	cfgPath := fileVerdicts(t, fundPosts())
	out := filepath.Join(filepath.Dir(cfgPath), "models", "site.rmm")
	os.MkdirAll(filepath.Dir(out), 0o750)
	code, stdout, stderr := runAlertsCmd(t, "model", "train", "--config", cfgPath, "--with-verdicts", "--out", out)
	if code != 0 {
		t.Fatalf("train: exit %d\n%s\n%s", code, stdout, stderr)
	}
	// Duplicates are not negatives: 36 confirmed, 36 dismissed as no hazard.
	if !strings.Contains(stderr, "verdicts: 36 confirmed, 36 dismissed as no hazard") {
		t.Errorf("verdict counts missing: %s", stderr)
	}
	if !strings.Contains(stdout, "no-regression gate") || !strings.Contains(stdout, "a stage over "+base.Info.Version) {
		t.Errorf("train output: %s", stdout)
	}
	m, err := nlp.ReadModel(out)
	if err != nil {
		t.Fatal(err)
	}
	if m.Info.Base != base.Info.Version || m.Info.Verdicts == 0 {
		t.Fatalf("info: base %q, verdicts %d", m.Info.Base, m.Info.Verdicts)
	}
	// A fund announcement worded anew reads less like illegal fundraising.
	lex, err := nlp.NewAnalyzer(nlp.Options{NoFingerprint: true, LexiconOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	drill := nlp.Input{Text: "基金分红公告：本基金拟每10份分红0.5元，投资者可选择红利再投资"}
	fi := 0
	for i, c := range m.Info.Categories {
		if c == "illegal_fundraising" {
			fi = i
		}
	}
	// The odds, not the probability, are what a stage moves: near 1 a
	// large move in log-odds halves the probability only at the end. The
	// stage must divide the odds by five at least.
	pBase, pNew := lex.WithModel(base).ModelProbabilities(drill)[fi], lex.WithModel(m).ModelProbabilities(drill)[fi]
	logOdds := func(p float64) float64 { return math.Log(p / (1 - p)) }
	if logOdds(pBase)-logOdds(pNew) < math.Log(5) {
		t.Errorf("a new fund announcement: illegal_fundraising probability %.3f before, %.3f after the verdicts (log-odds %.2f → %.2f)",
			pBase, pNew, logOdds(pBase), logOdds(pNew))
	}

	// A second training keeps the first as .prev; rollback swaps them.
	if code, so, se := runAlertsCmd(t, "model", "train", "--config", cfgPath, "--with-verdicts", "--out", out); code != 0 || !strings.Contains(so, out+".prev") {
		t.Fatalf("second train: exit %d\n%s\n%s", code, so, se)
	}
	second, err := nlp.ReadModel(out)
	if err != nil {
		t.Fatal(err)
	}
	code, so, se := runAlertsCmd(t, "model", "rollback", "--config", cfgPath, "--model", out)
	if code != 0 {
		t.Fatalf("rollback: exit %d\n%s\n%s", code, so, se)
	}
	back, _ := nlp.ReadModel(out)
	prev, _ := nlp.ReadModel(out + ".prev")
	if back == nil || prev == nil || back.Info.TrainedAt.After(second.Info.TrainedAt) || prev.Info.Version != second.Info.Version {
		t.Errorf("rollback did not swap the models: now %v, prev %v", back, prev)
	}
}

func TestModelTrainWithVerdictsRefuses(t *testing.T) {
	// Too few verdicts.
	cfgPath := fileVerdicts(t, fundPosts()[:6])
	out := filepath.Join(t.TempDir(), "m.rmm")
	code, _, stderr := runAlertsCmd(t, "model", "train", "--config", cfgPath, "--with-verdicts", "--out", out)
	if code == 0 || !strings.Contains(stderr, "expected at least 20 (--min-verdicts)") {
		t.Errorf("few verdicts: exit %d, %s", code, stderr)
	}
	// Analysts who dismiss every self-harm post teach the model to miss
	// them; the frozen hand-written posts catch it and nothing is written.
	var posts []verdictPost
	forms := []string{"活着太累了，药我已经攒了%d片，今晚就吃下去，跟大家说声再见", "站在%d楼天台上，风很大，不想再撑下去了，对不起爸妈",
		"已经写好遗书了，刀片就在手边，第%d次觉得自己是个累赘", "最近每天都想死，已经查好了哪座桥最高，打算周%d去"}
	for i := range 40 {
		posts = append(posts, verdictPost{"self_harm", fmt.Sprintf(forms[i%4], i+2), alerts.StateDismissed, "不属实"})
	}
	cfgPath = fileVerdicts(t, posts)
	code, stdout, stderr := runAlertsCmd(t, "model", "train", "--config", cfgPath, "--with-verdicts", "--max-regression", "0", "--out", out)
	if code == 0 || !strings.Contains(stderr, "regression: recall on the frozen hand-written posts falls") || !strings.Contains(stderr, "nothing was written") {
		t.Errorf("regressing stage: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("a refused model was written: %v", err)
	}
}

// TestModelTrainWithVerdictsOnPostgres: a cluster's verdicts, in its
// PostgreSQL, train the next model as the embedded mode's do.
func TestModelTrainWithVerdictsOnPostgres(t *testing.T) {
	dsn := pgtest.DSN(t)
	cfgPath := fileVerdictsIn(t, fundPosts(), dsn)
	out := filepath.Join(filepath.Dir(cfgPath), "site.rmm")
	code, stdout, stderr := runAlertsCmd(t, "model", "train", "--config", cfgPath, "--with-verdicts", "--out", out)
	if code != 0 {
		t.Fatalf("train: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stderr, "verdicts: 36 confirmed, 36 dismissed as no hazard") {
		t.Errorf("verdict counts missing: %s", stderr)
	}
	m, err := nlp.ReadModel(out)
	if err != nil || m.Info.Verdicts == 0 {
		t.Fatalf("model: %v, %v", m, err)
	}
}

// TestModelPrune: model prune writes a smaller copy of the embedded model
// that model info names as pruned, and refuses to run without its flags.
func TestModelPrune(t *testing.T) {
	base, err := nlp.DefaultModel()
	if err != nil || base == nil {
		t.Skip("no embedded model")
	}
	code, _, stderr := runAlertsCmd(t, "model", "prune", "--out", filepath.Join(t.TempDir(), "x.rmm"))
	if code != 2 || !strings.Contains(stderr, "positive --min-effect") {
		t.Errorf("no bound: exit %d, %s", code, stderr)
	}
	out := filepath.Join(t.TempDir(), "small.rmm")
	code, stdout, stderr := runAlertsCmd(t, "model", "prune", "--model", "default", "--min-effect", "0.1", "--out", out)
	if code != 0 || !strings.Contains(stdout, "feature rows kept") {
		t.Fatalf("prune: exit %d\n%s\n%s", code, stdout, stderr)
	}
	m, err := nlp.ReadModel(out)
	if err != nil {
		t.Fatal(err)
	}
	if m.Size() >= base.Size() || m.Info.Pruned != 0.1 {
		t.Errorf("pruned model: %d rows of %d, bound %v", m.Size(), base.Size(), m.Info.Pruned)
	}
	code, stdout, _ = runAlertsCmd(t, "model", "info", "--model", out)
	if code != 0 || !strings.Contains(stdout, "pruned: feature rows of effect under 0.1 dropped") {
		t.Errorf("info: exit %d\n%s", code, stdout)
	}
}
