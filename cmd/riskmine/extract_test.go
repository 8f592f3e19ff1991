package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/text/encoding/simplifiedchinese"
)

func TestExtractCommand(t *testing.T) {
	page := `<html><head><meta http-equiv="Content-Type" content="text/html; charset=gb2312">
<title>暴雨致多处道路积水_示例新闻网</title></head><body>
<div class="nav"><a href="/">首页</a> <a href="/n">新闻</a> <a href="/c">城市</a></div>
<h1>暴雨致多处道路积水</h1><div class="info">2024年4月19日 08:04 作者：周明</div>
<div class="article"><p>19日凌晨起，全市普降大到暴雨，多处低洼路段出现积水，部分车辆熄火。</p>
<p>市防汛办已启动四级应急响应，排水部门出动抢险人员三百余人，连夜排涝。</p></div></body></html>`
	gbk, err := simplifiedchinese.GBK.NewEncoder().Bytes([]byte(page))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "page.html")
	if err := os.WriteFile(file, gbk, 0o644); err != nil {
		t.Fatal(err)
	}
	check := func(t *testing.T, stdout []byte) {
		t.Helper()
		var out map[string]string
		if err := json.Unmarshal(stdout, &out); err != nil {
			t.Fatalf("output is not one JSON object: %v\n%s", err, stdout)
		}
		want := map[string]string{
			"title":        "暴雨致多处道路积水",
			"published_at": "2024-04-19T08:04:00+08:00",
			"author":       "周明",
			"charset":      "gbk",
		}
		for k, v := range want {
			if out[k] != v {
				t.Errorf("%s = %q, want %q", k, out[k], v)
			}
		}
		if !strings.Contains(out["text"], "多处低洼路段出现积水") || strings.Contains(out["text"], "首页") {
			t.Errorf("text = %q", out["text"])
		}
	}
	t.Run("file", func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		code := runMain(context.Background(), &cmdEnv{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr}, []string{"extract", file})
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr.String())
		}
		check(t, stdout.Bytes())
	})
	t.Run("stdin with url after the file", func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		code := runMain(context.Background(), &cmdEnv{stdin: bytes.NewReader(gbk), stdout: &stdout, stderr: &stderr},
			[]string{"extract", "-", "--url", "https://news.example.cn/2024/04/19/a.html"})
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr.String())
		}
		check(t, stdout.Bytes())
	})
	t.Run("missing file", func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		code := runMain(context.Background(), &cmdEnv{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr}, []string{"extract", filepath.Join(dir, "nope.html")})
		if code != 1 || !strings.Contains(stderr.String(), "nope.html") {
			t.Errorf("exit %d, stderr %q; want 1 naming the file", code, stderr.String())
		}
	})
	t.Run("no file", func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		if code := runMain(context.Background(), &cmdEnv{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr}, []string{"extract"}); code != 2 {
			t.Errorf("exit %d, want 2", code)
		}
	})
	t.Run("empty page", func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		code := runMain(context.Background(), &cmdEnv{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr}, []string{"extract", "-"})
		if code != 1 || !strings.Contains(stderr.String(), "empty page") {
			t.Errorf("exit %d, stderr %q; want 1 and an empty-page error", code, stderr.String())
		}
		var out map[string]string
		if err := json.Unmarshal(stdout.Bytes(), &out); err != nil || out["text"] != "" {
			t.Errorf("stdout = %q, want an empty result object", stdout.String())
		}
	})
}
