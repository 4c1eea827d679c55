package server_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDeadmanSilentStream: in a server, deadman runs on the wall clock
// as in kapacitord. A task whose stream never receives a point sends its
// CRITICAL to a real TCP listener once two intervals have passed (the
// first report only sets the baseline); no write is needed.
func TestDeadmanSilentStream(t *testing.T) {
	sink := newSink(t)
	ts := startServer(t, t.TempDir(), nil)
	script := "dbrp \"telegraf\".\"autogen\"\nstream\n    |from()\n        .measurement('cpu')\n    |deadman(0.0, 200ms)\n        .tcp('" + sink.addr + "')\n"
	b, _ := json.Marshal(map[string]any{"id": "dead", "script": script, "status": "enabled"})
	status, _, body := ts.do("POST", "/kapacitor/v1/tasks", nil, b)
	require.Equal(t, http.StatusOK, status, body)
	deadline := time.Now().Add(20 * time.Second)
	for sink.count() == 0 {
		require.True(t, time.Now().Before(deadline), "no deadman event reached the listener")
		time.Sleep(20 * time.Millisecond)
	}
	ts.stop()
	got := sink.close()
	require.NotEmpty(t, got)
	var ev struct {
		ID, Message, Level string
	}
	require.NoError(t, json.Unmarshal([]byte(strings.TrimSpace(got[0])), &ev), got[0])
	assert.Equal(t, "CRITICAL", ev.Level)
	assert.Equal(t, "nil:from1 for task 'dead'", ev.ID)
	assert.Equal(t, "nil:from1 for task 'dead' is dead: 0.000 points/200ms.", ev.Message)
}

// TestNowIsWallClock: now() in a lambda reads the wall clock, whatever
// the time of the point (a point of 2023 here).
func TestNowIsWallClock(t *testing.T) {
	ts := startServer(t, t.TempDir(), nil)
	status, _, body := ts.do("POST", "/kapacitor/v1/tasks", nil, []byte(`{"id":"n","script":"stream|from().measurement('cpu')|eval(lambda: unixNano(now())).as('now')|httpOut('o')","dbrps":[{"db":"telegraf","rp":"autogen"}],"status":"enabled"}`))
	require.Equal(t, http.StatusOK, status, body)
	before := time.Now().UnixNano()
	status, _, body = ts.do("POST", "/write?db=telegraf&rp=autogen", nil, []byte("cpu v=1 1700000000000000000\n"))
	require.Equal(t, http.StatusNoContent, status, body)
	after := time.Now().UnixNano()
	_, _, body = ts.do("GET", "/kapacitor/v1/tasks/n/o", nil, nil)
	var out struct {
		Series []struct {
			Values [][]any `json:"values"`
		} `json:"series"`
	}
	dec := json.NewDecoder(strings.NewReader(body))
	dec.UseNumber()
	require.NoError(t, dec.Decode(&out), body)
	require.Len(t, out.Series, 1, body)
	n, err := out.Series[0].Values[0][1].(json.Number).Int64()
	require.NoError(t, err)
	assert.GreaterOrEqual(t, n, before)
	assert.LessOrEqual(t, n, after)
}
