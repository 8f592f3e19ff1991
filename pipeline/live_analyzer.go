package pipeline

import (
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"

	"riskmine/config"
	"riskmine/nlp"
)

// LiveAnalyzer is the analyzer a running service scores with. A new
// detection model replaces it whole (SIGHUP), so a post is scored by one
// model or the other, never a mix; the pipeline, the alert rules and the UI
// read it through this one pointer.
type LiveAnalyzer struct {
	cur atomic.Pointer[nlp.Analyzer]
	// reconfig reads the config for ReloadModel and ReloadLexicons.
	reconfig func() (*config.Config, error)
	log      *slog.Logger
}

// NewLiveAnalyzer starts with a. reconfig reads the config again for a
// reload (nil: reloads fail with an error saying so); log, when set,
// records each reload.
func NewLiveAnalyzer(a *nlp.Analyzer, reconfig func() (*config.Config, error), log *slog.Logger) *LiveAnalyzer {
	l := &LiveAnalyzer{reconfig: reconfig, log: log}
	l.cur.Store(a)
	return l
}

func (l *LiveAnalyzer) Load() *nlp.Analyzer                  { return l.cur.Load() }
func (l *LiveAnalyzer) Analyze(in nlp.Input) *nlp.Assessment { return l.cur.Load().Analyze(in) }
func (l *LiveAnalyzer) Categories() []string                 { return l.cur.Load().Categories() }
func (l *LiveAnalyzer) Lexicons() []*nlp.Lexicon             { return l.cur.Load().Lexicons() }
func (l *LiveAnalyzer) Model() *nlp.Model                    { return l.cur.Load().Model() }

// ReloadModel reads the config again and then its model (SIGHUP and the
// lexicon page's reload button), logging the outcome.
func (l *LiveAnalyzer) ReloadModel() (string, error) {
	log := l.log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if l.reconfig == nil {
		return "", errors.New("model reload: no config to read")
	}
	c, err := l.reconfig()
	if err != nil {
		log.Error("model reload: config", "error", err)
		return "", fmt.Errorf("config: %w", err)
	}
	v, err := l.reloadModel(c)
	if err != nil {
		log.Error("model reload", "error", err)
		return "", err
	}
	log.Info("model reloaded", "model", v)
	return v, nil
}

// reloadModel reads the model of cfg.NLP.Model again (the embedded one when
// it is empty) and swaps it in; on any error the running model stays. It
// returns the version now in use.
func (l *LiveAnalyzer) reloadModel(cfg *config.Config) (string, error) {
	var m *nlp.Model
	var err error
	switch cfg.NLP.Model {
	case "none":
	case "", "default":
		m, err = nlp.DefaultModel()
	default:
		m, err = nlp.ReadModel(cfg.NLP.Model)
	}
	if err != nil {
		return "", fmt.Errorf("nlp.model: %w (the running model stays)", err)
	}
	next := l.cur.Load().WithModel(m)
	l.cur.Store(next)
	if m == nil {
		return "none", nil
	}
	return m.Info.Version, nil
}
