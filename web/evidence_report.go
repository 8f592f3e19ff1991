package web

import (
	"bytes"
	"fmt"
	"html/template"
	"time"

	"riskmine/alerts"
	"riskmine/evidence"
)

// reportData is what the printable report of a bundle shows.
type reportData struct {
	Lead      *alerts.Lead
	Sources   []reportSource
	Audit     []alerts.AuditEntry
	Generated time.Time
	zone      *time.Location
}

// reportSource is one source with its evidence marked and its captures.
type reportSource struct {
	sourcePost
	Captures []evidence.Entry
}

// EvidenceReport renders the printable HTML report of a lead that goes
// into its evidence bundle: summary, each source with its evidence
// highlighted and its archived captures (file, offset, digests), places,
// timeline and the analysts' notes. It is self-contained (inline styles,
// no scripts, nothing fetched) and bilingual. Nothing in it is masked: the
// bundle is for the roles that see personal data.
func EvidenceReport(lead *alerts.Lead, audit []alerts.AuditEntry, entries []evidence.Entry, zone *time.Location, now time.Time) ([]byte, error) {
	if zone == nil {
		zone = time.UTC
	}
	d := reportData{Lead: lead, Audit: audit, Generated: now, zone: zone}
	byURL := map[string][]evidence.Entry{}
	for _, e := range entries {
		byURL[e.URL] = append(byURL[e.URL], e)
	}
	for _, src := range lead.Sources {
		d.Sources = append(d.Sources, reportSource{sourcePost: placeEvidence(src), Captures: byURL[src.CanonicalURL]})
	}
	t, err := template.New("report").Funcs(template.FuncMap{
		"t": func(tm time.Time) string {
			if tm.IsZero() {
				return "—"
			}
			return tm.In(zone).Format("2006-01-02 15:04:05 MST")
		},
		"tp": func(tm *time.Time) string {
			if tm == nil {
				return "—"
			}
			return tm.In(zone).Format("2006-01-02 15:04:05 MST")
		},
		"f2": func(f float64) string { return fmt.Sprintf("%.2f", f) },
		"capture": func(note string) *alerts.CaptureNote {
			if c, ok := alerts.ParseCaptureNote(note); ok {
				return &c
			}
			return nil
		},
		"inc": func(i int) int { return i + 1 },
	}).Parse(reportTemplate)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := t.Execute(&b, d); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

const reportTemplate = `<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<title>证据报告 Evidence report — {{.Lead.Title}}</title>
<style>
body{font:14px/1.5 "Noto Sans CJK SC","PingFang SC","Microsoft YaHei",sans-serif;margin:2em;color:#111}
h1{font-size:1.5em}h2{font-size:1.2em;border-bottom:1px solid #999;margin-top:1.5em}
table{border-collapse:collapse;width:100%;margin:.5em 0}td,th{border:1px solid #bbb;padding:3px 6px;text-align:left;vertical-align:top}
th{background:#eee}mark{background:#ffe066;padding:0 1px}code{font-size:12px;word-break:break-all}
.src{page-break-inside:avoid;margin-bottom:1.2em}.muted{color:#555}
@media print{body{margin:0}a{color:#000;text-decoration:none}}
</style></head><body>
{{$l := .Lead}}
<h1>证据报告 Evidence report</h1>
<p class="muted">riskmine · 生成时间 Generated {{t .Generated}}</p>
<h2>摘要 Summary</h2>
<table>
<tr><th>线索 Lead</th><td><code>{{$l.ID}}</code></td></tr>
<tr><th>标题 Title</th><td>{{$l.Title}}</td></tr>
<tr><th>摘要 Summary</th><td>{{$l.Summary}}</td></tr>
<tr><th>等级 Level</th><td>{{$l.Level}} ({{f2 $l.Score}})</td></tr>
<tr><th>类别 Categories</th><td>{{range $l.Categories}}{{.Code}} ({{f2 .Score}}) {{end}}</td></tr>
<tr><th>状态 State</th><td>{{$l.State}}{{if $l.Resolution}} — {{$l.Resolution}}{{end}}{{if $l.CaseNumber}} · 案件号 case {{$l.CaseNumber}}{{end}}{{if $l.MergedInto}} → {{$l.MergedInto}}{{end}}</td></tr>
<tr><th>首次/最近发现 First/last seen</th><td>{{t $l.FirstSeen}} / {{t $l.LastSeen}}</td></tr>
<tr><th>来源数 Sources</th><td>{{$l.SourceCount}}</td></tr>
</table>
<h2>地点 Places</h2>
<table><tr><th>最具体地点 Most precise place</th><td>{{if $l.Place}}{{$l.Place}} {{$l.PlaceCode}}{{else}}—{{end}}</td></tr>
<tr><th>行政区划 Divisions</th><td>{{range $l.Locations}}{{.Name}} <code>{{.Code}}</code><br>{{else}}—{{end}}</td></tr></table>
<h2>来源与证据 Sources and evidence</h2>
{{range $i, $s := .Sources}}<div class="src">
<h3>{{$i | inc}}. {{range .Title}}{{if .Mark}}<mark title="{{.Label}}">{{.Text}}</mark>{{else}}{{.Text}}{{end}}{{end}}</h3>
<p class="muted">{{.Src.Site}} · {{.Src.Source}} · 发布 published {{tp .Src.PublishedAt}} · 发现 seen {{t .Src.SeenAt}}<br><code>{{.Src.URL}}</code></p>
{{if .Src.LevelCues}}<p>定级依据 Why this level ({{.Src.Level}}): {{range .Src.LevelCues}}{{.Kind}} <mark>{{.Text}}</mark>{{if .Level}} → {{.Level}}{{end}}; {{end}}</p>{{end}}
<p>{{range .Text}}{{if .Mark}}<mark title="{{.Label}}">{{.Text}}</mark>{{else}}{{.Text}}{{end}}{{end}}</p>
<table><tr><th>规则 Rule</th><th>字段 Field</th><th>命中 Hit</th><th>权重 Weight</th></tr>
{{range .Src.Evidence}}<tr><td>{{.Rule}}</td><td>{{.Field}} [{{.Start}}:{{.End}}]</td><td><mark>{{.Text}}</mark></td><td>{{f2 .Weight}}</td></tr>{{end}}</table>
{{if .Captures}}<table><tr><th>存档 Capture</th><th>抓取时间 Captured</th><th>文件与偏移 File @ offset</th><th>摘要值 Digests (SHA-256)</th></tr>
{{range .Captures}}<tr><td>#{{.ID}} HTTP {{.Status}}{{if .Rendered}} · rendered{{end}}<br><code>{{.TargetURI}}</code></td><td>{{t .CapturedAt}}</td><td><code>{{.File}}</code> @ {{.Offset}} (+{{.Length}})</td><td>payload <code>{{.PayloadDigest}}</code><br>block <code>{{.BlockDigest}}</code><br>record <code>{{.ResponseID}}</code></td></tr>{{end}}</table>
{{else}}<p class="muted">无存档副本 No archived copy.</p>{{end}}
</div>{{end}}
<h2>时间线 Timeline</h2>
<table><tr><th>时间 At</th><th>操作人 Actor</th><th>操作 Action</th><th>状态 State</th><th>备注 Note</th></tr>
{{range .Audit}}{{$c := capture .Note}}<tr><td>{{t .At}}</td><td>{{.Actor}}</td><td>{{if and $c (eq .Action "captured")}}存档页面 archived a page{{else}}{{.Action}}{{end}}</td><td>{{.From}}{{if or .From .To}} → {{end}}{{.To}}</td>
<td>{{if and $c (eq .Action "captured")}}正文摘要值 payload SHA-256 <code>{{$c.PayloadDigest}}</code><br>WARC 文件 file <code>{{$c.File}}</code>, 记录 record <code>{{$c.RecordID}}</code><br>网址 URL <code>{{$c.URL}}</code><br>抓取时间 captured {{t $c.CapturedAt}}{{else}}{{.Note}}{{if .Reason}} （原因 reason：{{.Reason}}）{{end}}{{if .MergeInto}} （并入 into <code>{{.MergeInto}}</code>）{{end}}{{if .Unit}} （处置单位 unit：{{.Unit}}）{{end}}{{end}}</td></tr>{{end}}</table>
<h2>分析备注 Analysts' notes</h2>
{{range $l.Notes}}<p><span class="muted">{{t .At}} · {{.Actor}}</span><br>{{.Text}}</p>{{else}}<p class="muted">—</p>{{end}}
<p class="muted">文件清单及 SHA-256 见 manifest-sha256.txt；WARC 记录见 evidence.warc.gz。 The files' SHA-256 digests are in manifest-sha256.txt; the WARC records in evidence.warc.gz.</p>
</body></html>
`
