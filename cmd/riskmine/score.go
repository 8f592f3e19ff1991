package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"riskmine/nlp"
	"riskmine/service"
)

func init() {
	register(&command{
		name:    "score",
		summary: "score posts (JSON Lines on stdin) for public-safety risk",
		run:     runScore,
	})
}

// scoreMemoryLimit is the soft limit of the Go heap during `riskmine score`.
const scoreMemoryLimit = 200 << 20

// scoreWordsMemoryLimit is the limit when the model reads words (the
// segmenter's dictionary is ~200 MB of heap).
const scoreWordsMemoryLimit = 350 << 20

// scoreInput is one line of `riskmine score` input.
type scoreInput struct {
	ID    json.RawMessage `json:"id"`
	Title *string         `json:"title"`
	Text  *string         `json:"text"`
}

// scoreOutput is one line of `riskmine score` output.
type scoreOutput struct {
	ID         json.RawMessage     `json:"id"`
	Level      string              `json:"level"`
	Score      float64             `json:"score"`
	Categories []nlp.CategoryScore `json:"categories"`
	Evidence   []nlp.Evidence      `json:"evidence"`
	Suppressed []nlp.Suppressed    `json:"suppressed,omitempty"`
	Locations  []nlp.Location      `json:"locations"`
	// Severity are the cues that set the detected categories' levels.
	Severity []nlp.SeverityCue `json:"severity,omitempty"`
}

// scoreError answers a line that could not be scored.
type scoreError struct {
	ID    json.RawMessage `json:"id"`
	Error string          `json:"error"`
}

func runScore(ctx context.Context, env *cmdEnv, args []string) error {
	fs, cf := newFlagSet(env, "score", "score [--workers N] < posts.jsonl",
		`Reads JSON Lines from stdin, one post per line: {"id": "...", "title": "...", "text": "..."}
(title optional), and writes one JSON line per input, in input order:
{"id", "level", "score", "categories", "evidence", "suppressed", "locations"}.
Evidence start/end are rune offsets into the title or text field. A malformed line
is answered {"id": ..., "error": "..."} and the run goes on. Text that is not JSON
is scored as one post and printed as a readable assessment.`)
	workers := fs.Int("workers", 0, "scoring goroutines (default nlp.workers from config, 0 = one per core)")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfig(cf)
	if err != nil {
		return err
	}
	an, err := service.NewScoringAnalyzer(cfg)
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
	limit := int64(scoreMemoryLimit)
	if an.Model().UsesWords() {
		// A model that reads words needs the segmenter's dictionary: load
		// it while stdin is read. The budget is then 450 MB of RSS.
		go nlp.WarmUp()
		limit = scoreWordsMemoryLimit
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		// Collect earlier rather than let a burst of huge posts double the
		// heap: the command is meant to stay under 300 MB of RSS.
		debug.SetMemoryLimit(limit)
	}
	in := bufio.NewReaderSize(env.stdin, 1<<16)
	var first byte
	err = interruptible(ctx, func() (err error) {
		first, err = peekNonSpace(in)
		return err
	})
	if err != nil && !errors.Is(err, io.EOF) {
		if ctx.Err() != nil {
			return err
		}
		return fmt.Errorf("read stdin: %w", err)
	}
	if first != 0 && first != '{' {
		var raw []byte
		err := interruptible(ctx, func() (err error) {
			raw, err = io.ReadAll(in)
			return err
		})
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			return fmt.Errorf("read stdin: %w", err)
		}
		as := an.Analyze(nlp.Input{ID: "stdin", Text: string(raw), Ref: time.Now()})
		printAssessment(env.stdout, as)
		return nil
	}
	return scoreLines(ctx, an, in, env.stdout, n)
}

// interruptible runs f, a blocking read, and returns its error, or the
// context's error as soon as ctx is done (f is then left to finish on its
// own; the process is about to exit).
func interruptible(ctx context.Context, f func() error) error {
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case err := <-done:
		return err
	}
}

// peekNonSpace returns the first byte that is not white space (or a BOM),
// without consuming it; 0 at end of input.
func peekNonSpace(r *bufio.Reader) (byte, error) {
	for {
		b, err := r.Peek(1)
		if err != nil {
			return 0, err
		}
		switch b[0] {
		case ' ', '\t', '\r', '\n':
			_, _ = r.ReadByte()
			continue
		case 0xEF:
			if bom, err := r.Peek(3); err == nil && string(bom) == "\uFEFF" {
				_, _ = r.Discard(3)
				continue
			}
		}
		return b[0], nil
	}
}

// scoreJob is one input line travelling through the worker pool; done
// carries its output line.
type scoreJob struct {
	line int
	raw  []byte
	cost int64 // bytes held against the budget until the result is written
	done chan []byte
}

// scoreBudget bounds the bytes of input lines in flight. Analysing a post
// takes several times its size in memory, so a few 10 MB posts in the pool
// at once would exceed the command's memory target; lines of ordinary size
// never wait on it.
const scoreBudget = 16 << 20

// byteBudget is a counting semaphore over bytes.
type byteBudget struct {
	mu   sync.Mutex
	cond *sync.Cond
	free int64
}

func newByteBudget(n int64) *byteBudget {
	b := &byteBudget{free: n}
	b.cond = sync.NewCond(&b.mu)
	return b
}

func (b *byteBudget) acquire(n int64) {
	b.mu.Lock()
	for b.free < n {
		b.cond.Wait()
	}
	b.free -= n
	b.mu.Unlock()
}

func (b *byteBudget) release(n int64) {
	b.mu.Lock()
	b.free += n
	b.mu.Unlock()
	b.cond.Broadcast()
}

// scoreLines scores JSON Lines from in with n workers and writes the results
// in input order. Only a read error of in is returned.
func scoreLines(ctx context.Context, an *nlp.Analyzer, in *bufio.Reader, out io.Writer, n int) error {
	jobs := make(chan *scoreJob, n)
	order := make(chan *scoreJob, 4*n)
	for i := 0; i < n; i++ {
		go func() {
			for j := range jobs {
				out := scoreLine(an, j.line, j.raw)
				j.raw = nil
				j.done <- out
			}
		}()
	}
	budget := newByteBudget(scoreBudget)
	writeErr := make(chan error, 1)
	go func() {
		w := bufio.NewWriterSize(out, 1<<16)
		var err error
		for j := range order {
			var line []byte
			select {
			case line = <-j.done:
			default:
				// The next result is not ready: let the reader see what
				// is done so far, then wait.
				if err == nil {
					err = w.Flush()
				}
				line = <-j.done
			}
			if err == nil {
				_, err = w.Write(line)
			}
			budget.release(j.cost)
		}
		if err == nil {
			err = w.Flush()
		}
		writeErr <- err
	}()

	// The reader runs on its own so that an interrupt ends the command even
	// while it waits for input on a terminal or a pipe.
	readDone := make(chan error, 1)
	go func() {
		var readErr error
		lineNo := 0
		for ctx.Err() == nil {
			raw, err := in.ReadBytes('\n')
			if len(raw) > 0 {
				lineNo++
				if t := bytes.TrimSpace(raw); len(t) > 0 {
					j := &scoreJob{line: lineNo, raw: t, cost: min(int64(len(t)), scoreBudget), done: make(chan []byte, 1)}
					budget.acquire(j.cost)
					order <- j
					jobs <- j
				}
			}
			if err != nil {
				if !errors.Is(err, io.EOF) {
					readErr = fmt.Errorf("read stdin: %w", err)
				}
				break
			}
		}
		close(jobs)
		close(order)
		readDone <- readErr
	}()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case readErr := <-readDone:
		if err := <-writeErr; err != nil && readErr == nil {
			return fmt.Errorf("write stdout: %w", err)
		}
		return readErr
	}
}

// scoreLine scores one input line and returns its output line.
func scoreLine(an *nlp.Analyzer, lineNo int, raw []byte) []byte {
	fail := func(id json.RawMessage, msg string) []byte {
		if len(id) == 0 {
			id = json.RawMessage("null")
		}
		b, _ := json.Marshal(scoreError{ID: id, Error: fmt.Sprintf("line %d: %s", lineNo, msg)})
		return append(b, '\n')
	}
	var in scoreInput
	if err := json.Unmarshal(raw, &in); err != nil {
		return fail(salvageID(raw), "malformed JSON: "+jsonProblem(err))
	}
	if !validID(in.ID) {
		return fail(nil, `"id" must be a string or a number`)
	}
	if in.Text == nil && in.Title == nil {
		return fail(in.ID, `expected a "text" (and optional "title") string`)
	}
	var title, text string
	if in.Title != nil {
		title = *in.Title
	}
	if in.Text != nil {
		text = *in.Text
	}
	var sid string
	_ = json.Unmarshal(in.ID, &sid)
	as := an.Analyze(nlp.Input{ID: sid, Title: title, Text: text, Ref: time.Now()})
	o := scoreOutput{ID: in.ID, Level: as.Level, Score: as.Score, Categories: as.Categories,
		Evidence: as.Evidence, Suppressed: as.Suppressed, Locations: as.Locations, Severity: as.Severity}
	if o.Locations == nil {
		o.Locations = []nlp.Location{}
	}
	b, err := json.Marshal(o)
	if err != nil {
		return fail(in.ID, "encode result: "+err.Error())
	}
	return append(b, '\n')
}

// salvageID finds a top-level "id" string or number in a line that is not
// valid JSON (a truncated or mistyped object), so the error line can name it.
func salvageID(raw []byte) json.RawMessage {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	depth := 0
	expectKey := false
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil
		}
		if d, ok := tok.(json.Delim); ok {
			if d == '{' || d == '[' {
				depth++
				if depth == 1 {
					expectKey = d == '{'
				}
			} else {
				depth--
				if depth == 1 {
					expectKey = true // a nested value ended; a key follows
				}
			}
			continue
		}
		if depth != 1 {
			continue
		}
		if expectKey && tok == "id" {
			switch x := func() any { v, _ := dec.Token(); return v }().(type) {
			case string:
				b, _ := json.Marshal(x)
				return b
			case json.Number:
				return json.RawMessage(x.String())
			}
			return nil
		}
		expectKey = !expectKey
	}
}

// validID reports whether raw is a JSON string or number (absent is valid).
func validID(raw json.RawMessage) bool {
	if len(raw) == 0 {
		return true
	}
	switch raw[0] {
	case '"', '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return true
	}
	return false
}

// jsonProblem shortens an encoding/json error to its message.
func jsonProblem(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("%s (at byte %d)", se.Error(), se.Offset)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("field %q: expected %s, got %s", te.Field, te.Type, te.Value)
	}
	return err.Error()
}

// printAssessment writes a readable assessment.
func printAssessment(w io.Writer, as *nlp.Assessment) {
	fmt.Fprintf(w, "level: %s (score %.2f)\n", as.Level, as.Score)
	if len(as.Categories) > 0 {
		parts := make([]string, len(as.Categories))
		for i, c := range as.Categories {
			parts[i] = fmt.Sprintf("%s %.2f", c.Code, c.Score)
		}
		fmt.Fprintf(w, "categories: %s\n", strings.Join(parts, ", "))
	}
	if len(as.Evidence) > 0 {
		fmt.Fprintln(w, "evidence:")
		for _, e := range as.Evidence {
			fmt.Fprintf(w, "  %-5s %6d-%-6d %-24s %s (+%.2f)\n", e.Field, e.Start, e.End, e.Rule, e.Text, e.Weight)
		}
	}
	if len(as.Suppressed) > 0 {
		fmt.Fprintln(w, "suppressed:")
		for _, s := range as.Suppressed {
			fmt.Fprintf(w, "  %-5s %6d-%-6d %-24s %s (%s)\n", s.Field, s.Start, s.End, s.Rule, s.Text, s.Reason)
		}
	}
	if len(as.Locations) > 0 {
		fmt.Fprintln(w, "locations:")
		for _, l := range as.Locations {
			fmt.Fprintf(w, "  %-5s %6d-%-6d %-6s %s %s %s\n", l.Field, l.Start, l.End, l.Kind, l.Text, l.Code, l.Name)
		}
	}
	if len(as.Keywords) > 0 {
		fmt.Fprintf(w, "keywords: %s\n", strings.Join(as.Keywords, " "))
	}
	if as.SimHash != 0 {
		fmt.Fprintf(w, "simhash: %016x\n", as.SimHash)
	}
}
