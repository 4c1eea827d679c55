package handler

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"hash/fnv"
	"math/rand/v2"
	"strings"
	"sync"
	"text/template"
	"time"

	"github.com/tickrun/tickrun/pipeline/alert"
	"github.com/tickrun/tickrun/pipeline/deliver"
	"github.com/tickrun/tickrun/pipeline/kapconf"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/oauth"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// The kafka kind writes each event to a Kafka topic as Kapacitor's kafka
// service does: the record's key the event's id, its value the event's
// JSON and a newline, or the template option executed over the event (as
// Kapacitor's alert.Data: .ID .Message .Details .Time .Duration .Level
// .Data .PreviousLevel .Recoverable). The partition follows from the key
// with partitionAlgorithm: crc32 (the default; an empty key goes to a
// random partition), murmur2 (Java's), murmur3, or fnv-1a, which is also
// what disablePartitionById gives, as Kapacitor's sarama producer then
// falls back to its FNV-1a hash partitioner.
//
// The [[kafka]] cluster named by cluster (else the default one) gives the
// brokers, the client id (its id), timeouts (timeout bounds dials, produce
// requests and each record's delivery, the last at least 1s, franz-go's
// minimum), batching (records wait up to
// batch-timeout to be sent together; batch-size waiting records are sent
// at once), TLS (use-ssl with ssl-ca, ssl-cert, ssl-key,
// insecure-skip-verify) and SASL (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512,
// OAUTHBEARER with a static sasl-access-token and sasl_extensions). The
// producer asks the leader's acknowledgment only, without compression, as
// sarama's defaults do. A record counts as sent when the broker
// acknowledged it; up to in-flight records are outstanding at once.
func init() {
	register(&Kind{
		Name: "kafka", Doc: "writes each event's JSON (or a template of it) to a Kafka topic, keyed by the id",
		Property: &Property{Name: "kafka", Optional: true},
		Options: []Option{
			{Name: "cluster", Type: String, Doc: "the [[kafka]] cluster of kapacitor.conf, by id", Default: "the default cluster", Prop: "cluster"},
			{Name: "topic", Type: String, Doc: "the Kafka topic", Prop: "kafkaTopic"},
			{Name: "template", Type: String, Doc: "the record's value, a template over the event instead of its JSON", Prop: "template"},
			{Name: "disablePartitionById", Type: Bool, Doc: "partition with FNV-1a instead of partitionAlgorithm", Default: "false", Prop: "disablePartitionById"},
			{Name: "partitionAlgorithm", Type: String, Doc: "crc32, murmur2, murmur3 or fnv-1a", Default: "crc32", Prop: "partitionAlgorithm", Also: []string{"partitionHashAlgorithm"}},
			{Name: "in-flight", Type: Int, Doc: "records sent and awaiting the broker's acknowledgment at once", Default: "32 (--in-flight)"},
		},
		Section: "kafka",
		Config: kapconf.Schema{Keys: map[string]kapconf.Kind{"enabled": kapconf.Bool, "id": kapconf.String, "brokers": kapconf.Strings,
			"timeout": kapconf.String, "batch-size": kapconf.Int, "batch-timeout": kapconf.String,
			"use-ssl": kapconf.Bool, "ssl-ca": kapconf.String, "ssl-cert": kapconf.String, "ssl-key": kapconf.String, "insecure-skip-verify": kapconf.Bool,
			"sasl-username": kapconf.String, "sasl-password": kapconf.Secret, "sasl_extensions": kapconf.Map, "sasl-mechanism": kapconf.String,
			"sasl-version": kapconf.Int, "sasl-gssapi-service-name": kapconf.String, "sasl-gssapi-auth-type": kapconf.String,
			"sasl-gssapi-disable-pafxfast": kapconf.Bool, "sasl-gssapi-kerberos-config-path": kapconf.String, "sasl-gssapi-key-tab-path": kapconf.String,
			"sasl-gssapi-realm": kapconf.String, "sasl-oauth-service": kapconf.String, "sasl-oauth-client-id": kapconf.String,
			"sasl-oauth-client-secret": kapconf.Secret, "sasl-oauth-token-url": kapconf.String, "sasl-oauth-scopes": kapconf.Strings,
			"sasl-oauth-parameters": kapconf.Map, "sasl-oauth-token-expiry-margin": kapconf.String, "sasl-access-token": kapconf.Secret,
			"sasl-oauth-tenant-id": kapconf.String},
			Defaults: map[string]any{"id": "default", "timeout": "10s", "batch-size": int64(100), "batch-timeout": "1s"},
			Multi:    true, NameKey: "id", Lenient: map[string]any{"brokers": []string{"127.0.0.1:9092"}}},
		check: func(o opts) error {
			if _, err := o.string("topic", true); err != nil {
				return fmt.Errorf("%v (.kafkaTopic() in scripts)", err)
			}
			if _, err := kafkaTemplate(o); err != nil {
				return err
			}
			alg, _ := o.string("partitionAlgorithm", false)
			if _, ok := kafkaPartitioners[alg]; !ok {
				return errorf("partitionAlgorithm", "want crc32, murmur2, murmur3 or fnv-1a, got %q", alg)
			}
			if n, err := o.int("in-flight", 1); err != nil || n < 1 {
				return errorf("in-flight", "want a positive integer, got %v", o["in-flight"])
			}
			return nil
		},
		open: openKafka,
	})
}

// kafkaData is what the template option sees: Kapacitor's alert.Data.
type kafkaData struct {
	ID            string
	Message       string
	Details       string
	Time          time.Time
	Duration      time.Duration
	Level         alert.Level
	Data          kafkaResult
	PreviousLevel alert.Level
	Recoverable   bool
}

// kafkaResult is the event's data for templates: its series.
type kafkaResult struct {
	Series []kafkaRow
}

// kafkaRow is one series, as Kapacitor's models.Row.
type kafkaRow struct {
	Name    string
	Tags    map[string]string
	Columns []string
	Values  [][]interface{}
}

func kafkaTemplate(o opts) (*template.Template, error) {
	s, _ := o.string("template", false)
	if s == "" {
		return nil, nil
	}
	t, err := parseOptTemplate("template", s, &kafkaData{})
	if err != nil {
		return nil, err
	}
	return t.t, nil
}

func newKafkaData(ev *alert.Event) *kafkaData {
	d := &kafkaData{ID: ev.ID, Message: ev.Message, Details: ev.Details, Time: time.Unix(0, ev.Time).UTC(), Duration: ev.Duration,
		Level: ev.Level, PreviousLevel: ev.PreviousLevel, Recoverable: ev.Recoverable}
	for i := 0; i <= len(ev.Extra); i++ {
		s := &ev.Data
		if i > 0 {
			s = &ev.Extra[i-1]
		}
		r := kafkaRow{Name: s.Name, Tags: map[string]string{}, Columns: s.Columns}
		for _, t := range s.Tags {
			r.Tags[t.Key] = t.Value
		}
		for _, row := range s.Values {
			vals := make([]interface{}, len(row))
			for i, v := range row {
				vals[i] = v.Interface()
			}
			r.Values = append(r.Values, vals)
		}
		d.Data.Series = append(d.Data.Series, r)
	}
	return d
}

// kafkaPartitioners choose a record's partition from its key, as
// Kapacitor does for each partitionAlgorithm ("" is crc32).
var kafkaPartitioners = map[string]func(key []byte, n int) int{
	"": crc32Partition, "crc32": crc32Partition, "murmur2": murmur2Partition,
	"murmur3": func(key []byte, n int) int { return saramaHashPartition(murmur3Sum32(key), n) },
	"fnv-1a":  fnvPartition,
}

// crc32Partition is Kapacitor's crc32 partitioner (librdkafka's): an
// empty key goes to a random partition.
func crc32Partition(key []byte, n int) int {
	if len(key) == 0 {
		return rand.IntN(n)
	}
	return int((crc32.ChecksumIEEE(key) % uint32(n)) & 0x7fffffff)
}

// murmur2Partition is Java's default partitioner.
func murmur2Partition(key []byte, n int) int {
	return int((murmur2Sum32(key) & 0x7fffffff) % uint32(n))
}

func fnvPartition(key []byte, n int) int {
	h := fnv.New32a()
	h.Write(key)
	return saramaHashPartition(h.Sum32(), n)
}

// saramaHashPartition maps a hash to a partition as sarama's hash
// partitioners do by default: the signed remainder, negated if negative.
func saramaHashPartition(sum uint32, n int) int {
	p := int32(sum) % int32(n)
	if p < 0 {
		p = -p
	}
	return int(p)
}

// murmur2Sum32 is the 32-bit MurmurHash2 Kafka's Java client partitions
// with (seed 0x9747b28c).
func murmur2Sum32(data []byte) uint32 {
	const m, r = 0x5bd1e995, 24
	h := uint32(0x9747b28c) ^ uint32(len(data))
	for len(data) >= 4 {
		k := binary.LittleEndian.Uint32(data)
		k *= m
		k ^= k >> r
		k *= m
		h = h*m ^ k
		data = data[4:]
	}
	switch len(data) {
	case 3:
		h ^= uint32(data[2]) << 16
		fallthrough
	case 2:
		h ^= uint32(data[1]) << 8
		fallthrough
	case 1:
		h ^= uint32(data[0])
		h *= m
	}
	h ^= h >> 13
	h *= m
	h ^= h >> 15
	return h
}

// murmur3Sum32 is MurmurHash3's x86 32-bit hash with seed 0.
func murmur3Sum32(data []byte) uint32 {
	const c1, c2 = 0xcc9e2d51, 0x1b873593
	rotl := func(x uint32, r uint) uint32 { return x<<r | x>>(32-r) }
	h, n := uint32(0), len(data)
	for len(data) >= 4 {
		k := binary.LittleEndian.Uint32(data)
		k = rotl(k*c1, 15) * c2
		h = rotl(h^k, 13)*5 + 0xe6546b64
		data = data[4:]
	}
	var k uint32
	switch len(data) {
	case 3:
		k ^= uint32(data[2]) << 16
		fallthrough
	case 2:
		k ^= uint32(data[1]) << 8
		fallthrough
	case 1:
		k ^= uint32(data[0])
		h ^= rotl(k*c1, 15) * c2
	}
	h ^= uint32(n)
	h ^= h >> 16
	h *= 0x85ebca6b
	h ^= h >> 13
	h *= 0xc2b2ae35
	h ^= h >> 16
	return h
}

// kafkaDuration reads a duration key of a [[kafka]] section; 0 or unset
// is def, as in Kapacitor.
func kafkaDuration(c *kapconf.Section, key string, def time.Duration) (time.Duration, error) {
	s := c.String(key)
	if s == "" || s == "0" {
		return def, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("[kafka] %s: want a duration such as 10s, got %q", key, s)
	}
	if d == 0 {
		return def, nil
	}
	return d, nil
}

// kafkaSASL is the SASL mechanism of a [[kafka]] section, nil for none.
func kafkaSASL(c *kapconf.Section) (sasl.Mechanism, error) {
	user, pass := c.String("sasl-username"), c.String("sasl-password")
	if v := c.Int("sasl-version"); v != 0 && v != 1 {
		return nil, errors.New("[kafka] sasl-version: want 0 or 1")
	}
	ext := map[string]string{}
	for _, kv := range c.Headers("sasl_extensions") {
		ext[kv[0]] = kv[1]
	}
	switch mech := c.String("sasl-mechanism"); mech {
	case "":
		if user == "" {
			return nil, nil
		}
		return plain.Auth{User: user, Pass: pass}.AsMechanism(), nil
	case "PLAIN":
		return plain.Auth{User: user, Pass: pass}.AsMechanism(), nil
	case "SCRAM-SHA-256":
		return scram.Auth{User: user, Pass: pass}.AsSha256Mechanism(), nil
	case "SCRAM-SHA-512":
		return scram.Auth{User: user, Pass: pass}.AsSha512Mechanism(), nil
	case "OAUTHBEARER":
		if tok := c.String("sasl-access-token"); tok != "" {
			return oauth.Auth{Token: tok, Extensions: ext}.AsMechanism(), nil
		}
		return nil, errors.New("[kafka] sasl-mechanism OAUTHBEARER: tickrun takes a static sasl-access-token only (fetching tokens with sasl-oauth-service is not supported)")
	case "GSSAPI":
		return nil, errors.New("[kafka] sasl-mechanism GSSAPI (Kerberos) is not supported by tickrun")
	default:
		return nil, fmt.Errorf("[kafka] sasl-mechanism: invalid %q: want PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER or GSSAPI", mech)
	}
}

func openKafka(o opts, env *Env) (*endpoint, error) {
	cluster, _ := o.string("cluster", false)
	c, err := env.Config.Section("kafka", cluster)
	if err != nil {
		return nil, err
	}
	brokers := c.Strings("brokers")
	if len(brokers) == 0 {
		return nil, fmt.Errorf("[kafka] %s: no brokers specified, must provide at least one broker URL", c.String("id"))
	}
	timeout, err := kafkaDuration(c, "timeout", 10*time.Second)
	if err != nil {
		return nil, err
	}
	linger, err := kafkaDuration(c, "batch-timeout", time.Second)
	if err != nil {
		return nil, err
	}
	batch := c.Int("batch-size")
	if batch <= 0 {
		batch = 100
	}
	mech, err := kafkaSASL(c)
	if err != nil {
		return nil, err
	}
	alg, _ := o.string("partitionAlgorithm", false)
	if off, _ := o.bool("disablePartitionById"); off {
		alg = "fnv-1a"
	}
	part := kafkaPartitioners[alg]
	topic, _ := o.string("topic", true)
	kopts := []kgo.Opt{kgo.SeedBrokers(brokers...), kgo.ClientID(c.String("id")), kgo.DefaultProduceTopic(topic),
		kgo.DialTimeout(timeout), kgo.ProduceRequestTimeout(timeout), kgo.RecordDeliveryTimeout(max(timeout, time.Second)), kgo.ProducerLinger(linger),
		kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite(), kgo.ProducerBatchCompression(kgo.NoCompression()),
		kgo.AllowAutoTopicCreation(),
		kgo.RecordPartitioner(kgo.BasicConsistentPartitioner(func(string) func(*kgo.Record, int) int {
			return func(r *kgo.Record, n int) int { return part(r.Key, n) }
		}))}
	if c.Bool("use-ssl") {
		tc, err := tlsConfig(c.String("ssl-ca"), c.String("ssl-cert"), c.String("ssl-key"), c.Bool("insecure-skip-verify"))
		if err != nil {
			return nil, fmt.Errorf("[kafka] %s: %v", c.String("id"), err)
		}
		if tc == nil {
			tc = &tls.Config{}
		}
		kopts = append(kopts, kgo.DialTLSConfig(tc.Clone()))
	}
	if mech != nil {
		kopts = append(kopts, kgo.SASL(mech))
	}
	if err := kgo.ValidateOpts(kopts...); err != nil {
		return nil, fmt.Errorf("[kafka] %s: %v", c.String("id"), err)
	}
	k := &kafkaWriter{opts: kopts, batch: batch}
	tmpl, _ := kafkaTemplate(o)
	return &endpoint{target: "cluster " + c.String("id") + " topic " + topic, try: k.try, begin: k.begin, finish: k.finish,
		body: func(ev *alert.Event, payload []byte) ([]byte, error) {
			var value []byte
			if tmpl != nil {
				w := &boundedBuffer{max: maxTemplateOutput}
				if err := tmpl.Execute(w, newKafkaData(ev)); err != nil {
					return nil, fmt.Errorf("failed to execute alert template: %v", templateExecError(strings.TrimPrefix(err.Error(), "template: ")))
				}
				value = w.Bytes()
			} else {
				value = append(append([]byte(nil), payload...), '\n')
			}
			b := binary.AppendUvarint(nil, uint64(len(ev.ID)))
			return append(append(b, ev.ID...), value...), nil
		}}, nil
}

// kafkaWriter produces records with one client, made on first use.
type kafkaWriter struct {
	opts  []kgo.Opt
	batch int64
	mu    sync.Mutex
	cl    *kgo.Client
}

func (k *kafkaWriter) client() (*kgo.Client, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.cl == nil {
		cl, err := kgo.NewClient(k.opts...)
		if err != nil {
			return nil, deliver.Permanent(err)
		}
		k.cl = cl
	}
	return k.cl, nil
}

func (k *kafkaWriter) try(ctx context.Context, payload []byte) error {
	end, err := k.begin(ctx, payload)
	if err != nil {
		return err
	}
	return end()
}

// begin hands the record to the client, which batches it; end waits for
// the broker's acknowledgment.
func (k *kafkaWriter) begin(ctx context.Context, payload []byte) (func() error, error) {
	n, w := binary.Uvarint(payload)
	if w <= 0 || uint64(len(payload)-w) < n {
		return nil, errors.New("corrupt record")
	}
	cl, err := k.client()
	if err != nil {
		return nil, err
	}
	r := &kgo.Record{Key: payload[w : w+int(n)], Value: payload[w+int(n):]}
	done := make(chan error, 1)
	cl.Produce(ctx, r, func(_ *kgo.Record, err error) { done <- err })
	if cl.BufferedProduceRecords() >= k.batch {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			cl.Flush(ctx) // a full batch goes at once
		}()
	}
	return func() error {
		select {
		case err := <-done:
			return err
		case <-ctx.Done():
			return ctx.Err()
		}
	}, nil
}

func (k *kafkaWriter) finish(context.Context) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.cl != nil {
		k.cl.Close()
	}
}
