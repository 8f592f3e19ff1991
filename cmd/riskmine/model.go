package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"riskmine/config"
	"riskmine/nlp"
)

func init() {
	register(&command{
		name:    "model",
		summary: "the detection model: train --out MODEL FILE.jsonl…, eval [--model MODEL] FILE.jsonl…, levels, info, prune, rollback",
		run:     runModel,
	})
}

var modelCommands = map[string]func(ctx context.Context, env *cmdEnv, args []string) error{
	"train":    runModelTrain,
	"eval":     runModelEval,
	"info":     runModelInfo,
	"prune":    runModelPrune,
	"rollback": runModelRollback,
}

func runModel(ctx context.Context, env *cmdEnv, args []string) error {
	names := make([]string, 0, len(modelCommands))
	for n := range modelCommands {
		names = append(names, n)
	}
	sort.Strings(names)
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintf(env.stderr, "Usage: riskmine model <%s> [flags] [args]\n\nRun 'riskmine model <subcommand> --help' for its flags.\n", strings.Join(names, "|"))
		if len(args) == 0 {
			return errUsage
		}
		return nil
	}
	run, ok := modelCommands[args[0]]
	if !ok {
		fmt.Fprintf(env.stderr, "riskmine model: unknown subcommand %q, expected one of %s\n", args[0], strings.Join(names, ", "))
		return errUsage
	}
	return run(ctx, env, args[1:])
}

// labelledPost is one line of a labelled JSON Lines file.
type labelledPost struct {
	ID     string   `json:"id"`
	Set    string   `json:"set"`
	Title  string   `json:"title"`
	Text   string   `json:"text"`
	Labels []string `json:"labels"`
	// Weight, when set, scales the post in training.
	Weight float64 `json:"weight"`
	// Level, when set, is the level the severity rubric gives the post.
	Level string `json:"level"`
}

// readLabelled reads labelled posts from files. A malformed line is reported
// on warn as FILE:LINE and skipped; split keeps "train", "validation" or
// "all" posts. It returns the posts and the count read from each file.
func readLabelled(files []string, split string, known map[string]bool, warn io.Writer) ([]labelledPost, []nlp.ModelSource, error) {
	var out []labelledPost
	var srcs []nlp.ModelSource
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			return nil, nil, err
		}
		r := bufio.NewReaderSize(f, 1<<16)
		n := 0
		for lineNo := 1; ; lineNo++ {
			line, rerr := r.ReadBytes('\n')
			if s := strings.TrimSpace(string(line)); s != "" {
				var p labelledPost
				switch err := json.Unmarshal([]byte(s), &p); {
				case err != nil:
					fmt.Fprintf(warn, "%s:%d: skipped: not a JSON object {\"id\",\"text\",\"labels\"}: %v\n", name, lineNo, err)
				case p.ID == "":
					fmt.Fprintf(warn, "%s:%d: skipped: no \"id\"\n", name, lineNo)
				case p.Text == "" && p.Title == "":
					fmt.Fprintf(warn, "%s:%d: skipped: no \"text\" or \"title\"\n", name, lineNo)
				case !knownLabels(p.Labels, known):
					fmt.Fprintf(warn, "%s:%d: skipped: unknown category in labels %q\n", name, lineNo, p.Labels)
				case p.Level != "" && nlp.LevelRank(p.Level) < 0:
					fmt.Fprintf(warn, "%s:%d: skipped: level %q, expected none, low, medium, high or critical\n", name, lineNo, p.Level)
				default:
					keep := split == "all" || (split == "validation") == nlp.InValidation(p.ID)
					if keep {
						out = append(out, p)
						n++
					}
				}
			}
			if rerr == io.EOF {
				break
			}
			if rerr != nil {
				f.Close()
				return nil, nil, fmt.Errorf("read %s: %w", name, rerr)
			}
		}
		f.Close()
		srcs = append(srcs, nlp.ModelSource{Name: filepath.Base(name), Posts: n})
	}
	return out, srcs, nil
}

// loadLabelled loads the config, a lexicon-only analyzer (training and
// evaluation read the lexicon hits as features) and the labelled posts of
// files in split.
func loadLabelled(env *cmdEnv, cf *commonFlags, files []string, split string) (*config.Config, *nlp.Analyzer, []labelledPost, []nlp.ModelSource, error) {
	if split != "all" && split != "train" && split != "validation" {
		return nil, nil, nil, nil, fmt.Errorf("--split: got %q, expected all, train or validation", split)
	}
	cfg, err := loadConfig(cf)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	an, err := nlp.NewAnalyzer(nlp.Options{LexiconDir: cfg.NLP.LexiconDir, NoFingerprint: true, LexiconOnly: true})
	if err != nil {
		return nil, nil, nil, nil, err
	}
	posts, srcs, err := readLabelled(files, split, knownCodes(an), env.stderr)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	return cfg, an, posts, srcs, nil
}

func knownLabels(ls []string, known map[string]bool) bool {
	for _, l := range ls {
		if !known[l] {
			return false
		}
	}
	return true
}

// setWeights parses repeated SET=WEIGHT flags.
type setWeights map[string]float64

func (s setWeights) String() string { return fmt.Sprint(map[string]float64(s)) }

func (s setWeights) Set(v string) error {
	k, w, ok := strings.Cut(v, "=")
	f, err := strconv.ParseFloat(w, 64)
	if !ok || err != nil || f <= 0 {
		return fmt.Errorf("expected SET=WEIGHT with a positive weight, got %q", v)
	}
	s[k] = f
	return nil
}

func trainExamples(posts []labelledPost, weights setWeights) []nlp.TrainExample {
	exs := make([]nlp.TrainExample, len(posts))
	for i, p := range posts {
		w := p.Weight
		if sw, ok := weights[p.Set]; ok {
			w = max(w, 1) * sw
		}
		exs[i] = nlp.TrainExample{ID: p.ID, Set: p.Set, Title: p.Title, Text: p.Text, Labels: p.Labels, Weight: w}
	}
	return exs
}

func runModelTrain(ctx context.Context, env *cmdEnv, args []string) error {
	fs, cf := newFlagSet(env, "model train", "model train --out MODEL [--split train|all] FILE.jsonl…",
		`Trains the detection model on labelled JSON Lines files ({"id","set","title","text",
"labels":[codes]}; labels [] is a negative): one calibrated logistic regression per
category over character n-grams and the lexicon hits. Calibration and thresholds are
fitted on out-of-fold scores. Malformed lines are reported as FILE:LINE and skipped.
--split train keeps the posts whose md5(id) mod 5 is not 0 (the validation part is
left for 'model eval').`)
	out := fs.String("out", "", "model file to write (required)")
	split := fs.String("split", "all", "posts to train on: all, train (md5(id) mod 5 != 0) or validation")
	weights := setWeights{}
	fs.Var(weights, "weight", "SET=W scales the posts of a set (repeatable)")
	epochs := fs.Int("epochs", 0, "passes over the data (default 6)")
	seed := fs.Uint64("seed", 0, "orders each pass over the data (default 1); another seed trains the same model up to the order, which measures training's own noise")
	maxFPR := fs.Float64("max-fpr", 0, "per category, the most share of negatives flagged at the threshold (default 0.003)")
	minPrec := fs.Float64("min-precision", 0, "per category, the least out-of-fold precision at the threshold (default 0.9)")
	l1 := fs.Float64("l1", 0, "L1 regularisation (default 0.5; smaller keeps more features)")
	words := fs.Bool("words", false, "also read gse words and word pairs (scoring with the model then loads the segmenter's dictionary)")
	var balance stringList
	fs.Var(&balance, "balance", "SET: up-weight the set's positives in each category by √(other positives / its positives), 1 to 10 (repeatable)")
	registers := fs.Bool("registers", false, "also read the register features: cues of drills, publicity, films, rebuttals, fixed problems… alone and with each category the lexicons scored")
	domains := fs.Bool("domains", false, "also read the n-grams and lexicon features of court records and of short posts (up to 120 characters) a second time, as features of their register only")
	cues := fs.Bool("cues", false, "also read the severity cues the rubric finds (people trapped, casualties, a drill, a film…), each kind alone and at its level")
	withCases := fs.Bool("with-cases", false, "also train on the lexicons' example cases (sets lexicon_cases and lexicon_cases_neg)")
	maxLoss := fs.Float64("max-recall-loss", 0, "the most out-of-fold recall a category gives up to --max-set-fpr (default 0.03)")
	maxSetFPR := fs.Float64("max-set-fpr", 0, "the most share of any one set's negatives flagged by any category (default 0.012)")
	withVerdicts := fs.Bool("with-verdicts", false, "also learn from the analysts' verdicts in the lead store; without FILEs, as a stage over --base")
	var vt verdictTrain
	fs.StringVar(&vt.base, "base", "", "with --with-verdicts and no FILE: the model the stage is trained over (default the embedded model)")
	fs.Float64Var(&vt.maxRegression, "max-regression", 0.01, "with --with-verdicts: the most recall lost, or false-positive rate gained, on the frozen hand-written posts")
	fs.IntVar(&vt.minVerdicts, "min-verdicts", 20, "with --with-verdicts: the fewest verdicts to train on")
	var verdictFiles stringList
	fs.Var(&verdictFiles, "verdict-file", "with --with-verdicts: also read verdicts from a labelled JSON Lines file (labels [] a negative of every category, [code] a positive of code only); repeatable")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if *out == "" || (len(pos) == 0 && !*withVerdicts) {
		fmt.Fprintln(env.stderr, "riskmine model train: expected --out MODEL and at least one FILE.jsonl (or --with-verdicts)")
		return errUsage
	}
	cfg, an, posts, srcs, err := loadLabelled(env, cf, pos, *split)
	if err != nil {
		return err
	}
	var vTrain, vHeld []nlp.TrainExample
	if *withVerdicts {
		if vTrain, vHeld, err = verdictExamples(ctx, cf, verdictFiles, knownCodes(an), env.stderr); err != nil {
			return err
		}
		p, n := verdictsOf(append(vTrain, vHeld...))
		fmt.Fprintf(env.stderr, "verdicts: %d confirmed, %d dismissed as no hazard; %d to train on, %d held out\n", p, n, len(vTrain), len(vHeld))
		if len(vTrain)+len(vHeld) < vt.minVerdicts {
			return fmt.Errorf("model train --with-verdicts: %d verdicts, expected at least %d (--min-verdicts)", len(vTrain)+len(vHeld), vt.minVerdicts)
		}
		if len(vHeld) == 0 || len(vTrain) == 0 {
			return fmt.Errorf("model train --with-verdicts: %d verdicts to train on and %d held out (md5(\"verdict:\"+id) mod 5 is 0): both parts need some", len(vTrain), len(vHeld))
		}
		if len(pos) == 0 {
			return vt.trainStage(env, cfg.NLP.Model, an, vTrain, vHeld, *out)
		}
	}
	if *withCases {
		cases, err := lexiconCasePosts(cfg.NLP.LexiconDir)
		if err != nil {
			return err
		}
		posts = append(posts, cases...)
		srcs = append(srcs, nlp.ModelSource{Name: "lexicon cases", Posts: len(cases)})
	}
	opts := nlp.TrainOptions{Epochs: *epochs, Seed: *seed, MaxFPR: *maxFPR, MinPrecision: *minPrec, L1: *l1, MaxSetFPR: *maxSetFPR, MaxRecallLoss: *maxLoss, Sources: srcs,
		Workers: runtime.GOMAXPROCS(0), Log: logTo(env.stderr), Words: *words, Registers: *registers, Domains: *domains, Cues: *cues, BalanceSets: balance, Context: ctx}
	exs := trainExamples(posts, weights)
	for _, v := range vTrain {
		if w, ok := weights[v.Set]; ok {
			v.Weight = w
		}
		exs = append(exs, v)
	}
	if len(vTrain) > 0 {
		opts.Sources = append(opts.Sources, nlp.ModelSource{Name: "analyst verdicts", Posts: len(vTrain)})
	}
	m, err := an.TrainModel(exs, opts)
	if err != nil {
		return err
	}
	if *withVerdicts {
		m.Info.Verdicts = len(vTrain)
		if err := vt.gate(env, cfg.NLP.Model, an, m, vHeld); err != nil {
			return err
		}
	}
	prev, err := writeWithRollback(m, *out)
	if err != nil {
		return err
	}
	st, _ := os.Stat(*out)
	fmt.Fprintf(env.stdout, "wrote %s: model %s, %d posts, %d feature rows, %.1f MB\n", *out, m.Info.Version, m.Info.Examples, m.Size(), float64(st.Size())/1e6)
	printModelFigures(env.stdout, m)
	if *withVerdicts {
		vt.afterWrite(env, *out, prev)
	}
	return nil
}

func logTo(w io.Writer) func(string, ...any) {
	var mu sync.Mutex
	return func(format string, a ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(w, format+"\n", a...)
	}
}

func knownCodes(an *nlp.Analyzer) map[string]bool {
	m := map[string]bool{}
	for _, c := range an.Categories() {
		m[c] = true
	}
	return m
}

func printModelFigures(w io.Writer, m *nlp.Model) {
	fmt.Fprintf(w, "out-of-fold at the threshold:\n  %-20s %6s %9s %7s %9s %7s\n", "category", "pos", "threshold", "recall", "precision", "fpr")
	for i, f := range m.Info.Figures {
		fmt.Fprintf(w, "  %-20s %6d %9.3f %7.3f %9.3f %7.4f\n", f.Code, f.Positives, m.Info.Thresholds[i], f.Recall, f.Precision, f.FPR)
	}
}

func runModelInfo(ctx context.Context, env *cmdEnv, args []string) error {
	fs, cf := newFlagSet(env, "model info", "model info [--model MODEL]",
		`Prints the model's version, training date, sources and per-category figures: the
model of nlp.model in the config, or the embedded default, or --model.`)
	path := fs.String("model", "", "model file (default nlp.model, else the embedded model)")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	m, err := configModel(cf, *path)
	if err != nil {
		return err
	}
	if m == nil {
		fmt.Fprintln(env.stdout, "no model: this binary embeds none and nlp.model is not set")
		return nil
	}
	fmt.Fprintf(env.stdout, "model %s, trained %s on %d posts\n", m.Info.Version, m.Info.TrainedAt.Format(time.RFC3339), m.Info.Examples)
	if m.Info.Base != "" {
		fmt.Fprintf(env.stdout, "verdict stage over %s with %d verdicts\n", m.Info.Base, m.Info.Verdicts)
	}
	if m.Info.Pruned > 0 {
		fmt.Fprintf(env.stdout, "pruned: feature rows of effect under %g dropped; %d rows kept\n", m.Info.Pruned, m.Size())
	}
	for _, s := range m.Info.Sources {
		fmt.Fprintf(env.stdout, "  source %s: %d posts\n", s.Name, s.Posts)
	}
	printModelFigures(env.stdout, m)
	printLevelFigures(env.stdout, m)
	return nil
}

func runModelPrune(ctx context.Context, env *cmdEnv, args []string) error {
	fs, cf := newFlagSet(env, "model prune", "model prune --min-effect E --out OUT [--model MODEL]",
		`Writes a copy of the model without the feature rows whose largest effect on a
category's calibrated log-odds (|weight × Platt slope|) is under E: a smaller table
that stays in the processor's caches. The model of nlp.model in the config, or the
embedded default, or --model. Check the result with 'riskmine model eval'.`)
	path := fs.String("model", "", "model file (default nlp.model, else the embedded model)")
	out := fs.String("out", "", "file to write the pruned model to")
	minEffect := fs.Float64("min-effect", 0, "least effect a feature row keeps (the embedded model was pruned at 0.02)")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	if *out == "" || *minEffect <= 0 {
		fmt.Fprintln(env.stderr, "riskmine model prune: expected --out FILE and a positive --min-effect")
		return errUsage
	}
	m, err := requireModel(cf, *path)
	if err != nil {
		return err
	}
	p := m.Pruned(*minEffect)
	if err := p.WriteFile(*out); err != nil {
		return fmt.Errorf("model prune: write %s: %w", *out, err)
	}
	fmt.Fprintf(env.stdout, "wrote %s: model %s, %d of %d feature rows kept\n", *out, p.Info.Version, p.Size(), m.Size())
	return nil
}

// configModel loads the config of cf and the model of flagPath, else of
// its nlp.model, else the embedded one (nil when none is embedded).
func configModel(cf *commonFlags, flagPath string) (*nlp.Model, error) {
	cfg, err := loadConfig(cf)
	if err != nil {
		return nil, err
	}
	return loadModel(flagPath, cfg.NLP.Model)
}

// requireModel is configModel that fails with errNoModel when no model
// can be read.
func requireModel(cf *commonFlags, flagPath string) (*nlp.Model, error) {
	m, err := configModel(cf, flagPath)
	if err == nil && m == nil {
		err = errNoModel
	}
	return m, err
}

// loadModel reads the model file flag, else the config's, else the
// embedded default (nil when none is embedded).
func loadModel(flagPath, cfgPath string) (*nlp.Model, error) {
	p := flagPath
	if p == "" {
		p = cfgPath
	}
	if p == "" || p == "default" {
		return nlp.DefaultModel()
	}
	return nlp.ReadModel(p)
}

// errNoModel is returned by model eval --model when no model can be read.
var errNoModel = errors.New("no model: this binary embeds none; give --model FILE")

// lexiconCasePosts turns the example cases kept beside the lexicons (written
// for riskmine) into labelled posts: a positive of a category is labelled
// with it, a negative with nothing.
func lexiconCasePosts(dir string) ([]labelledPost, error) {
	sets, err := nlp.LoadLexiconCases(dir)
	if err != nil {
		return nil, err
	}
	var out []labelledPost
	for _, cs := range sets {
		for i, t := range cs.Positive {
			out = append(out, labelledPost{ID: fmt.Sprintf("case-%s-p%d", cs.Code, i), Set: "lexicon_cases", Text: t, Labels: []string{cs.Code}})
		}
		for i, t := range cs.Negative {
			out = append(out, labelledPost{ID: fmt.Sprintf("case-%s-n%d", cs.Code, i), Set: "lexicon_cases_neg", Text: t, Labels: []string{}})
		}
	}
	return out, nil
}
