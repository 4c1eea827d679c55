package tickscript

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// VarTypes are the var types of Kapacitor's API (API.md, Vars).
var VarTypes = []string{"bool", "int", "float", "duration", "string", "regex", "lambda", "star", "list"}

// VarValue converts a var as Kapacitor's API carries it ({"type": T,
// "value": V}) to the string the engine parses by the declared type. A
// duration is a string ("1m", also with InfluxQL's d and w units) or an
// integer of nanoseconds; a list holds {"type","value"} items of type
// string or star.
func VarValue(typ string, value json.RawMessage) (string, error) {
	if len(value) == 0 {
		value = json.RawMessage("null")
	}
	switch typ {
	case "string", "regex", "lambda":
		var s string
		if err := json.Unmarshal(value, &s); err != nil {
			return "", fmt.Errorf("value of a %s var must be a string", typ)
		}
		if typ == "regex" {
			if _, err := regexp.Compile(s); err != nil {
				return "", fmt.Errorf("invalid regex pattern: %v", err)
			}
		}
		return s, nil
	case "bool":
		var b bool
		if err := json.Unmarshal(value, &b); err != nil {
			return "", fmt.Errorf("value of a bool var must be true or false")
		}
		return strconv.FormatBool(b), nil
	case "int":
		var n json.Number
		if err := json.Unmarshal(value, &n); err != nil {
			return "", fmt.Errorf("value of an int var must be a number")
		}
		i, err := n.Int64()
		if err != nil {
			f, ferr := n.Float64()
			if ferr != nil || f != float64(int64(f)) {
				return "", fmt.Errorf("value of an int var must be an integer")
			}
			i = int64(f)
		}
		return strconv.FormatInt(i, 10), nil
	case "float":
		var f float64
		if err := json.Unmarshal(value, &f); err != nil {
			return "", fmt.Errorf("value of a float var must be a number")
		}
		return strconv.FormatFloat(f, 'g', -1, 64), nil
	case "duration":
		var ns int64
		if err := json.Unmarshal(value, &ns); err == nil {
			return time.Duration(ns).String(), nil
		}
		var s string
		if err := json.Unmarshal(value, &s); err != nil {
			return "", fmt.Errorf("value of a duration var must be a string such as \"10s\" or nanoseconds")
		}
		d, err := ParseDuration(s)
		if err != nil {
			return "", err
		}
		return d.String(), nil
	case "star":
		return "", nil
	case "list":
		var items []struct {
			Type  string          `json:"type"`
			Value json.RawMessage `json:"value"`
		}
		if err := json.Unmarshal(value, &items); err != nil {
			return "", fmt.Errorf("var has list type but value is not list")
		}
		parts := make([]string, len(items))
		for i, it := range items {
			switch it.Type {
			case "string":
				s, err := VarValue("string", it.Value)
				if err != nil {
					return "", err
				}
				parts[i] = s
			case "star":
				parts[i] = "*"
			default:
				return "", fmt.Errorf("lists may only contain string or star vars, got %s", it.Type)
			}
		}
		return strings.Join(parts, ","), nil
	}
	return "", fmt.Errorf("invalid var type %q", typ)
}

var durationUnits = map[string]time.Duration{
	"ns": time.Nanosecond, "u": time.Microsecond, "µ": time.Microsecond, "us": time.Microsecond,
	"ms": time.Millisecond, "s": time.Second, "m": time.Minute, "h": time.Hour,
	"d": 24 * time.Hour, "w": 7 * 24 * time.Hour,
}

var durationForm = regexp.MustCompile(`^(-?\d+)(ns|us|u|µ|ms|s|m|h|d|w)$`)

// ParseDuration parses an InfluxQL duration ("10s", "1d", "2w") or a Go
// one ("1m30s").
func ParseDuration(s string) (time.Duration, error) {
	if m := durationForm.FindStringSubmatch(s); m != nil {
		n, err := strconv.ParseInt(m[1], 10, 64)
		if err == nil {
			return time.Duration(n) * durationUnits[m[2]], nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q", s)
	}
	return d, nil
}
