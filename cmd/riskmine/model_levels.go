package main

import (
	"context"
	"fmt"
	"io"
	"runtime"

	"riskmine/nlp"
)

func init() {
	modelCommands["levels"] = runModelLevels
}

func runModelLevels(ctx context.Context, env *cmdEnv, args []string) error {
	fs, cf := newFlagSet(env, "model levels", "model levels --out OUT [--model MODEL] [--split train|all] FILE.jsonl…",
		`Trains the learned part of the levels on the posts of the files that carry a
"level" (none, low, medium, high or critical, by the severity rubric) and writes a
copy of the model with it: three logistic heads over the post's character n-grams,
lexicon hits and severity cues, answering "is the level at least medium / high /
critical?". A detected category's level is then the highest of its base level, the
learned level and the rubric's level: the learned part only raises. Detection is
unchanged. The model of
nlp.model in the config, or the embedded default, or --model. --rubric-only writes
the copy without learned levels.`)
	path := fs.String("model", "", "model file (default nlp.model, else the embedded model)")
	out := fs.String("out", "", "model file to write (required)")
	split := fs.String("split", "all", "posts to train on: all, train (md5(id) mod 5 != 0) or validation")
	rubricOnly := fs.Bool("rubric-only", false, "write the model without learned levels")
	lo := levelFlags(fs)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if *out == "" || (len(pos) == 0 && !*rubricOnly) {
		fmt.Fprintln(env.stderr, "riskmine model levels: expected --out MODEL and at least one FILE.jsonl (or --rubric-only)")
		return errUsage
	}
	m, err := requireModel(cf, *path)
	if err != nil {
		return err
	}
	var lm *nlp.LevelModel
	if !*rubricOnly {
		_, an, posts, _, err := loadLabelled(env, cf, pos, *split)
		if err != nil {
			return err
		}
		if lm, err = trainLevels(ctx, env.stderr, an, posts, lo); err != nil {
			return err
		}
	}
	m = m.WithLevels(lm)
	if _, err := writeWithRollback(m, *out); err != nil {
		return fmt.Errorf("model levels: write %s: %w", *out, err)
	}
	fmt.Fprintf(env.stdout, "wrote %s: model %s\n", *out, m.Info.Version)
	printLevelFigures(env.stdout, m)
	return nil
}

// levelOptions are the training flags of the learned levels.
type levelOptions struct {
	epochs int
	l1     float64
	seed   uint64
	minW   float64
}

func levelFlags(fs interface {
	IntVar(*int, string, int, string)
	Float64Var(*float64, string, float64, string)
	Uint64Var(*uint64, string, uint64, string)
}) *levelOptions {
	lo := &levelOptions{}
	fs.IntVar(&lo.epochs, "level-epochs", 80, "learned levels: passes over the posts with a level")
	fs.Float64Var(&lo.l1, "level-l1", 0.05, "learned levels: L1 regularisation")
	fs.Float64Var(&lo.minW, "level-min-weight", 0.3, "learned levels: the least weight a feature keeps")
	fs.Uint64Var(&lo.seed, "level-seed", 1, "learned levels: orders each pass")
	return lo
}

// trainLevels trains the learned levels on the posts that carry a level.
func trainLevels(ctx context.Context, log io.Writer, an *nlp.Analyzer, posts []labelledPost, lo *levelOptions) (*nlp.LevelModel, error) {
	var exs []nlp.LevelExample
	for _, p := range posts {
		if p.Level == "" {
			continue
		}
		exs = append(exs, nlp.LevelExample{ID: p.ID, Title: p.Title, Text: p.Text, Level: p.Level, Labels: p.Labels})
	}
	if len(exs) == 0 {
		return nil, fmt.Errorf("model levels: none of the posts has a \"level\"")
	}
	return an.TrainLevels(exs, lo.minW, nlp.TrainOptions{Epochs: lo.epochs, L1: lo.l1, Seed: lo.seed,
		Workers: runtime.GOMAXPROCS(0), Log: logTo(log), Context: ctx})
}

// printLevelFigures prints how the model sets levels.
func printLevelFigures(w io.Writer, m *nlp.Model) {
	lm := m.Info.Levels
	if lm == nil {
		fmt.Fprintln(w, "levels: the severity rubric's alone")
		return
	}
	fmt.Fprintf(w, "levels: learned from %d posts (trained %s) beside the rubric\n", lm.Posts, lm.TrainedAt.Format("2006-01-02"))
	if f := lm.Figures; f != nil && f.Posts > 0 {
		fmt.Fprintf(w, "  out of fold on %d posts with a category: exact %.3f (rubric alone %.3f), within one step %.3f (rubric alone %.3f)\n",
			f.Posts, f.Exact, f.RubricExact, f.WithinOne, f.RubricWithin1)
	}
}
