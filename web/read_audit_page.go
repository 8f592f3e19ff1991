package web

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"
)

const readAuditPageSize = 50

type readAuditData struct {
	Reads   []ReadEvent
	Total   int
	Q       map[string]string
	Kinds   []string
	Page    int
	Pages   int
	PrevURL string
	NextURL string
}

// parseReadFilter reads the user, kind, since and until parameters
// (dates YYYY-MM-DD or RFC 3339; until inclusive of its day).
func parseReadFilter(v url.Values, loc *time.Location) (ReadFilter, error) {
	f := ReadFilter{User: v.Get("user"), Kind: v.Get("kind")}
	if f.Kind != "" && !slices.Contains(ReadKinds, f.Kind) {
		return f, fmt.Errorf("kind must be one of search, list, view, export, got %q", f.Kind)
	}
	if err := checkLen("user", f.User, MaxUserNameLen); err != nil {
		return f, err
	}
	var err error
	if f.Since, err = parseDay(v.Get("since"), false, loc); err != nil {
		return f, fmt.Errorf("since: %w", err)
	}
	if f.Until, err = parseDay(v.Get("until"), true, loc); err != nil {
		return f, fmt.Errorf("until: %w", err)
	}
	return f, nil
}

// readAuditPage is the admin's page of the read audit, filtered by user,
// kind and dates, newest first.
func (s *Server) readAuditPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	data := &readAuditData{Q: map[string]string{}, Kinds: ReadKinds}
	for _, k := range []string{"user", "kind", "since", "until"} {
		data.Q[k] = q.Get(k)
	}
	v := s.newView(r, "read-audit", "readaudit.title", data)
	f, err := parseReadFilter(q, s.opts.Location)
	page := 1
	if p := q.Get("page"); err == nil && p != "" {
		if page, err = strconv.Atoi(p); err != nil || page < 1 || page > 100000 {
			err = fmt.Errorf("page must be a number from 1 to 100000, got %q", p)
		}
	}
	if err != nil {
		v.Error = err.Error()
		s.render(w, r, http.StatusBadRequest, "read_audit", v)
		return
	}
	s.reads.flush() // show the reads made up to now
	f.Limit, f.Offset = readAuditPageSize, (page-1)*readAuditPageSize
	if data.Reads, data.Total, err = s.store.Reads(r.Context(), f); err != nil {
		s.serverError(w, r, err)
		return
	}
	data.Page = page
	data.Pages = max(1, (data.Total+readAuditPageSize-1)/readAuditPageSize)
	if page > 1 {
		data.PrevURL = queryWith(r.URL.RequestURI(), "page", itoa(page-1))
	}
	if page < data.Pages {
		data.NextURL = queryWith(r.URL.RequestURI(), "page", itoa(page+1))
	}
	s.render(w, r, http.StatusOK, "read_audit", v)
}

// apiReadAudit answers GET /api/v1/read-audit with {"total","items"}:
// the filters of the page plus limit (1 to 1000, default 50) and offset.
func (s *Server) apiReadAudit(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f, err := parseReadFilter(q, s.opts.Location)
	if err != nil {
		writeJSONError(w, http.StatusBadRequest, err.Error())
		return
	}
	f.Limit = 50
	if l := q.Get("limit"); l != "" {
		if f.Limit, err = strconv.Atoi(l); err != nil || f.Limit < 1 || f.Limit > 1000 {
			writeJSONError(w, http.StatusBadRequest, fmt.Sprintf("limit must be a number from 1 to 1000, got %q", l))
			return
		}
	}
	if o := q.Get("offset"); o != "" {
		if f.Offset, err = strconv.Atoi(o); err != nil || f.Offset < 0 {
			writeJSONError(w, http.StatusBadRequest, fmt.Sprintf("offset must be a number >= 0, got %q", o))
			return
		}
	}
	s.reads.flush()
	items, total, err := s.store.Reads(r.Context(), f)
	if err != nil {
		s.apiServerError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"total": total, "items": items})
}

// readAuditColumns are the message keys of the CSV export's headers.
var readAuditColumns = []string{"readaudit.at", "readaudit.user", "readaudit.role", "readaudit.client_ip", "readaudit.kind",
	"readaudit.via", "readaudit.target", "readaudit.query", "readaudit.filters", "readaudit.rows", "readaudit.pii"}

// exportReadAudit streams the reads matching the filters as CSV (headers
// in the user's language) or JSON Lines; the export is itself a read.
func (s *Server) exportReadAudit(w http.ResponseWriter, r *http.Request) {
	w = s.streaming(w)
	format, err := exportFormat(r)
	if err != nil {
		s.exportFail(w, r, http.StatusBadRequest, err.Error())
		return
	}
	q := r.URL.Query()
	f, err := parseReadFilter(q, s.opts.Location)
	if err != nil {
		s.exportFail(w, r, http.StatusBadRequest, err.Error())
		return
	}
	s.reads.flush()
	// Reads recorded while the export runs would shift its pages: stop at now.
	if end := s.now().Add(time.Millisecond); f.Until.IsZero() || f.Until.After(end) {
		f.Until = end
	}
	ctx := r.Context()
	f.Limit = 1000
	first, total, err := s.store.Reads(ctx, f)
	if err != nil {
		s.log.Error("export read audit", "error", err)
		s.exportFail(w, r, http.StatusInternalServerError, "listing the read audit failed")
		return
	}
	startDownload(w, "riskmine-read-audit-"+s.now().UTC().Format("20060102-1504"), format)
	l := langFor(r)
	var cw *csv.Writer
	enc := json.NewEncoder(w)
	if format == "csv" {
		io.WriteString(w, "\ufeff")
		cw = csv.NewWriter(w)
		head := make([]string, len(readAuditColumns))
		for i, k := range readAuditColumns {
			head[i] = l.T(k)
		}
		cw.Write(head)
	}
	n := 0
	for page := first; len(page) > 0; {
		for _, e := range page {
			n++
			if cw == nil {
				enc.Encode(e)
				continue
			}
			row := []string{e.At.UTC().Format(time.RFC3339), e.User, string(e.Role), e.ClientIP, e.Kind, e.Via, e.Target,
				e.Query, e.Filters, strconv.Itoa(e.Rows), strconv.FormatBool(e.PII)}
			for i := range row {
				row[i] = csvCell(row[i])
			}
			cw.Write(row)
		}
		f.Offset += len(page)
		if f.Offset >= total {
			break
		}
		if page, _, err = s.store.Reads(ctx, f); err != nil {
			s.log.Error("export read audit", "error", err)
			break // the client sees a truncated file; the log says why
		}
	}
	if cw != nil {
		cw.Flush()
	}
	s.recordRead(r, ReadEvent{Kind: ReadExport, Target: "read_audit", Filters: readFilters(q), Rows: n})
}
