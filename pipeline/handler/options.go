package handler

import (
	"fmt"
	"slices"
	"sort"
	"time"
)

// opts are a handler's options. They come from YAML or JSON handler files
// (string, int, float64, bool, []any, map[string]any) or from script
// properties (Go values of the wanted type); the accessors' errors name
// the option.
type opts map[string]any

// check checks the type of the option's value, if it is set.
func (o opts) check(opt Option) error {
	if _, set := o[opt.Name]; !set {
		return nil
	}
	var err error
	switch opt.Type {
	case String:
		_, err = o.string(opt.Name, false)
	case Int:
		_, err = o.int(opt.Name, 0)
	case Bool:
		_, err = o.bool(opt.Name)
	case Duration:
		var d time.Duration
		if d, err = o.duration(opt.Name, 0); err == nil && d <= 0 {
			err = fmt.Errorf("%s: must be positive, got %v", opt.Name, d)
		}
	case Strings:
		_, err = o.strings(opt.Name)
	case Map:
		_, err = o.headers(opt.Name)
	case Values:
		_, err = o.values(opt.Name)
	case Records:
		_, err = o.records(opt.Name, opt.Fields)
	}
	return err
}

// or returns the string option key, or def when it is unset or empty.
func (o opts) or(key, def string) string {
	if s, _ := o.string(key, false); s != "" {
		return s
	}
	return def
}

func (o opts) string(key string, required bool) (string, error) {
	v, ok := o[key]
	if !ok || v == nil {
		if required {
			return "", fmt.Errorf("%s: missing", key)
		}
		return "", nil
	}
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("%s: want a string, got %v", key, v)
	}
	if required && s == "" {
		return "", fmt.Errorf("%s: must not be empty", key)
	}
	return s, nil
}

func (o opts) int(key string, def int64) (int64, error) {
	switch v := o[key].(type) {
	case nil:
		return def, nil
	case int:
		return int64(v), nil
	case int64:
		return v, nil
	case uint64:
		return int64(v), nil
	case float64:
		if v == float64(int64(v)) {
			return int64(v), nil
		}
	}
	return 0, fmt.Errorf("%s: want an integer, got %v", key, o[key])
}

func (o opts) bool(key string) (bool, error) {
	switch v := o[key].(type) {
	case nil:
		return false, nil
	case bool:
		return v, nil
	}
	return false, fmt.Errorf("%s: want true or false, got %v", key, o[key])
}

// duration reads a duration written as a string ("10s") or as an
// integer number of nanoseconds, as Kapacitor's option decoder does.
func (o opts) duration(key string, def time.Duration) (time.Duration, error) {
	switch v := o[key].(type) {
	case nil:
		return def, nil
	case time.Duration:
		return v, nil
	case string:
		d, err := time.ParseDuration(v)
		if err != nil {
			return 0, fmt.Errorf("%s: want a duration such as 10s, got %q", key, v)
		}
		return d, nil
	case int:
		return time.Duration(v), nil
	case int64:
		return time.Duration(v), nil
	}
	return 0, fmt.Errorf("%s: want a duration such as 10s, got %v", key, o[key])
}

func (o opts) strings(key string) ([]string, error) {
	switch v := o[key].(type) {
	case nil:
		return nil, nil
	case []string:
		return v, nil
	case []any:
		out := make([]string, len(v))
		for i, x := range v {
			s, ok := x.(string)
			if !ok {
				return nil, fmt.Errorf("%s: want a list of strings, item %d is %v", key, i+1, x)
			}
			out[i] = s
		}
		return out, nil
	}
	return nil, fmt.Errorf("%s: want a list of strings, got %v", key, o[key])
}

// headers reads a map of strings, in key order.
func (o opts) headers(key string) ([][2]string, error) {
	var out [][2]string
	switch v := o[key].(type) {
	case nil:
		return nil, nil
	case map[string]string:
		for k, x := range v {
			out = append(out, [2]string{k, x})
		}
	case map[string]any:
		for k, x := range v {
			s, ok := x.(string)
			if !ok {
				return nil, fmt.Errorf("%s: want a map of strings, %s is %v", key, k, x)
			}
			out = append(out, [2]string{k, s})
		}
	default:
		return nil, fmt.Errorf("%s: want a map of strings, got %v", key, o[key])
	}
	sort.Slice(out, func(i, j int) bool { return out[i][0] < out[j][0] })
	return out, nil
}

// values reads a map of scalars: strings, numbers and bools.
func (o opts) values(key string) (map[string]any, error) {
	out := map[string]any{}
	switch v := o[key].(type) {
	case nil:
		return nil, nil
	case map[string]any:
		for k, x := range v {
			switch x.(type) {
			case string, bool, int, int64, uint64, float64:
				out[k] = x
			default:
				return nil, fmt.Errorf("%s: want a map of strings, numbers or booleans, %s is %v", key, k, x)
			}
		}
	case map[string]string:
		for k, x := range v {
			out[k] = x
		}
	default:
		return nil, fmt.Errorf("%s: want a map of strings, numbers or booleans, got %v", key, o[key])
	}
	return out, nil
}

// records reads a list of records with exactly the string fields given;
// a number or bool value is taken as its text (YAML's value: 50).
func (o opts) records(key string, fields []string) ([]map[string]string, error) {
	var list []any
	switch v := o[key].(type) {
	case nil:
		return nil, nil
	case []map[string]string:
		for _, r := range v {
			list = append(list, r)
		}
	case []any:
		list = v
	default:
		return nil, fmt.Errorf("%s: want a list of records with %v, got %v", key, fields, o[key])
	}
	out := make([]map[string]string, 0, len(list))
	for i, x := range list {
		rec := map[string]string{}
		var m map[string]any
		switch r := x.(type) {
		case map[string]string:
			m = map[string]any{}
			for k, v := range r {
				m[k] = v
			}
		case map[string]any:
			m = r
		default:
			return nil, fmt.Errorf("%s: item %d: want a record with %v, got %v", key, i+1, fields, x)
		}
		for k, v := range m {
			if !slices.Contains(fields, k) {
				return nil, fmt.Errorf("%s: item %d: invalid key %s (want %v)", key, i+1, k, fields)
			}
			switch v := v.(type) {
			case string:
				rec[k] = v
			case bool, int, int64, uint64, float64:
				rec[k] = fmt.Sprint(v)
			default:
				return nil, fmt.Errorf("%s: item %d: %s: want a string, got %v", key, i+1, k, v)
			}
		}
		for _, f := range fields {
			if _, ok := rec[f]; !ok {
				return nil, fmt.Errorf("%s: item %d: missing %s", key, i+1, f)
			}
		}
		out = append(out, rec)
	}
	return out, nil
}

// errorf is an error about an option; it starts with the option's name,
// which lets handler files point at the option's line.
func errorf(option, format string, args ...any) error {
	return fmt.Errorf("%s: %s", option, fmt.Sprintf(format, args...))
}
