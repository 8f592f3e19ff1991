package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// readOnlyPosts are POST routes that change nothing and are open to viewers.
var readOnlyPosts = map[string]bool{
	"POST /logout":              true,
	"POST /lexicons/try":        true,
	"POST /api/v1/lexicons/try": true,
}

// concrete fills a route pattern's wildcards.
func concrete(path string) string {
	r := strings.NewReplacer("{id}", "1", "{name}", "ana", "{$}", "")
	return r.Replace(path)
}

// Viewers cannot change anything: every state-changing route, in the UI and
// the API, refuses them; analysts are refused every admin route.
func TestRoleMatrix(t *testing.T) {
	w := newWorld(t, Options{})
	ctx := context.Background()
	viewerTok, _ := w.srv.store.CreateToken(ctx, "viv", "t")
	analystTok, _ := w.srv.store.CreateToken(ctx, "ana", "t")
	viewer := w.login("viv")
	admin := map[string]bool{}
	for _, r := range []string{
		"POST /search/saved/{id}/rule", "POST /rules/{id}/delete", "POST /webhooks/deliveries/{id}/replay",
		"POST /webhooks/{name}/test", "POST /webhooks/{name}/enable", "POST /users", "POST /users/{name}/update",
		"POST /users/{name}/tokens", "POST /tokens/{id}/delete",
		"POST /api/v1/alert-rules", "DELETE /api/v1/alert-rules/{id}", "POST /api/v1/webhooks/deliveries/{id}/replay",
		"POST /api/v1/webhooks/{name}/test", "POST /api/v1/users", "PATCH /api/v1/users/{name}", "POST /api/v1/users/{name}/tokens",
		"POST /api/v1/webhooks/{name}/enable", "GET /api/v1/tokens", "DELETE /api/v1/tokens/{id}",
		"GET /users", "GET /webhooks", "GET /api/v1/users", "GET /api/v1/webhooks", "GET /api/v1/webhooks/deliveries",
		"GET /read-audit", "GET /export/read-audit", "GET /api/v1/read-audit", "GET /api/v1/export/read-audit",
		"GET /sources/manage", "POST /sources/manage", "POST /sources/manage/{name}/save", "POST /sources/manage/{name}/pause",
		"POST /sources/manage/{name}/resume", "POST /sources/manage/{name}/delete",
		"POST /api/v1/sources", "GET /api/v1/sources/ui", "GET /api/v1/sources/audit", "PUT /api/v1/sources/{name}",
		"DELETE /api/v1/sources/{name}", "POST /api/v1/sources/{name}/pause", "POST /api/v1/sources/{name}/resume",
	} {
		admin[r] = true
	}
	checked := 0
	for _, route := range w.srv.Routes() {
		method, path, ok := strings.Cut(route, " ")
		// The case platforms' inbound route is authenticated by its
		// signature, not by a role (TestInboundCaseUpdate and the hostile
		// table check it).
		if !ok || readOnlyPosts[route] || route == "POST /login" || route == "POST /api/v1/inbound/{platform}" {
			continue
		}
		api := strings.HasPrefix(path, "/api/")
		try := func(tok string) int {
			req, _ := http.NewRequest(method, w.http.URL+concrete(path), strings.NewReader("{}"))
			req.Header.Set("Authorization", "Bearer "+tok)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp.StatusCode
		}
		if method != http.MethodGet {
			checked++
			if api {
				if st := try(viewerTok); st != http.StatusForbidden {
					t.Errorf("viewer %s: %d, want 403", route, st)
				}
			} else if st := viewer.postForm(concrete(path), url.Values{}, true).StatusCode; st != http.StatusForbidden {
				t.Errorf("viewer %s: %d, want 403", route, st)
			}
		}
		if admin[route] && api {
			if st := try(analystTok); st != http.StatusForbidden {
				t.Errorf("analyst %s: %d, want 403", route, st)
			}
		}
	}
	if checked < 20 {
		t.Errorf("only %d state-changing routes checked", checked)
	}
	ana := w.login("ana")
	for r := range admin {
		method, path, _ := strings.Cut(r, " ")
		if strings.HasPrefix(path, "/api/") {
			continue
		}
		var st int
		if method == http.MethodGet {
			st = ana.get(concrete(path)).StatusCode
		} else {
			st = ana.postForm(concrete(path), url.Values{}, true).StatusCode
		}
		if st != http.StatusForbidden {
			t.Errorf("analyst %s: %d, want 403", r, st)
		}
	}
}
