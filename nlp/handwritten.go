package nlp

import (
	"bufio"
	"bytes"
	"crypto/md5"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"math/big"
	"sort"
)

// handwritten holds the posts the team wrote for the categories with thin
// public data (positives and hard negatives, with an expected level). Their
// validation part is frozen: no training reads it, and a verdict stage must
// not regress on it before it goes live.
//
//go:embed testdata/handwritten/*.jsonl
var handwritten embed.FS

// InValidation reports whether a post belongs to the validation part of the
// one split of the data: md5(id) as a big-endian number, mod 5, is 0.
func InValidation(id string) bool {
	sum := md5.Sum([]byte(id))
	return new(big.Int).Mod(new(big.Int).SetBytes(sum[:]), big.NewInt(5)).Sign() == 0
}

// FrozenCases returns the validation part of the team's hand-written posts,
// as labelled examples (a hard negative has no label).
func FrozenCases() ([]TrainExample, error) {
	names, err := fs.Glob(handwritten, "testdata/handwritten/*.jsonl")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	var out []TrainExample
	for _, name := range names {
		raw, err := handwritten.ReadFile(name)
		if err != nil {
			return nil, err
		}
		sc := bufio.NewScanner(bytes.NewReader(raw))
		sc.Buffer(make([]byte, 1<<16), 1<<20)
		for line := 1; sc.Scan(); line++ {
			if len(bytes.TrimSpace(sc.Bytes())) == 0 {
				continue
			}
			var p struct {
				ID, Set, Title, Text string
				Labels               []string
			}
			if err := json.Unmarshal(sc.Bytes(), &p); err != nil {
				return nil, fmt.Errorf("nlp: %s:%d: %v", name, line, err)
			}
			if InValidation(p.ID) {
				out = append(out, TrainExample{ID: p.ID, Set: p.Set, Title: p.Title, Text: p.Text, Labels: p.Labels})
			}
		}
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("nlp: %s: %v", name, err)
		}
	}
	return out, nil
}
