package web

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"time"
)

type loginData struct {
	Next     string
	Name     string
	FormCSRF string
}

// loginNonces are the login form tokens the server has issued. A token is
// good once, for loginNonceTTL, and only from the address it was issued to:
// a cookie planted by a page on a sibling port (cookies ignore ports) is not
// enough to log a victim's browser into the planter's account.
type loginNonces struct {
	mu   sync.Mutex
	now  func() time.Time
	byID map[string]loginNonce
}

type loginNonce struct {
	ip      string
	expires time.Time
}

const loginNonceTTL = time.Hour

func newLoginNonces(now func() time.Time) *loginNonces {
	return &loginNonces{now: now, byID: map[string]loginNonce{}}
}

func (n *loginNonces) issue(ip string) string {
	tok := randomToken(18)
	n.mu.Lock()
	defer n.mu.Unlock()
	now := n.now()
	if len(n.byID) >= 10000 {
		for k, v := range n.byID {
			if now.After(v.expires) {
				delete(n.byID, k)
			}
		}
		// Still full: forget an arbitrary one rather than grow without bound.
		for k := range n.byID {
			if len(n.byID) < 10000 {
				break
			}
			delete(n.byID, k)
		}
	}
	n.byID[tok] = loginNonce{ip: ip, expires: now.Add(loginNonceTTL)}
	return tok
}

// redeem consumes tok when the server issued it to ip and it is fresh.
func (n *loginNonces) redeem(tok, ip string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	v, ok := n.byID[tok]
	if !ok {
		return false
	}
	delete(n.byID, tok)
	return v.ip == ip && !n.now().After(v.expires)
}

// loginPage shows the login form. Before a session exists the CSRF token is
// a server-issued nonce, sent both as a cookie and in the form.
func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	s.showLogin(w, r, http.StatusOK, "", "")
}

func (s *Server) showLogin(w http.ResponseWriter, r *http.Request, status int, name, errMsg string) {
	tok := s.nonces.issue(s.clientIP(r))
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
	if err != nil || form == "" || subtle.ConstantTimeCompare([]byte(c.Value), []byte(form)) != 1 ||
		!s.sameOrigin(r) || !s.nonces.redeem(form, ip) {
		s.showLogin(w, r, http.StatusForbidden, "", l.T("error.csrf"))
		return
	}
	name := normalizeUserName(r.PostFormValue("username"))
	password := r.PostFormValue("password")
	account, addr := "u:"+name, "a:"+ip
	if ok, wait := s.loginLimit.reserve(account); !ok {
		s.loginLimited(w, r, name, ip, wait)
		return
	}
	if ok, wait := s.addrLimit.reserve(addr); !ok {
		s.loginLimit.giveBack(account)
		s.loginLimited(w, r, name, ip, wait)
		return
	}
	u, err := s.accounts.Authenticate(r.Context(), name, password)
	if errors.Is(err, ErrBadLogin) {
		s.log.Warn("login failed", "user", name, "remote_ip", ip)
		s.showLogin(w, r, http.StatusUnauthorized, name, l.T("login.bad"))
		return
	}
	if err != nil {
		s.loginLimit.giveBack(account)
		s.addrLimit.giveBack(addr)
		s.serverError(w, r, err)
		return
	}
	s.loginLimit.forget(account)
	s.addrLimit.giveBack(addr)
	tok, _, err := s.accounts.CreateSession(r.Context(), u, s.opts.SessionTTL)
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

func (s *Server) loginLimited(w http.ResponseWriter, r *http.Request, name, ip string, wait time.Duration) {
	secs := int(wait.Seconds()) + 1
	s.log.Warn("login delayed", "user", name, "remote_ip", ip, "wait_s", secs)
	w.Header().Set("Retry-After", fmt.Sprint(secs))
	s.showLogin(w, r, http.StatusTooManyRequests, name, langFor(r).T("login.limited", secs))
}

// logout ends the session.
func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	p := principalFrom(r.Context())
	if err := s.accounts.DeleteSession(r.Context(), p.Token); err != nil {
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
