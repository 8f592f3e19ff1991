package pipeline

import (
	"errors"
	"fmt"

	"riskmine/config"
	"riskmine/nlp"
	"riskmine/web"
)

// ReloadLexicons rebuilds the running analyzer from the lexicon files (the
// embedded ones and nlp.lexicon_dir, read again) with the model it runs
// now, and swaps it in whole like a model reload; on an error the running
// analyzer stays. The lexicon editor of the web UI calls it after a save.
func (l *LiveAnalyzer) ReloadLexicons() error {
	if l.reconfig == nil {
		return errors.New("lexicon reload: no config to read")
	}
	cfg, err := l.reconfig()
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	cur := l.cur.Load()
	t := cfg.NLP.Thresholds
	opts := nlp.Options{
		LexiconDir: cfg.NLP.LexiconDir,
		Thresholds: nlp.Thresholds{Low: t.Low, Medium: t.Medium, High: t.High, Critical: t.Critical},
		Model:      cur.Model(),
	}
	opts.LexiconOnly = opts.Model == nil
	next, err := nlp.NewAnalyzer(opts)
	if err != nil {
		return fmt.Errorf("lexicons: %w (the running lexicons stay)", err)
	}
	l.cur.Store(next)
	if l.log != nil {
		l.log.Info("lexicons reloaded", "lexicon_dir", cfg.NLP.LexiconDir)
	}
	return nil
}

// LexiconFiles is the web UI's lexicon editor over nlp.lexicon_dir, which
// reloads live after a save.
func LexiconFiles(cfg *config.Config, live *LiveAnalyzer) *web.LexiconFiles {
	t := cfg.NLP.Thresholds
	return &web.LexiconFiles{
		Dir:        cfg.NLP.LexiconDir,
		Thresholds: nlp.Thresholds{Low: t.Low, Medium: t.Medium, High: t.High, Critical: t.Critical},
		Reload:     live.ReloadLexicons,
	}
}
