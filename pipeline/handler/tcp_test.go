package handler

import (
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tickrun/tickrun/internal/testsink"
	"github.com/tickrun/tickrun/pipeline/alert"
	"github.com/tickrun/tickrun/pipeline/deliver"
)

// fastDelivery are delivery options small enough for tests.
var fastDelivery = deliver.Options{
	DialTimeout: 200 * time.Millisecond, WriteTimeout: 200 * time.Millisecond,
	Attempts: 50, Backoff: 5 * time.Millisecond, MaxBackoff: 20 * time.Millisecond, RetryMaxTime: 5 * time.Second,
}

// testHandler creates a handler of a kind outside any script.
func testHandler(t *testing.T, kind string, opts map[string]any, d deliver.Options) (alert.Handler, *testsink.Buffer) {
	t.Helper()
	log := &testsink.Buffer{}
	h, err := New(kind, opts, &Env{Deliver: d, Log: func(format string, args ...any) { fmt.Fprintf(log, format+"\n", args...) }})
	require.NoError(t, err)
	return h, log
}

// deliverN delivers events e1..en with payloads {"id":"ei"}.
func deliverN(h alert.Handler, from, to int) {
	for i := from; i <= to; i++ {
		id := fmt.Sprintf("e%d", i)
		h.Deliver(&alert.Event{ID: id}, []byte(`{"id":"`+id+`"}`))
	}
}

func closeHandler(t *testing.T, h alert.Handler) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, h.Close(ctx))
}

func events(from, to int, suffix string) []string {
	var out []string
	for i := from; i <= to; i++ {
		out = append(out, fmt.Sprintf(`{"id":"e%d"}`, i)+suffix)
	}
	return out
}

// Issue 5: an endpoint refusing connections, then coming up, gets every
// event, in order.
func TestTCPRefusedThenUp_issue5(t *testing.T) {
	for _, persistent := range []bool{false, true} {
		t.Run(fmt.Sprintf("persistent=%v", persistent), func(t *testing.T) {
			addr := testsink.FreeAddr(t)
			h, log := testHandler(t, "tcp", map[string]any{"address": addr, "persistent": persistent}, fastDelivery)
			deliverN(h, 1, 5)
			time.Sleep(100 * time.Millisecond) // a few refused tries
			s := testsink.Start(t, addr, nil)
			deliverN(h, 6, 8)
			closeHandler(t, h)
			st := h.Stats()
			assert.Equal(t, int64(8), st.Sent)
			assert.Equal(t, int64(0), st.Dropped)
			assert.Greater(t, st.Retried, int64(0))
			if persistent {
				assert.Equal(t, []string{strings.Join(events(1, 8, "\n"), "")}, s.Received())
			} else {
				assert.Equal(t, events(1, 8, "\n\n"), s.Received())
			}
			assert.NotContains(t, log.String(), "dropped")
		})
	}
}

// Issue 5: an endpoint that accepts but never reads neither slows the
// pipeline nor swallows events: each is retried up to the bound, then
// dropped and counted; a full queue drops at once. With in-flight 1 the
// delivery goroutine holds one event at a time, so exactly e2..e5 fit in
// the queue; with more in flight, events leave the queue as they are
// dialled and which ones find it full depends on timing.
func TestTCPNeverReads_issue5(t *testing.T) {
	for _, inFlight := range []int{1, 32} {
		t.Run(fmt.Sprintf("in-flight=%d", inFlight), func(t *testing.T) {
			stop := make(chan struct{})
			defer close(stop)
			s := testsink.Start(t, "127.0.0.1:0", func(int, *net.TCPConn) []byte { <-stop; return []byte{} })
			d := fastDelivery
			d.Attempts, d.WriteTimeout, d.QueueSize = 3, 50*time.Millisecond, 4
			h, log := testHandler(t, "tcp", map[string]any{"address": s.Addr(), "in-flight": inFlight}, d)
			deliverN(h, 1, 1)
			<-s.Accepted() // the delivery goroutine is busy with e1
			start := time.Now()
			deliverN(h, 2, 10)
			assert.Less(t, time.Since(start), 50*time.Millisecond, "deliver must not wait for the endpoint")
			closeHandler(t, h)
			st := h.Stats()
			full := strings.Count(log.String(), "queue full (4 events)")
			assert.Equal(t, deliver.Stats{Name: "tcp " + s.Addr(), Sent: 0, Retried: int64(2 * (10 - full)), Dropped: 10}, st)
			for i := 1; i <= 10; i++ {
				attempts := fmt.Sprintf(`dropped event "e%d": 3 attempts failed`, i)
				queueFull := fmt.Sprintf(`dropped event "e%d": queue full (4 events)`, i)
				if inFlight == 1 {
					if i <= 5 {
						assert.Contains(t, log.String(), attempts)
					} else {
						assert.Contains(t, log.String(), queueFull)
					}
					continue
				}
				if !strings.Contains(log.String(), attempts) {
					assert.Contains(t, log.String(), queueFull)
				}
			}
		})
	}
}

// Issue 5: an endpoint that resets the connection in the middle of an
// event gets the event again on a new connection: before the events
// dialled since with in-flight 1, after them otherwise.
func TestTCPResetMidWrite_issue5(t *testing.T) {
	for _, inFlight := range []int{1, 32} {
		t.Run(fmt.Sprintf("in-flight=%d", inFlight), func(t *testing.T) {
			s := testsink.Start(t, "127.0.0.1:0", func(n int, c *net.TCPConn) []byte {
				if n != 0 {
					return nil
				}
				b := make([]byte, 4)
				io.ReadFull(c, b)
				c.SetLinger(0) // close with RST
				return []byte("RESET")
			})
			h, log := testHandler(t, "tcp", map[string]any{"address": s.Addr(), "in-flight": inFlight}, fastDelivery)
			deliverN(h, 1, 3)
			closeHandler(t, h)
			got := s.Received()
			if inFlight == 1 {
				assert.Equal(t, append([]string{"RESET"}, events(1, 3, "\n\n")...), got)
			} else {
				require.NotEmpty(t, got)
				assert.Equal(t, "RESET", got[0])
				assert.ElementsMatch(t, events(1, 3, "\n\n"), got[1:])
			}
			assert.Equal(t, deliver.Stats{Name: "tcp " + s.Addr(), Sent: 3, Retried: 1, Dropped: 0}, h.Stats())
			assert.NotContains(t, log.String(), "dropped")
		})
	}
}

// A persistent connection the peer closes is reopened.
func TestTCPPersistentReconnects(t *testing.T) {
	s := testsink.Start(t, "127.0.0.1:0", func(n int, c *net.TCPConn) []byte {
		if n != 0 {
			return nil
		}
		b := make([]byte, len(events(1, 1, "\n")[0]))
		io.ReadFull(c, b)
		return b // and close
	})
	h, _ := testHandler(t, "tcp", map[string]any{"address": s.Addr(), "persistent": true}, fastDelivery)
	deliverN(h, 1, 1)
	time.Sleep(50 * time.Millisecond)
	deliverN(h, 2, 3)
	closeHandler(t, h)
	assert.Equal(t, []string{events(1, 1, "\n")[0], strings.Join(events(2, 3, "\n"), "")}, s.Received())
	st := h.Stats()
	assert.Equal(t, int64(3), st.Sent)
	assert.Equal(t, int64(0), st.Dropped)
}

// The retry bound in time drops an event even when attempts are left.
func TestTCPRetryMaxTime(t *testing.T) {
	d := fastDelivery
	d.Attempts, d.RetryMaxTime = 1000, 100*time.Millisecond
	h, log := testHandler(t, "tcp", map[string]any{"address": testsink.FreeAddr(t)}, d)
	deliverN(h, 1, 1)
	closeHandler(t, h)
	st := h.Stats()
	assert.Equal(t, int64(0), st.Sent)
	assert.Equal(t, int64(1), st.Dropped)
	assert.Contains(t, log.String(), "(retry bound 100ms)")
}

// At the drain timeout, what is still queued is dropped and counted.
func TestDrainTimeoutDrops(t *testing.T) {
	d := fastDelivery
	d.Attempts = 1000
	h, log := testHandler(t, "tcp", map[string]any{"address": testsink.FreeAddr(t)}, d)
	deliverN(h, 1, 5)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := h.Close(ctx)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Contains(t, err.Error(), "5 events not delivered before the drain timeout")
	st := h.Stats()
	assert.Equal(t, int64(0), st.Sent)
	assert.Equal(t, int64(5), st.Dropped)
	assert.Contains(t, log.String(), `dropped event "e5": not delivered before the drain timeout`)
}

// Overlapped per-event deliveries keep the order: connections are dialled
// one at a time, so the endpoint accepts them in the order of the events.
func TestTCPInFlightKeepsOrder(t *testing.T) {
	s := testsink.Start(t, "127.0.0.1:0", nil)
	d := fastDelivery
	d.QueueSize = 1000
	h, log := testHandler(t, "tcp", map[string]any{"address": s.Addr()}, d)
	deliverN(h, 1, 500)
	closeHandler(t, h)
	assert.Equal(t, events(1, 500, "\n\n"), s.Received())
	assert.Equal(t, int64(500), h.Stats().Sent)
	assert.NotContains(t, log.String(), "dropped")
}

// Issue 16: with the default options, an endpoint that is down for 2 s
// gets every event once it is up, in order: an event is retried until the
// retry time bound (30 s), the attempt count is only an optional cap.
func TestTCPDownTwoSecondsDefaults_issue16(t *testing.T) {
	addr := testsink.FreeAddr(t)
	h, log := testHandler(t, "tcp", map[string]any{"address": addr}, deliver.Options{})
	deliverN(h, 1, 10)
	time.Sleep(2 * time.Second)
	s := testsink.Start(t, addr, nil)
	closeHandler(t, h)
	assert.Equal(t, events(1, 10, "\n\n"), s.Close())
	assert.Equal(t, int64(10), h.Stats().Sent, "%+v\n%s", h.Stats(), log)
	assert.Zero(t, h.Stats().Dropped)
}
