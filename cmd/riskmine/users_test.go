package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"riskmine/internal/pgtest"
	"riskmine/web"
	webpg "riskmine/web/pgstore"
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

// TestUsersOnPostgres: `users` works on a cluster's PostgreSQL (the first
// administrator of a cluster is made with it), and an unreachable server
// gives one line without the password.
func TestUsersOnPostgres(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("data_dir: "+t.TempDir()+"\ncluster:\n  store: postgres://rm:hunter2secret@127.0.0.1:1/rm?connect_timeout=2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := runCmd(t, "", "users", "list", "--config", bad)
	if code == 0 || strings.Count(strings.TrimSpace(errOut), "\n") > 0 || !strings.Contains(errOut, "cluster.store") || strings.Contains(errOut, "hunter2secret") {
		t.Errorf("unreachable server: exit %d, stderr %q", code, errOut)
	}

	dsn := pgtest.DSN(t)
	cfgPath := filepath.Join(t.TempDir(), "riskmine.yaml")
	if err := os.WriteFile(cfgPath, []byte("data_dir: "+t.TempDir()+"\ncluster:\n  store: "+dsn+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCmd(t, "a-long-enough-passphrase-for-ops\n", "users", "add", "ops", "--role", "admin", "--password-stdin", "--config", cfgPath)
	if code != 0 || !strings.Contains(out, "added user ops (admin)") {
		t.Fatalf("users add: exit %d, %q %q", code, out, errOut)
	}
	st, err := webpg.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if u, err := st.Authenticate(context.Background(), "ops", "a-long-enough-passphrase-for-ops"); err != nil || u.Role != web.RoleAdmin {
		t.Fatalf("the user made by the command: %+v, %v", u, err)
	}
	if code, out, _ := runCmd(t, "", "users", "list", "--config", cfgPath); code != 0 || !strings.Contains(out, "ops") {
		t.Errorf("users list: exit %d, %q", code, out)
	}
}
