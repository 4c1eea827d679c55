package models

import (
	"encoding/json"
	"math"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
)

// The hand-written JSON must match encoding/json byte for byte.
func TestJSONMatchesEncodingJSON(t *testing.T) {
	floats := []float64{0, math.Copysign(0, -1), 1, -1, 0.1, 1e-5, 1e-6, 1e-7, 123456789.125, 1e20, 1e21, 1.5e300, 5e-324, math.MaxFloat64, 100000, 1234567}
	r := rand.New(rand.NewSource(1))
	for i := 0; i < 2000; i++ {
		floats = append(floats, math.Float64frombits(r.Uint64()))
	}
	for _, f := range floats {
		if math.IsNaN(f) || math.IsInf(f, 0) {
			_, ok := AppendJSONFloat(nil, f)
			assert.False(t, ok)
			continue
		}
		want, _ := json.Marshal(f)
		got, ok := AppendJSONFloat(nil, f)
		assert.True(t, ok)
		assert.Equal(t, string(want), string(got), "%v", f)
	}
	strs := []string{"", "plain", `q"uote\`, "<b>&</b>", "tab\there\nnl\r", "\x00\x1f", "héllo → ✓", "\u2028\u2029", "bad\xffutf8", "emoji 🎉"}
	for i := 0; i < 500; i++ {
		b := make([]byte, r.Intn(20))
		r.Read(b)
		strs = append(strs, string(b))
	}
	for _, s := range strs {
		want, _ := json.Marshal(s)
		assert.Equal(t, string(want), string(AppendJSONString(nil, s)), "%q", s)
	}
}
