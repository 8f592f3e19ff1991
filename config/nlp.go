package config

// NLP configures text analysis and scoring.
type NLP struct {
	// LexiconDir is a folder of extra lexicon YAML files loaded after the
	// embedded defaults; a file whose category code exists replaces it.
	LexiconDir string `yaml:"lexicon_dir"`
	// Thresholds are the minimum scores of each risk level.
	Thresholds Thresholds `yaml:"thresholds"`
	// Workers is the number of scoring goroutines; 0 means one per core.
	Workers int `yaml:"workers"`
	// Model is the detection model file read beside the lexicons; empty
	// means the model embedded in the binary, "none" the lexicons alone.
	Model string `yaml:"model"`
}

// Thresholds are the score at which each level starts; below Low is "none".
type Thresholds struct {
	Low      float64 `yaml:"low"`
	Medium   float64 `yaml:"medium"`
	High     float64 `yaml:"high"`
	Critical float64 `yaml:"critical"`
}

func defaultNLP() NLP {
	return NLP{Thresholds: Thresholds{Low: 1, Medium: 3, High: 6, Critical: 10}}
}

func (c *Config) validateNLP() error {
	t := c.NLP.Thresholds
	if t.Low <= 0 {
		return c.errAt("nlp.thresholds.low", "must be greater than 0, got %v", t.Low)
	}
	if !(t.Low < t.Medium && t.Medium < t.High && t.High < t.Critical) {
		return c.errAt("nlp.thresholds", "expected low < medium < high < critical, got %v, %v, %v, %v", t.Low, t.Medium, t.High, t.Critical)
	}
	if c.NLP.Workers < 0 {
		return c.errAt("nlp.workers", "must be 0 (one per core) or more, got %d", c.NLP.Workers)
	}
	return nil
}
