// Package config holds riskmine's one YAML configuration file: its types,
// built-in defaults, loading with strict decoding and ${ENV} expansion, and
// validation whose errors name the file, the line and the key.
//
// Only cmd/riskmine and the packages that wire the others together
// (service, pipeline) import config; the other packages receive plain
// option structs built from it.
package config
