package config

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// EnvPrefix starts every environment override, as in kapacitord.
const EnvPrefix = "KAPACITOR"

// ApplyEnv applies KAPACITOR_* overrides from environ (os.Environ()'s
// form), with kapacitord's rule: the variable of a key is the prefix, the
// section and the key joined by "_", upper-cased, with "-" written "_"
// (KAPACITOR_HTTP_BIND_ADDRESS, KAPACITOR_DATA_DIR). An element of a
// repeated section or of an array takes its index (KAPACITOR_INFLUXDB_0_URLS_0);
// only elements that exist can be overridden, and a repeated section
// with a single element also answers without the index
// (KAPACITOR_INFLUXDB_URLS_0). Empty values are ignored. Errors name the
// variable, not its value.
func (c *Config) ApplyEnv(environ []string) error {
	env := map[string]string{}
	for _, kv := range environ {
		k, v, ok := strings.Cut(kv, "=")
		if ok && v != "" && strings.HasPrefix(k, EnvPrefix+"_") {
			env[k] = v
		}
	}
	if len(env) == 0 {
		return nil
	}
	return applyStruct(env, EnvPrefix, reflect.ValueOf(c).Elem())
}

func applyStruct(env map[string]string, prefix string, s reflect.Value) error {
	t := s.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
		if name == "" || name == "-" {
			continue
		}
		key := prefix + "_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
		v := s.Field(i)
		if v.Kind() == reflect.Slice {
			implicit := strings.Contains(f.Tag.Get("env-config"), "implicit-index") && v.Len() == 1
			for j := 0; j < v.Len(); j++ {
				if implicit {
					if err := applyValue(env, key, v.Index(j)); err != nil {
						return err
					}
				}
				if err := applyValue(env, fmt.Sprintf("%s_%d", key, j), v.Index(j)); err != nil {
					return err
				}
			}
			continue
		}
		if err := applyValue(env, key, v); err != nil {
			return err
		}
	}
	return nil
}

func applyValue(env map[string]string, key string, v reflect.Value) error {
	if v.Kind() == reflect.Struct {
		return applyStruct(env, key, v)
	}
	if v.Kind() == reflect.Slice { // an array of scalars: URLS_0
		for j := 0; j < v.Len(); j++ {
			if err := applyValue(env, fmt.Sprintf("%s_%d", key, j), v.Index(j)); err != nil {
				return err
			}
		}
		return nil
	}
	s, ok := env[key]
	if !ok {
		return nil
	}
	bad := func(want string) error { return fmt.Errorf("environment variable %s: want %s", key, want) }
	switch {
	case v.Type() == reflect.TypeOf(Duration(0)):
		d, err := time.ParseDuration(s)
		if err != nil {
			return bad("a duration such as \"10s\"")
		}
		v.SetInt(int64(d))
	case v.Kind() == reflect.String:
		v.SetString(s)
	case v.Kind() == reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return bad("true or false")
		}
		v.SetBool(b)
	case v.Kind() == reflect.Int64 || v.Kind() == reflect.Int:
		n, err := strconv.ParseInt(s, 0, 64)
		if err != nil {
			return bad("an integer")
		}
		v.SetInt(n)
	case v.Kind() == reflect.Float64:
		x, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return bad("a number")
		}
		v.SetFloat(x)
	}
	return nil
}
