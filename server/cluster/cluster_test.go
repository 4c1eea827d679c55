package cluster

import (
	"bytes"
	"compress/gzip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEncodeDecode(t *testing.T) {
	cp := &Checkpoint{Offsets: map[int32]int64{0: 41, 3: 7}, State: []byte(`{"t":{}}`), Instance: "a", Time: time.Unix(1700000000, 0).UTC()}
	raw, err := Encode(cp)
	require.NoError(t, err)
	got, err := Decode(raw)
	require.NoError(t, err)
	assert.Equal(t, cp, got)
}

func TestDecodeBad(t *testing.T) {
	for name, raw := range map[string][]byte{
		"not gzip":    []byte("{}"),
		"not json":    gz("nope"),
		"truncated":   gz(`{"offsets":{"0":`),
		"wrong types": gz(`{"offsets":{"x":"y"}}`),
	} {
		_, err := Decode(raw)
		assert.Error(t, err, name)
		assert.Contains(t, err.Error(), "checkpoint: ", name)
	}
}

func gz(s string) []byte {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write([]byte(s))
	w.Close()
	return b.Bytes()
}

// Checkpoints are read from the broker: outside input. Decode never
// panics, and what it accepts encodes again.
func FuzzDecode(f *testing.F) {
	raw, _ := Encode(&Checkpoint{Offsets: map[int32]int64{1: 2}, State: []byte("{}"), Instance: "x"})
	f.Add(raw)
	f.Add(gz(`{"offsets":{"0":1}}`))
	f.Add([]byte{0x1f, 0x8b})
	f.Fuzz(func(t *testing.T, b []byte) {
		cp, err := Decode(b)
		if err != nil {
			return
		}
		if _, err := Encode(cp); err != nil {
			t.Fatal(err)
		}
	})
}
