package server_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tickrun/tickrun/internal/testsink"
	"github.com/tickrun/tickrun/server"
	"github.com/tickrun/tickrun/server/cluster"
	"github.com/tickrun/tickrun/server/config"
	"github.com/tickrun/tickrun/server/kafkain"
	"github.com/tickrun/tickrun/server/natsin"
)

// The kill-and-add test against a real NATS server, embedded, with
// JetStream on a temp dir, and the input's default settings (lease 3 s,
// checkpoints every second).
func TestKillAndAddNATS(t *testing.T) {
	runKillAndAdd(t, newNATSBroker(t))
}

// The kill-and-add test against franz-go's in-process Kafka cluster, the
// topic of 6 partitions, and the input's default settings (session
// timeout 3 s, checkpoints every second).
func TestKillAndAddKafka(t *testing.T) {
	runKillAndAdd(t, newKafkaBroker(t))
}

type natsBroker struct {
	url string
	js  jetstream.JetStream
}

func newNATSBroker(t *testing.T) *natsBroker {
	t.Helper()
	srv, err := natsserver.NewServer(&natsserver.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoLog: true, NoSigs: true})
	require.NoError(t, err)
	srv.Start()
	require.True(t, srv.ReadyForConnections(10*time.Second), "nats-server did not start")
	t.Cleanup(srv.Shutdown)
	nc, err := nats.Connect(srv.ClientURL())
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	return &natsBroker{url: srv.ClientURL(), js: js}
}

// publish sends each message to telegraf.<host>.cpu, as Telegraf's
// outputs.nats with subject = "telegraf.{{ .Tag "host" }}.{{ .Name }}".
func (b *natsBroker) publish(t *testing.T, msgs [][2]string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// The first instance creates the stream; wait for it.
	for {
		if _, err := b.js.Stream(ctx, natsin.DefaultStream); err == nil {
			break
		}
		require.NoError(t, ctx.Err(), "the stream was not created")
		time.Sleep(20 * time.Millisecond)
	}
	var acks []jetstream.PubAckFuture
	for _, m := range msgs {
		f, err := b.js.PublishAsync("telegraf."+m[0]+".cpu", []byte(m[1]))
		require.NoError(t, err)
		acks = append(acks, f)
	}
	for _, f := range acks {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			require.NoError(t, err)
		case <-ctx.Done():
			t.Fatal("publish not acknowledged")
		}
	}
}

func (b *natsBroker) input(t *testing.T, instance string) cluster.Input {
	in, err := natsin.New(natsin.Config{Enabled: true, URLs: []string{b.url}, Instance: instance},
		natsin.WithLog(quietLog(t, "nats "+instance)))
	require.NoError(t, err)
	return in
}

type kafkaBroker struct {
	c  *kfake.Cluster
	cl *kgo.Client
}

func newKafkaBroker(t *testing.T) *kafkaBroker {
	t.Helper()
	// kfake, as Kafka, refuses session timeouts under 6 s unless told.
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(6, "telegraf"), kfake.GroupMinSessionTimeout(time.Second))
	require.NoError(t, err)
	t.Cleanup(c.Close)
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.DefaultProduceTopic("telegraf"), kgo.ProducerLinger(0))
	require.NoError(t, err)
	t.Cleanup(cl.Close)
	return &kafkaBroker{c: c, cl: cl}
}

// publish produces each message keyed by its host, as Telegraf's
// outputs.kafka with routing_tag = "host".
func (b *kafkaBroker) publish(t *testing.T, msgs [][2]string) {
	t.Helper()
	recs := make([]*kgo.Record, len(msgs))
	for i, m := range msgs {
		recs[i] = &kgo.Record{Key: []byte(m[0]), Value: []byte(m[1])}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, b.cl.ProduceSync(ctx, recs...).FirstErr())
}

func (b *kafkaBroker) input(t *testing.T, instance string) cluster.Input {
	in, err := kafkain.New(kafkain.Config{Enabled: true, Brokers: b.c.ListenAddrs(), Instance: instance,
		Log: quietLog(t, "kafka "+instance)})
	require.NoError(t, err)
	return in
}

// quietLog logs an input's lines to the test log while the test runs.
func quietLog(t *testing.T, name string) func(string, ...any) {
	var done atomic.Bool
	t.Cleanup(func() { done.Store(true) })
	return func(format string, args ...any) {
		if !done.Load() && !strings.Contains(format, "DEBUG") {
			t.Logf(name+": "+format, args...)
		}
	}
}

// A server configured from kapacitor.conf text alone, as a user writes
// it: [nats-input] or [kafka-input] and a [load] directory. One instance
// reads the whole stream; its alerts are those of one in-process run.
func TestInputFromConfig(t *testing.T) {
	msgs := scaleMessages(6)
	for _, c := range []struct {
		name    string
		section func(t *testing.T) (string, scaleBroker)
	}{
		{"nats", func(t *testing.T) (string, scaleBroker) {
			b := newNATSBroker(t)
			return fmt.Sprintf("[nats-input]\n  enabled = true\n  urls = [%q]\n  partitions = 4\n", b.url), b
		}},
		{"kafka", func(t *testing.T) (string, scaleBroker) {
			b := newKafkaBroker(t)
			return fmt.Sprintf("[kafka-input]\n  enabled = true\n  brokers = [%q]\n  topic = \"telegraf\"\n", b.c.ListenAddrs()[0]), b
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			want := wantAlerts(t, msgs)
			require.Greater(t, len(want), 50)
			snk := testsink.Start(t, "", nil)
			dir := t.TempDir()
			load := filepath.Join(dir, "load")
			require.NoError(t, os.MkdirAll(filepath.Join(load, "tasks"), 0o755))
			for name, script := range map[string]string{"cpu_alert": scaleScript, "cpu_one": globalScript} {
				body := "dbrp \"telegraf\".\"autogen\"\n" + fmt.Sprintf(script, snk.Addr())
				require.NoError(t, os.WriteFile(filepath.Join(load, "tasks", name+".tick"), []byte(body), 0o644))
			}
			section, b := c.section(t)
			text := fmt.Sprintf("hostname = \"tickrun-test\"\ndata_dir = %q\n[http]\n  log-enabled = false\n[load]\n  enabled = true\n  dir = %q\n%s", dir, load, section)
			path := filepath.Join(dir, "kapacitor.conf")
			require.NoError(t, os.WriteFile(path, []byte(text), 0o644))
			cfg, err := config.Load(path)
			require.NoError(t, err)
			cfg.Resolve()
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			require.NoError(t, err)
			srv, err := server.New(server.Options{Config: cfg, Listener: ln, Logger: testLogger(t), DrainTimeout: 10 * time.Second})
			require.NoError(t, err)
			errc := make(chan error, 1)
			go func() { errc <- srv.Serve() }()
			b.publish(t, msgs)
			require.Eventually(t, func() bool { return len(snk.Received()) >= len(want) }, 30*time.Second, 20*time.Millisecond)
			require.NoError(t, srv.Shutdown(context.Background()))
			require.NoError(t, <-errc)
			got := snk.Close()
			assert.Equal(t, byAlertID(want), byAlertID(got))
		})
	}
}
