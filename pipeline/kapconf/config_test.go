package kapconf

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func init() {
	Register("tnamed", Schema{Keys: map[string]Kind{"functions": Any}})
	Register("tnamed.functions.*", Schema{Keys: map[string]Kind{"prog": String, "timeout": Duration, "env": Map}})
}

// Named tables ([tnamed.functions.NAME]) are sections of their own, with
// line numbers in errors; durations are checked.
func TestNamedTablesAndDurations(t *testing.T) {
	c, err := Parse("k.conf", []byte(`[tnamed]
[tnamed.functions]
  [tnamed.functions.a]
    prog = "/bin/a"
    timeout = "10s"
  [tnamed.functions.b]
    prog = "/bin/b"
    env = { X = "1" }
`))
	require.NoError(t, err)
	assert.Equal(t, []string{"a", "b"}, c.Names("tnamed.functions.*"))
	a := c.Table("tnamed.functions.a")
	require.NotNil(t, a)
	assert.Equal(t, "/bin/a", a.String("prog"))
	assert.Equal(t, 10*time.Second, a.Duration("timeout"))
	assert.Equal(t, 3, a.Line)
	assert.Equal(t, map[string]string{"X": "1"}, c.Table("tnamed.functions.b").Map("env"))
	assert.Nil(t, c.Table("tnamed.functions.c"))
	assert.Empty(t, c.Ignored)

	_, err = Parse("k.conf", []byte("[tnamed.functions.a]\nprog = '/bin/a'\ntimeout = 'soon'\n"))
	assert.EqualError(t, err, `k.conf:3: [tnamed.functions.a] timeout: want a duration such as "10s" (value not shown: it may be a secret on the wrong line)`)
	_, err = Parse("k.conf", []byte("[tnamed.functions.a]\ntimeout = 10\n"))
	assert.EqualError(t, err, `k.conf:2: [tnamed.functions.a] timeout: want a duration string such as "10s", got a number`)
	_, err = Parse("k.conf", []byte("[tnamed]\nfunctions = 3\n"))
	assert.ErrorContains(t, err, "[tnamed.functions]: want a table of [tnamed.functions.NAME] tables")
}
