package nlp

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"sync"
)

//go:embed all:modeldata
var embeddedModel embed.FS

var defaultModel struct {
	once sync.Once
	m    *Model
	err  error
}

// DefaultModel returns the model embedded in the binary, read once and
// shared; nil (and no error) when the binary embeds none.
func DefaultModel() (*Model, error) {
	defaultModel.once.Do(func() {
		raw, err := embeddedModel.ReadFile("modeldata/default.rmm")
		if errors.Is(err, fs.ErrNotExist) {
			return
		}
		if err != nil {
			defaultModel.err = err
			return
		}
		m, err := DecodeModel(bytes.NewReader(raw))
		if err != nil {
			defaultModel.err = fmt.Errorf("nlp: embedded model: %w", err)
			return
		}
		defaultModel.m = m
	})
	return defaultModel.m, defaultModel.err
}
