package ast

import "testing"

func TestSuggest(t *testing.T) {
	cands := []string{"measurement", "crit", "bool", "sqrt", "Level"}
	for name, want := range map[string]string{
		"measurment": ` (did you mean "measurement"?)`,
		"crt":        ` (did you mean "crit"?)`,
		"sqr":        ` (did you mean "sqrt"?)`,
		"Levl":       ` (did you mean "Level"?)`,
		"foo":        "",
		"xyzzy":      "",
	} {
		if got := Suggest(name, cands); got != want {
			t.Errorf("Suggest(%q) = %q, want %q", name, got, want)
		}
	}
}
