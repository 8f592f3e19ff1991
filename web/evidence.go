package web

// The archived copies of a lead's sources (package evidence) on the lead
// page, and the lead's evidence bundle.
//
// An archived copy is served exactly as it was captured: the response body
// (or, for a rendered page, the DOM after its scripts ran) is neither
// masked nor rewritten, since evidence that was changed is no evidence.
// So only the roles that see personal data unmasked (web.pii_roles) may
// open it or download the bundle; the other roles see that a copy exists,
// with its capture time and digest. Each opening and each bundle goes to
// the read audit with pii=true.
//
// The copy is shown in an <iframe sandbox> (no allow-scripts, no
// allow-same-origin) and served with its own Content-Security-Policy,
// "default-src 'none'; img-src data:; style-src 'unsafe-inline';
// frame-ancestors 'self'; sandbox", so that no script of the page runs and
// the browser fetches nothing from outside (its images, styles and frames
// by URL stay blank), even when the copy is opened outside the frame.

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"riskmine/alerts"
	"riskmine/evidence"
)

// EvidenceStore is the evidence archive (*evidence.Archive).
type EvidenceStore interface {
	ForURLs(ctx context.Context, urls []string) ([]evidence.Entry, error)
	Get(ctx context.Context, id int64) (evidence.Entry, error)
	Records(e evidence.Entry) ([]evidence.Record, error)
	WriteBundle(ctx context.Context, w io.Writer, report []byte, entries []evidence.Entry, at time.Time) ([]evidence.BundleFile, error)
	// PublicKey is the installation's key that signs bundle manifests.
	PublicKey() ed25519.PublicKey
}

// ArchivedCopyCSP is the Content-Security-Policy of an archived copy.
const ArchivedCopyCSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; frame-ancestors 'self'; base-uri 'none'; form-action 'none'; sandbox"

// sourceArchive is what the lead page shows of one source's archived copy.
type sourceArchive struct {
	L      loc
	LeadID string
	// Off is set when the server has no archive (evidence.enabled off).
	Off bool
	// Entry is the newest capture of the source; nil when none exists.
	Entry *evidence.Entry
	// CanOpen is set for the roles that see personal data unmasked.
	CanOpen bool
}

// leadArchives returns the archived copy of each source of lead, in the
// order of lead.Sources (read before the lead is masked: the archive is
// keyed by the canonical URL as filed).
func (s *Server) leadArchives(r *http.Request, lead *alerts.Lead) []sourceArchive {
	out := make([]sourceArchive, len(lead.Sources))
	base := sourceArchive{L: langFor(r), LeadID: lead.ID, Off: s.deps.Evidence == nil}
	if p := principalFrom(r.Context()); p != nil && p.User != nil {
		base.CanOpen = s.piiAllowed(p.User.Role)
	}
	for i := range out {
		out[i] = base
	}
	if s.deps.Evidence == nil || len(lead.Sources) == 0 {
		return out
	}
	urls := make([]string, len(lead.Sources))
	for i, src := range lead.Sources {
		urls[i] = src.CanonicalURL
	}
	entries, err := s.deps.Evidence.ForURLs(r.Context(), urls)
	if err != nil {
		// The page still shows the lead; each source says no copy.
		s.log.Error("lead page: archived copies", "lead_id", lead.ID, "error", err)
		return out
	}
	newest := map[string]*evidence.Entry{}
	for i := range entries {
		if _, ok := newest[entries[i].URL]; !ok {
			newest[entries[i].URL] = &entries[i]
		}
	}
	for i, u := range urls {
		out[i].Entry = newest[u]
	}
	return out
}

// archivedCopy serves one archived copy for the sandboxed frame.
func (s *Server) archivedCopy(w http.ResponseWriter, r *http.Request) {
	e, lead, ok := s.openCapture(w, r)
	if !ok {
		return
	}
	recs, err := s.deps.Evidence.Records(e)
	if err != nil {
		s.evidenceFail(w, r, err)
		return
	}
	body, ctype := archivedBody(recs, e)
	setArchivedHeaders(w, e)
	// The payload digest names the record as stored, which may still be
	// content-coded (gzip as served); this one is of the bytes sent here.
	served := sha256.Sum256(body)
	w.Header().Set("X-Riskmine-Served-SHA256", hex.EncodeToString(served[:]))
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	w.Write(body)
	s.recordRead(r, ReadEvent{Kind: ReadView, Target: lead.ID, Filters: "archived_copy=" + strconv.FormatInt(e.ID, 10), Rows: 1, PII: true})
}

// archivedScreenshot serves the screenshot of a rendered capture.
func (s *Server) archivedScreenshot(w http.ResponseWriter, r *http.Request) {
	e, lead, ok := s.openCapture(w, r)
	if !ok {
		return
	}
	recs, err := s.deps.Evidence.Records(e)
	if err != nil {
		s.evidenceFail(w, r, err)
		return
	}
	shot, found := evidence.Screenshot(recs)
	if !found {
		s.renderError(w, r, http.StatusNotFound, "error.notfound")
		return
	}
	setArchivedHeaders(w, e)
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("X-Riskmine-Payload-Digest", shot.PayloadDigest)
	w.Header().Set("Content-Length", strconv.Itoa(len(shot.Payload)))
	w.WriteHeader(http.StatusOK)
	w.Write(shot.Payload)
	s.recordRead(r, ReadEvent{Kind: ReadView, Target: lead.ID, Filters: "archived_screenshot=" + strconv.FormatInt(e.ID, 10), Rows: 1, PII: true})
}

// openCapture checks the role, the lead and that the capture is of one of
// the lead's sources.
func (s *Server) openCapture(w http.ResponseWriter, r *http.Request) (evidence.Entry, *alerts.Lead, bool) {
	if s.deps.Evidence == nil || s.deps.Leads == nil {
		s.renderError(w, r, http.StatusServiceUnavailable, "error.unavailable")
		return evidence.Entry{}, nil, false
	}
	if !s.mayOpenEvidence(r) {
		s.renderError(w, r, http.StatusForbidden, "evidence.forbidden")
		return evidence.Entry{}, nil, false
	}
	id, err := strconv.ParseInt(r.PathValue("capture"), 10, 64)
	if err != nil {
		s.renderError(w, r, http.StatusNotFound, "error.notfound")
		return evidence.Entry{}, nil, false
	}
	lead, err := s.deps.Leads.GetLead(r.Context(), r.PathValue("id"))
	if errors.Is(err, alerts.ErrNotFound) {
		s.renderError(w, r, http.StatusNotFound, "error.notfound")
		return evidence.Entry{}, nil, false
	}
	if err != nil {
		s.serverError(w, r, err)
		return evidence.Entry{}, nil, false
	}
	e, err := s.deps.Evidence.Get(r.Context(), id)
	if errors.Is(err, evidence.ErrNotFound) || (err == nil && !leadHasURL(lead, e.URL)) {
		s.renderError(w, r, http.StatusNotFound, "error.notfound")
		return evidence.Entry{}, nil, false
	}
	if err != nil {
		s.serverError(w, r, err)
		return evidence.Entry{}, nil, false
	}
	return e, lead, true
}

func (s *Server) mayOpenEvidence(r *http.Request) bool {
	p := principalFrom(r.Context())
	return p != nil && p.User != nil && s.piiAllowed(p.User.Role)
}

func leadHasURL(l *alerts.Lead, u string) bool {
	for _, src := range l.Sources {
		if src.CanonicalURL == u {
			return true
		}
	}
	return false
}

// evidenceFail answers a capture that cannot be read back (a file removed
// by hand, a record whose digest no longer matches).
func (s *Server) evidenceFail(w http.ResponseWriter, r *http.Request, err error) {
	s.log.Error("archived copy unreadable", "path", r.URL.Path, "error", err)
	s.renderError(w, r, http.StatusInternalServerError, "evidence.unreadable")
}

// archivedBody picks what the frame shows: the rendered DOM of a rendered
// page, else the response body; HTML is served as HTML with its charset,
// anything else as plain text.
func archivedBody(recs []evidence.Record, e evidence.Entry) ([]byte, string) {
	if dom, ok := evidence.RenderedDOM(recs); ok {
		return dom.Payload, "text/html; charset=utf-8"
	}
	resp, _ := evidence.Response(recs)
	mt, params, _ := mime.ParseMediaType(e.ContentType)
	charset := params["charset"]
	ctype := "text/plain"
	if mt == "text/html" || mt == "application/xhtml+xml" || (mt == "" && looksHTML(resp.Payload)) {
		ctype = "text/html"
	}
	if charset != "" {
		ctype += "; charset=" + charset
	}
	return resp.Payload, ctype
}

func looksHTML(b []byte) bool {
	head := bytes.ToLower(bytes.TrimSpace(b[:min(len(b), 512)]))
	return bytes.HasPrefix(head, []byte("<!doctype html")) || bytes.HasPrefix(head, []byte("<html"))
}

// setArchivedHeaders sets the headers every archived copy carries: its
// own CSP (no scripts, nothing from outside, sandboxed even on its own),
// framing by the lead page only, no caching, and its digests.
func setArchivedHeaders(w http.ResponseWriter, e evidence.Entry) {
	h := w.Header()
	h.Set("Content-Security-Policy", ArchivedCopyCSP)
	h.Set("X-Frame-Options", "SAMEORIGIN")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "private, no-store")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("X-Riskmine-Payload-Digest", e.PayloadDigest)
	h.Set("X-Riskmine-Block-Digest", e.BlockDigest)
	h.Set("X-Riskmine-Captured-At", e.CapturedAt.UTC().Format(time.RFC3339Nano))
}

// evidenceBundle downloads the lead's evidence bundle (a zip).
func (s *Server) evidenceBundle(w http.ResponseWriter, r *http.Request) {
	if s.deps.Evidence == nil || s.deps.Leads == nil {
		s.renderError(w, r, http.StatusServiceUnavailable, "error.unavailable")
		return
	}
	if !s.mayOpenEvidence(r) {
		s.renderError(w, r, http.StatusForbidden, "evidence.forbidden")
		return
	}
	ctx := r.Context()
	lead, err := s.deps.Leads.GetLead(ctx, r.PathValue("id"))
	if errors.Is(err, alerts.ErrNotFound) {
		s.renderError(w, r, http.StatusNotFound, "error.notfound")
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	audit, err := s.deps.Leads.Audit(ctx, lead.ID)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	var buf bytes.Buffer
	n, err := WriteEvidenceBundle(ctx, &buf, s.deps.Evidence, lead, audit, s.opts.Location, s.now())
	if err != nil {
		s.evidenceFail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/zip")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s"`, EvidenceBundleName(lead.ID, s.now())))
	w.Header().Set("Cache-Control", "private, no-store")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.Write(buf.Bytes())
	s.recordRead(r, ReadEvent{Kind: ReadExport, Target: "evidence_bundle", Filters: "lead=" + lead.ID, Rows: n, PII: true})
}

// EvidenceBundleName is the file name of a lead's bundle.
func EvidenceBundleName(leadID string, at time.Time) string {
	safe := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, leadID)
	return "riskmine-evidence-" + safe + "-" + at.UTC().Format("20060102-150405") + ".zip"
}

// WriteEvidenceBundle writes the bundle of a lead to w: the archive's
// records of its sources, their screenshots, the printable report and the
// manifest. It returns how many captures it holds. The serve UI and
// `riskmine leads export-evidence` both end here.
func WriteEvidenceBundle(ctx context.Context, w io.Writer, store EvidenceStore, lead *alerts.Lead, audit []alerts.AuditEntry, zone *time.Location, now time.Time) (int, error) {
	urls := make([]string, len(lead.Sources))
	for i, src := range lead.Sources {
		urls[i] = src.CanonicalURL
	}
	entries, err := store.ForURLs(ctx, urls)
	if err != nil {
		return 0, err
	}
	report, err := EvidenceReport(lead, audit, entries, zone, now)
	if err != nil {
		return 0, err
	}
	if _, err := store.WriteBundle(ctx, w, report, entries, now); err != nil {
		return 0, err
	}
	return len(entries), nil
}

func init() {
	for _, m := range [][3]string{
		{"evidence.archived", "存档副本", "Archived copy"},
		{"evidence.captured", "抓取时间", "Captured"},
		{"evidence.payload_digest", "正文摘要值", "Payload digest"},
		{"evidence.block_digest", "记录摘要值", "Record digest"},
		{"evidence.none", "此来源没有存档副本。", "No archived copy of this source."},
		{"evidence.off", "未启用证据存档（evidence.enabled）。", "The evidence archive is off (evidence.enabled)."},
		{"evidence.restricted", "存档副本按原样保存、不做脱敏，仅可查看未脱敏个人信息的角色可以打开。", "Archived copies are kept exactly as captured, unmasked; only roles that see personal data unmasked may open them."},
		{"evidence.open", "单独打开", "Open on its own"},
		{"evidence.screenshot", "整页截图", "Full-page screenshot"},
		{"evidence.rendered", "浏览器渲染", "rendered in a browser"},
		{"evidence.bundle", "下载证据包", "Download evidence bundle"},
		{"evidence.key", "证据包清单由本机 Ed25519 密钥签名，公钥 SHA-256 指纹：", "Bundle manifests are signed with this installation's Ed25519 key; SHA-256 fingerprint of the public key:"},
		{"evidence.forbidden", "存档副本和证据包不做脱敏，您的角色无权打开。", "Archived copies and evidence bundles are not masked; your role may not open them."},
		{"evidence.unreadable", "存档副本无法读取或摘要值不符，请联系管理员。", "The archived copy cannot be read or no longer matches its digest; tell an administrator."},
		{"evidence.frame_title", "存档副本（已禁用脚本）", "Archived copy (scripts disabled)"},
		{"audit." + alerts.ActionCaptured, "存档页面", "archived a page"},
		{"audit.capture_note", "正文 SHA-256 摘要值 %s；WARC 文件 %s，记录 %s；网址 %s；抓取时间 %s", "payload SHA-256 digest %s; WARC file %s, record %s; URL %s; captured %s"},
	} {
		catalog["zh-CN"][m[0]] = m[1]
		catalog["en"][m[0]] = m[2]
	}
}

// CaptureNote states a captured audit entry (alerts.CaptureNote) in the
// user's language; ok is false when note is not one.
func (l loc) CaptureNote(note string) (string, bool) {
	c, ok := alerts.ParseCaptureNote(note)
	if !ok {
		return "", false
	}
	return l.T("audit.capture_note", c.PayloadDigest, c.File, c.RecordID, c.URL, captureTime(c.CapturedAt)), true
}

// captureTime is a capture's time as the timeline states it: UTC to the
// second, as in the WARC record's WARC-Date.
func captureTime(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") }
