package config

import (
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml/ast"
)

// checkTree walks a parsed YAML document beside the Go type it decodes into
// and reports the first value of the wrong kind, or unknown key, with its
// key path and line. The decoder's own messages name Go types
// ("Config.Crawler") and, for our text types, no line; this check runs
// first so a user reads crawler.sources[2].delay and the line instead.
func checkTree(file string, n ast.Node, t reflect.Type) *Error {
	ck := &treeChecker{file: file}
	ck.check(n, t, "", 0)
	return ck.err
}

type treeChecker struct {
	file string
	err  *Error
}

var durationType = reflect.TypeOf(Duration(0))

func (ck *treeChecker) fail(line int, key, format string, args ...any) {
	if ck.err == nil {
		ck.err = &Error{File: ck.file, Line: line, Key: key, Msg: fmt.Sprintf(format, args...)}
	}
}

// lineOf is the line of n, or fallback when n has none.
func lineOf(n ast.Node, fallback int) int {
	if n != nil {
		if tk := n.GetToken(); tk != nil && tk.Position != nil {
			return tk.Position.Line
		}
	}
	return fallback
}

// keyText is the text of a mapping key, without quotes.
func keyText(k ast.Node) string {
	if s, ok := k.(*ast.StringNode); ok {
		return s.Value
	}
	if tk := k.GetToken(); tk != nil {
		return tk.Value
	}
	return k.String()
}

// kindOf names a node's kind for messages.
func kindOf(n ast.Node) string {
	switch v := n.(type) {
	case *ast.MappingNode, *ast.MappingValueNode:
		return "a mapping (key: value)"
	case *ast.SequenceNode:
		return "a list"
	case *ast.StringNode:
		return strconv.Quote(v.Value)
	case *ast.LiteralNode:
		return "a block of text"
	case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode, *ast.InfinityNode, *ast.NanNode:
		return n.GetToken().Value
	}
	return "a " + n.Type().String()
}

// check verifies n against t at path; line is the line of path's key.
func (ck *treeChecker) check(n ast.Node, t reflect.Type, path string, line int) {
	if ck.err != nil || n == nil {
		return
	}
	// A value's errors point at its key's line (a block list starts on the
	// next one); only the top of the file has no key.
	if line == 0 {
		line = lineOf(n, 0)
	}
	switch v := n.(type) {
	case *ast.NullNode, *ast.AliasNode, *ast.CommentGroupNode:
		// An alias is checked where its anchor is; null keeps the default.
		return
	case *ast.TagNode:
		ck.check(v.Value, t, path, line)
		return
	case *ast.AnchorNode:
		ck.check(v.Value, t, path, line)
		return
	case *ast.DocumentNode:
		ck.check(v.Body, t, path, line)
		return
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	name := path
	if name == "" {
		name = "the file"
	}
	switch {
	case t == durationType:
		text, ok := scalarText(n)
		if !ok {
			ck.fail(line, path, "expected a duration such as 30s, 15m, 48h or 7d, got %s", kindOf(n))
			return
		}
		var d Duration
		if err := d.UnmarshalText([]byte(text)); err != nil {
			ck.fail(line, path, "invalid duration %q, expected e.g. 30s, 15m, 48h or 7d", text)
		}
	case t.Kind() == reflect.Struct:
		pairs, ok := mappingPairs(n)
		if !ok {
			ck.fail(line, path, "expected a mapping of keys (%s), got %s", strings.Join(structKeys(t), ", "), kindOf(n))
			return
		}
		for _, kv := range pairs {
			if kv.Key.IsMergeKey() {
				continue // `<<: *anchor`: the decoder checks the merged keys
			}
			key := keyText(kv.Key)
			kline := lineOf(kv.Key, line)
			sub := joinKey(path, key)
			f, ok := fieldByTag(t, key)
			if !ok {
				ck.fail(kline, sub, "unknown key %q in %s (expected one of %s; unknown keys are errors, check the spelling against the README's config reference)",
					key, name, strings.Join(structKeys(t), ", "))
				return
			}
			ck.check(kv.Value, f.Type, sub, kline)
		}
	case t.Kind() == reflect.Map:
		pairs, ok := mappingPairs(n)
		if !ok {
			ck.fail(line, path, "expected a mapping (key: value), got %s", kindOf(n))
			return
		}
		for _, kv := range pairs {
			if kv.Key.IsMergeKey() {
				continue
			}
			ck.check(kv.Value, t.Elem(), joinKey(path, keyText(kv.Key)), lineOf(kv.Key, line))
		}
	case t.Kind() == reflect.Slice:
		seq, ok := n.(*ast.SequenceNode)
		if !ok {
			ck.fail(line, path, "expected a list, such as [a, b] or lines starting with \"- \", got %s", kindOf(n))
			return
		}
		for i, item := range seq.Values {
			ck.check(item, t.Elem(), fmt.Sprintf("%s[%d]", path, i), lineOf(item, line))
		}
	case t.Kind() == reflect.String:
		if _, ok := scalarText(n); !ok {
			ck.fail(line, path, "expected a single value (text), got %s", kindOf(n))
		}
	case t.Kind() == reflect.Bool:
		if _, ok := n.(*ast.BoolNode); !ok {
			ck.fail(line, path, "expected true or false, got %s", kindOf(n))
		}
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Int64:
		iv, ok := n.(*ast.IntegerNode)
		if !ok {
			ck.fail(line, path, "expected a whole number, got %s", kindOf(n))
			return
		}
		if _, err := strconv.ParseInt(fmt.Sprint(iv.Value), 10, t.Bits()); err != nil {
			ck.fail(line, path, "the number %s is out of range", iv.GetToken().Value)
		}
	case t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64:
		switch n.(type) {
		case *ast.IntegerNode, *ast.FloatNode:
		default:
			ck.fail(line, path, "expected a number, got %s", kindOf(n))
		}
	}
}

// scalarText is the text of a single value; false for lists and mappings.
func scalarText(n ast.Node) (string, bool) {
	switch v := n.(type) {
	case *ast.StringNode:
		return v.Value, true
	case *ast.LiteralNode:
		return v.Value.Value, true
	case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode, *ast.InfinityNode, *ast.NanNode:
		return n.GetToken().Value, true
	case *ast.TagNode:
		return scalarText(v.Value)
	}
	return "", false
}

// mappingPairs returns the key/value pairs of a mapping node.
func mappingPairs(n ast.Node) ([]*ast.MappingValueNode, bool) {
	switch v := n.(type) {
	case *ast.MappingNode:
		return v.Values, true
	case *ast.MappingValueNode:
		return []*ast.MappingValueNode{v}, true
	}
	return nil, false
}

func joinKey(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// fieldByTag finds the field of struct t whose yaml tag is key.
func fieldByTag(t reflect.Type, key string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		if tag, _, _ := strings.Cut(f.Tag.Get("yaml"), ","); tag == key {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

// structKeys lists the yaml keys of struct t, sorted.
func structKeys(t reflect.Type) []string {
	var keys []string
	for i := range t.NumField() {
		f := t.Field(i)
		if tag, _, _ := strings.Cut(f.Tag.Get("yaml"), ","); f.IsExported() && tag != "" && tag != "-" {
			keys = append(keys, tag)
		}
	}
	sort.Strings(keys)
	return keys
}
