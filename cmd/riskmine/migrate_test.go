package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"riskmine/index"
	"riskmine/internal/pgdb"
	"riskmine/internal/pgtest"
	"riskmine/nlp"
	"riskmine/service"
)

// TestMigrateCommand runs the built riskmine: a data folder filled by its
// own commands (index import, users add) is moved into PostgreSQL with
// progress on stderr and a summary on stdout; a second run is refused in
// one line naming --force, which then replaces the copy; a missing --to
// and an unreachable server are one line each.
func TestMigrateCommand(t *testing.T) {
	dsn := pgtest.DSN(t)
	bin := buildRiskmine(t)
	data := filepath.Join(t.TempDir(), "data")
	posts := filepath.Join(t.TempDir(), "posts.jsonl")
	if err := os.WriteFile(posts, []byte(strings.Join([]string{
		`{"id":"a","url":"https://news.example/a","title":"马尾区井盖缺失","text":"路面井盖缺失，行人险些跌落。","published_at":"2026-11-20T08:00:00Z","source":"news"}`,
		`{"id":"b","url":"https://news.example/b","title":"小区停车","text":"业主反映停车位紧张。","published_at":"2026-10-02T08:00:00Z","source":"news"}`,
		`{"id":"c","url":"https://forum.example/c","title":"仓库起火","text":"一仓库起火，消防赶到扑救。","published_at":"2026-09-15T08:00:00Z","source":"forum"}`,
	}, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(stdin string, args ...string) (string, string, int) {
		t.Helper()
		cmd := exec.Command(bin, append(args, "--data", data)...)
		cmd.Stdin = strings.NewReader(stdin)
		cmd.Dir = t.TempDir() // no riskmine.yaml
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return out.String(), errb.String(), code
	}
	if _, e, code := run("", "index", "import", posts); code != 0 {
		t.Fatalf("index import: %d %s", code, e)
	}
	if _, e, code := run("Mawei-manhole-7741-Fz\n", "users", "add", "ana", "--role", "analyst", "--password-stdin"); code != 0 {
		t.Fatalf("users add: %d %s", code, e)
	}

	out, errs, code := run("", "migrate", "--to", dsn)
	if code != 0 {
		t.Fatalf("migrate: exit %d\n%s", code, errs)
	}
	for _, want := range []string{"web_users", "crawl_pages", "search_posts: 3 of 3 posts", "evidence_capture"} {
		if !strings.Contains(errs, want) {
			t.Errorf("progress lacks %q:\n%s", want, errs)
		}
	}
	for _, want := range []string{"web_users                      1", "search_posts                   3", "moved 1 rows and 3 posts from "} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	ctx := context.Background()
	pool, err := pgdb.Open(ctx, dsn, pgdb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	// Either adapter of nlp's segmenter analyses alike; a process holds one.
	if err := index.InstallAnalysis(service.IndexTokenize, nlp.NormalizeText); err != nil {
		t.Log(err)
	}
	q, err := index.TSQuery("井盖")
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM search_posts WHERE tsv @@ $1::tsquery`, q).Scan(&n); err != nil || n != 1 {
		t.Errorf("posts with 井盖 in PostgreSQL: %d, %v; want 1", n, err)
	}

	_, errs, code = run("", "migrate", "--to", dsn)
	if code != 1 || strings.Count(strings.TrimSpace(errs), "\n") != 0 || !strings.Contains(errs, "--force") {
		t.Errorf("a second move: exit %d, want 1 with one line naming --force:\n%s", code, errs)
	}
	out, errs, code = run("", "migrate", "--to", dsn, "--force")
	if code != 0 || !strings.Contains(out, "--force") {
		t.Errorf("--force: exit %d\n%s\n%s", code, out, errs)
	}
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM web_users`).Scan(&n); err != nil || n != 1 {
		t.Errorf("users after --force: %d, %v; want 1", n, err)
	}

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"migrate"}, "--to is required"},
		{[]string{"migrate", "--to", "postgres://riskmine@127.0.0.1:1/none?connect_timeout=2"}, "cannot reach PostgreSQL"},
	} {
		_, errs, code := run("", c.args...)
		if code != 1 || !strings.Contains(errs, c.want) || strings.Count(strings.TrimSpace(errs), "\n") != 0 {
			t.Errorf("%v: exit %d, want 1 and a line with %q:\n%s", c.args, code, c.want, errs)
		}
	}
}
