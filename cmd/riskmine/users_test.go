package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"riskmine/web"
)

func runUsersCmd(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := runMain(context.Background(), &cmdEnv{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errb}, args)
	return code, out.String(), errb.String()
}

func TestUsersCommand(t *testing.T) {
	dir := t.TempDir()
	code, out, errs := runUsersCmd(t, "s3cret-password\n", "users", "add", "chief", "--role", "admin", "--password-stdin", "--data", dir)
	if code != 0 || !strings.Contains(out, "added user chief (admin)") {
		t.Fatalf("add: code %d out %q err %q", code, out, errs)
	}
	st, err := web.OpenStore(filepath.Join(dir, "riskmine.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Authenticate(context.Background(), "chief", "s3cret-password"); err != nil {
		t.Fatalf("password from stdin not stored: %v", err)
	}
	st.Close()

	// A generated password is printed once and works.
	code, out, _ = runUsersCmd(t, "", "users", "add", "ann", "--data", dir)
	if code != 0 || !strings.Contains(out, "(analyst)") || !strings.Contains(out, "password: ") {
		t.Fatalf("add with generated password: %d %q", code, out)
	}
	if code, _, errs = runUsersCmd(t, "", "users", "add", "ann", "--data", dir); code != 1 || !strings.Contains(errs, "already exists") {
		t.Fatalf("duplicate: %d %q", code, errs)
	}
	if code, _, errs = runUsersCmd(t, "short\n", "users", "add", "bob", "--password-stdin", "--data", dir); code != 1 || !strings.Contains(errs, "at least 15") {
		t.Fatalf("short password: %d %q", code, errs)
	}
	if code, _, errs = runUsersCmd(t, "passwordpassword\n", "users", "add", "bob", "--password-stdin", "--data", dir); code != 1 || !strings.Contains(errs, "common passwords") {
		t.Fatalf("common password: %d %q", code, errs)
	}
	if code, _, errs = runUsersCmd(t, "", "users", "add", "bob", "--role", "boss", "--data", dir); code != 1 || !strings.Contains(errs, "unknown role") {
		t.Fatalf("bad role: %d %q", code, errs)
	}
	if code, out, _ = runUsersCmd(t, "", "users", "disable", "ann", "--data", dir); code != 0 {
		t.Fatalf("disable: %d", code)
	}
	code, out, _ = runUsersCmd(t, "", "users", "list", "--data", dir)
	if code != 0 || !strings.Contains(out, "chief") || !lineHasBoth(out, "ann", "disabled") {
		t.Fatalf("list: %d %q", code, out)
	}
	code, out, _ = runUsersCmd(t, "", "users", "token", "chief", "--data", dir)
	if code != 0 || !strings.HasPrefix(out, "rmk_") {
		t.Fatalf("token: %d %q", code, out)
	}
	if code, _, _ = runUsersCmd(t, "", "users", "frobnicate", "--data", dir); code != 2 {
		t.Fatalf("unknown subcommand: %d, want 2", code)
	}
}

func lineHasBoth(out, a, b string) bool {
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, a) && strings.Contains(l, b) {
			return true
		}
	}
	return false
}

// TestEmbeddedCommandsRefusePostgres: the commands that read the embedded
// stores say so, in one line without the password, when the config keeps
// its state in PostgreSQL, instead of reading an empty data folder.
func TestEmbeddedCommandsRefusePostgres(t *testing.T) {
	cfgPath := filepath.Join(t.TempDir(), "riskmine.yaml")
	if err := os.WriteFile(cfgPath, []byte("data_dir: "+t.TempDir()+"\ncluster:\n  store: postgres://rm:hunter2secret@db.internal/rm\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"leads", "list", "--config", cfgPath},
		{"search", "--config", cfgPath, "井盖"},
		{"users", "list", "--config", cfgPath},
		{"webhooks", "list", "--config", cfgPath},
		{"crawl", "--config", cfgPath, "some-source"},
		{"backup", "--config", cfgPath, filepath.Join(t.TempDir(), "b")},
	} {
		code, out, errOut := runCmd(t, "", args...)
		if code == 0 || strings.Count(strings.TrimSpace(errOut), "\n") > 0 ||
			!(strings.Contains(errOut, "PostgreSQL") && (strings.Contains(errOut, "embedded") || strings.Contains(errOut, "pg_dump"))) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", args, code, out, errOut)
		}
		if strings.Contains(errOut, "hunter2secret") {
			t.Errorf("%v: the password is in %q", args, errOut)
		}
	}
}
