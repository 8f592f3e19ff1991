package web

import (
	"encoding/json"
	"io/fs"
	"net/http"
	"sort"
	"strings"
	"testing"
)

// The OpenAPI document must describe exactly the registered API routes.
func TestOpenAPIListsEveryRoute(t *testing.T) {
	e := newTestEnv(t, Options{}, Deps{})
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	resp := e.client().get("/api/v1/openapi.json")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatalf("openapi.json is not JSON: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Errorf("openapi version %q", doc.OpenAPI)
	}
	registered := map[string]bool{}
	for _, r := range e.srv.Routes() {
		method, path, ok := strings.Cut(r, " ")
		if !ok || !strings.HasPrefix(path, "/api/v1/") {
			continue
		}
		key := strings.ToLower(method) + " " + path
		registered[key] = true
		if _, ok := doc.Paths[path][strings.ToLower(method)]; !ok {
			t.Errorf("route %s is not in openapi.json", r)
		}
	}
	var extra []string
	for path, ops := range doc.Paths {
		for m := range ops {
			if !registered[m+" "+path] {
				extra = append(extra, m+" "+path)
			}
		}
	}
	sort.Strings(extra)
	if len(extra) > 0 {
		t.Errorf("openapi.json documents routes that do not exist: %v", extra)
	}
	if len(registered) < 25 {
		t.Errorf("only %d API routes registered", len(registered))
	}
}

// Every /api/ URL answers JSON, even unknown ones.
func TestAPIUnknownRouteIsJSON(t *testing.T) {
	e := newTestEnv(t, Options{}, Deps{})
	resp := e.apiReq("GET", "/api/v1/nothing", "", "")
	if resp.StatusCode != http.StatusNotFound || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("status %d type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	resp = e.client().get("/no/such/page")
	if resp.StatusCode != http.StatusNotFound || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("unknown page: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}

// Without their components, pages say so and the API answers 503.
func TestMissingDependencies(t *testing.T) {
	e := newTestEnv(t, Options{AdminToken: adminToken}, Deps{})
	for _, p := range []string{"/api/v1/leads", "/api/v1/search?q=x", "/api/v1/sources", "/api/v1/dashboard", "/api/v1/webhooks/deliveries"} {
		if st := e.apiReq("GET", p, adminToken, "").StatusCode; st != http.StatusServiceUnavailable {
			t.Errorf("%s: %d, want 503", p, st)
		}
	}
	c := e.login("admin")
	for _, p := range []string{"/", "/search?q=x", "/leads", "/sources", "/lexicons", "/webhooks", "/export", "/users"} {
		resp := c.get(p)
		if resp.StatusCode >= 500 && resp.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("%s: %d", p, resp.StatusCode)
		}
	}
}

// Every POST form in every template carries the CSRF token.
func TestEveryPostFormHasCSRF(t *testing.T) {
	files, _ := fs.Glob(templateFS, "templates/*.html")
	n := 0
	for _, f := range files {
		b, _ := fs.ReadFile(templateFS, f)
		for _, form := range strings.Split(string(b), "<form")[1:] {
			form, _, _ = strings.Cut(form, "</form>")
			if !strings.Contains(form, `method="post"`) {
				continue
			}
			n++
			if !strings.Contains(form, `name="csrf"`) {
				t.Errorf("%s: a POST form without a csrf field: <form%.80s", f, form)
			}
		}
	}
	if n < 15 {
		t.Errorf("only %d POST forms found", n)
	}
}
