package web

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

type loginData struct {
	Next     string
	Name     string
	FormCSRF string
}

// LoginNonces keeps the login form's tokens the server has issued. A
// token is good once, for loginNonceTTL, and only from the address it was
// issued to: a cookie planted by a page on a sibling port (cookies ignore
// ports) is not enough to log a victim's browser into the planter's
// account. On PostgreSQL a token issued by one API node is redeemed on
// any, and once on all of them.
type LoginNonces interface {
	// AddLoginNonce keeps a token issued to the client address ip until
	// expires.
	AddLoginNonce(ctx context.Context, nonce, ip string, expires time.Time) error
	// TakeLoginNonce removes a token and says whom it was issued to and
	// until when; ErrNotFound when it is unknown or already taken. Of
	// concurrent takes of one token, from any node, one gets it.
	TakeLoginNonce(ctx context.Context, nonce string) (ip string, expires time.Time, err error)
}

const loginNonceTTL = time.Hour

// issueNonce issues a login token to ip.
func (s *Server) issueNonce(ctx context.Context, ip string) (string, error) {
	tok := randomToken(18)
	if err := s.store.AddLoginNonce(ctx, tok, ip, s.now().Add(loginNonceTTL)); err != nil {
		return "", err
	}
	return tok, nil
}

// redeemNonce consumes tok when the server issued it to ip and it is
// fresh.
func (s *Server) redeemNonce(ctx context.Context, tok, ip string) (bool, error) {
	got, expires, err := s.store.TakeLoginNonce(ctx, tok)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return got == ip && !s.now().After(expires), nil
}

// loginPage shows the login form. Before a session exists the CSRF token is
// a server-issued nonce, sent both as a cookie and in the form.
func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	s.showLogin(w, r, http.StatusOK, "", "")
}

func (s *Server) showLogin(w http.ResponseWriter, r *http.Request, status int, name, errMsg string) {
	tok, err := s.issueNonce(r.Context(), s.clientIP(r))
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	s.setCookie(w, &http.Cookie{Name: s.cookieName(loginCSRF), Value: tok, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, MaxAge: int(loginNonceTTL / time.Second)})
	next := r.FormValue("next")
	v := s.newView(r, "", "login.title", &loginData{Next: localRedirect(next), Name: name, FormCSRF: tok})
	v.Error = errMsg
	s.render(w, r, status, "login", v)
}

// sameOrigin reports whether a state-changing request comes from our own
// pages. Browsers send Origin on every cross-origin POST; a page on another
// port or scheme of the same host is another origin.
func (s *Server) sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return true // not a browser, or an old one: the nonce still holds
	}
	u, err := url.Parse(o)
	if err != nil || o == "null" {
		return false
	}
	if s.publicURL != nil && u.Scheme == s.publicURL.Scheme && u.Host == s.publicURL.Host {
		return true
	}
	// The address the browser used (an intranet IP beside the public name):
	// a page elsewhere cannot make the browser send our Host with its Origin.
	return u.Host == r.Host
}

// loginSubmit checks the credentials and starts a session. The attempt is
// reserved in the limiter before the password is checked, per account and
// per client address.
func (s *Server) loginSubmit(w http.ResponseWriter, r *http.Request) {
	l := langFor(r)
	ip := s.clientIP(r)
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10) // a name and a password
	if err := r.ParseForm(); err != nil {
		http.Error(w, "malformed or oversized login form", http.StatusBadRequest)
		return
	}
	c, err := r.Cookie(s.cookieName(loginCSRF))
	form := r.PostFormValue(csrfField)
	if err != nil || form == "" || subtle.ConstantTimeCompare([]byte(c.Value), []byte(form)) != 1 || !s.sameOrigin(r) {
		s.showLogin(w, r, http.StatusForbidden, "", l.T("error.csrf"))
		return
	}
	if ok, err := s.redeemNonce(r.Context(), form, ip); err != nil {
		s.serverError(w, r, err)
		return
	} else if !ok {
		s.showLogin(w, r, http.StatusForbidden, "", l.T("error.csrf"))
		return
	}
	name := normalizeUserName(r.PostFormValue("username"))
	password := r.PostFormValue("password")
	account, addr := "u:"+name, "a:"+ip
	// Counters are given back even when the client has gone meanwhile.
	ctx, keep := r.Context(), context.WithoutCancel(r.Context())
	if ok, wait, err := s.loginLimit.reserve(ctx, account); err != nil {
		s.serverError(w, r, err)
		return
	} else if !ok {
		s.loginLimited(w, r, name, ip, wait)
		return
	}
	if ok, wait, err := s.addrLimit.reserve(ctx, addr); err != nil || !ok {
		s.giveBack(keep, s.loginLimit, account)
		if err != nil {
			s.serverError(w, r, err)
		} else {
			s.loginLimited(w, r, name, ip, wait)
		}
		return
	}
	u, err := s.store.Authenticate(ctx, name, password)
	if errors.Is(err, ErrBadLogin) {
		s.log.Warn("login failed", "user", name, "remote_ip", ip)
		s.showLogin(w, r, http.StatusUnauthorized, name, l.T("login.bad"))
		return
	}
	if err != nil {
		s.giveBack(keep, s.loginLimit, account)
		s.giveBack(keep, s.addrLimit, addr)
		s.serverError(w, r, err)
		return
	}
	if err := s.loginLimit.forget(keep, account); err != nil {
		s.log.Warn("login attempts not cleared", "user", name, "error", err)
	}
	s.giveBack(keep, s.addrLimit, addr)
	tok, _, err := s.store.CreateSession(ctx, u, s.opts.SessionTTL)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	s.setCookie(w, &http.Cookie{Name: s.cookieName(sessionCookie), Value: tok, HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Expires: s.now().Add(s.opts.SessionTTL),
		MaxAge: int(s.opts.SessionTTL / time.Second)})
	s.setCookie(w, &http.Cookie{Name: s.cookieName(loginCSRF), Value: "", MaxAge: -1, HttpOnly: true})
	s.log.Info("login", "user", u.Name, "remote_ip", ip)
	http.Redirect(w, r, localRedirect(r.PostFormValue("next")), http.StatusSeeOther)
}

// giveBack returns a reserved attempt; a failure only leaves the attempt
// counted, so it is logged, not shown.
func (s *Server) giveBack(ctx context.Context, l *attemptLimiter, key string) {
	if err := l.giveBack(ctx, key); err != nil {
		s.log.Warn("login attempt not given back", "error", err)
	}
}

func (s *Server) loginLimited(w http.ResponseWriter, r *http.Request, name, ip string, wait time.Duration) {
	secs := int(wait.Seconds()) + 1
	s.log.Warn("login delayed", "user", name, "remote_ip", ip, "wait_s", secs)
	w.Header().Set("Retry-After", fmt.Sprint(secs))
	s.showLogin(w, r, http.StatusTooManyRequests, name, langFor(r).T("login.limited", secs))
}

// logout ends the session.
func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	p := principalFrom(r.Context())
	if err := s.store.DeleteSession(r.Context(), p.Token); err != nil {
		s.serverError(w, r, err)
		return
	}
	s.setCookie(w, &http.Cookie{Name: s.cookieName(sessionCookie), Value: "", MaxAge: -1, HttpOnly: true,
		SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// cookieName adds the __Host- prefix when the server is reached over
// HTTPS: browsers then refuse the cookie unless it is Secure, host-only and
// for path /, so no sibling host or plain-http port can set it.
func (s *Server) cookieName(base string) string {
	if s.secure {
		return "__Host-" + base
	}
	return base
}

// setCookie sets c for the whole site, Secure when served over HTTPS.
func (s *Server) setCookie(w http.ResponseWriter, c *http.Cookie) {
	c.Path = "/"
	c.Secure = s.secure
	http.SetCookie(w, c)
}
