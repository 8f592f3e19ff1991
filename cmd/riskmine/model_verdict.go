package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"riskmine/alerts"
	alertspg "riskmine/alerts/pgstore"
	"riskmine/internal/pgdb"
	"riskmine/nlp"
	"riskmine/service"
)

// verdictTrain is model train --with-verdicts: the analysts' verdicts from
// the lead store, a fifth held out (verdictHeldOut), train a new model,
// which is written only when it does not regress.
type verdictTrain struct {
	base          string  // --base: the model a stage is trained over
	maxRegression float64 // --max-regression
	minVerdicts   int     // --min-verdicts
}

// verdictExamples reads the verdicts of the lead store, and of verdict
// files (verdicts taken over from another system), and returns them as
// training examples split into the training part and the held-out part
// (see verdictHeldOut).
func verdictExamples(ctx context.Context, cf *commonFlags, files []string, known map[string]bool, warn io.Writer) (train, held []nlp.TrainExample, err error) {
	cfg, err := loadConfig(cf)
	if err != nil {
		return nil, nil, err
	}
	var vs []alerts.Verdict
	// A data folder without a lead store has no verdicts; do not make one.
	if cfg.Cluster.Postgres() {
		// A cluster's verdicts are in its PostgreSQL (read only here).
		pool, err := pgdb.Open(ctx, cfg.Cluster.Store, pgdb.Options{MaxConns: 2})
		if err != nil {
			return nil, nil, fmt.Errorf("cluster.store: %w", err)
		}
		st, err := alertspg.New(ctx, pool, service.AlertsOptions(cfg, nil))
		if err != nil {
			pool.Close()
			return nil, nil, err
		}
		vs, err = st.Verdicts(ctx)
		st.Close()
		pool.Close()
		if err != nil {
			return nil, nil, err
		}
	} else if _, err := os.Stat(filepath.Join(cfg.DataDir, "riskmine.db")); err == nil {
		st, _, err := openAlertsStore(cf)
		if err != nil {
			return nil, nil, err
		}
		vs, err = st.Verdicts(ctx)
		st.Close()
		if err != nil {
			return nil, nil, err
		}
	} else if len(files) == 0 {
		return nil, nil, fmt.Errorf("no lead store at %s: no verdicts", filepath.Join(cfg.DataDir, "riskmine.db"))
	}
	add := func(id string, ex nlp.TrainExample) {
		if verdictHeldOut(id) {
			held = append(held, ex)
		} else {
			train = append(train, ex)
		}
	}
	for _, v := range vs {
		ex := nlp.TrainExample{ID: "lead:" + v.LeadID, Set: "verdicts", Title: v.Title, Text: v.Text}
		if v.Positive {
			// A confirmed lead speaks for its own category only.
			ex.Labels, ex.Known = []string{v.Category}, []string{v.Category}
		}
		add(v.LeadID, ex)
	}
	posts, _, err := readLabelled(files, "all", known, warn)
	if err != nil {
		return nil, nil, err
	}
	for _, p := range posts {
		ex := nlp.TrainExample{ID: p.ID, Set: "verdicts", Title: p.Title, Text: p.Text}
		if len(p.Labels) > 0 {
			ex.Labels, ex.Known = p.Labels, p.Labels
		}
		add(p.ID, ex)
	}
	return train, held, nil
}

// gateResult compares the live model and a candidate on the frozen
// hand-written posts and on the held-out verdicts.
type gateResult struct {
	liveFrozen, newFrozen nlp.Decisions
	liveHeld, newHeld     nlp.Decisions
	failures              []string
}

// checkNoRegression runs the gate: on the frozen posts the candidate may
// lose at most maxReg of recall and gain at most maxReg of false-positive
// rate; on the held-out verdicts it must make at least as many right
// decisions as the live model.
func checkNoRegression(an *nlp.Analyzer, live, cand *nlp.Model, held []nlp.TrainExample, maxReg float64) (*gateResult, error) {
	frozen, err := nlp.FrozenCases()
	if err != nil {
		return nil, err
	}
	g := &gateResult{}
	decide := func(m *nlp.Model, exs []nlp.TrainExample) (nlp.Decisions, error) {
		if m == nil {
			// No live model: nothing is found, nothing is flagged.
			var d nlp.Decisions
			for _, ex := range exs {
				if len(ex.Labels) == 0 {
					d.Negatives++
				} else {
					d.Positives += len(ex.Labels)
				}
			}
			return d, nil
		}
		return an.Decide(m, exs)
	}
	if g.liveFrozen, err = decide(live, frozen); err != nil {
		return nil, err
	}
	if g.newFrozen, err = decide(cand, frozen); err != nil {
		return nil, err
	}
	if g.liveHeld, err = decide(live, held); err != nil {
		return nil, err
	}
	if g.newHeld, err = decide(cand, held); err != nil {
		return nil, err
	}
	if d := g.liveFrozen.Recall() - g.newFrozen.Recall(); d > maxReg+1e-9 {
		g.failures = append(g.failures, fmt.Sprintf("recall on the frozen hand-written posts falls by %.3f (most allowed %.3f)", d, maxReg))
	}
	if d := g.newFrozen.FPR() - g.liveFrozen.FPR(); d > maxReg+1e-9 {
		g.failures = append(g.failures, fmt.Sprintf("false positives on the frozen hand-written negatives rise by %.3f (most allowed %.3f)", d, maxReg))
	}
	if g.newHeld.Correct() < g.liveHeld.Correct() {
		g.failures = append(g.failures, fmt.Sprintf("%d right decisions on the held-out verdicts, the live model makes %d", g.newHeld.Correct(), g.liveHeld.Correct()))
	}
	return g, nil
}

func (g *gateResult) print(w io.Writer) {
	row := func(name string, d nlp.Decisions) {
		fmt.Fprintf(w, "  %-26s recall %.3f (%d/%d)  false positives %.3f (%d/%d)  right %d\n", name, d.Recall(), d.Found, d.Positives, d.FPR(), d.Flagged, d.Negatives, d.Correct())
	}
	fmt.Fprintln(w, "no-regression gate:")
	row("live, frozen posts", g.liveFrozen)
	row("new, frozen posts", g.newFrozen)
	row("live, held-out verdicts", g.liveHeld)
	row("new, held-out verdicts", g.newHeld)
}

// writeWithRollback writes m to path, keeping the file it replaces as
// path.prev for 'model rollback'.
func writeWithRollback(m *nlp.Model, path string) (prev string, err error) {
	if _, err := os.Stat(path); err == nil {
		prev = path + ".prev"
		if err := os.Rename(path, prev); err != nil {
			return "", fmt.Errorf("keep the previous model: %w", err)
		}
	}
	if err := m.WriteFile(path); err != nil {
		if prev != "" {
			_ = os.Rename(prev, path)
		}
		return "", err
	}
	return prev, nil
}

func runModelRollback(ctx context.Context, env *cmdEnv, args []string) error {
	fs, cf := newFlagSet(env, "model rollback", "model rollback [--model MODEL]",
		`Puts the previous model back: MODEL and MODEL.prev (kept by 'model train' when it
replaced MODEL) swap places, so a second rollback undoes the first. MODEL defaults
to nlp.model of the config. Then send serve SIGHUP, or use the lexicon page's
reload button, to put it live.`)
	path := fs.String("model", "", "model file (default nlp.model)")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	if *path == "" {
		cfg, err := loadConfig(cf)
		if err != nil {
			return err
		}
		*path = cfg.NLP.Model
	}
	if *path == "" || *path == "none" || *path == "default" {
		return errors.New("model rollback: nlp.model names no model file; give --model FILE")
	}
	prev := *path + ".prev"
	// Both must read as models before anything moves.
	cur, err := nlp.ReadModel(*path)
	if err != nil {
		return err
	}
	old, err := nlp.ReadModel(prev)
	if err != nil {
		return fmt.Errorf("model rollback: no previous model to go back to: %w", err)
	}
	tmp := *path + ".swap"
	if err := os.Rename(*path, tmp); err != nil {
		return err
	}
	if err := os.Rename(prev, *path); err != nil {
		_ = os.Rename(tmp, *path)
		return err
	}
	if err := os.Rename(tmp, prev); err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "%s is now model %s (was %s, kept as %s); send serve SIGHUP or use the lexicon page's reload to put it live\n",
		*path, old.Info.Version, cur.Info.Version, prev)
	return nil
}

// verdictsOf counts positives and negatives.
func verdictsOf(exs []nlp.TrainExample) (pos, neg int) {
	for _, ex := range exs {
		if len(ex.Labels) > 0 {
			pos++
		} else {
			neg++
		}
	}
	return pos, neg
}

// trainStage trains a stage over the base model on the verdicts, gates it
// against the live model and writes it.
func (vt *verdictTrain) trainStage(env *cmdEnv, live string, an *nlp.Analyzer, train, held []nlp.TrainExample, out string) error {
	base, err := loadModel(vt.base, "")
	if err != nil {
		return err
	}
	if base == nil {
		return errNoModel
	}
	m, err := an.TrainStage(base, train, nlp.StageOptions{Log: logTo(env.stderr)})
	if err != nil {
		return err
	}
	if err := vt.gate(env, live, an, m, held); err != nil {
		return err
	}
	prev, err := writeWithRollback(m, out)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "wrote %s: model %s, a stage over %s with %d verdicts\n", out, m.Info.Version, base.Info.Version, len(train))
	vt.afterWrite(env, out, prev)
	return nil
}

// gate checks the candidate against the live model (nlp.model, else the
// embedded one) and refuses it when it regresses.
func (vt *verdictTrain) gate(env *cmdEnv, livePath string, an *nlp.Analyzer, cand *nlp.Model, held []nlp.TrainExample) error {
	var live *nlp.Model
	var err error
	if livePath != "none" {
		if live, err = loadModel("", livePath); err != nil {
			return fmt.Errorf("the live model: %w", err)
		}
	}
	g, err := checkNoRegression(an, live, cand, held, vt.maxRegression)
	if err != nil {
		return err
	}
	g.print(env.stdout)
	if len(g.failures) > 0 {
		for _, f := range g.failures {
			fmt.Fprintln(env.stderr, "regression: "+f)
		}
		return fmt.Errorf("model train: the new model regresses (%d checks failed); nothing was written", len(g.failures))
	}
	return nil
}

func (vt *verdictTrain) afterWrite(env *cmdEnv, out, prev string) {
	if prev != "" {
		fmt.Fprintf(env.stdout, "the model it replaced is kept as %s ('riskmine model rollback --model %s' puts it back)\n", prev, out)
	}
	fmt.Fprintf(env.stdout, "to put it live: nlp.model: %s in the config, then SIGHUP to serve or the reload button on the lexicon page\n", out)
}

// verdictHeldOut reports whether a verdict on a lead or post is held out
// to check a new model: md5("verdict:" + id) mod 5 is 0. The prefix keeps
// this split apart from the posts' split, so verdicts on posts of the
// posts' validation part are not all held out.
func verdictHeldOut(id string) bool { return nlp.InValidation("verdict:" + id) }
