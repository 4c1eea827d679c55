package server_test

import (
	"context"
	"fmt"
	"hash/fnv"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickrun/tickrun/internal/testsink"
	"github.com/tickrun/tickrun/pipeline"
	"github.com/tickrun/tickrun/server"
	"github.com/tickrun/tickrun/server/cluster"
	"github.com/tickrun/tickrun/server/config"
)

// The kill-and-add test of issue 15: three instances share a stream of
// points of 100 hosts through a broker; one is killed and one added
// mid-stream; the alerts at the TCP endpoint are exactly those of one
// run over the same points, in order per alert id, none missing and none
// doubled. It runs against each broker: NATS JetStream (embedded), Kafka
// (kfake), and an in-memory one that isolates the engine's side.

// scaleScript keeps both kinds of state handed over: open windows and
// alert levels. Its details leave out the server's identity, which
// differs per instance.
const scaleScript = `
stream
    |from()
        .measurement('cpu')
        .groupBy('host')
    |window()
        .period(3s)
        .every(1s)
    |mean('usage_idle')
    |alert()
        .warn(lambda: "mean" < 40)
        .crit(lambda: "mean" < 15)
        .message('{{ .ID }} is {{ .Level }}: {{ index .Fields "mean" }}')
        .details('')
        .tcp('%s')
`

// globalScript runs on one instance (its alert has no groupBy), over
// every partition; its points are of one host, so that its alerts do not
// depend on how the partitions interleave (Kafka gives no order across
// partitions).
const globalScript = `
stream
    |from()
        .measurement('cpu')
        .where(lambda: "host" == 'host007')
    |alert()
        .id('global:{{ index .Tags "host" }}')
        .warn(lambda: "usage_idle" < 40)
        .crit(lambda: "usage_idle" < 15)
        .message('{{ .ID }} is {{ .Level }}')
        .details('')
        .tcp('%s')
`

const scaleHosts = 100

// scaleMessages returns, per second of data, one message per host (as
// Telegraf's outputs with one metric per message).
func scaleMessages(seconds int) [][2]string {
	var out [][2]string
	for s := 0; s < seconds; s++ {
		for h := 0; h < scaleHosts; h++ {
			host := fmt.Sprintf("host%03d", h)
			v := float64((s*11+h*17)%100) + 0.25
			out = append(out, [2]string{host, fmt.Sprintf("cpu,host=%s,cpu=cpu-total usage_idle=%g,usage_user=%di %d\n",
				host, v, h, int64(1700000000+s)*1e9)})
		}
	}
	return out
}

// scaleBroker is a broker the test runs: it takes messages keyed by
// host and makes the inputs of instances.
type scaleBroker interface {
	publish(t *testing.T, msgs [][2]string)
	input(t *testing.T, instance string) cluster.Input
}

// wantAlerts runs the script once, in process, over every message: what
// `tickrun run` sends.
func wantAlerts(t *testing.T, msgs [][2]string) []string {
	snk := testsink.Start(t, "", nil)
	var b strings.Builder
	for _, m := range msgs {
		b.WriteString(m[1])
	}
	for name, script := range map[string]string{"cpu_alert": scaleScript, "cpu_one": globalScript} {
		task, err := pipeline.Compile(name, name+".tick", fmt.Sprintf(script, snk.Addr()), pipeline.Options{})
		require.NoError(t, err)
		_, err = task.WriteLineProtocol(strings.NewReader(b.String()), "telegraf", "autogen", "", nil)
		require.NoError(t, err)
		require.NoError(t, task.Close(context.Background()))
	}
	return snk.Close()
}

type scaleInstance struct {
	srv   *server.Server
	input cluster.Input
	errc  chan error
	url   string
}

func startInstance(t *testing.T, b scaleBroker, name, sinkAddr string) *scaleInstance {
	t.Helper()
	cfg := config.Local()
	cfg.DataDir = t.TempDir()
	cfg.Hostname = "tickrun-test"
	cfg.HTTP.LogEnabled = false
	// Every instance runs the same tasks from the same [load] files, so
	// they run before the instance takes any partition.
	cfg.Load.Enabled = true
	cfg.Load.Dir = filepath.Join(cfg.DataDir, "load")
	require.NoError(t, os.MkdirAll(filepath.Join(cfg.Load.Dir, "tasks"), 0o755))
	for name, script := range map[string]string{"cpu_alert": scaleScript, "cpu_one": globalScript} {
		body := "dbrp \"telegraf\".\"autogen\"\n" + fmt.Sprintf(script, sinkAddr)
		require.NoError(t, os.WriteFile(filepath.Join(cfg.Load.Dir, "tasks", name+".tick"), []byte(body), 0o644))
	}
	cfg.Resolve()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	input := b.input(t, name)
	srv, err := server.New(server.Options{Config: cfg, Listener: ln, Logger: testLogger(t), DrainTimeout: 10 * time.Second,
		Inputs: []cluster.Input{input}})
	require.NoError(t, err)
	in := &scaleInstance{srv: srv, input: input, errc: make(chan error, 1), url: "http://" + ln.Addr().String()}
	go func() { in.errc <- srv.Serve() }()
	ts := &testServer{t: t, srv: srv, url: in.url, errc: in.errc}
	ts.down = true // stopped by the test
	status, _, resp := ts.do("GET", "/kapacitor/v1/tasks/cpu_alert", nil, nil)
	require.Equal(t, 200, status, resp)
	require.Contains(t, resp, `"executing": true`)
	return in
}

func (in *scaleInstance) stop(t *testing.T) {
	require.NoError(t, in.srv.Shutdown(context.Background()))
	require.NoError(t, <-in.errc)
}

// runKillAndAdd is the test, for one broker.
func runKillAndAdd(t *testing.T, b scaleBroker) {
	msgs := scaleMessages(30)
	want := wantAlerts(t, msgs)
	require.Greater(t, len(want), 500)
	require.Greater(t, len(byAlertID(want)[`{"id":"global:host007`]), 5, "the global task must alert")

	snk := testsink.Start(t, "", nil)
	a := startInstance(t, b, "a", snk.Addr())
	bb := startInstance(t, b, "b", snk.Addr())
	c := startInstance(t, b, "c", snk.Addr())
	require.Eventually(t, func() bool {
		return len(a.input.Owned()) > 0 && len(bb.input.Owned()) > 0 && len(c.input.Owned()) > 0
	}, 20*time.Second, 20*time.Millisecond, "the three instances did not share the partitions")
	third := len(msgs) / 3
	b.publish(t, msgs[:third])
	time.Sleep(1500 * time.Millisecond)
	// The victim is the owner of partition 0, so that the global task
	// moves too.
	all := []*scaleInstance{a, bb, c}
	var victim *scaleInstance
	var rest []*scaleInstance
	for _, in := range all {
		if slices.Contains(in.input.Owned(), cluster.Global) && victim == nil {
			victim = in
		} else {
			rest = append(rest, in)
		}
	}
	require.NotNil(t, victim, "no instance owns the global shard")
	owned := victim.input.Owned()
	// The kill lands mid-stream: the second third is published over 2 s
	// and the victim is killed while it holds alerts back, of points it
	// processed since its last checkpoint. Their loss,
	// and their redoing by the new owner, is what the test is about.
	published := make(chan struct{})
	go func() {
		defer close(published)
		part := msgs[third : 2*third]
		for i := 0; i < len(part); i += 100 {
			b.publish(t, part[i:min(i+100, len(part))])
			time.Sleep(200 * time.Millisecond)
		}
	}()
	time.Sleep(300 * time.Millisecond)
	vts := &testServer{t: t, url: victim.url}
	require.Eventually(t, func() bool { return scrape(t, vts)["tickrun_scaleout_events_held"] > 0 }, 10*time.Second, 5*time.Millisecond,
		"the victim never held an alert back")
	server.Kill(victim.srv) // crash: its work since its last checkpoint is redone by others
	killed := time.Now()
	discarded := scrape(t, vts)["tickrun_scaleout_events_discarded_total"]
	require.Greater(t, discarded, 0.0, "the victim held no alert when killed: the kill proves nothing")
	t.Logf("the victim held %v alerts back when killed", discarded)
	<-published
	require.Eventually(t, func() bool { return covered(owned, rest...) }, 20*time.Second, 20*time.Millisecond,
		"the killed instance's shards %v were not taken over", owned)
	t.Logf("the killed instance's shards %v owned again %v after the kill", owned, time.Since(killed).Round(10*time.Millisecond))
	d := startInstance(t, b, "d", snk.Addr())
	b.publish(t, msgs[2*third:])
	require.Eventually(t, func() bool { return len(d.input.Owned()) > 0 }, 20*time.Second, 20*time.Millisecond,
		"the added instance got no partition")

	deadline := time.Now().Add(40 * time.Second)
	for len(snk.Received()) < len(want) && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // any extra, doubled event would come now
	resp, err := http.Get(rest[0].url + "/metrics")
	require.NoError(t, err)
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Contains(t, string(metrics), "tickrun_scaleout_points_total ")
	assert.Contains(t, string(metrics), "tickrun_scaleout_shards_owned{shard=")
	for _, in := range []*scaleInstance{a, c, d, bb} {
		in.stop(t)
	}
	got := snk.Close()
	if len(got) != len(want) {
		gotSet := map[string]int{}
		for _, g := range got {
			gotSet[g]++
		}
		for _, w := range want {
			if gotSet[w] == 0 {
				t.Logf("missing: %.120s", w)
			}
			gotSet[w]--
		}
	}
	assert.Equal(t, byAlertID(want), byAlertID(got), "alerts per id, in order")
	assert.Equal(t, len(want), len(got), "alerts in all")
}

// covered reports whether the instances own every shard of shards.
func covered(shards []int32, ins ...*scaleInstance) bool {
	have := map[int32]bool{}
	for _, in := range ins {
		for _, s := range in.input.Owned() {
			have[s] = true
		}
	}
	for _, s := range shards {
		if !have[s] {
			return false
		}
	}
	return true
}

// byAlertID groups events (one per connection) by their id, in order.
func byAlertID(events []string) map[string][]string {
	out := map[string][]string{}
	for _, e := range events {
		id, _, _ := strings.Cut(e, `","message"`)
		out[id] = append(out[id], e)
	}
	return out
}

func TestKillAndAddMemory(t *testing.T) {
	runKillAndAdd(t, newMemBroker(6))
}

// memBroker is an in-memory broker: partitions of a log with one
// sequence (as a JetStream stream), owned by the live instances in turn;
// a killed instance's partitions move after a lease of 1 s.
type memBroker struct {
	mu       sync.Mutex
	parts    int
	log      []memMsg
	members  map[string]time.Time // instance → lease expiry
	cps      map[int32][]byte
	holder   map[int32]string // shard → instance holding it
	leaseTTL time.Duration
}

type memMsg struct {
	part int32
	seq  int64
	body []byte
}

func newMemBroker(parts int) *memBroker {
	return &memBroker{parts: parts, members: map[string]time.Time{}, cps: map[int32][]byte{}, holder: map[int32]string{}, leaseTTL: time.Second}
}

func (m *memBroker) publish(t *testing.T, msgs [][2]string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, msg := range msgs {
		h := fnv.New32a()
		h.Write([]byte(msg[0]))
		m.log = append(m.log, memMsg{part: int32(h.Sum32() % uint32(m.parts)), seq: int64(len(m.log) + 1), body: []byte(msg[1])})
	}
}

// assignment returns the partitions instance owns: round robin over the
// live members in name order.
func (m *memBroker) assignment(instance string) []int32 {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := time.Now()
	var live []string
	for name, exp := range m.members {
		if exp.After(now) {
			live = append(live, name)
		}
	}
	sort.Strings(live)
	var out []int32
	for p := 0; p < m.parts; p++ {
		if len(live) > 0 && live[p%len(live)] == instance {
			out = append(out, int32(p))
		}
	}
	return out
}

func (m *memBroker) input(t *testing.T, instance string) cluster.Input {
	return &memInput{b: m, name: instance, killed: make(chan struct{})}
}

type memInput struct {
	b      *memBroker
	name   string
	mu     sync.Mutex
	owned  map[int32]int64 // shard → next index into the log to look at
	killed chan struct{}
	once   sync.Once
}

func (in *memInput) Kill() { in.once.Do(func() { close(in.killed) }); in.mu.Lock(); in.mu.Unlock() }

func (in *memInput) Owned() []int32 {
	in.mu.Lock()
	defer in.mu.Unlock()
	var out []int32
	for s := range in.owned {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

func (in *memInput) dead() bool {
	select {
	case <-in.killed:
		return true
	default:
		return false
	}
}

func (in *memInput) Run(ctx context.Context, sink cluster.Sink) error {
	in.owned = map[int32]int64{}
	lastCut := time.Now()
	for {
		in.mu.Lock()
		if in.dead() {
			in.mu.Unlock()
			return nil
		}
		if ctx.Err() != nil {
			in.cut(sink, in.shards())
			in.b.mu.Lock()
			delete(in.b.members, in.name)
			in.b.mu.Unlock()
			in.mu.Unlock()
			return nil
		}
		in.b.mu.Lock()
		in.b.members[in.name] = time.Now().Add(in.b.leaseTTL)
		in.b.mu.Unlock()
		want := map[int32]bool{}
		for _, p := range in.b.assignment(in.name) {
			want[p] = true
			if want[0] {
				want[cluster.Global] = true
			}
		}
		var gone []int32
		for s := range in.owned {
			if !want[s] {
				gone = append(gone, s)
			}
		}
		if len(gone) > 0 {
			in.cut(sink, gone)
			sink.Drop(gone)
			in.b.mu.Lock()
			for _, s := range gone {
				delete(in.owned, s)
				if in.b.holder[s] == in.name {
					delete(in.b.holder, s)
				}
			}
			in.b.mu.Unlock()
		}
		for s := range want {
			if _, ok := in.owned[s]; ok {
				continue
			}
			// A shard is taken once its holder gave it up or its lease
			// expired.
			in.b.mu.Lock()
			if h, held := in.b.holder[s]; held && h != in.name && in.b.members[h].After(time.Now()) {
				in.b.mu.Unlock()
				continue
			}
			in.b.holder[s] = in.name
			raw := in.b.cps[s]
			in.b.mu.Unlock()
			var cp *cluster.Checkpoint
			if raw != nil {
				var err error
				cp, err = cluster.Decode(raw)
				if err != nil {
					in.mu.Unlock()
					return err
				}
			}
			if err := sink.Restore(s, cp); err != nil {
				in.mu.Unlock()
				return err
			}
			in.owned[s] = 0
		}
		in.b.mu.Lock()
		log := in.b.log
		in.b.mu.Unlock()
		for s, next := range in.owned {
			for ; next < int64(len(log)); next++ {
				m := log[next]
				if s == cluster.Global || m.part == s {
					sink.Write(s, m.part, m.seq, m.body)
				}
			}
			in.owned[s] = next
		}
		if time.Since(lastCut) > time.Second { // checkpoint-interval, as the inputs' default
			in.cut(sink, in.shards())
			lastCut = time.Now()
		}
		in.mu.Unlock()
		time.Sleep(10 * time.Millisecond)
	}
}

func (in *memInput) shards() []int32 {
	var out []int32
	for s := range in.owned {
		out = append(out, s)
	}
	return out
}

func (in *memInput) cut(sink cluster.Sink, shards []int32) {
	// Fencing: the lease is checked, the cut taken and stored in one hold
	// of the broker, so no other instance takes a shard in between; a
	// shard another instance took (this one stalled past its lease) is
	// dropped with its held events, and redone by its new owner.
	in.b.mu.Lock()
	var held, lost []int32
	for _, s := range shards {
		if h, ok := in.b.holder[s]; !ok || h == in.name {
			held = append(held, s)
		} else {
			lost = append(lost, s)
		}
	}
	if len(lost) > 0 {
		sink.Drop(lost)
		for _, s := range lost {
			delete(in.owned, s)
		}
	}
	cps, release := sink.Cut(held)
	for s, cp := range cps {
		raw, err := cluster.Encode(cp)
		if err == nil {
			in.b.cps[s] = raw
		}
	}
	in.b.mu.Unlock()
	release()
}

// Without [nats-input] or [kafka-input] the server runs alone, exactly
// as before: no mode, nothing held for a checkpoint (the seed page's
// events arrive while the server runs), no scale-out metrics.
func TestWithoutInputs(t *testing.T) {
	sink := newSink(t)
	ts := startServer(t, t.TempDir(), nil)
	replayRecorded(t, ts, "01_define_cpu_alert_dbrp_flag", sink.addr)
	replayRecorded(t, ts, "02_enable_cpu_alert", sink.addr)
	replayRecorded(t, ts, "03_define_topic_handler", sink.addr)
	input := readFile(t, "testdata/seed_topic_handler/input.lp")
	status, _, body := ts.do("POST", "/write?db=telegraf&rp=autogen", nil, []byte(input))
	require.Equal(t, http.StatusNoContent, status, body)
	want := readLines(t, "testdata/seed_topic_handler/expected.jsonl")
	require.Eventually(t, func() bool { return sink.count() == len(want) }, 10*time.Second, 10*time.Millisecond)
	for name := range scrape(t, ts) {
		assert.False(t, strings.HasPrefix(name, "tickrun_scaleout_"), name)
	}
	ts.stop()
	assert.Len(t, sink.close(), len(want))
}
