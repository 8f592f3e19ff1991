package web

import (
	"context"
	"net/http"
	"strings"
	"testing"
)

// TestProfilerForAdminsOnly: with Options.Profiling, /debug/pprof/ answers
// admins (token or session) and refuses everyone else; without it the
// paths do not exist.
func TestProfilerForAdminsOnly(t *testing.T) {
	w := newWorld(t, Options{AdminToken: adminToken, Profiling: true})
	vivTok, err := w.srv.store.CreateToken(context.Background(), "viv", "t")
	if err != nil {
		t.Fatal(err)
	}
	read := func(r *http.Response) string { return readAll(t, r) }
	if r := w.apiReq("GET", "/debug/pprof/", adminToken, ""); r.StatusCode != http.StatusOK || !strings.Contains(read(r), "goroutine") {
		t.Fatalf("admin token: %d", r.StatusCode)
	}
	if r := w.apiReq("GET", "/debug/pprof/heap?debug=1", adminToken, ""); r.StatusCode != http.StatusOK || !strings.Contains(read(r), "heap profile") {
		t.Fatalf("heap profile: %d", r.StatusCode)
	}
	if r := w.apiReq("GET", "/debug/pprof/profile?seconds=1", adminToken, ""); r.StatusCode != http.StatusOK || len(read(r)) == 0 {
		t.Fatalf("CPU profile: %d", r.StatusCode)
	}
	if r := w.apiReq("GET", "/debug/pprof/", vivTok, ""); r.StatusCode != http.StatusForbidden {
		t.Fatalf("viewer: %d, want 403", r.StatusCode)
	}
	if r := w.client().get("/debug/pprof/goroutine?debug=2"); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("no login: %d, want 401", r.StatusCode)
	}
	if r := w.login("admin").get("/debug/pprof/"); r.StatusCode != http.StatusOK {
		t.Fatalf("admin session: %d", r.StatusCode)
	}

	off := newWorld(t, Options{AdminToken: adminToken})
	if r := off.apiReq("GET", "/debug/pprof/", adminToken, ""); r.StatusCode != http.StatusNotFound {
		t.Fatalf("profiling off: %d, want 404", r.StatusCode)
	}
}
