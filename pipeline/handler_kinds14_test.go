package pipeline

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tickrun/tickrun/internal/mqtttest"
	"github.com/tickrun/tickrun/internal/testsink"
	"github.com/tickrun/tickrun/pipeline/deliver"
	"github.com/tickrun/tickrun/pipeline/handler"
	"github.com/tickrun/tickrun/pipeline/kapconf"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
)

// Tests of the handler kinds of issue 14 beyond their golden cases:
// handler files, failures and retries, and what logs show.

// runFiles compiles script with conf and handler files (name, YAML),
// writes cpu,host=h1 v=values at seconds 1, 2, ... and closes the task.
func runFiles(t *testing.T, script, conf string, d deliver.Options, files ...[2]string) (*Task, *testsink.Buffer) {
	t.Helper()
	c, err := kapconf.Parse("kapacitor.conf", []byte(conf))
	require.NoError(t, err)
	var specs []*handler.Spec
	for _, f := range files {
		s, err := handler.ParseFile(f[0], []byte(f[1]))
		require.NoError(t, err)
		specs = append(specs, s)
	}
	log := &testsink.Buffer{}
	task, err := Compile("cpu_alert", "t.tick", script, Options{Config: c, Deliver: d, Log: log, Handlers: specs, Server: ServerInfo{Hostname: "localhost"}})
	require.NoError(t, err)
	return task, log
}

func writeValues(t *testing.T, task *Task, values ...float64) {
	t.Helper()
	for i, v := range values {
		require.NoError(t, task.Write("telegraf", "autogen", "cpu", map[string]string{"host": "h1"}, map[string]any{"v": v}, time.Unix(int64(i+1), 0)))
	}
	require.NoError(t, task.Close(context.Background()))
}

const topicScript = `stream|from().measurement('cpu')
	|alert().id('{{ .Name }}.{{ index .Tags "host" }}').message('{{ .ID }} is {{ .Level }}').details('').crit(lambda: "v" > 1).topic('cpu')
`

// A handler file of kind mqtt: the broker by name, QoS 2, the topic a
// template; the second [[mqtt]] is the default but not used.
func TestMQTTHandlerFile(t *testing.T) {
	b := mqtttest.Start(t, mqtttest.Options{})
	sub := b.Subscribe(t)
	conf := "[[mqtt]]\nenabled = true\nname = \"down\"\ndefault = true\nurl = \"tcp://127.0.0.1:1\"\n[[mqtt]]\nenabled = true\nname = \"up\"\nurl = \"" + b.URL + "\"\n"
	task, log := runFiles(t, topicScript, conf, fastDelivery, [2]string{"h.yaml", "id: m\ntopic: cpu\nkind: mqtt\noptions:\n  broker-name: up\n  topic: 'kapacitor/{{ .Level }}'\n  qos: 2\n"})
	writeValues(t, task, 2, 0)
	assert.Equal(t, []mqtttest.Message{
		{Topic: "kapacitor/CRITICAL", QoS: 2, Payload: "cpu.h1 is CRITICAL"},
		{Topic: "kapacitor/OK", QoS: 2, Payload: "cpu.h1 is OK"},
	}, sub.Flush(t))
	assert.Equal(t, deliver.Stats{Name: "mqtt tcp://" + b.Addr, Sent: 2}, task.HandlerStats()[0])
	assert.NotContains(t, log.String(), "dropped")
}

// QoS 0 with a broker that wants a password; a wrong password is retried,
// then the events are dropped, and no log line shows the password.
func TestMQTTCredentials(t *testing.T) {
	b := mqtttest.Start(t, mqtttest.Options{Username: "kapacitor", Password: "s3cret-pw"})
	sub := b.Subscribe(t)
	script := strings.Replace(topicScript, ".topic('cpu')", ".mqtt('alerts').qos(0)", 1)
	conf := "[[mqtt]]\nenabled = true\nurl = \"" + b.URL + "\"\nusername = \"kapacitor\"\npassword = \"s3cret-pw\"\n"
	task, _ := runFiles(t, script, conf, fastDelivery)
	writeValues(t, task, 2, 3, 0)
	assert.Equal(t, []mqtttest.Message{
		{Topic: "alerts", Payload: "cpu.h1 is CRITICAL"}, {Topic: "alerts", Payload: "cpu.h1 is CRITICAL"}, {Topic: "alerts", Payload: "cpu.h1 is OK"},
	}, sub.Wait(t, 3, 10*time.Second))

	d := fastDelivery
	d.Attempts = 3
	task, log := runFiles(t, script, strings.Replace(conf, "s3cret-pw", "wrong-pw", 1), d)
	writeValues(t, task, 2)
	st := task.HandlerStats()[0]
	assert.Equal(t, int64(1), st.Dropped, "%+v", st)
	assert.Equal(t, int64(2), st.Retried)
	assert.Contains(t, log.String(), "not Authorized")
	assert.NotContains(t, log.String(), "wrong-pw")
}

// SASL PLAIN is applied: a cluster that wants it gets the records with
// the right password and refuses them with a wrong one.
func TestKafkaSASL(t *testing.T) {
	k := startKafka(t, kfake.EnableSASL(), kfake.Superuser("PLAIN", "kapacitor", "s3cret-pw"))
	script := strings.Replace(topicScript, ".topic('cpu')", ".kafka().kafkaTopic('alerts')", 1)
	conf := "[[kafka]]\nenabled = true\nbrokers = [" + k.brokers() + "]\nbatch-timeout = \"5ms\"\nsasl-username = \"kapacitor\"\nsasl-password = \"s3cret-pw\"\n"
	task, _ := runFiles(t, script, conf, fastDelivery)
	writeValues(t, task, 2, 0)
	got := k.records(t, []kgo.Opt{kgo.SASL(plain.Auth{User: "kapacitor", Pass: "s3cret-pw"}.AsMechanism())}, "alerts")
	require.Len(t, got, 2)
	assert.Equal(t, "cpu.h1", got[0].Key)
	assert.Contains(t, got[1].Value, `"level":"OK"`)

	d := fastDelivery
	d.Attempts, d.RetryMaxTime = 2, time.Second
	// timeout bounds each record's delivery.
	task, log := runFiles(t, script, strings.Replace(conf, "s3cret-pw", "wrong-pw", 1)+"timeout = \"1s\"\n", d)
	writeValues(t, task, 2)
	assert.Equal(t, int64(1), task.HandlerStats()[0].Dropped)
	assert.NotContains(t, log.String(), "wrong-pw")
}

// A handler file of kind kafka with a template and murmur2: the value is
// the template's output, the partition Java's for the key.
func TestKafkaHandlerFileTemplate(t *testing.T) {
	k := startKafka(t)
	conf := "[[kafka]]\nenabled = true\nid = \"c1\"\nbrokers = [" + k.brokers() + "]\nbatch-timeout = \"5ms\"\n"
	task, _ := runFiles(t, topicScript, conf, fastDelivery, [2]string{"k.yaml", "id: k\ntopic: cpu\nkind: kafka\noptions:\n  cluster: c1\n  topic: alerts\n  partitionAlgorithm: murmur2\n" +
		"  template: '{{ .ID }} {{ .Level }} was {{ .PreviousLevel }} {{ (index .Data.Series 0).Name }}'\n"})
	writeValues(t, task, 2, 0)
	// murmur2("cpu.h1") & 0x7fffffff % 3 is 0, crc32 (the default) would
	// give 1 (the handler's unit tests check murmur2 against Kafka's Java
	// vectors).
	assert.Equal(t, []kafkaRecord{
		{Topic: "alerts", Partition: 0, Offset: 0, Key: "cpu.h1", Value: "cpu.h1 CRITICAL was OK cpu"},
		{Topic: "alerts", Partition: 0, Offset: 1, Key: "cpu.h1", Value: "cpu.h1 OK was CRITICAL cpu"},
	}, k.records(t, nil, "alerts"))
	assert.Equal(t, "kafka cluster c1 topic alerts", task.HandlerStats()[0].Name)
}

// Sensu: an answer other than "ok" drops the event at once; an id that is
// not a Sensu check name drops it without a try; a client that is down is
// retried.
func TestSensuFailures(t *testing.T) {
	s := startSensu(t, "invalid")
	script := strings.Replace(topicScript, ".topic('cpu')", ".sensu()", 1)
	conf := "[sensu]\nenabled = true\naddr = \"" + s.addr + "\"\n"
	task, log := runFiles(t, script, conf, fastDelivery)
	writeValues(t, task, 2)
	assert.Equal(t, deliver.Stats{Name: "sensu " + s.addr, Dropped: 1}, task.HandlerStats()[0])
	assert.Contains(t, log.String(), "sensu socket error: invalid (not retried)")
	assert.Equal(t, []string{`{"handlers":null,"name":"cpu.h1","output":"cpu.h1 is CRITICAL","source":"Kapacitor","status":2}` + "\n"}, s.received())

	task, log = runFiles(t, strings.Replace(script, "{{ .Name }}.", "{{ .Name }}:", 1), conf, fastDelivery)
	writeValues(t, task, 2)
	assert.Equal(t, int64(1), task.HandlerStats()[0].Dropped)
	assert.Contains(t, log.String(), `invalid name "cpu:h1" for sensu alert`)
	assert.Len(t, s.received(), 1)

	addr := testsink.FreeAddr(t)
	d := fastDelivery
	d.Attempts = 3
	task, _ = runFiles(t, script, "[sensu]\nenabled = true\naddr = \""+addr+"\"\n", d)
	writeValues(t, task, 2)
	assert.Equal(t, deliver.Stats{Name: "sensu " + addr, Retried: 2, Dropped: 1}, task.HandlerStats()[0])
}

// A handler file of kind snmptrap; a value that is not a number where
// the type wants one drops that event only.
func TestSNMPTrapHandlerFile(t *testing.T) {
	l := startTrapListener(t)
	conf := "[snmptrap]\nenabled = true\naddr = \"" + l.addr + "\"\n"
	task, log := runFiles(t, topicScript, conf, fastDelivery, [2]string{"s.yaml", "id: s\ntopic: cpu\nkind: snmptrap\noptions:\n  trap-oid: 1.3.6.1.4.1.1\n  data-list:\n" +
		"    - oid: 1.3.6.1.4.1.1.6\n      type: i\n      value: '{{ index .Fields \"v\" }}'\n"})
	writeValues(t, task, 2, 2.5, 0)
	traps := l.wait(t, 2)
	require.Len(t, traps, 2)
	assert.Equal(t, "SNMP 2c community=\"kapacitor\" SNMPv2Trap\n.1.3.6.1.2.1.1.3.0 TimeTicks 1000\n.1.3.6.1.6.3.1.1.4.1.0 ObjectIdentifier .1.3.6.1.4.1.1\n.1.3.6.1.4.1.1.6 Integer 2\n---\n", trapText(traps[0]))
	assert.Contains(t, trapText(traps[1]), ".1.3.6.1.4.1.1.6 Integer 0\n")
	assert.Equal(t, deliver.Stats{Name: "snmptrap " + l.addr, Sent: 2, Dropped: 1}, task.HandlerStats()[0])
	assert.Contains(t, log.String(), `value "2.5" of type i is not an integer`)
}

// publish and aggregate in handler files: cpu's events are published to
// ops, whose aggregate handler sums them up into agg, where a post handler
// sends the aggregated event when the task closes.
func TestTopicKinds(t *testing.T) {
	srv, reqs := hookServer(t, always(200))
	task, _ := runFiles(t, topicScript, "", fastDelivery,
		[2]string{"p.yaml", "id: p\ntopic: cpu\nkind: publish\noptions:\n  topics: [ops]\n"},
		[2]string{"a.yaml", "id: a\ntopic: ops\nkind: aggregate\nmatch: level() >= WARNING\noptions:\n  id: cpu-summary\n  topic: agg\n  interval: 1h\n"},
		[2]string{"h.yaml", "id: h\ntopic: agg\nkind: post\noptions:\n  url: " + srv.URL + "/agg\n"})
	writeValues(t, task, 2, 3, 0)
	require.Len(t, reqs(), 1)
	assert.Equal(t, `{"id":"cpu-summary","message":"Received 2 events in the last 1h0m0s.","details":"cpu.h1 is CRITICAL\ncpu.h1 is CRITICAL",`+
		`"time":"1970-01-01T00:00:02Z","duration":1000000000,"level":"CRITICAL","data":{"series":[`+
		`{"name":"cpu","tags":{"host":"h1"},"columns":["time","v"],"values":[["1970-01-01T00:00:01Z",2]]},`+
		`{"name":"cpu","tags":{"host":"h1"},"columns":["time","v"],"values":[["1970-01-01T00:00:02Z",3]]}]},"previousLevel":"OK","recoverable":false}`, reqs()[0].Body)
	assert.Equal(t, []deliver.Stats{{Name: "publish topics ops", Sent: 3}, {Name: "aggregate to topic agg every 1h0m0s", Sent: 2}, {Name: "post " + srv.URL + "/agg", Sent: 1}}, task.HandlerStats())
}

// HTTP kinds ride on the delivery machinery: 503 is retried, 400 is not,
// and logs show the host, never the token.
func TestHTTPKindsRetries_issue14(t *testing.T) {
	srv, reqs := hookServer(t, func(n int) int {
		return map[int]int{0: 503, 1: 201, 2: 400}[n]
	})
	conf := "[alerta]\nenabled = true\nurl = \"" + srv.URL + "/api/SECRET\"\ntoken = \"SECRET\"\n"
	task, log := runFiles(t, strings.Replace(topicScript, ".topic('cpu')", ".alerta()", 1), conf, fastDelivery)
	writeValues(t, task, 2, 0)
	assert.Len(t, reqs(), 3)
	st := task.HandlerStats()[0]
	assert.Equal(t, deliver.Stats{Name: "alerta " + srv.URL + "/…", Sent: 1, Retried: 1, Dropped: 1}, st)
	assert.Contains(t, log.String(), "HTTP 400 Bad Request")
	assert.NotContains(t, log.String(), "SECRET")
	assert.Equal(t, "Bearer SECRET", reqs()[0].Auth)
}

// As in Kapacitor, a property chained to a handler sets the handler's
// option first: .zenoss().message() is Zenoss's message, .message() before
// .zenoss() or after a node property is the node's.
func TestChainedOptionProperty(t *testing.T) {
	for _, tc := range []struct{ chain, want string }{
		// Zenoss's summary is the event's message when not set.
		{".message('node message').zenoss().message('zenoss message')", `"message":"zenoss message","severity":"Critical","summary":"node message"`},
		{".zenoss().component('c').message('zenoss message').details('')", `"message":"zenoss message","severity":"Critical","summary":"cpu.h1 is CRITICAL"`},
		{".zenoss().crit(lambda: TRUE).message('node message')", `"device":"","evclass":"","evclasskey":"","severity":"Critical","summary":"node message"`},
	} {
		srv, reqs := hookServer(t, always(200))
		conf := "[zenoss]\nenabled = true\nurl = \"" + srv.URL + "/z\"\n"
		task, _ := runFiles(t, strings.Replace(topicScript, ".topic('cpu')", tc.chain, 1), conf, fastDelivery)
		writeValues(t, task, 2)
		require.Len(t, reqs(), 1, tc.chain)
		assert.Contains(t, reqs()[0].Body, tc.want, tc.chain)
	}
}

// Script properties of the new kinds are checked where they are written.
func TestHandlerPropertyErrors_issue14(t *testing.T) {
	lenient := &kapconf.Config{Lenient: true}
	for _, tc := range []struct{ script, want string }{
		{`stream|from()|alert().mqtt('a').qos(3)`, "1:37: .qos(): qos: want 0, 1 or 2, got 3"},
		{`stream|from()|alert().mqtt('a').retained(1)`, "argument 1 of .retained() must be a boolean, got an int"},
		{`stream|from()|alert().mqtt('{{ .Nmae }}')`, "1:28: .mqtt(): topic: can't evaluate field Nmae (at 1:3)"},
		{`stream|from()|alert().snmpTrap('1.3').data('1.3.6', 'x', 'v')`, ".data(): data-list: item 1: type x (hexadecimal string) is not supported"},
		{`stream|from()|alert().snmpTrap('1.3').data('1.3.6', 's')`, "not enough arguments to .data(): want 3, got 2"},
		{`stream|from()|alert().kafkaTopic('x')`, "1:23: .kafkaTopic() applies to the last .kafka(); there is none before it"},
		{`stream|from()|alert().kafka().cluster('c')`, "1:23: .kafka(): topic: missing (.kafkaTopic() in scripts)"},
		{`stream|from()|alert().alerta().renameSeverity('major', 'x')`, `rename-severities: unknown severity "major"`},
		{`stream|from()|alert().sensu().metadata('a', lambda: TRUE)`, "argument 2 of .metadata() must be a float, integer, string or boolean, got a lambda"},
	} {
		_, err := Compile("t", "t.tick", tc.script, Options{Config: lenient})
		require.Error(t, err, tc.script)
		assert.Contains(t, err.Error(), tc.want, tc.script)
	}
	for _, ok := range []string{
		`stream|from()|alert().mqtt('a').qos(1).retained(TRUE).retained(FALSE).brokerName('x')`,
		`stream|from()|alert().kafka().cluster('c').kafkaTopic('t').partitionHashAlgorithm('murmur3').disablePartitionById()`,
		`stream|from()|alert().pushover().URL('http://x').URLTitle('t').uRL('http://y')`,
		`stream|from()|alert().alerta().service('a').services('b').correlate('c').correlated('d').attribute('n', 1.5).attribute('b', TRUE)`,
		`stream|from()|alert().opsGenie().teams('a').recipients('b').opsGenie2().teams('c')`,
		`stream|from()|alert().serviceNow().additionalInfo('a', 1).bigPanda().attribute('x', 'y').talk().hipChat().room('r').pagerDuty().serviceKey('k')`,
	} {
		_, err := Compile("t", "t.tick", ok, Options{Config: lenient})
		assert.NoError(t, err, ok)
	}
}

// Handler names (stats, logs) show scheme and host only: URLs and keys of
// kapacitor.conf may hold tokens.
func TestHandlerNamesHideSecrets_issue14(t *testing.T) {
	conf := `[alerta]
enabled = true
url = "https://alerta.example.com/SECRET"
token = "SECRET"
[bigpanda]
enabled = true
url = "https://api.bigpanda.io/SECRET"
token = "SECRET"
[hipchat]
enabled = true
url = "https://x.hipchat.com/v2/room"
token = "SECRET"
[opsgenie]
enabled = true
api-key = "SECRET"
url = "https://api.opsgenie.com/SECRET"
[pagerduty]
enabled = true
url = "https://events.pagerduty.com/SECRET"
service-key = "SECRET"
[pushover]
enabled = true
url = "https://api.pushover.net/SECRET"
token = "SECRET"
[servicenow]
enabled = true
url = "https://x.service-now.com/SECRET"
password = "SECRET"
[talk]
enabled = true
url = "https://talk.example.com/SECRET"
[zenoss]
enabled = true
url = "https://z.example.com/SECRET"
password = "SECRET"
[[mqtt]]
enabled = true
url = "tcp://user:SECRET@127.0.0.1:1883"
password = "SECRET"
[[kafka]]
enabled = true
brokers = ["127.0.0.1:9092"]
sasl-username = "u"
sasl-password = "SECRET"
[snmptrap]
enabled = true
community = "SECRET"
[sensu]
enabled = true
addr = "127.0.0.1:3030"
`
	script := `stream|from()|alert().crit(lambda: TRUE)
	.alerta().bigPanda().hipChat().opsGenie().pagerDuty().pushover().serviceNow().talk().zenoss()
	.mqtt('t').kafka().kafkaTopic('t').snmpTrap('1.3').sensu()`
	c, err := kapconf.Parse("kapacitor.conf", []byte(conf))
	require.NoError(t, err)
	task, err := Compile("t", "t.tick", script, Options{Config: c, Deliver: deliver.Options{Capture: func(string, string, []byte) {}}})
	require.NoError(t, err)
	st := task.HandlerStats()
	require.Len(t, st, 13)
	for _, s := range st {
		assert.NotContains(t, s.Name, "SECRET")
	}
	assert.Equal(t, "mqtt tcp://127.0.0.1:1883", st[9].Name)
	require.NoError(t, task.Close(context.Background()))
}

// Two handlers of one broker share its connection, as Kapacitor's one
// client per broker: a broker takes a client id once, and two connections
// with one id would throw each other out.
func TestMQTTHandlersShareTheConnection(t *testing.T) {
	b := mqtttest.Start(t, mqtttest.Options{})
	sub := b.Subscribe(t)
	script := strings.Replace(topicScript, ".topic('cpu')", ".mqtt('a').qos(1).mqtt('b').qos(1)", 1)
	task, log := runFiles(t, script, "[[mqtt]]\nenabled = true\nurl = \""+b.URL+"\"\n", fastDelivery)
	writeValues(t, task, 2, 3, 4, 0)
	got := sub.Flush(t)
	count := map[string]int{}
	for _, m := range got {
		count[m.Topic]++
	}
	assert.Equal(t, map[string]int{"a": 4, "b": 4}, count)
	assert.NotContains(t, log.String(), "dropped")
	for _, st := range task.HandlerStats() {
		assert.Equal(t, int64(0), st.Retried, "%+v", st)
	}
}

// The kinds with global = true in kapacitor.conf (hipchat, opsgenie,
// pagerduty, servicenow, zenoss, bigpanda) serve every alert node, and
// state-changes-only makes those nodes send level changes only.
func TestGlobalKinds_issue14(t *testing.T) {
	srv, reqs := hookServer(t, always(200))
	conf := "[zenoss]\nenabled = true\nglobal = true\nstate-changes-only = true\nurl = \"" + srv.URL + "/z\"\n"
	task, _ := runFiles(t, strings.Replace(topicScript, ".topic('cpu')", "", 1), conf, fastDelivery)
	writeValues(t, task, 2, 3, 0)
	require.Len(t, reqs(), 2)
	assert.Contains(t, reqs()[0].Body, `"severity":"Critical"`)
	assert.Contains(t, reqs()[1].Body, `"severity":"Clear"`)
}
