package evidence

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"
)

// Names of the fixed files of a bundle.
const (
	BundleWARC     = "evidence.warc.gz"
	BundleReport   = "report.html"
	BundleIndex    = "captures.json"
	BundleManifest = "manifest-sha256.txt"
)

// BundleFile is one file a bundle holds, with its SHA-256 (hex).
type BundleFile struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// WriteBundle writes a lead's evidence bundle as a zip to w: its
// captures' WARC records in one .warc.gz (each source file's warcinfo
// record first, then the captures' records as stored), the screenshots as
// PNG files, the printable report given, the capture index as JSON, a
// manifest with the SHA-256 of every other file, in the format of
// sha256sum, so `sha256sum -c manifest-sha256.txt` checks an unzipped
// bundle, the manifest's Ed25519 signature by the installation's key and
// that public key, and, with a Timestamper, the TSA's RFC 3161 timestamp
// of the manifest (BundleTimestamp) and its account (BundleTimestampNote).
// Every record is checked against its digests before it is put in.
func (a *Archive) WriteBundle(ctx context.Context, w io.Writer, report []byte, entries []Entry, at time.Time) ([]BundleFile, error) {
	var warc bytes.Buffer
	var shots []struct {
		name string
		data []byte
	}
	infoDone := map[string]bool{}
	for i, e := range entries {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if !infoDone[e.File] {
			info, err := a.warcinfo(e.File)
			if err != nil {
				return nil, err
			}
			warc.Write(info)
			infoDone[e.File] = true
		}
		raw, err := a.Raw(e)
		if err != nil {
			return nil, err
		}
		recs, err := ParseRecords(raw)
		if err != nil {
			return nil, fmt.Errorf("evidence: capture %d (%s): %w", e.ID, e.URL, err)
		}
		warc.Write(raw)
		if s, ok := Screenshot(recs); ok {
			shots = append(shots, struct {
				name string
				data []byte
			}{fmt.Sprintf("screenshots/%02d-%s.png", i+1, fileSafe(e.URL)), s.Payload})
		}
	}
	index, err := json.MarshalIndent(entries, "", "  ")
	if err != nil {
		return nil, err
	}
	zw := zip.NewWriter(w)
	var files []BundleFile
	add := func(name string, data []byte) error {
		fw, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: at.UTC()})
		if err != nil {
			return err
		}
		if _, err := fw.Write(data); err != nil {
			return err
		}
		files = append(files, BundleFile{Name: name, Size: int64(len(data)), SHA256: hexSHA256(data)})
		return nil
	}
	if err := add(BundleReport, report); err != nil {
		return nil, fmt.Errorf("evidence: bundle: %w", err)
	}
	if warc.Len() > 0 {
		if err := add(BundleWARC, warc.Bytes()); err != nil {
			return nil, fmt.Errorf("evidence: bundle: %w", err)
		}
	}
	for _, s := range shots {
		if err := add(s.name, s.data); err != nil {
			return nil, fmt.Errorf("evidence: bundle: %w", err)
		}
	}
	if err := add(BundleIndex, append(index, '\n')); err != nil {
		return nil, fmt.Errorf("evidence: bundle: %w", err)
	}
	var man bytes.Buffer
	for _, f := range files {
		fmt.Fprintf(&man, "%s  %s\n", f.SHA256, f.Name)
	}
	if err := add(BundleManifest, man.Bytes()); err != nil {
		return nil, fmt.Errorf("evidence: bundle: %w", err)
	}
	// The manifest names every other file's digest, so its signature by
	// the installation's key covers the whole bundle.
	pub, err := PublicKeyPEM(a.PublicKey())
	if err != nil {
		return nil, err
	}
	if err := add(BundleSignature, ed25519.Sign(a.key, man.Bytes())); err != nil {
		return nil, fmt.Errorf("evidence: bundle: %w", err)
	}
	if err := add(BundlePublicKey, pub); err != nil {
		return nil, fmt.Errorf("evidence: bundle: %w", err)
	}
	// A TSA that is down or answers nonsense costs the token, never the
	// bundle: timestamp.txt then says why there is none.
	tsr, note := a.timestampBundle(ctx, man.Bytes())
	if tsr != nil {
		if err := add(BundleTimestamp, tsr); err != nil {
			return nil, fmt.Errorf("evidence: bundle: %w", err)
		}
	}
	if note != nil {
		if err := add(BundleTimestampNote, note); err != nil {
			return nil, fmt.Errorf("evidence: bundle: %w", err)
		}
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("evidence: bundle: %w", err)
	}
	return files, nil
}

// warcinfo returns the first record of a file (its warcinfo record), as
// stored.
func (a *Archive) warcinfo(name string) ([]byte, error) {
	f, err := a.openFile(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	end, n, err := completeRecords(f, 1)
	if err != nil || n == 0 {
		return nil, fmt.Errorf("evidence: %s has no warcinfo record: %v", name, err)
	}
	buf := make([]byte, end)
	if _, err := f.ReadAt(buf, 0); err != nil {
		return nil, fmt.Errorf("evidence: %s: %w", name, err)
	}
	return buf, nil
}

// fileSafe turns a URL into a short file-name part: its host and path with
// anything unusual replaced.
func fileSafe(raw string) string {
	s := raw
	if u, err := url.Parse(raw); err == nil {
		s = u.Host + u.Path
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
		if b.Len() >= 60 {
			break
		}
	}
	return strings.Trim(b.String(), "_")
}
