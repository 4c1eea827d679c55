package handler

import (
	"context"
	"hash/crc32"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tickrun/tickrun/pipeline/alert"
	"github.com/tickrun/tickrun/pipeline/deliver"
	"github.com/tickrun/tickrun/pipeline/kapconf"
)

// The hashes the Kafka partitioners use, against published vectors:
// Kafka's Java client tests murmur2 with these (Utils.murmur2, as signed
// ints), MurmurHash3 x86_32 with seed 0 has these well-known values.
func TestKafkaHashes(t *testing.T) {
	for in, want := range map[string]int32{
		"21": -973932308, "foobar": -790332482, "a-little-bit-long-string": -985981536,
		"a-little-bit-longer-string": -1486304829, "lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971, "abc": 479470107,
	} {
		assert.Equal(t, want, int32(murmur2Sum32([]byte(in))), in)
	}
	for in, want := range map[string]uint32{
		"": 0, "hello": 0x248bfa47, "Hello, world!": 0xc0363e43, "The quick brown fox jumps over the lazy dog": 0x2e4ff723,
	} {
		assert.Equal(t, want, murmur3Sum32([]byte(in)), in)
	}
}

// Each partitionAlgorithm maps a key to the partition Kapacitor's
// partitioners would.
func TestKafkaPartitioners(t *testing.T) {
	key := []byte("cpu/web1")
	assert.Equal(t, int(crc32.ChecksumIEEE(key)%7), kafkaPartitioners["crc32"](key, 7))
	assert.Equal(t, kafkaPartitioners["crc32"](key, 7), kafkaPartitioners[""](key, 7))
	assert.Equal(t, int((murmur2Sum32(key)&0x7fffffff)%7), kafkaPartitioners["murmur2"](key, 7))
	// sarama's hash partitioners: the signed remainder, negated.
	for _, sum := range []uint32{0x80000001, 5, 0xffffffff} {
		p := int32(sum) % 7
		if p < 0 {
			p = -p
		}
		assert.Equal(t, int(p), saramaHashPartition(sum, 7))
	}
	assert.Equal(t, saramaHashPartition(murmur3Sum32(key), 7), kafkaPartitioners["murmur3"](key, 7))
	// FNV-1a 32 of "cpu/web1", computed by hand from the FNV spec.
	h := uint32(2166136261)
	for _, c := range key {
		h = (h ^ uint32(c)) * 16777619
	}
	assert.Equal(t, saramaHashPartition(h, 7), kafkaPartitioners["fnv-1a"](key, 7))
	// An empty key goes anywhere with crc32, but always to the same
	// partition with murmur2.
	for i := 0; i < 20; i++ {
		p := kafkaPartitioners["crc32"](nil, 3)
		assert.True(t, p >= 0 && p < 3)
		assert.Equal(t, int((murmur2Sum32(nil)&0x7fffffff)%3), kafkaPartitioners["murmur2"](nil, 3))
	}
}

// Handler files of the new kinds: every error names the file, the line
// and the option.
func TestHandlerFileErrors_issue14(t *testing.T) {
	for _, tc := range []struct{ file, want string }{
		{"id: a\ntopic: t\nkind: mqtt\noptions:\n  topic: x\n  qos: 3\n", "h.yaml:6: options.qos: want 0, 1 or 2, got 3"},
		{"id: a\ntopic: t\nkind: mqtt\noptions:\n  topic: '{{ .Feild }}'\n", "h.yaml:5: options.topic: can't evaluate field Feild (at 1:3)"},
		{"id: a\ntopic: t\nkind: mqtt\noptions:\n  qos: 1\n", "h.yaml:4: options: topic: missing"},
		{"id: a\ntopic: t\nkind: mqtt\noptions:\n  topic: x\n  retained: yes please\n", "h.yaml:6: options.retained: want true or false, got yes please"},
		{"id: a\ntopic: t\nkind: kafka\noptions:\n  topic: x\n  partitionAlgorithm: md5\n", `h.yaml:6: options.partitionAlgorithm: want crc32, murmur2, murmur3 or fnv-1a, got "md5"`},
		{"id: a\ntopic: t\nkind: kafka\noptions:\n  topic: x\n  template: '{{ .ID '\n", "h.yaml:6: options.template: template:1: unclosed action"},
		{"id: a\ntopic: t\nkind: snmptrap\noptions:\n  trap-oid: 1.3.6\n  data-list:\n    - {oid: 1.3.6.1, type: x, value: a}\n", "h.yaml:6: options.data-list: item 1: type x (hexadecimal string) is not supported"},
		{"id: a\ntopic: t\nkind: snmptrap\noptions:\n  trap-oid: 1.3.6\n  data-list:\n    - {oid: 1.3.6.1, typ: s, value: a}\n", "h.yaml:6: options.data-list: item 1: invalid key typ"},
		{"id: a\ntopic: t\nkind: snmptrap\noptions:\n  trap-oid: one.two\n", `h.yaml:5: options.trap-oid: invalid OID "one.two"`},
		{"id: a\ntopic: t\nkind: alerta\noptions:\n  rename-severities: {critical: major}\n", `h.yaml:5: options.rename-severities: unknown severity "critical": want ok, info, warn or crit`},
		{"id: a\ntopic: t\nkind: alerta\noptions:\n  attributes: {a: [1, 2]}\n", "h.yaml:5: options.attributes: want a map of strings, numbers or booleans, a is [1 2]"},
		{"id: a\ntopic: t\nkind: sensu\noptions:\n  handlers: slack\n", "h.yaml:5: options.handlers: want a list of strings, got slack"},
		{"id: a\ntopic: t\nkind: zenoss\noptions:\n  evclasskey: x\n", "h.yaml:4: options: zenoss handler has invalid keys: evclasskey"},
		{"id: a\ntopic: t\nkind: servicenow\noptions:\n  node: '{{ .Level }}'\n", "h.yaml:5: options.node: can't evaluate field Level"},
		{"id: a\ntopic: t\nkind: aggregate\noptions:\n  topic: agg\n", "h.yaml:4: options: interval: missing"},
		{"id: a\ntopic: t\nkind: aggregate\noptions:\n  topic: agg\n  interval: 1m\n  message: '{{ .Count }} {{ .Cuont }}'\n", "h.yaml:7: options.message: can't evaluate field Cuont"},
		{"id: a\ntopic: t\nkind: publish\noptions:\n  topics: []\n", "h.yaml:5: options.topics: give at least one topic"},
		{"id: a\ntopic: t\nkind: publish\noptions:\n  topics: [a/b]\n", `h.yaml:5: options.topics: invalid topic "a/b"`},
	} {
		_, err := ParseFile("h.yaml", []byte(tc.file))
		require.Error(t, err, tc.file)
		assert.Contains(t, err.Error(), tc.want, tc.file)
	}
	s, err := ParseFile("h.yaml", []byte("id: a\ntopic: t\nkind: snmptrap\noptions:\n  trap-oid: 1.3.6.1.4.1.1\n  data-list:\n    - oid: 1.3.6.1.4.1.1.6\n      type: i\n      value: 50\n"))
	require.NoError(t, err)
	recs, err := opts(s.Options).records("data-list", []string{"oid", "type", "value"})
	require.NoError(t, err)
	assert.Equal(t, []map[string]string{{"oid": "1.3.6.1.4.1.1.6", "type": "i", "value": "50"}}, recs)
}

// Topic kinds without a registry are errors; with one, publish hands
// events on to its topics from its queue and counts them.
func TestPublishKind(t *testing.T) {
	_, err := New("publish", map[string]any{"topics": []any{"b"}}, &Env{})
	assert.ErrorContains(t, err, "publish handler needs the topics of a task or server")

	r := alert.NewRegistry(nil)
	var got []string
	sink := &recorder{fn: func(ev *alert.Event, payload []byte) { got = append(got, ev.ID+" "+string(payload)) }}
	require.NoError(t, r.Subscribe("b", "rec", nil, sink))
	h, err := New("publish", map[string]any{"topics": []any{"b"}}, &Env{Alerts: r, Deliver: fastDelivery})
	require.NoError(t, err)
	require.NoError(t, r.Subscribe("a", "pub", nil, h))
	for i, l := range []alert.Level{alert.Critical, alert.Critical, alert.OK} {
		r.Publish(&alert.Event{ID: "x", Level: l, Time: int64(i+1) * 1e9, Recoverable: true}, r.Topic("a"))
	}
	require.NoError(t, h.Close(context.Background()))
	assert.Equal(t, deliver.Stats{Name: "publish topics b", Sent: 3}, h.Stats())
	// Topic b keeps its own previous levels.
	require.Len(t, got, 3)
	assert.Contains(t, got[0], `"level":"CRITICAL","data":{"series":[{}]},"previousLevel":"OK"`)
	assert.Contains(t, got[1], `"previousLevel":"CRITICAL"`)
	assert.Contains(t, got[2], `"level":"OK","data":{"series":[{}]},"previousLevel":"CRITICAL"`)
}

// recorder is an alert.Handler that records synchronously.
type recorder struct {
	fn   func(ev *alert.Event, payload []byte)
	sent int64
}

func (r *recorder) Deliver(ev *alert.Event, payload []byte) { r.sent++; r.fn(ev, payload) }
func (r *recorder) Close(context.Context) error             { return nil }
func (r *recorder) Stats() deliver.Stats                    { return deliver.Stats{Name: "recorder", Sent: r.sent} }

// Two publish handlers publishing into each other's topics loop, as in
// Kapacitor, but neither deadlocks: closing ends the loop.
func TestPublishLoopDoesNotDeadlock(t *testing.T) {
	r := alert.NewRegistry(nil)
	d := fastDelivery
	d.QueueSize = 8
	ab, err := New("publish", map[string]any{"topics": []any{"b"}}, &Env{Alerts: r, Deliver: d})
	require.NoError(t, err)
	ba, err := New("publish", map[string]any{"topics": []any{"a"}}, &Env{Alerts: r, Deliver: d})
	require.NoError(t, err)
	require.NoError(t, r.Subscribe("a", "ab", nil, ab))
	require.NoError(t, r.Subscribe("b", "ba", nil, ba))
	r.Publish(&alert.Event{ID: "x", Level: alert.Critical}, r.Topic("a"))
	for deadline := time.Now().Add(10 * time.Second); ab.Stats().Sent < 3; time.Sleep(time.Millisecond) {
		require.True(t, time.Now().Before(deadline), "the event does not go round: %+v", ab.Stats())
	}
	done := make(chan struct{})
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		ab.Close(ctx)
		ba.Close(ctx)
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("publish handlers deadlocked")
	}

}

// Aggregate sums up what arrives per interval: with a long interval,
// everything is published once, at close.
func TestAggregateAtClose(t *testing.T) {
	r := alert.NewRegistry(nil)
	var got []string
	require.NoError(t, r.Subscribe("agg", "rec", nil, &recorder{fn: func(ev *alert.Event, payload []byte) {
		got = append(got, ev.Details+"|"+string(payload))
	}}))
	h, err := New("aggregate", map[string]any{"id": "cpu-agg", "topic": "agg", "interval": "1h"}, &Env{Alerts: r, Deliver: fastDelivery})
	require.NoError(t, err)
	h.Deliver(&alert.Event{ID: "a", Message: "a is WARNING", Level: alert.Warning, Time: 3e9, Duration: 2e9}, nil)
	h.Deliver(&alert.Event{ID: "b", Message: "b is CRITICAL", Level: alert.Critical, Time: 2e9, Duration: 5e9}, nil)
	h.Deliver(&alert.Event{ID: "a", Message: "a is OK", Level: alert.OK, Time: 4e9}, nil)
	require.NoError(t, h.Close(context.Background()))
	assert.Equal(t, []string{"a is WARNING\nb is CRITICAL\na is OK|" +
		`{"id":"cpu-agg","message":"Received 3 events in the last 1h0m0s.","details":"a is WARNING\nb is CRITICAL\na is OK","time":"1970-01-01T00:00:04Z","duration":5000000000,"level":"CRITICAL","data":{"series":[{},{},{}]},"previousLevel":"OK","recoverable":false}`}, got)
	assert.Equal(t, int64(3), h.Stats().Sent)
}

// With a short interval the ticker publishes on the wall clock: however
// the events fall into intervals, every one is counted once.
func TestAggregateTicks(t *testing.T) {
	r := alert.NewRegistry(nil)
	total := 0
	var mu = make(chan struct{}, 1)
	mu <- struct{}{}
	require.NoError(t, r.Subscribe("agg", "rec", nil, &recorder{fn: func(ev *alert.Event, _ []byte) {
		<-mu
		total += len(ev.Extra) + 1
		mu <- struct{}{}
	}}))
	h, err := New("aggregate", map[string]any{"topic": "agg", "interval": "5ms", "message": "{{ .Count }}"}, &Env{Alerts: r, Deliver: fastDelivery})
	require.NoError(t, err)
	for i := 0; i < 50; i++ {
		h.Deliver(&alert.Event{ID: "a", Level: alert.Critical}, nil)
		time.Sleep(time.Millisecond)
	}
	require.NoError(t, h.Close(context.Background()))
	<-mu
	assert.Equal(t, 50, total)
}

// Without a section the lenient config (tickrun check) accepts every
// kind; a strict one names the section.
func TestKindsNeedTheirSection_issue14(t *testing.T) {
	strict := &kapconf.Config{File: "k.conf"}
	lenient := &kapconf.Config{Lenient: true}
	for kind, o := range map[string]map[string]any{
		"alerta": {}, "bigpanda": {}, "hipchat": {}, "kafka": {"topic": "t"}, "mqtt": {"topic": "t"}, "opsgenie": {},
		"pagerduty": {}, "pushover": {}, "sensu": {}, "servicenow": {}, "snmptrap": {"trap-oid": "1.2"}, "talk": {}, "zenoss": {},
	} {
		_, err := New(kind, o, &Env{Config: strict})
		assert.ErrorContains(t, err, "k.conf has no ["+kind+"] section", kind)
		h, err := New(kind, o, &Env{Config: lenient, Deliver: deliver.Options{Capture: func(string, string, []byte) {}}})
		require.NoError(t, err, kind)
		h.Close(context.Background())
	}
}
