package evidence

import (
	"bufio"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/nlnwa/gowarc/v3"
)

// ErrDigest is returned when a record read back does not match its digest.
var ErrDigest = errors.New("evidence: digest mismatch")

// Record is one WARC record of a capture, read back and checked.
type Record struct {
	Type        string
	ID          string
	TargetURI   string
	Date        time.Time
	ContentType string
	// BlockDigest and PayloadDigest are the record's digest fields; both
	// were checked against the bytes read.
	BlockDigest   string
	PayloadDigest string
	// IPAddress is WARC-IP-Address: the address the content came from.
	IPAddress string
	Block     []byte
	// Status and Header are the HTTP head of a response record.
	Status int
	Header http.Header
	// RawPayload is the payload as stored: for a response record the HTTP
	// body as received, still content-coded (the payload digest covers
	// it); for a resource record the block.
	RawPayload []byte
	// Payload is the content a reader wants: RawPayload with its
	// Content-Encoding (gzip, deflate) undone. Records written before the
	// archive kept raw bytes were stored decoded, without Content-Encoding;
	// for them, as for any uncoded body, Payload is RawPayload.
	Payload []byte
	// Encoding is set when Payload is still content-coded: a coding this
	// reader does not undo (br, say), or a body that would not decode (the
	// error follows the coding's name). The record is valid all the same.
	Encoding string
}

// maxDecodedPayload bounds a payload decoded when read back. The crawler
// refused larger pages when it fetched them, so only a record not written
// by it could pass this.
const maxDecodedPayload = 1 << 30

// Raw returns the capture's records as stored: whole gzip members, ready
// to be written into another .warc.gz file.
func (a *Archive) Raw(e Entry) ([]byte, error) {
	f, err := a.openFile(e.File)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	buf := make([]byte, e.Length)
	if _, err := f.ReadAt(buf, e.Offset); err != nil {
		return nil, fmt.Errorf("evidence: read %s at %d: %w", e.File, e.Offset, err)
	}
	return buf, nil
}

// Records reads the capture's records back and checks every digest.
func (a *Archive) Records(e Entry) ([]Record, error) {
	raw, err := a.Raw(e)
	if err != nil {
		return nil, err
	}
	recs, err := ParseRecords(raw)
	if err != nil {
		return nil, fmt.Errorf("evidence: %s at %d: %w", e.File, e.Offset, err)
	}
	return recs, nil
}

// ParseRecords reads WARC records (gzip members, or plain) and checks the
// SHA-256 block and payload digests of each.
func ParseRecords(data []byte) ([]Record, error) {
	rd, err := gowarc.NewWarcFileReaderFromStream(bytes.NewReader(data), 0,
		gowarc.WithSpecViolationPolicy(gowarc.ErrFail), gowarc.WithSyntaxErrorPolicy(gowarc.ErrFail))
	if err != nil {
		return nil, err
	}
	var out []Record
	for {
		r, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			r.Close()
			var de *gowarc.DigestError
			if errors.As(err, &de) {
				return nil, fmt.Errorf("%w: %w", ErrDigest, err)
			}
			return nil, err
		}
		rec, err := readRecord(r.WarcRecord)
		r.Close()
		if err != nil {
			return nil, err
		}
		out = append(out, rec)
	}
	return out, nil
}

func readRecord(wr gowarc.WarcRecord) (Record, error) {
	h := wr.WarcHeader()
	rec := Record{Type: wr.Type().String(), ID: h.Get(gowarc.WarcRecordID), TargetURI: h.Get(gowarc.WarcTargetURI),
		ContentType: h.Get(gowarc.ContentType), BlockDigest: h.Get(gowarc.WarcBlockDigest),
		PayloadDigest: h.Get(gowarc.WarcPayloadDigest), IPAddress: h.Get(gowarc.WarcIPAddress)}
	rec.Date, _ = wr.Date()
	if err := wr.Block().Cache(); err != nil {
		return rec, err
	}
	rb, err := wr.Block().RawBytes()
	if err != nil {
		return rec, err
	}
	if rec.Block, err = io.ReadAll(rb); err != nil {
		return rec, err
	}
	if want := "sha256:" + hexSHA256(rec.Block); rec.BlockDigest != want {
		return rec, fmt.Errorf("%w: %s record %s: block %s, computed %s", ErrDigest, rec.Type, rec.ID, rec.BlockDigest, want)
	}
	if rec.Type == TypeResponse && strings.HasPrefix(rec.ContentType, "application/http") {
		resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(rec.Block)), nil)
		if err != nil {
			return rec, fmt.Errorf("response record %s: %w", rec.ID, err)
		}
		rec.Status, rec.Header = resp.StatusCode, resp.Header
		// The block is what was stored; its body is read as it lies (net/http
		// undoes no content coding here, and the archive writes no transfer
		// coding).
		rec.RawPayload, err = io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return rec, fmt.Errorf("response record %s: %w", rec.ID, err)
		}
	} else if rec.Type == TypeResource {
		rec.RawPayload = rec.Block
	}
	if rec.RawPayload != nil || rec.Type == TypeResponse {
		if want := "sha256:" + hexSHA256(rec.RawPayload); rec.PayloadDigest != want {
			return rec, fmt.Errorf("%w: %s record %s: payload %s, computed %s", ErrDigest, rec.Type, rec.ID, rec.PayloadDigest, want)
		}
	}
	rec.Payload = rec.RawPayload
	if rec.Type == TypeResponse {
		rec.Payload, rec.Encoding = decodeContent(rec.RawPayload, rec.Header.Get("Content-Encoding"))
	}
	return rec, nil
}

// decodeContent undoes a Content-Encoding. What it cannot undo it returns
// as it is, with the coding (and why) in the second result.
func decodeContent(raw []byte, coding string) ([]byte, string) {
	coding = strings.ToLower(strings.TrimSpace(coding))
	var zr io.ReadCloser
	var err error
	switch coding {
	case "", "identity":
		return raw, ""
	case "gzip", "x-gzip":
		zr, err = gzip.NewReader(bytes.NewReader(raw))
	case "deflate":
		// HTTP's deflate is zlib-wrapped; some servers send it bare.
		if zr, err = zlib.NewReader(bytes.NewReader(raw)); err != nil {
			zr, err = flate.NewReader(bytes.NewReader(raw)), nil
		}
	default:
		return raw, coding
	}
	if err != nil {
		return raw, coding + ": " + err.Error()
	}
	defer zr.Close()
	out, err := io.ReadAll(io.LimitReader(zr, maxDecodedPayload+1))
	switch {
	case err != nil:
		return raw, coding + ": " + err.Error()
	case len(out) > maxDecodedPayload:
		return raw, fmt.Sprintf("%s: decodes to more than %d bytes", coding, maxDecodedPayload)
	}
	return out, ""
}

// Response returns the response record of a capture's records.
func Response(recs []Record) (Record, bool) {
	for _, r := range recs {
		if r.Type == TypeResponse {
			return r, true
		}
	}
	return Record{}, false
}

// Screenshot returns the screenshot resource of a capture's records.
func Screenshot(recs []Record) (Record, bool) {
	for _, r := range recs {
		if r.Type == TypeResource && strings.HasPrefix(r.TargetURI, ScreenshotURIPrefix) {
			return r, true
		}
	}
	return Record{}, false
}

// RenderedDOM returns the rendered-DOM resource of a capture's records.
func RenderedDOM(recs []Record) (Record, bool) {
	for _, r := range recs {
		if r.Type == TypeResource && strings.HasPrefix(r.TargetURI, DOMURIPrefix) {
			return r, true
		}
	}
	return Record{}, false
}
