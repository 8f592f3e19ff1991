// Command gengazetteer turns the administrative divisions of China into the
// compact table that package nlp embeds as its gazetteer.
//
// Source: modood/Administrative-divisions-of-China (WTFPL), national
// statistics 2023 — 34 provinces, the prefecture-level cities, counties and
// townships with their statistical codes. Names and codes are public facts.
//
// Regenerate the embedded file from the repository root with
//
//	go run ./nlp/internal/gengazetteer PATH/admin_divisions_2023.jsonl | gzip -9n > nlp/gazetteer_data.tsv.gz
//
// Input: JSON Lines {"id","text","label","parent","path"} where label is
// province, city, county or township. Output: one tab-separated line per
// division, "code<TAB>parent<TAB>level<TAB>name", level 1 (province) to 4
// (township), sorted by code. Statistical placeholders that are not places
// (市辖区, 县, 省直辖县级行政区划, 自治区直辖县级行政区划) are dropped and their
// children attached to the province. Hong Kong, Macao and Taiwan have no
// statistical code in the source; their key is the source id (hkmotw/…),
// which package nlp reports as a name without a code.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

type division struct {
	ID     string   `json:"id"`
	Text   string   `json:"text"`
	Label  string   `json:"label"`
	Parent string   `json:"parent"`
	Path   []string `json:"path"`
}

var levels = map[string]int{"province": 1, "city": 2, "county": 3, "township": 4}

// placeholders are statistical groupings, not places anyone names.
var placeholders = map[string]bool{
	"市辖区": true, "县": true, "省直辖县级行政区划": true, "自治区直辖县级行政区划": true,
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: gengazetteer admin_divisions_2023.jsonl > gazetteer_data.tsv")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "gengazetteer:", err)
		os.Exit(1)
	}
}

func run(path string, out io.Writer) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	var divs []division
	dropped := map[string]string{} // placeholder id -> its parent
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var d division
		if err := json.Unmarshal(sc.Bytes(), &d); err != nil {
			return fmt.Errorf("%s:%d: %w", path, line, err)
		}
		if _, ok := levels[d.Label]; !ok || d.ID == "" || d.Text == "" {
			return fmt.Errorf("%s:%d: want id, text and label province|city|county|township", path, line)
		}
		if strings.ContainsAny(d.ID+d.Text, "\t\n") {
			return fmt.Errorf("%s:%d: tab or newline in id or text", path, line)
		}
		if strings.HasPrefix(d.ID, "hkmotw/") && d.Parent == "" {
			if i := strings.LastIndexByte(d.ID, '/'); i > len("hkmotw") {
				d.Parent = d.ID[:i]
			}
		}
		if placeholders[d.Text] {
			dropped[d.ID] = d.Parent
			continue
		}
		divs = append(divs, d)
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	sort.Slice(divs, func(i, j int) bool { return divs[i].ID < divs[j].ID })
	w := bufio.NewWriter(out)
	for _, d := range divs {
		parent := d.Parent
		for {
			up, ok := dropped[parent]
			if !ok {
				break
			}
			parent = up
		}
		fmt.Fprintf(w, "%s\t%s\t%d\t%s\n", d.ID, parent, levels[d.Label], d.Text)
	}
	return w.Flush()
}
