package nlp

import (
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-ego/gse"
)

// cpuTime is the user+system CPU time of the process so far. On a machine
// shared with other work, bytes per CPU-second measures the cost per core
// where wall-clock MB/s measures the share of the machine the run got.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchSentences are ordinary Chinese news and forum sentences written for
// the benchmark; a few carry hazard words so matching, rules and evidence
// are exercised, most do not, as on a real crawl.
var benchSentences = []string{
	"今天上午九点，市政府召开新闻发布会，介绍今年上半年全市经济运行情况。",
	"据了解，该项目总投资约十二亿元，预计明年年底建成投入使用。",
	"记者从市交通运输局获悉，地铁三号线二期工程已完成主体结构施工。",
	"昨天下午，城东区一小区居民楼突然起火，消防队员赶到现场后迅速扑灭了明火，没有人员伤亡。",
	"网友反映，人民路与解放路交叉口附近的井盖缺失已经一周，过往行人和车辆存在安全隐患。",
	"本周末气温回升，最高气温将达到二十六摄氏度，适合外出踏青。",
	"学校组织师生开展消防演练，模拟火灾发生时的疏散逃生。",
	"近期有不法分子冒充银行客服，以账户异常为由要求转账，警方提醒市民提高警惕谨防诈骗。",
	"这家火锅店生意火爆，周末晚上常常要排队一个多小时。",
	"受强降雨影响，部分路段出现积水，交警部门已在现场疏导交通。",
	"该公司第三季度营业收入同比增长百分之十八，净利润同比增长百分之二十三。",
	"小区楼道里燃气泄漏，气味很大，物业已经疏散居民并通知燃气公司抢修。",
	"比赛第二节，主队凭借外线的连续命中，将比分差距拉大到十五分。",
	"专家建议，老年人应当保持规律作息，适量运动，注意饮食均衡。",
	"一辆货车在高速公路上与小轿车追尾，造成两人受伤，事故原因正在调查中。",
	"新学期开始，各中小学加强校园周边交通安全管理，设置了护学岗。",
	"村民反映附近化工厂夜间偷排污水，河水发黑发臭，鱼虾大量死亡。",
	"他在微博上写道：活着真累，不想再坚持了，希望大家不要找我。",
	"本次展览共展出书画作品二百余件，将持续到下个月十五日。",
	"工地塔吊突然倒塌，砸中旁边的临时板房，一名工人被困，救援人员正在全力施救。",
	"樓道裡發生火災，鄰居們紛紛撥打119報警。",
	"ＡＰＰ显示的价格和实际支付的价格不一致，消费者要求商家给出说明。",
}

// benchText returns about n bytes of Chinese prose assembled from
// benchSentences in a fixed pseudo-random order.
func benchText(n int, seed uint64) string {
	r := rand.New(rand.NewPCG(seed, 7))
	var b strings.Builder
	for b.Len() < n {
		b.WriteString(benchSentences[r.IntN(len(benchSentences))])
		if r.IntN(6) == 0 {
			b.WriteByte('\n')
		}
	}
	return b.String()
}

var (
	benchOnce sync.Once
	benchAn   *Analyzer
)

func benchAnalyzer(b *testing.B) *Analyzer {
	benchOnce.Do(func() {
		a, err := newAnalyzer(Options{}, embeddedLexicons, "lexicons", nil)
		if err != nil {
			b.Fatal(err)
		}
		benchAn = a
		WarmUp()
	})
	return benchAn
}

// BenchmarkAnalyze measures Analyze on posts of 2 KB (a typical forum post
// or news article) with the embedded lexicons, one goroutine: MB/s per core.
func BenchmarkAnalyze(b *testing.B) {
	a := benchAnalyzer(b)
	posts, total := benchPosts()
	b.SetBytes(int64(total / len(posts)))
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		a.Analyze(posts[i%len(posts)])
	}
	reportCPU(b, cpu0, int64(total/len(posts)))
}

// BenchmarkAnalyzeNoFingerprint is BenchmarkAnalyze without SimHash and
// keywords, as riskmine score runs it.
func BenchmarkAnalyzeNoFingerprint(b *testing.B) {
	benchAnalyzer(b)
	a, err := newAnalyzer(Options{NoFingerprint: true}, embeddedLexicons, "lexicons", nil)
	if err != nil {
		b.Fatal(err)
	}
	posts, total := benchPosts()
	b.SetBytes(int64(total / len(posts)))
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		a.Analyze(posts[i%len(posts)])
	}
	reportCPU(b, cpu0, int64(total/len(posts)))
}

// reportCPU reports MB per CPU-second of the process since cpu0 (GC
// included): the per-core rate, whatever else ran on the machine.
func reportCPU(b *testing.B, cpu0 time.Duration, bytesPerOp int64) {
	if d := cpuTime() - cpu0; d > 0 {
		b.ReportMetric(float64(b.N)*float64(bytesPerOp)/d.Seconds()/1e6, "MB/cpu-s")
	}
}

// BenchmarkAnalyzeParallel is BenchmarkAnalyze on every core.
func BenchmarkAnalyzeParallel(b *testing.B) {
	a := benchAnalyzer(b)
	text := benchText(2000, 1)
	b.SetBytes(int64(len(text)))
	b.ResetTimer()
	cpu0 := cpuTime()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			a.Analyze(Input{Text: text})
		}
	})
	reportCPU(b, cpu0, int64(len(text)))
}

// BenchmarkNormalize measures normalisation alone.
func BenchmarkNormalize(b *testing.B) {
	text := benchText(2000, 2)
	b.SetBytes(int64(len(text)))
	for i := 0; i < b.N; i++ {
		Normalize(text)
	}
}

// BenchmarkSegment measures gse segmentation alone, for comparison.
func BenchmarkSegment(b *testing.B) {
	text := benchText(2000, 3)
	segmenter()
	b.SetBytes(int64(len(text)))
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		segment(text)
	}
	reportCPU(b, cpu0, int64(len(text)))
}

// BenchmarkSegmenterLoad measures loading the segmenter (done once per
// process) and the heap it holds.
func BenchmarkSegmenterLoad(b *testing.B) {
	var keep *gse.Segmenter
	for i := 0; i < b.N; i++ {
		keep = loadSegmenter()
	}
	b.StopTimer()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	b.ReportMetric(float64(m.HeapInuse)/(1<<20), "MiB-heap")
	runtime.KeepAlive(keep)
}

// BenchmarkNormalizeText measures the index analyzer's normaliser (no
// offset map).
func BenchmarkNormalizeText(b *testing.B) {
	text := benchText(2000, 2)
	b.SetBytes(int64(len(text)))
	for i := 0; i < b.N; i++ {
		NormalizeText(text)
	}
}

// BenchmarkAnalyzeModel is BenchmarkAnalyze with the embedded model and the
// severity cues, as the pipeline runs it: compare its CPU per byte with
// BenchmarkAnalyze's (lexicons alone).
func BenchmarkAnalyzeModel(b *testing.B) {
	la := benchAnalyzer(b)
	m, err := DefaultModel()
	if err != nil || m == nil {
		b.Skip("no embedded model")
	}
	a := la.WithModel(m)
	posts, total := benchPosts()
	b.SetBytes(int64(total / len(posts)))
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		a.Analyze(posts[i%len(posts)])
	}
	reportCPU(b, cpu0, int64(total/len(posts)))
}

// benchPosts returns the 64 posts of ~2.1 KB the Analyze benchmarks score,
// and their bytes.
func benchPosts() ([]Input, int) {
	posts := make([]Input, 64)
	total := 0
	for i := range posts {
		posts[i] = Input{Title: benchText(60, uint64(i)+1000), Text: benchText(2000, uint64(i))}
		total += len(posts[i].Title) + len(posts[i].Text)
	}
	return posts, total
}
