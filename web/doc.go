// Package web serves riskmine's analyst UI and its JSON API under /api/v1.
//
// The UI is server-rendered: html/template pages parsed once from an
// embed.FS, a stylesheet and a little plain JavaScript, all embedded, no
// build step. Messages are in Chinese by default and in English on request
// (a cookie set by the header's switch, else Accept-Language). Charts are
// SVG drawn on the server, and so is the places map, from a boundary layer
// the customer configures (Options.Map, Server.SetMap; riskmine ships no
// boundaries): only its background tiles' origin, when set, is added to the
// Content-Security-Policy's img-src. A strict Content-Security-Policy forbids inline
// script and style; crawled text is always escaped by html/template, and the
// only markup let through from the index is the <mark> of highlights (see
// safeFragment).
//
// State: everything web keeps is behind DataStore, a few small interfaces
// (accounts, read audit, UI sources, lexicon audit, login attempts, login
// nonces, search slots). *Store keeps it in web_ tables of
// <data_dir>/riskmine.db (the login attempts, nonces and search slots in
// memory: one process); web/pgstore keeps all of it in PostgreSQL, where
// several API nodes share it; web/storetest is the conformance suite both
// pass.
//
// Access control: local users with bcrypt passwords and the roles admin,
// analyst and viewer, with sessions, API tokens, saved searches and alert
// rules. Sessions are
// HttpOnly SameSite=Lax cookies (Secure and __Host- named when
// Options.PublicURL is https); every form and every state-changing API call
// made with a session cookie carries a CSRF token (form field csrf or header
// X-CSRF-Token); bearer tokens need none, expire (Options.TokenTTL) and are
// throttled when wrong. The login form's token is a one-time server nonce.
// Login attempts are reserved before the password check, per account and
// per client address (Options.TrustedProxies for X-Forwarded-For), with
// growing delays (AttemptPolicy). Redirect targets pass localRedirect. Viewers read;
// analysts also act on leads, save searches and run sources; admins also
// manage webhooks, alert rules and users.
//
// Privacy (pii.go, read_audit.go): phone numbers, bank cards and QQ/WeChat
// ids in post text are masked for roles outside Options.PIIRoles, and every
// search, lead list, lead view and export is recorded in the read audit
// (web_read_audit), which only admins can read.
//
// # Wiring (package service)
//
//	srv, err := web.New(web.Options{
//		DBPath:           filepath.Join(dataDir, "riskmine.db"), // or
//		Store:            pgStore, // pgstore.New(ctx, pool), shared by the API nodes
//		SecureCookies:    cfg.Web.SecureCookies,
//		PublicURL:        cfg.Web.PublicURL,
//		TrustedProxies:   cfg.Web.TrustedProxies,
//		TokenTTL:         cfg.Web.TokenTTL.D(),
//		WriteTimeout:     cfg.Web.WriteTimeout.D(),
//		SessionTTL:       cfg.Web.SessionTTL.D(),
//		LoginMaxFailures: cfg.Web.LoginMaxFailures,
//		LoginWindow:      cfg.Web.LoginWindow.D(),
//		AdminToken:       os.Getenv("RISKMINE_API_TOKEN"), // "" disables it
//		Logger:           log.With("component", "web"),
//	}, web.Deps{
//		Leads:      leads,      // an alerts.ServiceStore
//		Outbox:     leads,      // the same store
//		Dispatcher: dispatcher, // *alerts.Dispatcher
//		Endpoints:  endpoints,  // []alerts.Endpoint, shown without secrets
//		Search:     idx,        // *index.Index
//		Sources:    scheduler,  // *crawler.Scheduler
//		Analyzer:   analyzer,   // *nlp.Analyzer
//	})
//	defer srv.Close()
//	http.Handle("/", srv.Handler())
//
// Any Deps field may be nil: its pages then say the feature is not
// available and its API routes answer 503.
//
// Alert rules are saved searches that an admin turned into rules. The web
// package stores them; pipeline.AlertRules runs them (its Rules is
// Server.DataStore()): every little while it calls AlertRules on the store, and for each rule with Due(now) it searches
// rule.Query() for posts since the last run, files the hits as leads and
// calls MarkAlertRuleRun(ctx, rule.ID, now).
//
// The first admin is created with `riskmine users add NAME --role admin`
// (AddUser of the store; Server.DataStore gives the server's).
package web
