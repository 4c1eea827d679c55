package pipeline

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"
	"github.com/stretchr/testify/require"
	"github.com/tickrun/tickrun/internal/mqtttest"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// The receivers of the handler kinds that are not HTTP: a Sensu client
// socket, a Kafka cluster (franz-go's kfake, in process) and an SNMP trap
// listener (gosnmp's). Each records what it received, rendered as the
// golden files of testdata/handlers hold it. The MQTT broker is a real
// mosquitto (internal/mqtttest).

// sensuServer is a Sensu client socket on 127.0.0.1: it reads one JSON
// line per connection, records it and answers answer (Sensu says "ok").
type sensuServer struct {
	addr   string
	answer string
	mu     sync.Mutex
	got    []string
}

func startSensu(t *testing.T, answer string) *sensuServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s := &sensuServer{addr: ln.Addr().String(), answer: answer}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			// Accept order is send order: record before serving the next.
			line, err := bufio.NewReader(c).ReadString('\n')
			if err == nil {
				s.mu.Lock()
				s.got = append(s.got, line)
				s.mu.Unlock()
				io.WriteString(c, s.answer)
			}
			c.Close()
		}
	}()
	return s
}

func (s *sensuServer) received() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.got...)
}

// golden renders the messages: the bytes of each, a line of its own.
func (s *sensuServer) golden() string {
	var b strings.Builder
	for _, m := range s.received() {
		b.WriteString("SENSU\n" + m + "---\n")
	}
	return b.String()
}

// kafkaCluster is an in-process Kafka cluster with the topic "alerts" of
// three partitions.
type kafkaCluster struct {
	c *kfake.Cluster
}

func startKafka(t *testing.T, opts ...kfake.Opt) *kafkaCluster {
	t.Helper()
	c, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(1), kfake.SeedTopics(3, "alerts"), kfake.AllowAutoTopicCreation()}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return &kafkaCluster{c: c}
}

func (k *kafkaCluster) brokers() string { return `"` + strings.Join(k.c.ListenAddrs(), `", "`) + `"` }

// kafkaRecord is one record read back.
type kafkaRecord struct {
	Topic     string
	Partition int32
	Offset    int64
	Key       string
	Value     string
}

// records reads every record of the topics, ordered by topic, partition
// and offset.
func (k *kafkaCluster) records(t *testing.T, opts []kgo.Opt, topics ...string) []kafkaRecord {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(k.c.ListenAddrs()...), kgo.ConsumeTopics(topics...),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart())}, opts...)...)
	require.NoError(t, err)
	defer cl.Close()
	// The high watermarks say how many records there are to read.
	want := int64(0)
	for _, topic := range topics {
		for _, p := range k.c.PartitionInfos(topic) {
			want += p.HighWatermark
		}
	}
	var out []kafkaRecord
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for int64(len(out)) < want {
		fs := cl.PollFetches(ctx)
		require.NoError(t, ctx.Err(), "read %d of %d kafka records", len(out), want)
		fs.EachRecord(func(r *kgo.Record) {
			out = append(out, kafkaRecord{r.Topic, r.Partition, r.Offset, string(r.Key), string(r.Value)})
		})
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Topic != b.Topic {
			return a.Topic < b.Topic
		}
		if a.Partition != b.Partition {
			return a.Partition < b.Partition
		}
		return a.Offset < b.Offset
	})
	return out
}

func (k *kafkaCluster) golden(t *testing.T) string {
	var b strings.Builder
	for _, r := range k.records(t, nil, "alerts") {
		fmt.Fprintf(&b, "KAFKA %s partition=%d offset=%d key=%q\n%s---\n", r.Topic, r.Partition, r.Offset, r.Key, r.Value)
	}
	return b.String()
}

// trapListener is gosnmp's trap listener on a free 127.0.0.1 UDP port.
type trapListener struct {
	addr string
	mu   sync.Mutex
	got  []*gosnmp.SnmpPacket
	n    chan struct{}
}

func startTrapListener(t *testing.T) *trapListener {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := pc.LocalAddr().String()
	pc.Close()
	l := &trapListener{addr: addr, n: make(chan struct{}, 1000)}
	tl := gosnmp.NewTrapListener()
	tl.Params = gosnmp.Default
	tl.OnNewTrap = func(p *gosnmp.SnmpPacket, _ *net.UDPAddr) {
		l.mu.Lock()
		l.got = append(l.got, p)
		l.mu.Unlock()
		l.n <- struct{}{}
	}
	errc := make(chan error, 1)
	go func() { errc <- tl.Listen(addr) }()
	select {
	case <-tl.Listening():
	case err := <-errc:
		t.Fatalf("trap listener: %v", err)
	}
	t.Cleanup(tl.Close)
	return l
}

// wait returns the traps once n have arrived (UDP has no end of stream).
func (l *trapListener) wait(t *testing.T, n int) []*gosnmp.SnmpPacket {
	t.Helper()
	for i := 0; i < n; i++ {
		select {
		case <-l.n:
		case <-time.After(10 * time.Second):
			t.Fatalf("got %d SNMP traps, want %d", i, n)
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]*gosnmp.SnmpPacket(nil), l.got...)
}

// trapText renders a trap: version, community, PDU type and each
// variable's OID, type and value.
func trapText(p *gosnmp.SnmpPacket) string {
	var b strings.Builder
	fmt.Fprintf(&b, "SNMP %s community=%q %s\n", p.Version, p.Community, p.PDUType)
	for _, v := range p.Variables {
		val := fmt.Sprint(v.Value)
		if bs, ok := v.Value.([]byte); ok {
			val = strconv.Quote(string(bs))
		}
		fmt.Fprintf(&b, "%s %s %s\n", v.Name, v.Type, val)
	}
	return b.String() + "---\n"
}

// receivers are the non-HTTP receivers a golden case's kapacitor.conf
// names ($SENSU, $MQTT, $KAFKA, $SNMP), started only when it does.
type receivers struct {
	sensu *sensuServer
	mqtt  *mqtttest.Broker
	sub   *mqtttest.Subscriber
	kafka *kafkaCluster
	traps *trapListener
}

func goldenReceivers(t *testing.T, conf string) *receivers {
	r := &receivers{}
	if strings.Contains(conf, "$SENSU") {
		r.sensu = startSensu(t, "ok")
	}
	if strings.Contains(conf, "$MQTT") {
		r.mqtt = mqtttest.Start(t, mqtttest.Options{})
		r.sub = r.mqtt.Subscribe(t)
	}
	if strings.Contains(conf, "$KAFKA") {
		r.kafka = startKafka(t)
	}
	if strings.Contains(conf, "$SNMP") {
		r.traps = startTrapListener(t)
	}
	return r
}

func (r *receivers) sensuAddr() string {
	if r.sensu == nil {
		return ""
	}
	return r.sensu.addr
}

func (r *receivers) mqttURL() string {
	if r.mqtt == nil {
		return ""
	}
	return r.mqtt.URL
}

func (r *receivers) kafkaBrokers() string {
	if r.kafka == nil {
		return ""
	}
	return r.kafka.brokers()
}

func (r *receivers) snmpAddr() string {
	if r.traps == nil {
		return ""
	}
	return r.traps.addr
}

// golden renders what the receivers got, once the task is closed: the
// Sensu messages, the MQTT messages (then the retained ones, as a new
// subscriber sees them), the Kafka records and the SNMP traps (as many as
// the task's snmptrap handlers sent).
func (r *receivers) golden(t *testing.T, task *Task) string {
	var b strings.Builder
	if r.sensu != nil {
		b.WriteString(r.sensu.golden())
	}
	if r.mqtt != nil {
		for _, m := range r.sub.Flush(t) {
			b.WriteString(m.String())
		}
		b.WriteString("MQTT retained, as a new subscriber sees them:\n")
		for _, m := range r.mqtt.Subscribe(t).Flush(t) {
			b.WriteString(m.String())
		}
	}
	if r.kafka != nil {
		b.WriteString(r.kafka.golden(t))
	}
	if r.traps != nil {
		n := 0
		for _, st := range task.HandlerStats() {
			if strings.HasPrefix(st.Name, "snmptrap ") {
				n += int(st.Sent)
			}
		}
		for _, p := range r.traps.wait(t, n) {
			b.WriteString(trapText(p))
		}
	}
	return b.String()
}
