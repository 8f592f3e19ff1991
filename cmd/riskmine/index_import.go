package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"riskmine/crawler"
	"riskmine/index"
	"riskmine/nlp"
	"riskmine/pipeline"
	"riskmine/service"
)

func init() {
	register(&command{
		name:    "index",
		summary: "manage the search index: index import FILE.jsonl",
		run:     runIndex,
	})
}

func runIndex(ctx context.Context, env *cmdEnv, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintln(env.stderr, "Usage: riskmine index import [flags] FILE.jsonl\n\nRun 'riskmine index import --help' for the flags.")
		if len(args) == 0 {
			return errUsage
		}
		return nil
	}
	switch args[0] {
	case "import":
		return runIndexImport(ctx, env, args[1:])
	}
	fmt.Fprintf(env.stderr, "riskmine index: unknown subcommand %q (expected: import)\n", args[0])
	return errUsage
}

// importPost is one line of an import file.
type importPost struct {
	ID           json.RawMessage `json:"id"`
	URL          string          `json:"url"`
	CanonicalURL string          `json:"canonical_url"`
	Title        string          `json:"title"`
	Text         string          `json:"text"`
	PublishedAt  string          `json:"published_at"`
	Source       string          `json:"source"`
	Site         string          `json:"site"`
}

// importLine is a line read from the file, numbered from 1.
type importLine struct {
	n   int
	raw []byte
}

func runIndexImport(ctx context.Context, env *cmdEnv, args []string) error {
	fs, cf := newFlagSet(env, "index import", "index import [--workers N] FILE.jsonl",
		`Bulk-loads posts into the index of the data folder, one JSON object per line:
{"id","url","title","text","published_at","source"} (also accepted: "canonical_url",
"site"). Each post is analysed on the way in (categories, level, score,
locations). A post replaces an earlier one with the same canonical URL (else
URL, else id). Malformed lines are reported as FILE:LINE and skipped. FILE "-"
reads stdin. The serve process must not be running on the same data folder.`)
	workers := fs.Int("workers", 0, "analysis goroutines (default nlp.workers from config, 0 = one per core)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fs.Usage()
		return errUsage
	}
	name := pos[0]
	go nlp.WarmUp()
	cfg, err := loadEmbeddedConfig(cf)
	if err != nil {
		return err
	}
	log, err := newLogger(env.stderr, cfg.Log)
	if err != nil {
		return err
	}
	var in io.Reader = env.stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	}
	loc := cfg.Location()
	an, err := service.NewAnalyzer(cfg)
	if err != nil {
		return err
	}
	n := *workers
	if n <= 0 {
		n = cfg.NLP.Workers
	}
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	ix, err := service.OpenIndex(cfg, log)
	if err != nil {
		return err
	}
	defer ix.Close()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	tty := isTerminal(env.stderr)
	var (
		added, bad atomic.Int64
		errMu      sync.Mutex
		firstErr   error
		reportMu   sync.Mutex
	)
	report := func(line int, msg string) {
		bad.Add(1)
		reportMu.Lock()
		if tty {
			fmt.Fprint(env.stderr, "\r\x1b[K") // clear the progress line
		}
		fmt.Fprintf(env.stderr, "%s:%d: %s\n", name, line, msg)
		reportMu.Unlock()
	}
	lines := make(chan importLine, 4*n)
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for l := range lines {
				d, msg := importDoc(l.raw, an, loc)
				if msg != "" {
					report(l.n, msg)
					continue
				}
				if err := ix.Add(ctx, d); err != nil {
					errMu.Lock()
					if firstErr == nil {
						firstErr = err
						cancel()
					}
					errMu.Unlock()
					continue
				}
				added.Add(1)
			}
		}()
	}

	start := time.Now()
	progress := func(final bool) {
		secs := time.Since(start).Seconds()
		rate := float64(added.Load()) / max(secs, 0.001)
		reportMu.Lock()
		defer reportMu.Unlock()
		switch {
		case tty:
			fmt.Fprintf(env.stderr, "\r\x1b[Kindexed %d posts, %.0f docs/s, %d skipped", added.Load(), rate, bad.Load())
			if final {
				fmt.Fprintln(env.stderr)
			}
		case !final:
			fmt.Fprintf(env.stderr, "indexed %d posts, %.0f docs/s, %d skipped\n", added.Load(), rate, bad.Load())
		}
	}
	stopProgress := make(chan struct{})
	progressDone := make(chan struct{})
	go func() {
		defer close(progressDone)
		every := time.Second
		if !tty {
			every = 5 * time.Second
		}
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-stopProgress:
				return
			case <-t.C:
				progress(false)
			}
		}
	}()

	readErr := readLines(ctx, in, lines)
	close(lines)
	wg.Wait()
	cerr := ix.Close()
	close(stopProgress)
	<-progressDone
	progress(true)
	if firstErr != nil {
		return firstErr
	}
	if readErr != nil && !errors.Is(readErr, context.Canceled) {
		return fmt.Errorf("read %s: %w", name, readErr)
	}
	if cerr != nil {
		return cerr
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("import interrupted after %d posts (all of them are saved): %w", added.Load(), err)
	}
	secs := time.Since(start).Seconds()
	fmt.Fprintf(env.stderr, "imported %d posts from %s in %.1fs (%.0f docs/s); %d malformed lines skipped\n",
		added.Load(), name, secs, float64(added.Load())/max(secs, 0.001), bad.Load())
	return nil
}

// readLines sends the non-blank lines of r, numbered, until EOF or ctx ends.
func readLines(ctx context.Context, r io.Reader, out chan<- importLine) error {
	br := bufio.NewReaderSize(r, 1<<20)
	for n := 1; ; n++ {
		raw, err := br.ReadBytes('\n')
		if len(bytes.TrimSpace(raw)) > 0 {
			select {
			case out <- importLine{n: n, raw: raw}:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// importDoc parses and analyses one line; msg says what is wrong with it.
func importDoc(raw []byte, an *nlp.Analyzer, loc *time.Location) (d index.Doc, msg string) {
	var p importPost
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&p); err != nil {
		return d, "not a JSON object: " + err.Error()
	}
	if dec.More() {
		return d, "more than one JSON value on the line"
	}
	id, err := jsonID(p.ID)
	if err != nil {
		return d, err.Error()
	}
	if id == "" && p.URL == "" && p.CanonicalURL == "" {
		return d, `needs an "id" or a "url"`
	}
	if strings.TrimSpace(p.Title) == "" && strings.TrimSpace(p.Text) == "" {
		return d, `has neither "title" nor "text"`
	}
	var published time.Time
	if p.PublishedAt != "" {
		if published, err = parsePublished(p.PublishedAt, loc); err != nil {
			return d, err.Error()
		}
	}
	site := p.Site
	if site == "" {
		for _, u := range []string{p.CanonicalURL, p.URL} {
			if pu, err := url.Parse(u); err == nil && pu.Host != "" {
				site = pu.Hostname()
				break
			}
		}
	}
	as := an.Analyze(nlp.Input{ID: id, Title: p.Title, Text: p.Text, Ref: published, Words: true})
	d = pipeline.IndexDoc(crawler.Page{
		URL: p.URL, CanonicalURL: p.CanonicalURL, Source: p.Source, Site: site,
		Title: p.Title, Text: p.Text, PublishedAt: published, FetchedAt: time.Now().UTC(),
	}, as, "")
	d.ID = id
	return d, ""
}

// jsonID reads an "id" given as a string or a number.
func jsonID(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, nil
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err == nil {
		return n.String(), nil
	}
	return "", fmt.Errorf(`"id" must be a string or a number, got %s`, raw)
}

// parsePublished reads the usual forms of a publication time; times
// without a zone are taken in loc, the configured zone.
func parsePublished(s string, loc *time.Location) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02 15:04", time.DateOnly, "2006/01/02 15:04:05", "2006/01/02"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf(`"published_at" %q is not a date-time such as 2026-05-01T08:00:00+08:00 or 2026-05-01 08:00:00`, s)
}
