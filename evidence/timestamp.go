package evidence

// RFC 3161 timestamps of bundle manifests. The request is built and the
// response read with golang.org/x/crypto/cryptobyte (DER, field by field as
// RFC 3161 and RFC 5652 define them): no Go timestamp library is served
// here with a release, and the subset needed is small. The token's CMS
// signature is checked against the configured CA certificates.

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"strings"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// BundleTimestamp is the bundle file holding the TSA's DER
// TimeStampResp for the manifest, and BundleTimestampNote the plain-text
// account of the timestamp (or of why there is none).
const (
	BundleTimestamp     = BundleManifest + ".tsr"
	BundleTimestampNote = "timestamp.txt"
)

// maxTimestampResponse bounds what is read of a TSA's answer.
const maxTimestampResponse = 1 << 20

var (
	oidSHA256       = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidSHA384       = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}
	oidSHA512       = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 3}
	oidSignedData   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	oidTSTInfo      = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 1, 4}
	oidContentType  = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 3}
	oidMessageDigst = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 4}
)

// Timestamper asks an RFC 3161 time-stamping authority (TSA) to stamp a
// bundle's manifest.
type Timestamper struct {
	// URL is the TSA's HTTP endpoint.
	URL string
	// Client sends the request; its transport applies the SSRF guard and
	// its Timeout bounds the exchange.
	Client *http.Client
	// Roots, when set, are the CA certificates the TSA's signing
	// certificate must chain to; nil skips the signature check (the
	// status, imprint and nonce are checked always).
	Roots *x509.CertPool
	// Logger gets one line per failed timestamp.
	Logger *slog.Logger
	// Rand makes nonces (default crypto/rand).
	Rand io.Reader
}

// Timestamp is what was checked of a TSA's token.
type Timestamp struct {
	Time   time.Time
	Serial *big.Int
	Policy asn1.ObjectIdentifier
	// SignatureVerified is set when the token's signature was checked
	// against Roots.
	SignatureVerified bool
	// Signer is the subject of the TSA's signing certificate, when known.
	Signer string
}

// Stamp asks the TSA for a timestamp of data (the SHA-256 of data is
// sent, with a random nonce and certReq true) and checks the answer:
// status granted, the imprint and the nonce those sent, and, with Roots,
// the CMS signature by a certificate for time stamping that chains to
// them. It returns the DER TimeStampResp as received.
func (t *Timestamper) Stamp(ctx context.Context, data []byte) ([]byte, *Timestamp, error) {
	sum := sha256.Sum256(data)
	rnd := t.Rand
	if rnd == nil {
		rnd = rand.Reader
	}
	nonce, err := rand.Int(rnd, new(big.Int).Lsh(big.NewInt(1), 63))
	if err != nil {
		return nil, nil, fmt.Errorf("evidence: timestamp: nonce: %w", err)
	}
	req, err := timeStampReq(sum[:], nonce)
	if err != nil {
		return nil, nil, fmt.Errorf("evidence: timestamp: %w", err)
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, t.URL, bytes.NewReader(req))
	if err != nil {
		return nil, nil, fmt.Errorf("evidence: timestamp: %w", err)
	}
	hr.Header.Set("Content-Type", "application/timestamp-query")
	hr.Header.Set("Accept", "application/timestamp-reply")
	c := t.Client
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(hr)
	if err != nil {
		return nil, nil, fmt.Errorf("evidence: timestamp from %s: %w", t.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxTimestampResponse+1))
	if err != nil {
		return nil, nil, fmt.Errorf("evidence: timestamp from %s: %w", t.URL, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, nil, fmt.Errorf("evidence: timestamp from %s: HTTP %d", t.URL, resp.StatusCode)
	}
	if len(body) > maxTimestampResponse {
		return nil, nil, fmt.Errorf("evidence: timestamp from %s: answer larger than %d bytes", t.URL, maxTimestampResponse)
	}
	ts, err := VerifyTimestamp(body, data, nonce, t.Roots)
	if err != nil {
		return nil, nil, fmt.Errorf("evidence: timestamp from %s: %w", t.URL, err)
	}
	return body, ts, nil
}

// timeStampReq encodes a TimeStampReq (RFC 3161 §2.4.1): version 1, a
// SHA-256 message imprint, the nonce and certReq true.
func timeStampReq(sum []byte, nonce *big.Int) ([]byte, error) {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1Int64(1)
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1ObjectIdentifier(oidSHA256)
				b.AddASN1NULL()
			})
			b.AddASN1OctetString(sum)
		})
		b.AddASN1BigInt(nonce)
		b.AddASN1Boolean(true)
	})
	return b.Bytes()
}

// VerifyTimestamp checks a DER TimeStampResp for data: status granted (or
// granted with modifications), a TSTInfo whose message imprint is the
// SHA-256 of data, the nonce when one is given, and, with roots, the
// token's signature (see Timestamper.Stamp).
func VerifyTimestamp(resp, data []byte, nonce *big.Int, roots *x509.CertPool) (*Timestamp, error) {
	in := cryptobyte.String(resp)
	var tsr, statusInfo cryptobyte.String
	if !in.ReadASN1(&tsr, cbasn1.SEQUENCE) || !in.Empty() || !tsr.ReadASN1(&statusInfo, cbasn1.SEQUENCE) {
		return nil, errors.New("the answer is not a DER TimeStampResp")
	}
	var status int64
	if !statusInfo.ReadASN1Integer(&status) {
		return nil, errors.New("TimeStampResp: bad PKIStatusInfo")
	}
	if status != 0 && status != 1 {
		return nil, fmt.Errorf("the TSA refused the request: status %d%s", status, statusText(statusInfo))
	}
	var token cryptobyte.String
	if !tsr.ReadASN1Element(&token, cbasn1.SEQUENCE) {
		return nil, errors.New("TimeStampResp: status granted but no token")
	}
	sd, err := parseSignedData(token)
	if err != nil {
		return nil, err
	}
	info, err := parseTSTInfo(sd.content)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(data)
	if !info.hashAlg.Equal(oidSHA256) || !bytes.Equal(info.hashed, sum[:]) {
		return nil, errors.New("the token's message imprint is not the SHA-256 of the manifest")
	}
	if nonce != nil && (info.nonce == nil || info.nonce.Cmp(nonce) != 0) {
		return nil, fmt.Errorf("the token's nonce %v is not the one sent", info.nonce)
	}
	ts := &Timestamp{Time: info.genTime, Serial: info.serial, Policy: info.policy}
	if roots == nil {
		return ts, nil
	}
	signer, err := sd.verify(roots, info.genTime)
	if err != nil {
		return nil, err
	}
	ts.SignatureVerified, ts.Signer = true, signer.Subject.String()
	return ts, nil
}

// statusText renders the statusString and failInfo of a PKIStatusInfo.
func statusText(s cryptobyte.String) string {
	var parts []string
	var free cryptobyte.String
	if s.PeekASN1Tag(cbasn1.SEQUENCE) && s.ReadASN1(&free, cbasn1.SEQUENCE) {
		for !free.Empty() {
			var txt cryptobyte.String
			var tag cbasn1.Tag
			if !free.ReadAnyASN1(&txt, &tag) {
				break
			}
			parts = append(parts, string(txt))
		}
	}
	var bits asn1.BitString
	if s.PeekASN1Tag(cbasn1.BIT_STRING) && s.ReadASN1BitString(&bits) {
		for i := range bits.BitLength {
			if bits.At(i) == 1 {
				parts = append(parts, fmt.Sprintf("failInfo bit %d", i))
			}
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, "; ") + ")"
}

// signedData is what is kept of a token's CMS SignedData (RFC 5652 §5).
type signedData struct {
	content []byte // the eContent: a DER TSTInfo
	certs   []*x509.Certificate
	signers []signerInfo
}

type signerInfo struct {
	issuer, serial []byte // IssuerAndSerialNumber, DER
	ski            []byte // or SubjectKeyIdentifier
	digestAlg      asn1.ObjectIdentifier
	signedAttrs    []byte // the [0] IMPLICIT SET, as received
	signature      []byte
}

func parseSignedData(token cryptobyte.String) (*signedData, error) {
	bad := func(what string) error { return fmt.Errorf("timestamp token: bad %s", what) }
	var ci, content, sdSeq cryptobyte.String
	var ctype asn1.ObjectIdentifier
	if !token.ReadASN1(&ci, cbasn1.SEQUENCE) || !ci.ReadASN1ObjectIdentifier(&ctype) || !ctype.Equal(oidSignedData) {
		return nil, bad("ContentInfo (expected signedData)")
	}
	if !ci.ReadASN1(&content, cbasn1.Tag(0).Constructed().ContextSpecific()) || !content.ReadASN1(&sdSeq, cbasn1.SEQUENCE) {
		return nil, bad("SignedData")
	}
	var version int64
	var digestAlgs, encap, eType cryptobyte.String
	if !sdSeq.ReadASN1Integer(&version) || !sdSeq.ReadASN1(&digestAlgs, cbasn1.SET) || !sdSeq.ReadASN1(&encap, cbasn1.SEQUENCE) {
		return nil, bad("SignedData")
	}
	var eOID asn1.ObjectIdentifier
	if !encap.ReadASN1ObjectIdentifier(&eOID) || !eOID.Equal(oidTSTInfo) {
		return nil, bad("encapsulated content (expected id-ct-TSTInfo)")
	}
	var eContent []byte
	if !encap.ReadASN1(&eType, cbasn1.Tag(0).Constructed().ContextSpecific()) || !eType.ReadASN1Bytes(&eContent, cbasn1.OCTET_STRING) {
		return nil, bad("encapsulated TSTInfo")
	}
	sd := &signedData{content: eContent}
	var certs cryptobyte.String
	var present bool
	if !sdSeq.ReadOptionalASN1(&certs, &present, cbasn1.Tag(0).Constructed().ContextSpecific()) {
		return nil, bad("certificates")
	}
	if present {
		for !certs.Empty() {
			var der cryptobyte.String
			var tag cbasn1.Tag
			if !certs.ReadAnyASN1Element(&der, &tag) {
				return nil, bad("certificates")
			}
			if tag != cbasn1.SEQUENCE {
				continue // other certificate formats
			}
			c, err := x509.ParseCertificate(der)
			if err != nil {
				return nil, fmt.Errorf("timestamp token: certificate: %w", err)
			}
			sd.certs = append(sd.certs, c)
		}
	}
	var crls cryptobyte.String
	if !sdSeq.ReadOptionalASN1(&crls, &present, cbasn1.Tag(1).Constructed().ContextSpecific()) {
		return nil, bad("crls")
	}
	var sis cryptobyte.String
	if !sdSeq.ReadASN1(&sis, cbasn1.SET) {
		return nil, bad("signerInfos")
	}
	for !sis.Empty() {
		var si cryptobyte.String
		if !sis.ReadASN1(&si, cbasn1.SEQUENCE) {
			return nil, bad("SignerInfo")
		}
		var s signerInfo
		var v int64
		if !si.ReadASN1Integer(&v) {
			return nil, bad("SignerInfo version")
		}
		switch {
		case si.PeekASN1Tag(cbasn1.SEQUENCE):
			var ias, issuer cryptobyte.String
			var serial cryptobyte.String
			var tag cbasn1.Tag
			if !si.ReadASN1(&ias, cbasn1.SEQUENCE) || !ias.ReadASN1Element(&issuer, cbasn1.SEQUENCE) || !ias.ReadAnyASN1(&serial, &tag) {
				return nil, bad("SignerInfo issuerAndSerialNumber")
			}
			s.issuer, s.serial = issuer, serial
		default:
			var ski cryptobyte.String
			if !si.ReadASN1(&ski, cbasn1.Tag(0).ContextSpecific()) {
				return nil, bad("SignerInfo sid")
			}
			s.ski = ski
		}
		var alg cryptobyte.String
		if !si.ReadASN1(&alg, cbasn1.SEQUENCE) || !alg.ReadASN1ObjectIdentifier(&s.digestAlg) {
			return nil, bad("SignerInfo digestAlgorithm")
		}
		var attrs cryptobyte.String
		if !si.ReadASN1Element(&attrs, cbasn1.Tag(0).Constructed().ContextSpecific()) {
			return nil, bad("SignerInfo: no signed attributes")
		}
		s.signedAttrs = attrs
		var sigAlg cryptobyte.String
		if !si.ReadASN1(&sigAlg, cbasn1.SEQUENCE) || !si.ReadASN1Bytes(&s.signature, cbasn1.OCTET_STRING) {
			return nil, bad("SignerInfo signature")
		}
		sd.signers = append(sd.signers, s)
	}
	if len(sd.signers) != 1 {
		return nil, fmt.Errorf("timestamp token: %d signers, expected one", len(sd.signers))
	}
	return sd, nil
}

// tstInfo is what is kept of a TSTInfo (RFC 3161 §2.4.2).
type tstInfo struct {
	policy  asn1.ObjectIdentifier
	hashAlg asn1.ObjectIdentifier
	hashed  []byte
	serial  *big.Int
	genTime time.Time
	nonce   *big.Int
}

func parseTSTInfo(der []byte) (*tstInfo, error) {
	bad := func(what string) error { return fmt.Errorf("timestamp token: bad TSTInfo %s", what) }
	in := cryptobyte.String(der)
	var seq, imprint, alg cryptobyte.String
	var version int64
	info := &tstInfo{serial: new(big.Int)}
	if !in.ReadASN1(&seq, cbasn1.SEQUENCE) || !seq.ReadASN1Integer(&version) || version != 1 {
		return nil, bad("version")
	}
	if !seq.ReadASN1ObjectIdentifier(&info.policy) {
		return nil, bad("policy")
	}
	if !seq.ReadASN1(&imprint, cbasn1.SEQUENCE) || !imprint.ReadASN1(&alg, cbasn1.SEQUENCE) || !alg.ReadASN1ObjectIdentifier(&info.hashAlg) ||
		!imprint.ReadASN1Bytes(&info.hashed, cbasn1.OCTET_STRING) {
		return nil, bad("messageImprint")
	}
	if !seq.ReadASN1Integer(info.serial) {
		return nil, bad("serialNumber")
	}
	if !seq.ReadASN1GeneralizedTime(&info.genTime) {
		return nil, bad("genTime")
	}
	if seq.PeekASN1Tag(cbasn1.SEQUENCE) { // accuracy
		seq.SkipASN1(cbasn1.SEQUENCE)
	}
	if seq.PeekASN1Tag(cbasn1.BOOLEAN) { // ordering
		seq.SkipASN1(cbasn1.BOOLEAN)
	}
	if seq.PeekASN1Tag(cbasn1.INTEGER) {
		info.nonce = new(big.Int)
		if !seq.ReadASN1Integer(info.nonce) {
			return nil, bad("nonce")
		}
	}
	return info, nil
}

// verify checks the one signer's signature over the signed attributes,
// that those name the TSTInfo and its digest, and that the signer's
// certificate is for time stamping and chains to roots at genTime. It
// returns the signer's certificate.
func (sd *signedData) verify(roots *x509.CertPool, genTime time.Time) (*x509.Certificate, error) {
	s := sd.signers[0]
	var cert *x509.Certificate
	for _, c := range sd.certs {
		if s.ski != nil && bytes.Equal(c.SubjectKeyId, s.ski) ||
			s.issuer != nil && bytes.Equal(c.RawIssuer, s.issuer) && bytes.Equal(c.SerialNumber.Bytes(), bytes.TrimLeft(s.serial, "\x00")) {
			cert = c
		}
	}
	if cert == nil {
		return nil, errors.New("timestamp token: the signer's certificate is not in the token (was certReq ignored?)")
	}
	var h crypto.Hash
	switch {
	case s.digestAlg.Equal(oidSHA256):
		h = crypto.SHA256
	case s.digestAlg.Equal(oidSHA384):
		h = crypto.SHA384
	case s.digestAlg.Equal(oidSHA512):
		h = crypto.SHA512
	default:
		return nil, fmt.Errorf("timestamp token: unsupported digest algorithm %v", s.digestAlg)
	}
	// The signed attributes must name the TSTInfo and its digest.
	attrs := cryptobyte.String(s.signedAttrs)
	var set cryptobyte.String
	attrs.ReadASN1(&set, cbasn1.Tag(0).Constructed().ContextSpecific())
	var gotType, gotDigest bool
	d := h.New()
	d.Write(sd.content)
	want := d.Sum(nil)
	for !set.Empty() {
		var attr, values cryptobyte.String
		var oid asn1.ObjectIdentifier
		if !set.ReadASN1(&attr, cbasn1.SEQUENCE) || !attr.ReadASN1ObjectIdentifier(&oid) || !attr.ReadASN1(&values, cbasn1.SET) {
			return nil, errors.New("timestamp token: bad signed attribute")
		}
		switch {
		case oid.Equal(oidContentType):
			var v asn1.ObjectIdentifier
			gotType = values.ReadASN1ObjectIdentifier(&v) && v.Equal(oidTSTInfo)
		case oid.Equal(oidMessageDigst):
			var v []byte
			gotDigest = values.ReadASN1Bytes(&v, cbasn1.OCTET_STRING) && bytes.Equal(v, want)
		}
	}
	if !gotType || !gotDigest {
		return nil, errors.New("timestamp token: the signed attributes do not name this TSTInfo and its digest")
	}
	// The signature covers the attributes encoded as a SET (RFC 5652 §5.4).
	signed := append([]byte{0x31}, s.signedAttrs[1:]...)
	var alg x509.SignatureAlgorithm
	switch cert.PublicKey.(type) {
	case *rsa.PublicKey:
		alg = map[crypto.Hash]x509.SignatureAlgorithm{crypto.SHA256: x509.SHA256WithRSA, crypto.SHA384: x509.SHA384WithRSA, crypto.SHA512: x509.SHA512WithRSA}[h]
	case *ecdsa.PublicKey:
		alg = map[crypto.Hash]x509.SignatureAlgorithm{crypto.SHA256: x509.ECDSAWithSHA256, crypto.SHA384: x509.ECDSAWithSHA384, crypto.SHA512: x509.ECDSAWithSHA512}[h]
	case ed25519.PublicKey:
		alg = x509.PureEd25519
	default:
		return nil, fmt.Errorf("timestamp token: unsupported key %T", cert.PublicKey)
	}
	if err := cert.CheckSignature(alg, signed, s.signature); err != nil {
		return nil, fmt.Errorf("timestamp token: signature: %w", err)
	}
	inter := x509.NewCertPool()
	for _, c := range sd.certs {
		if c != cert {
			inter.AddCert(c)
		}
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: genTime,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping}}); err != nil {
		return nil, fmt.Errorf("timestamp token: the TSA's certificate: %w", err)
	}
	return cert, nil
}

// timestampBundle asks the archive's TSA, if any, for a timestamp of the
// manifest and returns the files to add to the bundle: the token and its
// account, or, when the TSA fails, only an account of the failure (the
// bundle is complete without a token). nil without a TSA.
func (a *Archive) timestampBundle(ctx context.Context, manifest []byte) (tsr, note []byte) {
	t := a.opts.Timestamper
	if t == nil {
		return nil, nil
	}
	resp, ts, err := t.Stamp(ctx, manifest)
	if err != nil {
		if t.Logger != nil {
			t.Logger.Warn("evidence bundle without a timestamp: the TSA failed", "tsa", t.URL, "error", err)
		}
		return nil, fmt.Appendf(nil, "无 RFC 3161 时间戳 No RFC 3161 timestamp.\n"+
			"The time-stamping authority %s failed: %v\n"+
			"The bundle is complete without it: %s lists every file's SHA-256 and %s is its signature by the installation's key.\n",
			t.URL, err, BundleManifest, BundleSignature)
	}
	verified := "not checked (no evidence.timestamp_ca_file configured)"
	if ts.SignatureVerified {
		verified = "verified against the configured CA certificates; signer " + ts.Signer
	}
	return resp, fmt.Appendf(nil, "RFC 3161 时间戳 timestamp of %s\n"+
		"TSA: %s\ntime (genTime): %s\nserial: %s\npolicy: %s\nsignature: %s\n"+
		"Check it: openssl ts -verify -data %s -in %s -CAfile TSA-CA.pem\n",
		BundleManifest, t.URL, ts.Time.UTC().Format(time.RFC3339), ts.Serial, ts.Policy, verified, BundleManifest, BundleTimestamp)
}
