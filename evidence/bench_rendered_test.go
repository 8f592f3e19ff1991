package evidence

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// BenchmarkArchivePutRendered archives one rendered page per operation:
// the same three records for the HTML shell the server sent, plus the
// resource records of the rendered DOM and of the full-page PNG screenshot.
// The shell is the 156-byte page of the crawler's rendering benchmark; the
// DOMs are benchBody pages of 12 KB (that benchmark's rendered size) and
// 120 KB. Screenshots: set RISKMINE_BENCH_SCREENSHOTS=small.png,large.png
// to PNGs Chromium took of those DOMs (the figures in docs/PERFORMANCE.md
// were measured so); without it a stand-in PNG of the same pixel size is
// drawn (grey glyph outlines in lines of text, as Chromium draws CJK text without a CJK font), whose size differs from
// Chromium's.
func BenchmarkArchivePutRendered(b *testing.B) {
	shots := benchScreenshots(b)
	shell := []byte(`<!doctype html><html><head><meta charset=utf-8><title>帖子</title><script src="/app.js" defer></script></head><body><div id="post">加载中…</div></body></html>`)
	for k, size := range []struct {
		name  string
		bytes int
	}{{"dom=12KB", 12 << 10}, {"dom=120KB", 120 << 10}} {
		b.Run(size.name, func(b *testing.B) {
			benchPutCaptures(b, func(i int) Capture {
				return Capture{Body: shell, ResponseHeader: http.Header{"Content-Type": {"text/html; charset=utf-8"}},
					RenderedDOM: benchBody(i, size.bytes), Screenshot: shots[k]}
			})
		})
	}
}

// benchPutCaptures archives b.N captures made by capture(i) (a distinct URL
// each) and reports the archive's bytes per capture.
func benchPutCaptures(b *testing.B, capture func(i int) Capture) {
	dir := b.TempDir()
	a, _, err := Open(context.Background(), Options{Dir: filepath.Join(dir, "evidence"), DB: filepath.Join(dir, "riskmine.db"), Version: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	caps := make([]Capture, b.N)
	for i := range caps {
		caps[i] = capture(i)
	}
	b.SetBytes(int64(len(caps[0].Body) + len(caps[0].RenderedDOM) + len(caps[0].Screenshot)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		u := fmt.Sprintf("http://bench.example/p/%d.html", i)
		c := caps[i]
		c.Method, c.RequestURL, c.RequestHeader = http.MethodGet, u, http.Header{"User-Agent": {"riskmine/bench"}}
		c.Status, c.FetchedAt, c.Robots = 200, time.Now(), "allowed"
		c.ResponseHeader.Set("Date", time.Now().UTC().Format(http.TimeFormat))
		if _, _, err := a.Put(context.Background(), Page{LeadID: "L", URL: u, Source: "bench", Capture: c}); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	reportArchiveBytes(b, a, dir)
	if n := len(caps[0].Screenshot); n > 0 {
		b.ReportMetric(float64(n), "png-bytes")
	}
}

// benchScreenshots returns the small and the large page's screenshot:
// the files RISKMINE_BENCH_SCREENSHOTS names, or stand-ins of the pixel
// sizes Chromium gave those pages at 1280 CSS pixels wide (1954 and, cut
// at the crawler's cap, 16384 high).
func benchScreenshots(b *testing.B) [2][]byte {
	var out [2][]byte
	if env := os.Getenv("RISKMINE_BENCH_SCREENSHOTS"); env != "" {
		names := strings.Split(env, ",")
		if len(names) != 2 {
			b.Fatalf("RISKMINE_BENCH_SCREENSHOTS: expected two PNG files, small,large; got %q", env)
		}
		for i, n := range names {
			raw, err := os.ReadFile(strings.TrimSpace(n))
			if err != nil || !bytes.HasPrefix(raw, []byte("\x89PNG")) {
				b.Fatalf("RISKMINE_BENCH_SCREENSHOTS: %s: expected a PNG file (%v)", n, err)
			}
			out[i] = raw
		}
		return out
	}
	for i, h := range []int{1954, 16384} {
		img := image.NewGray(image.Rect(0, 0, 1280, h))
		for p := range img.Pix {
			img.Pix[p] = 0xff
		}
		r := rand.New(rand.NewPCG(uint64(i), 3))
		for y := 16; y+18 < h; y += 28 {
			n := 40 + r.IntN(38)
			for g := range n {
				x := 16 + g*16
				for dy := range 14 {
					for dx := range 13 {
						if dy == 0 || dy == 13 || dx == 0 || dx == 12 {
							img.Pix[(y+dy)*img.Stride+x+dx] = 0x60
						}
					}
				}
			}
		}
		var buf bytes.Buffer
		if err := png.Encode(&buf, img); err != nil {
			b.Fatal(err)
		}
		out[i] = buf.Bytes()
	}
	return out
}
