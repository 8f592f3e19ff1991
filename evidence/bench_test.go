package evidence

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// benchBody returns a Chinese HTML page of about size bytes, different
// for each i: news sentences with a random run of common characters in
// each paragraph, so gzip sees text about as compressible as real posts
// (pure repeated sentences would shrink far more than any real page).
func benchBody(i, size int) []byte {
	sentences := []string{
		"今天上午市民服务中心办理业务的人比较多，工作人员增开了两个窗口。",
		"社区组织志愿者在公园开展环境整治活动，清理了草坪上的落叶和杂物。",
		"福州市鼓楼区五四路一处老旧小区发生燃气泄漏，消防人员迅速赶到现场。",
		"地铁站附近新增了共享单车停放点，早晚高峰时段有专人引导摆放。",
		"小区物业通知下周二上午检修电梯，届时请住户尽量走楼梯。",
	}
	r := rand.New(rand.NewPCG(uint64(i), 11))
	var b strings.Builder
	fmt.Fprintf(&b, "<!doctype html><html><head><meta charset=utf-8><title>第%d期</title></head><body><article>", i)
	for b.Len() < size {
		b.WriteString("<p>" + sentences[r.IntN(len(sentences))])
		for range 20 + r.IntN(40) {
			b.WriteRune(rune(0x4E00 + r.IntN(0x0C00)))
		}
		b.WriteString("。</p>\n")
	}
	b.WriteString("</article></body></html>")
	return []byte(b.String())
}

// servedAs are the ways a server may send the benchmark's pages: as they
// are, or gzip-encoded at level 1 (nginx's default gzip_comp_level) or 6
// (Go's and zlib's default). The archive keeps the body as it came.
var servedAs = []struct {
	name  string
	level int // gzip level; 0 for none
}{{"identity", 0}, {"gzip1", 1}, {"gzip6", 6}}

// serve returns body as a server would send it, with its Content-Encoding.
func serve(b *testing.B, body []byte, level int) ([]byte, string) {
	if level == 0 {
		return body, ""
	}
	var out bytes.Buffer
	zw, err := gzip.NewWriterLevel(&out, level)
	if err != nil {
		b.Fatal(err)
	}
	zw.Write(body)
	if err := zw.Close(); err != nil {
		b.Fatal(err)
	}
	return out.Bytes(), "gzip"
}

// BenchmarkArchivePut archives one page per operation (request, response
// and metadata records, gzip, fsync, index row) and reports the archive's
// bytes per capture and the body's bytes as served.
func BenchmarkArchivePut(b *testing.B) {
	for _, size := range []struct {
		name  string
		bytes int
	}{{"page=2KB", 2 << 10}, {"page=120KB", 120 << 10}} {
		for _, sv := range servedAs {
			b.Run(size.name+"/served="+sv.name, func(b *testing.B) { benchArchivePut(b, size.bytes, sv.level) })
		}
	}
}

// benchArchivePut archives b.N pages of about size bytes, served with the
// given gzip level (0: not encoded).
func benchArchivePut(b *testing.B, size, level int) {
	dir := b.TempDir()
	a, _, err := Open(context.Background(), Options{Dir: filepath.Join(dir, "evidence"), DB: filepath.Join(dir, "riskmine.db"), Version: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	bodies := make([][]byte, b.N)
	var coding string
	var served int64
	for i := range bodies {
		plain := benchBody(i, size)
		if i == 0 {
			b.SetBytes(int64(len(plain)))
		}
		bodies[i], coding = serve(b, plain, level)
		served += int64(len(bodies[i]))
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		u := fmt.Sprintf("http://bench.example/p/%d.html", i)
		h := http.Header{"Content-Type": {"text/html; charset=utf-8"}, "Date": {time.Now().UTC().Format(http.TimeFormat)}}
		if coding != "" {
			h.Set("Content-Encoding", coding)
		}
		_, _, err := a.Put(context.Background(), Page{LeadID: "L", URL: u, Source: "bench", Capture: Capture{
			Method: http.MethodGet, RequestURL: u, RequestHeader: http.Header{"User-Agent": {"riskmine/bench"}, "Accept-Encoding": {"gzip"}},
			Status: 200, ResponseHeader: h, Body: bodies[i], RemoteAddr: "192.0.2.10:443", Proto: "HTTP/1.1",
			FetchedAt: time.Now(), Robots: "allowed"}})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	reportArchiveBytes(b, a, dir)
	b.ReportMetric(float64(served)/float64(b.N), "served-body-bytes")
}

// BenchmarkBuildCapture is the CPU part of BenchmarkArchivePut: building,
// digesting and compressing the records, without the write, the fsync and
// the index row.
func BenchmarkBuildCapture(b *testing.B) {
	for _, size := range []struct {
		name  string
		bytes int
	}{{"page=2KB", 2 << 10}, {"page=120KB", 120 << 10}} {
		b.Run(size.name, func(b *testing.B) {
			body := benchBody(1, size.bytes)
			p := Page{LeadID: "L", URL: "http://bench.example/p/1.html", Source: "bench", Capture: Capture{
				Method: http.MethodGet, RequestURL: "http://bench.example/p/1.html", Status: 200,
				ResponseHeader: http.Header{"Content-Type": {"text/html; charset=utf-8"}},
				Body:           body, FetchedAt: time.Now(), Robots: "allowed"}}
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := buildCapture(p, "bench", "<urn:uuid:00000000-0000-4000-8000-000000000000>"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// reportArchiveBytes closes a and reports the bytes its files under dir
// hold per capture, file headers left out.
func reportArchiveBytes(b *testing.B, a *Archive, dir string) {
	b.Helper()
	header := a.cur.header
	a.Close()
	files, _ := filepath.Glob(filepath.Join(dir, "evidence", "*"+fileSuffix))
	var total int64
	for _, f := range files {
		info, err := os.Stat(f)
		if err != nil {
			b.Fatal(err)
		}
		total += info.Size() - header
	}
	b.ReportMetric(float64(total)/float64(b.N), "archive-bytes/capture")
}
