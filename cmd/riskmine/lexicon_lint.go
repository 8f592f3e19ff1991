package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/coregx/ahocorasick"

	"riskmine/nlp"
)

func init() {
	lexiconCommands["lint"] = runLexiconLint
}

// stringList is a flag that may be given more than once.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(s string) error { *l = append(*l, s); return nil }

func runLexiconLint(ctx context.Context, env *cmdEnv, args []string) error {
	// Not newFlagSet: here --data names a posts file and repeats.
	fs := flag.NewFlagSet("lexicon lint", flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	cf := &commonFlags{}
	fs.StringVar(&cf.config, "config", "", "config file (default riskmine.yaml in the working folder if present, else built-in defaults)")
	var data stringList
	fs.Var(&data, "data", "JSON Lines file of posts ({\"id\",\"title\",\"text\"}); repeat for more files")
	minRunes := fs.Int("min-runes", 5, "check only patterns of at least this many runes (normalised)")
	maxPosts := fs.Int("max-posts", 1, "list patterns that match at least one and at most this many posts")
	fs.Usage = func() {
		fmt.Fprintf(env.stderr, "Usage: riskmine lexicon lint --data FILE.jsonl [--data FILE.jsonl…] [FILE.jsonl…] [--min-runes 5] [--max-posts 1]\n\n%s\n\nFlags:\n", strings.TrimSpace(`
Finds lexicon patterns copied from posts. Loads the lexicons as configured (embedded and
nlp.lexicon_dir), takes every term, variant, rule word, negation, exclusion and
intensifier of at least --min-runes runes after normalisation, and counts the posts of
the data files (title and text, normalised) that contain it. A long pattern found in
exactly one post is most likely a fragment of that post, not a phrase people use: each
is listed as "FILE: pattern "…" (kind) matches only post ID". Exits 1 when any is
listed. A malformed line is reported as FILE:LINE and skipped.`))
		fs.PrintDefaults()
	}
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	// Files after the flags count as data too: a shell glob after --data
	// (--data public/*.jsonl) leaves every file but the first as an
	// argument.
	data = append(data, pos...)
	if len(data) == 0 || *minRunes < 1 || *maxPosts < 1 {
		fmt.Fprintln(env.stderr, "riskmine lexicon lint: expected --data FILE.jsonl (one or more; further files may follow as arguments), --min-runes >= 1 and --max-posts >= 1")
		return errUsage
	}
	cfg, err := loadConfig(cf)
	if err != nil {
		return err
	}
	pats, err := nlp.LexiconPatterns(cfg.NLP.LexiconDir)
	if err != nil {
		return err
	}
	lint, err := newLexiconLint(pats, *minRunes)
	if err != nil {
		return err
	}
	for _, name := range data {
		if err := lint.countFile(ctx, env.stderr, name); err != nil {
			return err
		}
	}
	found := lint.report(env.stdout, *maxPosts)
	fmt.Fprintf(env.stdout, "%d patterns of %d or more runes checked against %d posts: %d match only %s\n",
		len(lint.words), *minRunes, lint.posts, found, postsPhrase(*maxPosts))
	if found > 0 {
		return fmt.Errorf("%d patterns match only %s of the data", found, postsPhrase(*maxPosts))
	}
	return nil
}

func postsPhrase(n int) string {
	if n == 1 {
		return "one post"
	}
	return fmt.Sprintf("1 to %d posts", n)
}

// lexiconLint counts, for every distinct long pattern, the posts that
// contain it, with one Aho-Corasick pass over each post.
type lexiconLint struct {
	pats  []nlp.LexiconPattern
	word  []int    // pats[i] → index in words, -1 when too short
	words []string // distinct normalised patterns
	ac    *ahocorasick.Automaton
	count []int      // posts containing words[w]
	ids   [][]string // the first few of those posts' ids
	last  []int      // the post that last counted words[w], to count a post once
	posts int
}

// lintKeepIDs is how many post ids are kept per pattern (enough for the
// largest --max-posts anyone lists by hand).
const lintKeepIDs = 10

func newLexiconLint(pats []nlp.LexiconPattern, minRunes int) (*lexiconLint, error) {
	l := &lexiconLint{pats: pats, word: make([]int, len(pats))}
	index := map[string]int{}
	for i, p := range pats {
		l.word[i] = -1
		if utf8.RuneCountInString(p.Normalized) < minRunes {
			continue
		}
		w, ok := index[p.Normalized]
		if !ok {
			w = len(l.words)
			index[p.Normalized] = w
			l.words = append(l.words, p.Normalized)
		}
		l.word[i] = w
	}
	l.count = make([]int, len(l.words))
	l.ids = make([][]string, len(l.words))
	l.last = make([]int, len(l.words))
	for i := range l.last {
		l.last[i] = -1
	}
	if len(l.words) > 0 {
		ac, err := ahocorasick.NewBuilder().AddStrings(l.words).Build()
		if err != nil {
			return nil, fmt.Errorf("lexicon lint: compile patterns: %w", err)
		}
		l.ac = ac
	}
	return l, nil
}

// lintPost is what lint reads of a line.
type lintPost struct {
	ID    json.RawMessage `json:"id"`
	Title string          `json:"title"`
	Text  string          `json:"text"`
}

// countFile counts the posts of one JSON Lines file; malformed lines are
// reported on warn and skipped.
func (l *lexiconLint) countFile(ctx context.Context, warn io.Writer, name string) error {
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<16)
	for lineNo := 1; ; lineNo++ {
		line, rerr := r.ReadBytes('\n')
		if rerr != nil && rerr != io.EOF {
			return fmt.Errorf("read %s: %w", name, rerr)
		}
		if len(strings.TrimSpace(string(line))) > 0 {
			var p lintPost
			if err := json.Unmarshal(line, &p); err != nil {
				fmt.Fprintf(warn, "%s:%d: skipped: %v\n", name, lineNo, err)
			} else {
				l.count1(postID(p.ID, name, lineNo), p.Title, p.Text)
			}
		}
		if rerr == io.EOF {
			return nil
		}
		if lineNo%1024 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
	}
}

// postID is the post's id as written (a string unquoted), or FILE:LINE
// when it has none.
func postID(raw json.RawMessage, file string, line int) string {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil && s != "" {
		return s
	}
	if len(raw) > 0 && string(raw) != "null" && string(raw) != `""` {
		return string(raw)
	}
	return fmt.Sprintf("%s:%d", file, line)
}

// count1 adds one post. Title and text are matched apart, as the analyzer
// does, so no pattern spans the two.
func (l *lexiconLint) count1(id, title, text string) {
	post := l.posts
	l.posts++
	if l.ac == nil {
		return
	}
	for _, field := range [2]string{title, text} {
		if field == "" {
			continue
		}
		for _, m := range l.ac.FindAllOverlapping([]byte(nlp.NormalizeText(field))) {
			w := m.PatternID
			if l.last[w] == post {
				continue
			}
			l.last[w] = post
			l.count[w]++
			if len(l.ids[w]) < lintKeepIDs {
				l.ids[w] = append(l.ids[w], id)
			}
		}
	}
}

// report prints the patterns found in 1 to maxPosts posts and returns how
// many there are.
func (l *lexiconLint) report(w io.Writer, maxPosts int) int {
	n := 0
	for i, p := range l.pats {
		wi := l.word[i]
		if wi < 0 || l.count[wi] == 0 || l.count[wi] > maxPosts {
			continue
		}
		n++
		file := p.File
		if p.Embedded {
			file = "nlp/lexicons/" + p.File
		}
		if l.count[wi] == 1 {
			fmt.Fprintf(w, "%s: pattern %q (%s) matches only post %s\n", file, p.Text, p.Kind, l.ids[wi][0])
		} else {
			fmt.Fprintf(w, "%s: pattern %q (%s) matches only %d posts: %s\n", file, p.Text, p.Kind, l.count[wi], strings.Join(l.ids[wi], ", "))
		}
	}
	return n
}
