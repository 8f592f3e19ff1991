package nlp

import (
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzExtractEntities checks that the three extractors never panic and
// always return spans whose rune offsets give back their text.
func FuzzExtractEntities(f *testing.F) {
	for _, s := range []string{
		"昨天下午1点多，福建省福州市鼓楼区解放路口北100米，拨打138-1234-5678，损失3.5万元",
		"2024-04-19 08:30 访问www.example.top，卡号4111 1111 1111 1111，QQ号12345678",
		"\xff\xfe村路街", "¥", "+86", "上周五凌晨3点", "鼓楼区", "一千万亿天前",
	} {
		f.Add(s)
	}
	ref := time.Date(2024, 4, 19, 10, 30, 0, 0, txCST)
	f.Fuzz(func(t *testing.T, s string) {
		rs := []rune(s)
		check := func(kind, text string, start, end int) {
			if start < 0 || end > len(rs) || start > end {
				t.Fatalf("%s span [%d,%d) outside %d runes", kind, start, end, len(rs))
			}
			if utf8.ValidString(text) && string(rs[start:end]) != text {
				t.Fatalf("%s span [%d,%d) is %q, text %q", kind, start, end, string(rs[start:end]), text)
			}
		}
		for _, l := range ExtractLocations(s) {
			check("location", l.Text, l.Start, l.End)
		}
		for _, m := range ExtractTimes(s, ref) {
			check("time", m.Text, m.Start, m.End)
		}
		for _, e := range ExtractEntities(s) {
			check("entity", e.Text, e.Start, e.End)
		}
	})
}

// benchPost is about 2 KB of the kind of post riskmine reads.
var benchPost = strings.Repeat("网友爆料：4月18日晚上8点多，福建省福州市鼓楼区五四路与东街交叉口东侧50米处，"+
	"一辆货车侧翻，多人受伤被送往省立医院。附近阳光花园小区居民说，昨天下午就闻到燃气味，"+
	"拨打热线0591-87654321无人接听。另有人冒充客服，让转账3.5万元到卡号4111 1111 1111 1111，"+
	"加微信abc_12345或访问www.example.top。", 5)

// benchExtract reports MB/s of wall-clock time and, because the machine is
// shared, cpu-MB/s: bytes per second of CPU time used by the process
// (getrusage), which contention from other processes does not change.
func benchExtract(b *testing.B, fn func(string)) {
	fn(benchPost) // load the gazetteer outside the timing
	b.SetBytes(int64(len(benchPost)))
	cpu0 := processCPU()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		fn(benchPost)
	}
	b.StopTimer()
	mb := float64(len(benchPost)) * float64(b.N) / 1e6
	b.ReportMetric(mb/b.Elapsed().Seconds(), "MB/s")
	if cpu := (processCPU() - cpu0).Seconds(); cpu > 0 {
		b.ReportMetric(mb/cpu, "cpu-MB/s")
	}
}

// processCPU is the user and system CPU time of the process so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func BenchmarkExtractLocations(b *testing.B) {
	benchExtract(b, func(s string) { ExtractLocations(s) })
}

func BenchmarkExtractTimes(b *testing.B) {
	ref := time.Date(2024, 4, 19, 10, 30, 0, 0, txCST)
	benchExtract(b, func(s string) { ExtractTimes(s, ref) })
}

func BenchmarkExtractEntities(b *testing.B) {
	benchExtract(b, func(s string) { ExtractEntities(s) })
}

func BenchmarkExtractAll(b *testing.B) {
	ref := time.Date(2024, 4, 19, 10, 30, 0, 0, txCST)
	benchExtract(b, func(s string) {
		ExtractLocations(s)
		ExtractTimes(s, ref)
		ExtractEntities(s)
	})
}

// BenchmarkGazetteerLoad measures building the gazetteer from the embedded
// file, which each process does once, and the heap it keeps.
func BenchmarkGazetteerLoad(b *testing.B) {
	var held uint64
	cpu0 := processCPU()
	for i := 0; i < b.N; i++ {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		g, err := buildGazetteer(gazetteerData)
		if err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		held = after.HeapAlloc - before.HeapAlloc
		runtime.KeepAlive(g)
	}
	b.ReportMetric(float64(held)/(1<<20), "MiB-held")
	// CPU per build, GC included, unaffected by other processes.
	b.ReportMetric(float64((processCPU()-cpu0).Milliseconds())/float64(b.N), "cpu-ms/op")
}

func TestBenchPostSize(t *testing.T) {
	if n := len(benchPost); n < 1800 || n > 2600 {
		t.Errorf("benchPost is %d bytes, want about 2 KB", n)
	}
	if len(ExtractLocations(benchPost)) == 0 || len(ExtractTimes(benchPost, time.Now())) == 0 || len(ExtractEntities(benchPost)) == 0 {
		t.Error("benchPost yields nothing: the benchmark would measure an empty path")
	}
}
