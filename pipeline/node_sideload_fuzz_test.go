package pipeline

import (
	"testing"

	"github.com/tickrun/tickrun/eval"
)

// Sideload values files are outside input: any bytes decode to values or
// an error, never a panic, and every decoded value converts to each kind
// or reports why not.
func FuzzSideloadValues(f *testing.F) {
	for _, s := range []string{"threshold: 35.0\nteam: web\n", "a: [1, 2]\nb: {c: d}\n", `{"x": 1e400}`, "x: yes\n", "? [a]\n: b\n", "{"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var values map[string]any
		if err := unmarshalYAMLValues(data, &values); err != nil {
			return
		}
		for k, v := range values {
			for _, kind := range []eval.Kind{eval.Int, eval.Float, eval.Bool, eval.String} {
				got, err := convertSideload(v, kind)
				if err == nil && got.Kind != kind {
					t.Fatalf("%s: converted %#v to %s, want %s", k, v, got.Kind, kind)
				}
			}
		}
	})
}
