package storemigrate

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
)

// pgColumn is a column of a PostgreSQL table.
type pgColumn struct {
	Name     string
	Type     string // information_schema data_type
	Nullable bool
	Default  string
	Identity bool
}

// plan is how the rows of one table are copied: the columns read from
// SQLite and written to PostgreSQL (the same names), each with its
// conversion.
type plan struct {
	src   []string // SQLite's names
	cols  []string // PostgreSQL's names, in the same order
	conv  []func(any) (any, error)
	ident string // the identity column, whose sequence is set after the copy
}

// planTable matches the columns of t on both sides by name. Every SQLite
// column must have a PostgreSQL column (nothing is dropped unseen); a
// PostgreSQL column SQLite does not have must allow NULL or have a
// default.
func planTable(t Table, src []string, dst []pgColumn) (*plan, error) {
	byName := map[string]pgColumn{}
	for _, c := range dst {
		byName[c.Name] = c
	}
	have := map[string]bool{}
	p := &plan{}
	for _, name := range src {
		if slices.Contains(t.Drop, name) {
			continue
		}
		to := name
		if r, ok := t.Rename[name]; ok {
			to = r
		}
		c, ok := byName[to]
		if !ok {
			return nil, fmt.Errorf("%s.%s of riskmine.db has no column in PostgreSQL's %s: this riskmine cannot move it (an entry may rename or drop it)", t.Name, name, t.Name)
		}
		conv, err := converter(t, c)
		if err != nil {
			return nil, err
		}
		have[to] = true
		p.src = append(p.src, name)
		p.cols = append(p.cols, to)
		p.conv = append(p.conv, conv)
	}
	for _, c := range dst {
		if c.Identity {
			p.ident = c.Name
		}
		if !have[c.Name] && !c.Nullable && c.Default == "" && !c.Identity {
			return nil, fmt.Errorf("PostgreSQL's %s.%s needs a value and riskmine.db's %s has no such column", t.Name, c.Name, t.Name)
		}
	}
	if p.ident != "" && !have[p.ident] {
		p.ident = "" // PostgreSQL numbers the rows itself
	}
	return p, nil
}

// converter returns the conversion of a SQLite value into column c.
func converter(t Table, c pgColumn) (func(any) (any, error), error) {
	switch c.Type {
	case "timestamp with time zone", "timestamp without time zone":
		if t.Unit != time.Millisecond && t.Unit != time.Second && t.Unit != time.Nanosecond {
			return nil, fmt.Errorf("%s.%s is a time and the table's entry names no unit (milliseconds, seconds or nanoseconds)", t.Name, c.Name)
		}
		return timeConverter(t.Unit, c), nil
	case "boolean":
		return func(v any) (any, error) {
			switch x := v.(type) {
			case nil:
				return nil, nil
			case int64:
				return x != 0, nil
			case bool:
				return x, nil
			}
			return nil, fmt.Errorf("%s: expected 0 or 1, got %T %v", c.Name, v, v)
		}, nil
	case "jsonb", "json":
		return func(v any) (any, error) {
			var s string
			switch x := v.(type) {
			case nil:
				return nil, nil
			case string:
				s = x
			case []byte:
				s = string(x)
			default:
				return nil, fmt.Errorf("%s: expected JSON text, got %T", c.Name, v)
			}
			if strings.TrimSpace(s) == "" {
				if c.Nullable {
					return nil, nil
				}
				return nil, fmt.Errorf("%s: empty where JSON is expected", c.Name)
			}
			return s, nil
		}, nil
	case "bytea":
		return func(v any) (any, error) {
			switch x := v.(type) {
			case nil:
				return nil, nil
			case []byte:
				return x, nil
			case string:
				return []byte(x), nil
			}
			return nil, fmt.Errorf("%s: expected bytes, got %T", c.Name, v)
		}, nil
	case "text", "character varying":
		return func(v any) (any, error) {
			switch x := v.(type) {
			case nil, string:
				return x, nil
			case []byte:
				return string(x), nil
			case int64:
				return strconv.FormatInt(x, 10), nil
			case float64:
				return strconv.FormatFloat(x, 'g', -1, 64), nil
			}
			return nil, fmt.Errorf("%s: expected text, got %T", c.Name, v)
		}, nil
	case "bigint", "integer", "smallint":
		return func(v any) (any, error) {
			switch x := v.(type) {
			case nil, int64:
				return x, nil
			case bool:
				if x {
					return int64(1), nil
				}
				return int64(0), nil
			}
			return nil, fmt.Errorf("%s: expected an integer, got %T %v", c.Name, v, v)
		}, nil
	case "double precision", "real", "numeric":
		return func(v any) (any, error) {
			switch x := v.(type) {
			case nil, float64:
				return x, nil
			case int64:
				return float64(x), nil
			}
			return nil, fmt.Errorf("%s: expected a number, got %T %v", c.Name, v, v)
		}, nil
	}
	return nil, fmt.Errorf("%s.%s: PostgreSQL type %s has no conversion from SQLite here", t.Name, c.Name, c.Type)
}

// timeConverter converts integer times counted in unit. The zero time is
// NULL where the column allows it, -infinity where that is the column's
// default (a lease never taken), else the epoch.
func timeConverter(unit time.Duration, c pgColumn) func(any) (any, error) {
	zero := any(time.Unix(0, 0).UTC())
	switch {
	case c.Nullable:
		zero = nil
	case strings.Contains(c.Default, "-infinity"):
		zero = pgtype.Timestamptz{InfinityModifier: pgtype.NegativeInfinity, Valid: true}
	}
	return func(v any) (any, error) {
		var n int64
		switch x := v.(type) {
		case nil:
			return nil, nil
		case int64:
			n = x
		case float64:
			n = int64(x)
		default:
			return nil, fmt.Errorf("%s: expected an integer time, got %T %v", c.Name, v, v)
		}
		if n == 0 {
			return zero, nil
		}
		switch unit {
		case time.Second:
			return time.Unix(n, 0).UTC(), nil
		case time.Nanosecond:
			return time.Unix(0, n).UTC(), nil
		}
		return time.UnixMilli(n).UTC(), nil
	}
}
