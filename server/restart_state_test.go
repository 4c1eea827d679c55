package server_test

// The engine restores an alert's level and episode start when its group
// reappears after a restart (pipeline.Options.AlertState,
// alert.Registry.SetRestore; see engine.go).

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRestartKeepsAlertLevels: an alert that was CRITICAL when the
// server stopped sends, at its first OK point after the restart, its
// recovery with previousLevel CRITICAL and the duration counted from the
// start of the episode before the restart, as kapacitord does, and not a
// fresh CRITICAL.
func TestRestartKeepsAlertLevels(t *testing.T) {
	dir := t.TempDir()
	sink := newSink(t)
	ts := startServer(t, dir, nil)
	defineSeedTask(t, ts, "cpu_alert")
	replayRecorded(t, ts, "03_define_topic_handler", sink.addr)
	status, _, body := ts.do("POST", "/write?db=telegraf&rp=autogen", nil,
		[]byte("cpu,host=serverA,cpu=cpu-total usage_idle=5 1700000000000000000\n"))
	require.Equal(t, http.StatusNoContent, status, body)
	ts.stop()

	ts = startServer(t, dir, nil)
	status, _, body = ts.do("POST", "/write?db=telegraf&rp=autogen", nil,
		[]byte("cpu,host=serverA,cpu=cpu-total usage_idle=3 1700000010000000000\ncpu,host=serverA,cpu=cpu-total usage_idle=80 1700000030000000000\n"))
	require.Equal(t, http.StatusNoContent, status, body)
	ts.stop()
	got := sink.close()
	require.Len(t, got, 3, "%q", got) // CRITICAL; after the restart CRITICAL again (not new), then OK
	var events []struct {
		Level         string        `json:"level"`
		PreviousLevel string        `json:"previousLevel"`
		Duration      time.Duration `json:"duration"`
	}
	for _, m := range got {
		var e struct {
			Level         string        `json:"level"`
			PreviousLevel string        `json:"previousLevel"`
			Duration      time.Duration `json:"duration"`
		}
		require.NoError(t, json.Unmarshal([]byte(m), &e))
		events = append(events, e)
	}
	assert.Equal(t, "CRITICAL", events[1].Level)
	assert.Equal(t, "CRITICAL", events[1].PreviousLevel, "the level came back from the store")
	assert.Equal(t, 10*time.Second, events[1].Duration)
	assert.Equal(t, "OK", events[2].Level)
	assert.Equal(t, "CRITICAL", events[2].PreviousLevel)
	assert.Equal(t, 30*time.Second, events[2].Duration, "counted from the episode's start before the restart")
}
