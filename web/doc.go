// Package web serves riskmine's analyst UI and its JSON API under /api/v1.
//
// The UI is server-rendered: html/template pages parsed once from an
// embed.FS, a stylesheet and a little plain JavaScript, all embedded, no
// build step. Messages are in Chinese by default and in English on request
// (a cookie set by the header's switch, else Accept-Language).
//
// Access control: local users with bcrypt passwords and the roles admin,
// analyst and viewer, kept with sessions, API tokens, saved searches and
// alert rules in web_ tables of <data_dir>/riskmine.db. Sessions are
// HttpOnly SameSite=Lax cookies; every form and every state-changing API
// call made with a session cookie carries a CSRF token; bearer tokens need
// none. Logins are rate-limited per client IP and user name.
package web
