package pipeline_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickrun/tickrun/pipeline"
)

// A server takes the loopback's points through Options.Loopback, with
// their database, retention policy and tags set; the task does not see
// them itself.
func TestLoopbackHook(t *testing.T) {
	var got []*pipeline.Point
	task, err := pipeline.Compile("t", "t.tick", `dbrp "telegraf"."autogen"
stream|from().measurement('cpu')|kapacitorLoopback().database('db2').retentionPolicy('rp2').tag('k', 'v')`,
		pipeline.Options{Loopback: func(p *pipeline.Point) { got = append(got, p) }})
	require.NoError(t, err)
	writeLines(t, task, "cpu,host=a v=1 1000000000", "cpu,host=a v=2 2000000000")
	require.NoError(t, task.Close(context.Background()))
	require.Len(t, got, 2)
	assert.Equal(t, "cpu,host=a,k=v v=2 1970-01-01T00:00:02Z", got[1].String())
	assert.Equal(t, [2]string{"db2", "rp2"}, [2]string{got[0].Database, got[0].RP})
	assert.Equal(t, int64(2), task.Stats().Points)
}

// A loopback whose points come back to itself is cut after 100
// generations instead of looping for ever; Kapacitor's checks at define.
func TestLoopbackLoopAndErrors(t *testing.T) {
	log := &syncBuffer{}
	task, err := pipeline.Compile("t", "t.tick", `stream|from()|kapacitorLoopback().database('a').retentionPolicy('b')`, pipeline.Options{Log: log})
	require.NoError(t, err)
	writeLines(t, task, "cpu v=1 1000000000")
	require.NoError(t, task.Close(context.Background()))
	assert.Equal(t, int64(101), task.Stats().Points)
	assert.Contains(t, log.String(), "kapacitorLoopback: loop detected: points written back 100 times in a row are dropped")

	for src, want := range map[string]string{
		`stream|from()|kapacitorLoopback().retentionPolicy('b')`:                                 "1:15: must specify a database",
		`stream|from()|kapacitorLoopback().database('a')`:                                        "1:15: must specify a retention policy",
		"dbrp \"a\".\"b\"\nstream|from()|kapacitorLoopback().database('a').retentionPolicy('b')": "2:15: loop detected on dbrp: {a b}",
		`stream|from()|kapacitorLoopback().database('a').retentionPolicy('b')|log()`:             "1:15: kapacitorLoopback provides nothing: log cannot be chained on it",
	} {
		_, err := pipeline.Compile("t", "t.tick", src, pipeline.Options{})
		require.Error(t, err, src)
		assert.Contains(t, err.Error(), want, src)
	}
}
