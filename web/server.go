package web

import (
	"embed"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync/atomic"
	"time"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

//go:embed openapi.json
var openapiJSON []byte

// Options configures the server. Zero values get sensible defaults.
type Options struct {
	// DBPath is the SQLite database (<data_dir>/riskmine.db) holding users,
	// sessions, tokens, saved searches, alert rules and the audits.
	// Ignored when Store is set.
	DBPath string
	// Store, when set, is used instead of opening DBPath (the caller
	// closes it): an SQLite *Store, or web/pgstore's store, which API
	// nodes share.
	Store DataStore
	// SecureCookies marks cookies Secure; set it when served over HTTPS.
	// An https PublicURL implies it.
	SecureCookies bool
	// PublicURL is the address users reach the server at, e.g.
	// https://riskmine.example.org. When it is https, cookies are Secure and
	// carry the __Host- prefix; logins must come from its origin.
	PublicURL string
	// TrustedProxies are addresses or CIDR prefixes of reverse proxies whose
	// X-Forwarded-For names the client (default none: the remote address is
	// the client).
	TrustedProxies []string
	// WriteTimeout is the HTTP server's write timeout; streaming responses
	// (exports) push their write deadline forward by it as they go.
	WriteTimeout time.Duration
	// TokenTTL is how long a user's new API token lasts (default 90 days).
	// The AdminToken does not expire.
	TokenTTL time.Duration
	// SessionTTL is how long a login lasts (default 12h).
	SessionTTL time.Duration
	// AdminToken, when not empty, is accepted as a bearer token with admin
	// rights (cmd/riskmine passes RISKMINE_API_TOKEN here).
	AdminToken string
	// LoginMaxFailures failed logins of one account cost nothing; each
	// further one doubles the wait before the next (from 1s up to
	// LoginWindow; defaults 5 and 15m). One client address gets ten times as
	// many free failures, whatever the names, and waits at most a minute.
	LoginMaxFailures int
	LoginWindow      time.Duration
	// SearchesPerUser is how many searches (page, API) one user may run
	// at once (default 2); more are answered 429.
	SearchesPerUser int
	// PIIRoles are the roles that see phone numbers, bank cards and QQ/WeChat
	// ids in posts unmasked (nil: DefaultPIIRoles, analyst and admin; an
	// empty non-nil list masks them for everyone).
	PIIRoles []Role
	// ReadAuditTTL is how long the read audit keeps a read (0:
	// DefaultReadAuditTTL, 180 days; negative: keep them all).
	ReadAuditTTL time.Duration
	// Logger receives request errors (default slog.Default()).
	Logger *slog.Logger
	// Profiling serves Go's profiler under /debug/pprof/ to admins
	// (web.pprof); off, those paths answer 404.
	Profiling bool
	// Location is the zone pages and exports show times in, days are
	// counted in and dates typed without a zone are read in (default
	// Asia/Shanghai).
	Location *time.Location
	// Now is the clock (default time.Now); tests inject their own.
	Now func() time.Time
	// Map is the customer's boundary layer for the places view (nil: the
	// view shows its table only); SetMap replaces it while running.
	Map *MapLayer
}

// Server is the analyst UI and the JSON API.
type Server struct {
	opts       Options
	deps       Deps
	store      DataStore
	ownStore   bool
	log        *slog.Logger
	now        func() time.Time
	secure     bool     // served over HTTPS: Secure, __Host- cookies
	publicURL  *url.URL // nil when not configured
	trusted    []netip.Prefix
	loginLimit *attemptLimiter // per account
	addrLimit  *attemptLimiter // per client address, against guessing many names
	tokenLimit *attemptLimiter // wrong bearer tokens per client address
	tokWarn    tokenWarnings
	pages      map[string]*pageTemplate
	handler    http.Handler
	routes     []string
	searches   *searchSlots // concurrent searches per user
	piiRoles   []Role       // roles that see personal data unmasked
	reads      *readLog     // the read audit's writer
	streams    *eventStreams
	srcTests   sourceTestGate           // selector tests in flight
	mapLayer   atomic.Pointer[MapLayer] // the places view's boundary layer (web.map), nil without
}

// New builds the server, opening the web tables in opts.DBPath (unless
// opts.Store is given) and parsing the templates once. Dependencies left nil
// in deps make their pages say the feature is not available (API: 503).
func New(opts Options, deps Deps) (*Server, error) {
	if opts.SessionTTL <= 0 {
		opts.SessionTTL = 12 * time.Hour
	}
	if opts.LoginMaxFailures <= 0 {
		opts.LoginMaxFailures = 5
	}
	if opts.LoginWindow <= 0 {
		opts.LoginWindow = 15 * time.Minute
	}
	if opts.TokenTTL <= 0 {
		opts.TokenTTL = 90 * 24 * time.Hour
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Location == nil {
		loc, err := time.LoadLocation(DefaultTimezone)
		if err != nil {
			return nil, fmt.Errorf("web: time zone %s: %w", DefaultTimezone, err)
		}
		opts.Location = loc
	}
	if opts.PIIRoles == nil {
		opts.PIIRoles = DefaultPIIRoles
	}
	for _, r := range opts.PIIRoles {
		if _, err := ParseRole(string(r)); err != nil {
			return nil, fmt.Errorf("web: Options.PIIRoles: %w", err)
		}
	}
	if opts.ReadAuditTTL == 0 {
		opts.ReadAuditTTL = DefaultReadAuditTTL
	}
	if ls, ok := deps.Leads.(LeadSubscriber); ok && deps.LeadEvents == nil {
		deps.LeadEvents = ls
	}
	s := &Server{piiRoles: opts.PIIRoles, opts: opts, deps: deps, log: opts.Logger, now: opts.Now, secure: opts.SecureCookies,
		streams: newEventStreams()}
	if opts.PublicURL != "" {
		u, err := ParsePublicURL(opts.PublicURL)
		if err != nil {
			return nil, err
		}
		s.publicURL = u
		s.secure = s.secure || u.Scheme == "https"
	}
	for _, p := range opts.TrustedProxies {
		pre, err := ParseTrustedProxy(p)
		if err != nil {
			return nil, err
		}
		s.trusted = append(s.trusted, pre)
	}
	s.store = opts.Store
	if s.store == nil {
		if opts.DBPath == "" {
			return nil, fmt.Errorf("web: Options.DBPath or Options.Store is required")
		}
		st, err := OpenStore(opts.DBPath)
		if err != nil {
			return nil, err
		}
		st.now = opts.Now
		s.store, s.ownStore = st, true
	}
	s.store.SetTokenTTL(opts.TokenTTL)
	s.loginLimit = newAttemptLimiter(s.store, opts.LoginMaxFailures, time.Second, opts.LoginWindow, 24*time.Hour)
	s.addrLimit = newAttemptLimiter(s.store, 10*opts.LoginMaxFailures, time.Second, time.Minute, 24*time.Hour)
	s.tokenLimit = newAttemptLimiter(s.store, 20, time.Second, time.Minute, time.Hour)
	s.searches = newSearchSlots(s.store, opts.SearchesPerUser, s.log)
	pages, err := parsePages(opts.Location)
	if err != nil {
		if s.ownStore {
			s.store.Close()
		}
		return nil, err
	}
	s.pages = pages
	if err := s.SetMap(opts.Map); err != nil {
		if s.ownStore {
			s.store.Close()
		}
		return nil, err
	}
	s.reads = newReadLog(s.store, s.log, s.now, opts.ReadAuditTTL)
	s.handler = s.securityHeaders(s.buildRoutes())
	return s, nil
}

// Handler returns the HTTP handler serving the UI at / and the API at /api/v1.
func (s *Server) Handler() http.Handler { return s.handler }

// DataStore returns the server's store: users, saved searches and alert
// rules (pipeline.AlertRules reads them), the audits and the rest.
func (s *Server) DataStore() DataStore { return s.store }

// Store returns the server's store when it is the SQLite one, else nil.
//
// Deprecated: use DataStore, which every backend gives.
func (s *Server) Store() *Store {
	st, _ := s.store.(*Store)
	return st
}

// Close ends the event streams, writes the reads still queued for the
// read audit and closes the database when the server opened it.
func (s *Server) Close() error {
	s.EndStreams()
	s.reads.close()
	if s.ownStore {
		return s.store.Close()
	}
	return nil
}

// buildRoutes lists every route of the UI and the API in one place.
func (s *Server) buildRoutes() http.Handler {
	mux := http.NewServeMux()
	handle := func(pattern string, h http.Handler) {
		s.routes = append(s.routes, pattern)
		mux.Handle(pattern, h)
	}
	static, _ := fs.Sub(staticFS, "static")
	handle("GET /static/", http.StripPrefix("/static/", cacheStatic(http.FileServerFS(static))))
	handle("GET /favicon.ico", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))

	// Pages.
	handle("GET /login", http.HandlerFunc(s.loginPage))
	handle("POST /login", http.HandlerFunc(s.loginSubmit))
	handle("POST /logout", s.page(RoleViewer, s.logout))
	handle("GET /lang", http.HandlerFunc(s.setLanguage))
	handle("GET /{$}", s.page(RoleViewer, s.dashboard))
	handle("GET /search", s.page(RoleViewer, s.searchPage))
	handle("POST /search/saved", s.page(RoleAnalyst, s.savedSearchCreate))
	handle("POST /search/saved/{id}/delete", s.page(RoleAnalyst, s.savedSearchDelete))
	handle("POST /search/saved/{id}/rule", s.page(RoleAdmin, s.alertRuleCreate))
	handle("POST /rules/{id}/delete", s.page(RoleAdmin, s.alertRuleDelete))
	handle("GET /leads", s.page(RoleViewer, s.leadList))
	handle("GET /places", s.page(RoleViewer, s.placesPage))
	handle("POST /leads/bulk", s.page(RoleAnalyst, s.leadBulk))
	handle("GET /leads/{id}", s.page(RoleViewer, s.leadDetail))
	handle("POST /leads/{id}/action", s.page(RoleAnalyst, s.leadAction))
	handle("GET /leads/{id}/evidence/{capture}", s.page(RoleViewer, s.archivedCopy))
	handle("GET /leads/{id}/evidence/{capture}/screenshot", s.page(RoleViewer, s.archivedScreenshot))
	handle("GET /leads/{id}/evidence.zip", s.page(RoleViewer, s.evidenceBundle))
	handle("GET /sources", s.page(RoleViewer, s.sourceList))
	handle("POST /sources/{name}/run", s.page(RoleAnalyst, s.sourceRun))
	handle("GET /sources/manage", s.page(RoleAdmin, s.sourceAdminPage))
	handle("POST /sources/manage", s.page(RoleAdmin, s.sourceAdminCreate))
	handle("POST /sources/manage/test", s.page(RoleAdmin, s.sourceAdminTest))
	handle("POST /sources/manage/{name}/save", s.page(RoleAdmin, s.sourceAdminUpdate))
	handle("POST /sources/manage/{name}/pause", s.page(RoleAdmin, s.sourceAdminAction("pause")))
	handle("POST /sources/manage/{name}/resume", s.page(RoleAdmin, s.sourceAdminAction("resume")))
	handle("POST /sources/manage/{name}/delete", s.page(RoleAdmin, s.sourceAdminAction("delete")))
	handle("GET /lexicons", s.page(RoleViewer, s.lexiconPage))
	handle("POST /lexicons/try", s.page(RoleViewer, s.lexiconTry))
	handle("POST /lexicons/model/reload", s.page(RoleAdmin, s.modelReload))
	handle("GET /lexicons/edit/{code}", s.page(RoleAdmin, s.lexiconEditPage))
	handle("POST /lexicons/edit/{code}", s.page(RoleAdmin, s.lexiconEditSave))
	handle("POST /lexicons/edit/{code}/restore", s.page(RoleAdmin, s.lexiconEditRestore))
	handle("GET /lexicons/edit/{code}/cases", s.page(RoleAdmin, s.lexiconEditPage))
	handle("POST /lexicons/edit/{code}/cases", s.page(RoleAdmin, s.lexiconEditSave))
	handle("POST /lexicons/edit/{code}/cases/restore", s.page(RoleAdmin, s.lexiconEditRestore))
	handle("POST /lexicons/edit/{code}/revert", s.page(RoleAdmin, s.lexiconEditRevert))
	handle("POST /lexicons/edit/{code}/cases/revert", s.page(RoleAdmin, s.lexiconEditRevert))
	handle("GET /webhooks", s.page(RoleAdmin, s.webhookPage))
	handle("POST /webhooks/deliveries/{id}/replay", s.page(RoleAdmin, s.webhookReplay))
	handle("POST /webhooks/{name}/test", s.page(RoleAdmin, s.webhookTest))
	handle("POST /webhooks/{name}/enable", s.page(RoleAdmin, s.webhookEnable))
	handle("GET /users", s.page(RoleAdmin, s.userList))
	handle("POST /users", s.page(RoleAdmin, s.userCreate))
	handle("POST /users/{name}/update", s.page(RoleAdmin, s.userUpdate))
	handle("POST /users/{name}/tokens", s.page(RoleAdmin, s.tokenCreate))
	handle("POST /tokens/{id}/delete", s.page(RoleAdmin, s.tokenDelete))
	handle("GET /export", s.page(RoleViewer, s.exportPage))
	handle("GET /export/leads", s.page(RoleViewer, s.exportLeads))
	handle("GET /export/search", s.page(RoleViewer, s.exportSearch))
	handle("GET /read-audit", s.page(RoleAdmin, s.readAuditPage))
	handle("GET /export/read-audit", s.page(RoleAdmin, s.exportReadAudit))

	// Go's profiler, for admins, when configured.
	if s.opts.Profiling {
		prof := ProfilingHandler()
		handle("GET /debug/pprof/", s.api(RoleAdmin, prof.ServeHTTP))
		handle("POST /debug/pprof/symbol", s.api(RoleAdmin, prof.ServeHTTP))
	}

	// JSON API.
	handle("GET /api/v1/openapi.json", http.HandlerFunc(s.apiOpenAPI))
	handle("GET /api/v1/me", s.api(RoleViewer, s.apiMe))
	handle("GET /api/v1/dashboard", s.api(RoleViewer, s.apiDashboard))
	handle("GET /api/v1/leads", s.api(RoleViewer, s.apiLeadList))
	handle("GET /api/v1/leads/{id}", s.api(RoleViewer, s.apiLeadGet))
	handle("POST /api/v1/leads/{id}/transition", s.api(RoleAnalyst, s.apiLeadTransition))
	handle("POST /api/v1/leads/bulk", s.api(RoleAnalyst, s.apiLeadBulk))
	handle("POST /api/v1/inbound/{platform}", http.HandlerFunc(s.apiInbound))
	handle("GET /api/v1/events", s.api(RoleViewer, s.apiEvents))
	handle("GET /api/v1/search", s.api(RoleViewer, s.apiSearch))
	handle("GET /api/v1/places", s.api(RoleViewer, s.apiPlaces))
	handle("GET /api/v1/saved-searches", s.api(RoleViewer, s.apiSavedSearchList))
	handle("POST /api/v1/saved-searches", s.api(RoleAnalyst, s.apiSavedSearchCreate))
	handle("DELETE /api/v1/saved-searches/{id}", s.api(RoleAnalyst, s.apiSavedSearchDelete))
	handle("GET /api/v1/alert-rules", s.api(RoleViewer, s.apiAlertRuleList))
	handle("POST /api/v1/alert-rules", s.api(RoleAdmin, s.apiAlertRuleCreate))
	handle("DELETE /api/v1/alert-rules/{id}", s.api(RoleAdmin, s.apiAlertRuleDelete))
	handle("GET /api/v1/sources", s.api(RoleViewer, s.apiSourceList))
	handle("POST /api/v1/sources/{name}/run", s.api(RoleAnalyst, s.apiSourceRun))
	handle("GET /api/v1/sources/{name}/progress", s.api(RoleViewer, s.apiSourceProgress))
	handle("POST /api/v1/sources", s.api(RoleAdmin, s.apiSourceCreate))
	handle("GET /api/v1/sources/ui", s.api(RoleAdmin, s.apiUISourceList))
	handle("GET /api/v1/sources/audit", s.api(RoleAdmin, s.apiSourceAudit))
	handle("POST /api/v1/sources/test", s.api(RoleAdmin, s.apiSourceTest))
	handle("PUT /api/v1/sources/{name}", s.api(RoleAdmin, s.apiSourceUpdate))
	handle("DELETE /api/v1/sources/{name}", s.api(RoleAdmin, s.apiSourceAction("delete")))
	handle("POST /api/v1/sources/{name}/pause", s.api(RoleAdmin, s.apiSourceAction("pause")))
	handle("POST /api/v1/sources/{name}/resume", s.api(RoleAdmin, s.apiSourceAction("resume")))
	handle("GET /api/v1/lexicons", s.api(RoleViewer, s.apiLexiconList))
	handle("POST /api/v1/lexicons/try", s.api(RoleViewer, s.apiLexiconTry))
	handle("GET /api/v1/lexicons/audit", s.api(RoleAdmin, s.apiLexiconAudit))
	handle("GET /api/v1/lexicons/{code}", s.api(RoleAdmin, s.apiLexiconGet))
	handle("PUT /api/v1/lexicons/{code}", s.api(RoleAdmin, s.apiLexiconPut(false)))
	handle("POST /api/v1/lexicons/{code}/restore", s.api(RoleAdmin, s.apiLexiconPut(true)))
	handle("GET /api/v1/lexicons/{code}/cases", s.api(RoleAdmin, s.apiLexiconGet))
	handle("PUT /api/v1/lexicons/{code}/cases", s.api(RoleAdmin, s.apiLexiconPut(false)))
	handle("POST /api/v1/lexicons/{code}/cases/restore", s.api(RoleAdmin, s.apiLexiconPut(true)))
	handle("GET /api/v1/webhooks", s.api(RoleAdmin, s.apiWebhookList))
	handle("GET /api/v1/webhooks/deliveries", s.api(RoleAdmin, s.apiWebhookDeliveries))
	handle("POST /api/v1/webhooks/deliveries/{id}/replay", s.api(RoleAdmin, s.apiWebhookReplay))
	handle("POST /api/v1/webhooks/{name}/test", s.api(RoleAdmin, s.apiWebhookTest))
	handle("POST /api/v1/webhooks/{name}/enable", s.api(RoleAdmin, s.apiWebhookEnable))
	handle("GET /api/v1/users", s.api(RoleAdmin, s.apiUserList))
	handle("POST /api/v1/users", s.api(RoleAdmin, s.apiUserCreate))
	handle("PATCH /api/v1/users/{name}", s.api(RoleAdmin, s.apiUserUpdate))
	handle("POST /api/v1/users/{name}/tokens", s.api(RoleAdmin, s.apiTokenCreate))
	handle("GET /api/v1/tokens", s.api(RoleAdmin, s.apiTokenList))
	handle("DELETE /api/v1/tokens/{id}", s.api(RoleAdmin, s.apiTokenDelete))
	handle("GET /api/v1/export/leads", s.api(RoleViewer, s.exportLeads))
	handle("GET /api/v1/export/search", s.api(RoleViewer, s.exportSearch))
	handle("GET /api/v1/read-audit", s.api(RoleAdmin, s.apiReadAudit))
	handle("GET /api/v1/export/read-audit", s.api(RoleAdmin, s.exportReadAudit))
	handle("/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.renderError(w, r, http.StatusNotFound, "error.notfound")
	}))
	handle("/api/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSONError(w, http.StatusNotFound, "no such API route: "+r.Method+" "+r.URL.Path)
	}))
	return mux
}

// Routes returns the registered route patterns (used to keep the OpenAPI
// document complete).
func (s *Server) Routes() []string { return append([]string(nil), s.routes...) }

func cacheStatic(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		h.ServeHTTP(w, r)
	})
}

// securityHeaders sets a strict Content-Security-Policy: no inline scripts
// or styles, so even a missed escape could not run crawled markup.
func (s *Server) securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		// Only a configured map's background tiles (web.map.tiles) add an
		// image origin.
		hd.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:"+s.mapCSP()+"; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "same-origin")
		hd.Set("X-Frame-Options", "DENY")
		h.ServeHTTP(w, r)
	})
}

// ParsePublicURL checks a public URL: http or https, a host, no user, query
// or fragment, and at most a path of /.
func ParsePublicURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("web: public URL %q: expected http(s)://host[:port] such as https://riskmine.example.org", raw)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" || (u.Path != "" && u.Path != "/") {
		return nil, fmt.Errorf("web: public URL %q: no user, path, query or fragment (riskmine is served at the root)", raw)
	}
	u.Path = ""
	return u, nil
}

// ParseTrustedProxy reads an address (10.0.0.1) or CIDR prefix (10.0.0.0/8).
func ParseTrustedProxy(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("web: trusted proxy %q: expected an address or CIDR prefix such as 10.0.0.0/8", s)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("web: trusted proxy %q: expected an address or CIDR prefix such as 10.0.0.0/8", s)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}
