package alerts

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"mime"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"strings"
	"time"

	"riskmine/netguard"
)

// EmailSettings are the SMTP settings of an email endpoint.
type EmailSettings struct {
	// Addr is the SMTP server, host:port (587 for submission).
	Addr string `json:"smtp"`
	// From is the sender address; To the recipients.
	From string   `json:"from"`
	To   []string `json:"to"`
	// Username and Password authenticate with AUTH PLAIN, only ever over
	// TLS. Password is never marshalled.
	Username string `json:"username,omitempty"`
	Password string `json:"-"`
	// StartTLS is required (the default: no STARTTLS, no mail) or off
	// (plain SMTP to an intranet relay, allowed without credentials only).
	StartTLS string `json:"starttls"`
}

// StartTLS modes.
const (
	StartTLSRequired = "required"
	StartTLSOff      = "off"
)

// errFinal marks an attempt error that retrying cannot fix (the SMTP
// server refused for good: bad credentials, unknown mailbox).
var errFinal = errors.New("permanent failure")

// smtpError classifies an SMTP reply: 5xx is final, anything else is
// retried.
func smtpError(step string, err error) error {
	var te *textproto.Error
	if errors.As(err, &te) && te.Code >= 500 {
		return fmt.Errorf("smtp %s: %w (%w, not retried)", step, err, errFinal)
	}
	return fmt.Errorf("smtp %s: %w", step, err)
}

// sendEmail delivers m by SMTP. The connection is dialled through the SSRF
// guard (allow_private lets it reach an intranet relay); STARTTLS is
// required unless the endpoint turned it off, and credentials are only
// ever sent over TLS. It returns 250 for a message the server accepted.
func (d *Dispatcher) sendEmail(ctx context.Context, ep endpointKey, id string, m message, now time.Time) (int, error) {
	es := ep.Email
	if es == nil {
		return 0, fmt.Errorf("webhook %s: no SMTP settings: %w", ep.Name, errFinal)
	}
	host, port, err := net.SplitHostPort(es.Addr)
	if err != nil {
		return 0, fmt.Errorf("webhook %s: smtp address %q: %w (%w)", ep.Name, es.Addr, err, errFinal)
	}
	ctx, cancel := context.WithTimeout(ctx, ep.timeout())
	defer cancel()
	g := netguard.Guard{AllowPrivate: ep.AllowPrivate}
	if err := g.CheckHost(ctx, host, port, net.DefaultResolver.LookupIPAddr); err != nil {
		return 0, guardError(ep, err)
	}
	conn, err := g.Dialer(ep.timeout()).DialContext(ctx, "tcp", es.Addr)
	if err != nil {
		if errors.Is(err, netguard.ErrBlocked) {
			return 0, guardError(ep, err)
		}
		return 0, fmt.Errorf("smtp dial: %w", err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	// Closing the connection when ctx ends unblocks a server that stalls.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		return 0, smtpError("greeting", err)
	}
	defer c.Close()
	tlsOn := false
	if es.StartTLS != StartTLSOff {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return 0, fmt.Errorf("smtp: %s offers no STARTTLS and the webhook requires it (starttls: required)", es.Addr)
		}
		cfg := &tls.Config{MinVersion: tls.VersionTLS12}
		if d.opts.SMTPTLS != nil {
			cfg = d.opts.SMTPTLS.Clone()
		}
		cfg.ServerName = host
		if err := c.StartTLS(cfg); err != nil {
			return 0, smtpError("starttls", err)
		}
		tlsOn = true
	}
	if es.Username != "" {
		if !tlsOn {
			return 0, fmt.Errorf("smtp: refusing to send credentials without TLS (%w)", errFinal)
		}
		if ok, _ := c.Extension("AUTH"); !ok {
			return 0, fmt.Errorf("smtp: %s offers no AUTH but the webhook has a username (%w)", es.Addr, errFinal)
		}
		if err := c.Auth(smtp.PlainAuth("", es.Username, es.Password, host)); err != nil {
			return 0, smtpError("auth", err)
		}
	}
	if err := c.Mail(envelopeAddress(es.From)); err != nil {
		return 0, smtpError("mail from", err)
	}
	for _, to := range es.To {
		if err := c.Rcpt(envelopeAddress(to)); err != nil {
			return 0, smtpError("rcpt to "+to, err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return 0, smtpError("data", err)
	}
	if _, err := w.Write(buildMail(es, id, m, now.In(d.opts.Location))); err != nil {
		return 0, smtpError("data", err)
	}
	if err := w.Close(); err != nil {
		return 0, smtpError("data", err)
	}
	// The message is accepted once DATA is answered 250; a failed QUIT
	// does not undo that.
	c.Quit()
	return 250, nil
}

// envelopeAddress is the bare address of "Name <addr>" for MAIL and RCPT.
func envelopeAddress(s string) string {
	if a, err := mail.ParseAddress(s); err == nil {
		return a.Address
	}
	return s
}

// guardError words a refused address like the HTTP path does.
func guardError(ep endpointKey, err error) error {
	hint := ""
	if !ep.AllowPrivate && !strings.Contains(err.Error(), "metadata") {
		hint = " (set allow_private: true on this webhook to reach an intranet SMTP relay)"
	}
	return fmt.Errorf("webhook %s: %w%s", ep.Name, err, hint)
}

// headerText strips what could end a header line or start another.
func headerText(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' || r < 0x20 {
			return ' '
		}
		return r
	}, s)
}

// buildMail is the RFC 5322 message: UTF-8 subject in MIME encoded-words,
// a base64 text/plain body, and the delivery id as Message-ID so a reader
// can tell a retry from a new notification.
func buildMail(es *EmailSettings, id string, m message, now time.Time) []byte {
	var b bytes.Buffer
	h := func(k, v string) { b.WriteString(k + ": " + v + "\r\n") }
	from := es.From
	if a, err := mail.ParseAddress(es.From); err == nil {
		from = a.String()
	}
	h("From", from)
	to := make([]string, len(es.To))
	for i, t := range es.To {
		to[i] = t
		if a, err := mail.ParseAddress(t); err == nil {
			to[i] = a.String()
		}
	}
	h("To", strings.Join(to, ", "))
	h("Subject", mime.BEncoding.Encode("UTF-8", headerText("【riskmine】"+m.Title)))
	h("Date", now.Format(time.RFC1123Z))
	h("Message-ID", "<"+headerText(id)+"@riskmine>")
	h("MIME-Version", "1.0")
	h("Content-Type", "text/plain; charset=UTF-8")
	h("Content-Transfer-Encoding", "base64")
	b.WriteString("\r\n")
	enc := base64.StdEncoding.EncodeToString([]byte(m.text()))
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc + "\r\n")
	return b.Bytes()
}
