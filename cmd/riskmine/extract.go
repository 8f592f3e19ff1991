package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"riskmine/crawler"
)

func init() {
	register(&command{
		name:    "extract",
		summary: "extract title, main text, publish time and author from an HTML page",
		run:     runExtract,
	})
}

// extractMaxBytes bounds the page a user can feed to riskmine extract.
const extractMaxBytes = 64 << 20

// extractOutput is what riskmine extract prints (DESIGN.md).
type extractOutput struct {
	Title       string `json:"title"`
	Text        string `json:"text"`
	PublishedAt string `json:"published_at"`
	Author      string `json:"author"`
	Charset     string `json:"charset"`
}

func runExtract(ctx context.Context, env *cmdEnv, args []string) error {
	fs, _ := newFlagSet(env, "extract", "extract [--url URL] [--content-type TYPE] FILE",
		`Reads the raw bytes of one HTML page (any charset; FILE "-" reads stdin) and prints
{"title","text","published_at","author","charset"} as one JSON line. published_at is
RFC 3339 or "" when the page has no publish time. --url helps with dates written in
the URL; --content-type passes the HTTP Content-Type header (its charset wins over the
page's own declaration unless the bytes say otherwise).`)
	pageURL := fs.String("url", "", "the page's URL, if known")
	contentType := fs.String("content-type", "", "the HTTP Content-Type header the page was served with, if known")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fmt.Fprintln(env.stderr, "riskmine extract: expected one FILE argument (or - for stdin)")
		fs.Usage()
		return errUsage
	}
	raw, err := readExtractInput(env, pos[0])
	if err != nil {
		return err
	}
	a, extractErr := crawler.Extract(raw, *contentType, *pageURL)
	out := extractOutput{Title: a.Title, Text: a.Text, Author: a.Author, Charset: a.Charset}
	if !a.PublishedAt.IsZero() {
		out.PublishedAt = a.PublishedAt.Format(time.RFC3339)
	}
	enc := json.NewEncoder(env.stdout)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(out); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	if extractErr != nil {
		// The (empty) result is printed anyway so that scripts reading
		// stdout line by line stay aligned; the status says what happened.
		return fmt.Errorf("%s: %w", pos[0], extractErr)
	}
	return nil
}

// readExtractInput reads FILE, or stdin for "-", refusing more than
// extractMaxBytes.
func readExtractInput(env *cmdEnv, name string) ([]byte, error) {
	var r io.Reader
	if name == "-" {
		r = env.stdin
	} else {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	raw, err := io.ReadAll(io.LimitReader(r, extractMaxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if len(raw) > extractMaxBytes {
		return nil, errors.New(name + ": page larger than 64 MiB")
	}
	return raw, nil
}
