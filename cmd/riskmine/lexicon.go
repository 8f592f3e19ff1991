package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"riskmine/nlp"
	"riskmine/service"
)

func init() {
	register(&command{
		name:    "lexicon",
		summary: "lexicon tools: test (run the example cases), eval FILE.jsonl (recall, false positives), lint --data FILE.jsonl (patterns copied from posts)",
		run:     runLexicon,
	})
}

// lexiconCommands are the subcommands of `riskmine lexicon`; other files add
// theirs from an init function.
var lexiconCommands = map[string]func(ctx context.Context, env *cmdEnv, args []string) error{
	"test": runLexiconTest,
	"eval": runLexiconEval,
}

func runLexicon(ctx context.Context, env *cmdEnv, args []string) error {
	names := make([]string, 0, len(lexiconCommands))
	for n := range lexiconCommands {
		names = append(names, n)
	}
	sort.Strings(names)
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintf(env.stderr, "Usage: riskmine lexicon <%s> [flags] [args]\n\nRun 'riskmine lexicon <subcommand> --help' for its flags.\n", strings.Join(names, "|"))
		if len(args) == 0 {
			return errUsage
		}
		return nil
	}
	run, ok := lexiconCommands[args[0]]
	if !ok {
		fmt.Fprintf(env.stderr, "riskmine lexicon: unknown subcommand %q, expected one of %s\n", args[0], strings.Join(names, ", "))
		return errUsage
	}
	return run(ctx, env, args[1:])
}

// errCasesFailed reports failed lexicon cases (already printed).
var errCasesFailed = errors.New("lexicon cases failed")

func runLexiconTest(ctx context.Context, env *cmdEnv, args []string) error {
	fs, cf := newFlagSet(env, "lexicon test", "lexicon test [--config FILE] [--code CODE]",
		`Runs the example cases kept beside each lexicon (<code>.cases.yaml, embedded and in
nlp.lexicon_dir): every positive sentence must reach level medium or higher with the
category among its codes, no negative sentence may. Prints each failure with what was
found; exits 1 when a case fails.`)
	only := fs.String("code", "", "run only this category's cases")
	verbose := fs.Bool("v", false, "print every case, not only failures")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfig(cf)
	if err != nil {
		return err
	}
	an, err := service.NewLexiconAnalyzer(cfg)
	if err != nil {
		return err
	}
	sets, err := nlp.LoadLexiconCases(cfg.NLP.LexiconDir)
	if err != nil {
		return err
	}
	known := map[string]bool{}
	for _, c := range an.Categories() {
		known[c] = true
	}
	var failed, total int
	ran := map[string]bool{}
	for _, cs := range sets {
		if *only != "" && cs.Code != *only {
			continue
		}
		ran[cs.Code] = true
		if !known[cs.Code] {
			fmt.Fprintf(env.stdout, "%s: cases file %s names no known category\n", cs.Code, cs.File)
			failed++
			continue
		}
		var lines []string
		check := func(kind, s string, want bool) {
			total++
			as := an.Analyze(nlp.Input{ID: cs.Code, Text: s})
			got := flagged(as, cs.Code)
			if got == want && !*verbose {
				return
			}
			mark := "ok  "
			if got != want {
				mark = "FAIL"
				failed++
			}
			lines = append(lines, fmt.Sprintf("  %s %s: %s\n       found: %s", mark, kind, s, describe(as)))
		}
		for _, s := range cs.Positive {
			check("positive", s, true)
		}
		for _, s := range cs.Negative {
			check("negative", s, false)
		}
		status := "ok"
		if len(cs.Positive) < 10 || len(cs.Negative) < 10 {
			status = fmt.Sprintf("ok (only %d positive, %d negative; at least 10 each expected)", len(cs.Positive), len(cs.Negative))
		}
		nf := 0
		for _, l := range lines {
			if strings.Contains(l, "FAIL") {
				nf++
			}
		}
		if nf > 0 {
			status = fmt.Sprintf("%d of %d failed", nf, len(cs.Positive)+len(cs.Negative))
		}
		fmt.Fprintf(env.stdout, "%-20s %s\n", cs.Code, status)
		for _, l := range lines {
			fmt.Fprintln(env.stdout, l)
		}
	}
	if *only == "" {
		for _, c := range an.Categories() {
			if !ran[c] {
				fmt.Fprintf(env.stdout, "%-20s no cases file (%s.cases.yaml expected)\n", c, c)
				failed++
			}
		}
	} else if !ran[*only] {
		return fmt.Errorf("no cases for category %q", *only)
	}
	fmt.Fprintf(env.stdout, "%d cases, %d failed\n", total, failed)
	if failed > 0 {
		return errCasesFailed
	}
	return nil
}

// flagged is the evaluation's definition of a hit: level medium or higher
// with code among the categories (nlp.LexiconCaseHit, which the lexicon
// editor of the web UI checks saves with too).
func flagged(as *nlp.Assessment, code string) bool { return nlp.LexiconCaseHit(as, code) }

// describe summarises an assessment on one line.
func describe(as *nlp.Assessment) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %.2f", as.Level, as.Score)
	for i, c := range as.Categories {
		if i == 0 {
			b.WriteString(" [")
		} else {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s %.2f", c.Code, c.Score)
		if i == len(as.Categories)-1 {
			b.WriteString("]")
		}
	}
	var ev []string
	for _, e := range as.Evidence {
		ev = append(ev, fmt.Sprintf("%s=%s", e.Rule, e.Text))
	}
	if len(ev) > 0 {
		if len(ev) > 12 {
			ev = append(ev[:12], "…")
		}
		fmt.Fprintf(&b, " evidence: %s", strings.Join(ev, " "))
	}
	var sup []string
	for _, s := range as.Suppressed {
		sup = append(sup, fmt.Sprintf("%s (%s)", s.Text, s.Reason))
	}
	if len(sup) > 0 {
		if len(sup) > 6 {
			sup = append(sup[:6], "…")
		}
		fmt.Fprintf(&b, " suppressed: %s", strings.Join(sup, " "))
	}
	return b.String()
}

// evalRecord is one labelled post.
type evalRecord struct {
	ID     string   `json:"id"`
	Set    string   `json:"set"`
	Title  string   `json:"title"`
	Text   string   `json:"text"`
	Labels []string `json:"labels"`
}

func runLexiconEval(ctx context.Context, env *cmdEnv, args []string) error {
	fs, cf := newFlagSet(env, "lexicon eval", "lexicon eval FILE.jsonl [--misses CODE] [--fps SET]",
		`Scores a labelled JSON Lines file ({"id","set","title","text","labels":[codes]}; labels []
is a negative) and prints per-category recall (found = level >= medium and the labelled
code among the categories), the false-positive rate of each set over its negatives
(level >= medium), and a confusion table of labelled code against the best category.
--misses CODE prints the posts of CODE that were missed; --fps SET the false positives
of SET ("all" for every set), each with what was found.`)
	misses := fs.String("misses", "", "print the missed posts of this category (\"all\" for every category)")
	fps := fs.String("fps", "", "print the false positives of this set (\"all\" for every set)")
	workers := fs.Int("workers", 0, "scoring goroutines (default one per core)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fmt.Fprintln(env.stderr, "riskmine lexicon eval: expected one FILE.jsonl")
		return errUsage
	}
	cfg, err := loadConfig(cf)
	if err != nil {
		return err
	}
	an, err := service.NewLexiconAnalyzer(cfg)
	if err != nil {
		return err
	}
	f, err := os.Open(pos[0])
	if err != nil {
		return err
	}
	defer f.Close()
	var recs []evalRecord
	r := bufio.NewReaderSize(f, 1<<16)
	for lineNo := 1; ; lineNo++ {
		line, err := r.ReadBytes('\n')
		if len(strings.TrimSpace(string(line))) > 0 {
			var rec evalRecord
			if jerr := json.Unmarshal(line, &rec); jerr != nil {
				return fmt.Errorf("%s:%d: %w", pos[0], lineNo, jerr)
			}
			recs = append(recs, rec)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", pos[0], err)
		}
	}
	n := *workers
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	start := time.Now()
	out := make([]*nlp.Assessment, len(recs))
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < n; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				out[i] = an.Analyze(nlp.Input{ID: recs[i].ID, Title: recs[i].Title, Text: recs[i].Text})
			}
		}()
	}
	for i := range recs {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	elapsed := time.Since(start)
	printEval(env.stdout, recs, out, *misses, *fps)
	var bytes int
	for _, rec := range recs {
		bytes += len(rec.Title) + len(rec.Text)
	}
	fmt.Fprintf(env.stdout, "\n%d posts, %.1f MB scored in %s with %d workers\n", len(recs), float64(bytes)/1e6, elapsed.Round(time.Millisecond), n)
	return nil
}

// printEval prints recall, false-positive rates and the confusion table.
func printEval(w io.Writer, recs []evalRecord, out []*nlp.Assessment, misses, fps string) {
	type tally struct{ n, found int }
	recall := map[string]*tally{}
	negs := map[string]*tally{}
	fpCats := map[string]map[string]int{}
	confusion := map[string]map[string]int{}
	cols := map[string]bool{}
	for i, rec := range recs {
		as := out[i]
		top := "none"
		if nlp.LevelRank(as.Level) >= nlp.LevelRank(nlp.LevelMedium) && len(as.Categories) > 0 {
			top = as.Categories[0].Code
		}
		if len(rec.Labels) == 0 {
			t := negs[rec.Set]
			if t == nil {
				t = &tally{}
				negs[rec.Set] = t
			}
			t.n++
			if top != "none" {
				t.found++
				if fpCats[rec.Set] == nil {
					fpCats[rec.Set] = map[string]int{}
				}
				fpCats[rec.Set][top]++
			}
			continue
		}
		for _, code := range rec.Labels {
			t := recall[code]
			if t == nil {
				t = &tally{}
				recall[code] = t
			}
			t.n++
			if flagged(as, code) {
				t.found++
			}
			if confusion[code] == nil {
				confusion[code] = map[string]int{}
			}
			confusion[code][top]++
			cols[top] = true
		}
	}
	fmt.Fprintln(w, "recall (found = level >= medium and the labelled code among the categories)")
	codes := sortedKeys(recall)
	for _, c := range codes {
		t := recall[c]
		fmt.Fprintf(w, "  %-20s %5d/%-5d %.3f\n", c, t.found, t.n, float64(t.found)/float64(t.n))
	}
	fmt.Fprintln(w, "false-positive rate over negatives (level >= medium), by set")
	for _, s := range sortedKeys(negs) {
		t := negs[s]
		var parts []string
		for _, c := range sortedKeys(fpCats[s]) {
			parts = append(parts, fmt.Sprintf("%s %d", c, fpCats[s][c]))
		}
		fmt.Fprintf(w, "  %-20s %5d/%-5d %.3f  %s\n", s, t.found, t.n, float64(t.found)/float64(t.n), strings.Join(parts, ", "))
	}
	if len(confusion) > 0 {
		fmt.Fprintln(w, "confusion (rows: labelled code; columns: best category at level >= medium)")
		colList := sortedKeys(cols)
		fmt.Fprintf(w, "  %-18s", "")
		for _, c := range colList {
			fmt.Fprintf(w, " %6.6s", c)
		}
		fmt.Fprintln(w)
		for _, r := range codes {
			fmt.Fprintf(w, "  %-18s", r)
			for _, c := range colList {
				fmt.Fprintf(w, " %6d", confusion[r][c])
			}
			fmt.Fprintln(w)
		}
	}
	if misses != "" {
		fmt.Fprintf(w, "\nmisses of %s\n", misses)
		for i, rec := range recs {
			for _, code := range rec.Labels {
				if (misses == "all" || code == misses) && !flagged(out[i], code) {
					fmt.Fprintf(w, "- %s [%s] %s\n  %s\n  found: %s\n", rec.ID, code, clip(rec.Title, 60), clip(rec.Text, 200), describe(out[i]))
				}
			}
		}
	}
	if fps != "" {
		fmt.Fprintf(w, "\nfalse positives of %s\n", fps)
		for i, rec := range recs {
			if len(rec.Labels) == 0 && (fps == "all" || rec.Set == fps) && nlp.LevelRank(out[i].Level) >= nlp.LevelRank(nlp.LevelMedium) {
				fmt.Fprintf(w, "- %s %s\n  %s\n  found: %s\n", rec.ID, clip(rec.Title, 60), clip(rec.Text, 200), describe(out[i]))
			}
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// clip shortens s to n runes on one line.
func clip(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}
