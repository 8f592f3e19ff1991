package index_test

import (
	"bytes"
	"encoding/json"
)

// jsonMarshal encodes v as the search API does (no HTML escaping of <mark>).
func jsonMarshal(v any) (string, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	err := enc.Encode(v)
	return b.String(), err
}
