package alerts

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"io"
	"math/big"
	"mime"
	"net"
	"net/mail"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"
)

// testCert makes a self-signed certificate for 127.0.0.1 and the pool
// that trusts it.
func testCert(t testing.TB) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "smtp test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}

// smtpSession is what one SMTP connection did.
type smtpSession struct {
	tls                    bool
	authOverTLS, authPlain bool // AUTH seen, and whether TLS was on then
	user, pass             string
	from                   string
	rcpts                  []string
	data                   string
}

// smtpServer is a small SMTP server on loopback: EHLO, STARTTLS with a
// certificate made in the test, AUTH PLAIN (accepted only after STARTTLS),
// MAIL, RCPT, DATA, QUIT.
type smtpServer struct {
	t        testing.TB
	ln       net.Listener
	tls      *tls.Config
	offerTLS bool
	user     string
	pass     string
	mu       sync.Mutex
	sessions []*smtpSession
	wg       sync.WaitGroup
}

func newSMTPServer(t testing.TB, offerTLS bool, user, pass string) (*smtpServer, *x509.CertPool) {
	cert, pool := testCert(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &smtpServer{t: t, ln: ln, tls: &tls.Config{Certificates: []tls.Certificate{cert}}, offerTLS: offerTLS, user: user, pass: pass}
	srv.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			srv.wg.Go(func() { srv.serve(c) })
		}
	})
	t.Cleanup(func() {
		ln.Close()
		srv.wg.Wait()
	})
	return srv, pool
}

func (srv *smtpServer) all() []*smtpSession {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	return append([]*smtpSession(nil), srv.sessions...)
}

func (srv *smtpServer) serve(c net.Conn) {
	defer func() { c.Close() }()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	s := &smtpSession{}
	srv.mu.Lock()
	srv.sessions = append(srv.sessions, s)
	srv.mu.Unlock()
	tp := textproto.NewConn(c)
	reply := func(lines ...string) {
		for _, l := range lines {
			tp.PrintfLine("%s", l)
		}
	}
	reply("220 smtp.test ESMTP")
	authed := false
	for {
		line, err := tp.ReadLine()
		if err != nil {
			return
		}
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO", "HELO":
			lines := []string{"250-smtp.test"}
			if srv.offerTLS && !s.tls {
				lines = append(lines, "250-STARTTLS")
			}
			if s.tls || !srv.offerTLS {
				lines = append(lines, "250-AUTH PLAIN")
			}
			reply(append(lines, "250 8BITMIME")...)
		case "STARTTLS":
			if !srv.offerTLS || s.tls {
				reply("502 5.5.1 not offered")
				continue
			}
			reply("220 2.0.0 ready to start TLS")
			tc := tls.Server(c, srv.tls)
			if err := tc.Handshake(); err != nil {
				srv.t.Logf("smtp server: handshake: %v", err)
				return
			}
			c = tc
			tp = textproto.NewConn(tc)
			s.tls = true
		case "AUTH":
			s.authPlain, s.authOverTLS = true, s.tls
			mech, resp, _ := strings.Cut(arg, " ")
			if !s.tls {
				reply("530 5.7.0 must issue a STARTTLS command first")
				continue
			}
			raw, err := base64.StdEncoding.DecodeString(resp)
			parts := strings.Split(string(raw), "\x00")
			if strings.ToUpper(mech) != "PLAIN" || err != nil || len(parts) != 3 {
				reply("501 5.5.2 bad AUTH")
				continue
			}
			s.user, s.pass = parts[1], parts[2]
			if s.user != srv.user || s.pass != srv.pass {
				reply("535 5.7.8 authentication credentials invalid")
				continue
			}
			authed = true
			reply("235 2.7.0 authentication successful")
		case "MAIL":
			if srv.user != "" && !authed {
				reply("530 5.7.0 authentication required")
				continue
			}
			s.from = arg
			reply("250 2.1.0 ok")
		case "RCPT":
			s.rcpts = append(s.rcpts, arg)
			reply("250 2.1.5 ok")
		case "DATA":
			reply("354 end data with <CR><LF>.<CR><LF>")
			b, err := io.ReadAll(tp.DotReader())
			if err != nil {
				return
			}
			s.data = string(b)
			reply("250 2.0.0 queued")
		case "QUIT":
			reply("221 2.0.0 bye")
			return
		default:
			reply("502 5.5.2 unknown command")
		}
	}
}

func emailEndpoint(srv *smtpServer, user, pass, starttls string) Endpoint {
	return Endpoint{Name: "mail", Format: FormatEmail, Timeout: 5 * time.Second, AllowPrivate: true, Events: []string{EventLeadCreated},
		Email: &EmailSettings{Addr: srv.ln.Addr().String(), From: "风险线索 <riskmine@example.org>", To: []string{"duty@example.org", "王值班 <wang@example.org>"},
			Username: user, Password: pass, StartTLS: starttls}}
}

func emailDispatcher(t testing.TB, s Store, clock *fakeClock, pool *x509.CertPool, eps ...Endpoint) *Dispatcher {
	t.Helper()
	d, err := NewDispatcher(s, eps, DispatcherOptions{Now: clock.Now, Rand: func() float64 { return 0.5 }, PublicURL: testPublicURL,
		SMTPTLS: &tls.Config{RootCAs: pool}})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestEmailOverSTARTTLS sends a lead by email to an SMTP server on
// loopback: STARTTLS comes before AUTH, the credentials arrive, and the
// message decodes to a UTF-8 subject and a Chinese text body.
func TestEmailOverSTARTTLS(t *testing.T) {
	clock := newClock()
	srv, pool := newSMTPServer(t, true, "rm", "s3cret")
	ep := emailEndpoint(srv, "rm", "s3cret", "")
	s, _ := openTestStore(t, Options{Now: clock.Now, Endpoints: []Endpoint{ep}})
	d := emailDispatcher(t, s, clock, pool, ep)
	r := mustFile(t, s, placePost("https://x.test/a", 1))
	process(t, d)
	del, as := onlyDelivery(t, s)
	if del.State != DeliveryDelivered || len(as) != 1 || as[0].Status != 250 {
		t.Fatalf("delivery %s attempts %+v", show(del), as)
	}
	ss := srv.all()
	if len(ss) != 1 {
		t.Fatalf("%d SMTP sessions", len(ss))
	}
	sess := ss[0]
	if !sess.tls || !sess.authPlain || !sess.authOverTLS || sess.user != "rm" || sess.pass != "s3cret" {
		t.Fatalf("session %+v: want STARTTLS, then AUTH PLAIN with the credentials", sess)
	}
	if !strings.HasPrefix(sess.from, "FROM:<riskmine@example.org>") || strings.Join(sess.rcpts, ",") != "TO:<duty@example.org>,TO:<wang@example.org>" {
		t.Fatalf("envelope from %q to %q", sess.from, sess.rcpts)
	}
	msg, err := mail.ReadMessage(strings.NewReader(sess.data))
	if err != nil {
		t.Fatal(err)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil || subject != "【riskmine】【新线索】高 · 火灾：标题 https://x.test/a" {
		t.Fatalf("subject %q (%q) %v", subject, msg.Header.Get("Subject"), err)
	}
	if msg.Header.Get("Content-Type") != "text/plain; charset=UTF-8" || msg.Header.Get("Message-ID") != "<"+del.ID+"@riskmine>" {
		t.Fatalf("headers %v", msg.Header)
	}
	if to, err := msg.Header.AddressList("To"); err != nil || len(to) != 2 || to[1].Name != "王值班" {
		t.Fatalf("To %v %v", to, err)
	}
	body, err := io.ReadAll(base64.NewDecoder(base64.StdEncoding, msg.Body))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"级别：高", "类别：火灾", "依据：「火势蔓延」「两人受伤」", "地点：福建省/福州市/马尾区；马江路与江滨东大道交叉口",
		"时间：2026-03-02 17:00:00 +08:00", "查看线索：" + testPublicURL + "/leads/" + r.LeadID,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("body lacks %q:\n%s", want, body)
		}
	}
}

// TestEmailRefusals: credentials are never sent without TLS, a wrong
// password is final, loopback needs allow_private, and a relay without
// TLS takes mail only when the endpoint turned starttls off and has no
// credentials.
func TestEmailRefusals(t *testing.T) {
	cases := []struct {
		name         string
		offerTLS     bool
		user, pass   string // the endpoint's; the server wants rm/s3cret when user is set
		starttls     string
		allowPrivate bool
		state        string
		errPart      string
		sessions     int
	}{
		{"no STARTTLS offered", false, "rm", "s3cret", "", true, DeliveryPending, "offers no STARTTLS", 1},
		{"wrong password", true, "rm", "wrong", "", true, DeliveryDead, "535", 1},
		{"loopback without allow_private", true, "rm", "s3cret", "", false, DeliveryDead, "allow_private", 0},
		{"plain relay, starttls off", false, "", "", StartTLSOff, true, DeliveryDelivered, "", 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clock := newClock()
			srvUser, srvPass := "", ""
			if tc.user != "" {
				srvUser, srvPass = "rm", "s3cret"
			}
			srv, pool := newSMTPServer(t, tc.offerTLS, srvUser, srvPass)
			ep := emailEndpoint(srv, tc.user, tc.pass, tc.starttls)
			ep.AllowPrivate = tc.allowPrivate
			s, _ := openTestStore(t, Options{Now: clock.Now, Endpoints: []Endpoint{ep}})
			d := emailDispatcher(t, s, clock, pool, ep)
			mustFile(t, s, placePost("https://x.test/a", 1))
			process(t, d)
			del, as := onlyDelivery(t, s)
			if del.State != tc.state || len(as) != 1 || !strings.Contains(as[0].Error, tc.errPart) {
				t.Fatalf("delivery %s attempts %+v", show(del), as)
			}
			ss := srv.all()
			if len(ss) != tc.sessions {
				t.Fatalf("%d SMTP sessions, want %d", len(ss), tc.sessions)
			}
			for _, sess := range ss {
				if sess.authPlain && !sess.authOverTLS {
					t.Fatalf("credentials sent without TLS: %+v", sess)
				}
				if tc.state != DeliveryDelivered && sess.data != "" {
					t.Fatalf("a refused delivery sent its message: %+v", sess)
				}
			}
		})
	}
}
