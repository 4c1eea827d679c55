package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// elsewhere are the properties of the reference that other work of issue
// 14 and 13 brings (alert handler kinds, inhibitors, InfluxDB clusters):
// while this branch does not have them they are listed, not failed.
var elsewhere = map[string]string{
	"alert.alerta": "handler kinds", "alert.bigPanda": "handler kinds", "alert.hipChat": "handler kinds",
	"alert.kafka": "handler kinds", "alert.mqtt": "handler kinds", "alert.opsGenie": "handler kinds",
	"alert.pagerDuty": "handler kinds", "alert.pushover": "handler kinds", "alert.sensu": "handler kinds",
	"alert.snmpTrap": "handler kinds", "alert.talk": "handler kinds", "alert.victorOps": "handler kinds",
	"alert.discord": "handler kinds", "alert.email": "handler kinds", "alert.exec": "handler kinds",
	"alert.log": "handler kinds", "alert.post": "handler kinds", "alert.slack": "handler kinds",
	"alert.tcp": "handler kinds", "alert.telegram": "handler kinds", "alert.opsGenie2": "handler kinds",
	"alert.pagerDuty2": "handler kinds",
}

// refArgs are the arguments a reference entry is called with where the
// type alone does not give valid ones.
var refArgs = map[string]string{
	"groupBy()": "*", "httpPost()": "'http://127.0.0.1:1'", "log.level": "'INFO'",
	"alert.flapping": "0.25, 0.5", "alert.log": "'/tmp/alert.log'", "alert.tcp": "'127.0.0.1:9'",
	"alert.post": "'http://127.0.0.1:1'", "k8sAutoscale.kind": "'replicasets'", "influxDBOut.precision": "'s'",
	"query()": "'SELECT mean(\"v\") FROM \"db\".\"rp\".\"m\"'", "sample()": "2",
	"query.cron": "'*/5 * * * *'", "queryFlux.cron": "'*/5 * * * *'",
	"query.fill": "'none'", "join.fill": "'none'", "join.as": "'x', 'y'", "sideload.field": "'x', 1.0",
}

// refBase are the properties a node needs to be valid at all, given right
// after its chaining method; refBaseFor overrides them for one property.
var refBase = map[string]string{
	"combine": ".as('a')", "eval": ".as('a')", "join": ".as('a', 'b')",
	"k8sAutoscale": ".resourceName('r').replicas(lambda: 1)", "swarmAutoscale": ".serviceName('s').replicas(lambda: 1)",
	"ec2Autoscale": ".groupName('g').replicas(lambda: 1)", "kapacitorLoopback": ".database('d').retentionPolicy('r')",
	"barrier": ".idle(1s)", "window": ".period(10s).every(10s)", "influxDBOut": ".database('d')",
	"sideload": ".source('file:///tmp')", "query": ".period(1m).every(1m)", "queryFlux": ".period(1m).every(1m)",
}

var refBaseFor = map[string]string{
	"k8sAutoscale.resourceNameTag": ".replicas(lambda: 1)", "swarmAutoscale.serviceNameTag": ".replicas(lambda: 1)",
	"ec2Autoscale.groupNameTag": ".replicas(lambda: 1)", "barrier.period": "",
	"window.periodCount": ".everyCount(5)", "window.everyCount": ".periodCount(10)", "eval.tags": ".as('x')",
	"query.cron": ".period(1m)", "queryFlux.cron": ".period(1m)",
}

// refLiteral is a valid value of a Kapacitor argument type.
func refLiteral(typ string) string {
	switch strings.TrimPrefix(typ, "...") {
	case "string":
		return "'x'"
	case "int64":
		return "2"
	case "float64":
		return "2.0"
	case "bool":
		return "TRUE"
	case "time.Duration":
		return "10s"
	case "ast.LambdaNode":
		return "lambda: TRUE"
	case "interface{}":
		return "'x'"
	case "Node":
		return "other"
	}
	return "?" + typ
}

var refLine = regexp.MustCompile(`^(\w+)(?:\.(\w+))?\((.*)\)$`)

// refCall renders a call of a reference entry with valid arguments.
func refCall(key, params string) string {
	if a, ok := refArgs[key]; ok {
		return "(" + a + ")"
	}
	var args []string
	for _, p := range strings.Split(params, ",") {
		if f := strings.Fields(p); len(f) == 2 {
			args = append(args, refLiteral(f[1]))
		}
	}
	return "(" + strings.Join(args, ", ") + ")"
}

// refScript is a script that chains node with its arguments (on the source
// it needs) and then its base properties and the property call extra.
func refScript(node, call, base, extra string) string {
	src := "stream\n    |from()\n"
	switch node {
	case "from":
		return "stream\n    |from()" + extra + "\n"
	case "query", "queryFlux":
		// A task reads either stream or batch: no stream preamble.
		return "batch\n    |" + node + call + base + extra + "\n"
	case "trickle":
		src += "    |window().period(10s).every(10s)\n"
	}
	return "var other = stream\n    |from().measurement('o')\n\n" + src + "    |" + node + call + base + extra + "\n"
}

// TestKapacitorReference walks Kapacitor 1.8's node reference
// (testdata/kapacitor18_reference.txt, from its documentation): tickrun
// check accepts every chaining method and every property of each node.
func TestKapacitorReference(t *testing.T) {
	data, err := os.ReadFile("testdata/kapacitor18_reference.txt")
	require.NoError(t, err)
	chains := map[string]string{} // node → its call
	var influxQL []string         // the InfluxQL functions, which share their properties
	type entry struct{ node, prop, params string }
	var props []entry
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fn, isFn := strings.CutPrefix(line, "influxQL ")
		m := refLine.FindStringSubmatch(fn)
		require.NotNil(t, m, "bad reference line %q", line)
		if m[2] == "" {
			chains[m[1]] = refCall(m[1]+"()", m[3])
			if isFn {
				influxQL = append(influxQL, m[1])
			}
			continue
		}
		props = append(props, entry{m[1], m[2], m[3]})
	}
	require.Greater(t, len(chains), 50, "the reference lists Kapacitor's nodes")
	dir := t.TempDir()
	var skipped []string
	check := func(key, script string) {
		t.Helper()
		path := filepath.Join(dir, "ref.tick")
		require.NoError(t, os.WriteFile(path, []byte(script), 0o644))
		var stdout, stderr bytes.Buffer
		if code := run([]string{"check", path}, nil, &stdout, &stderr); code != exitOK {
			if why, ok := elsewhere[key]; ok {
				skipped = append(skipped, key+" ("+why+")")
				return
			}
			t.Errorf("%s: tickrun check refuses\n%s\n%s", key, script, stderr.String())
		}
	}
	nodes := make([]string, 0, len(chains))
	for n := range chains {
		nodes = append(nodes, n)
	}
	sort.Strings(nodes)
	for _, n := range nodes {
		check(n+"()", refScript(n, chains[n], refBase[n], ""))
	}
	for _, e := range props {
		key := e.node + "." + e.prop
		call := "\n        ." + e.prop + refCall(key, e.params)
		targets := []string{e.node}
		if e.node == "influxQL" {
			targets = influxQL
		}
		for _, n := range targets {
			base, ok := refBaseFor[key]
			if !ok {
				base = refBase[n]
			}
			check(key, refScript(n, chains[n], base, call))
		}
	}
	if len(skipped) > 0 {
		sort.Strings(skipped)
		t.Logf("not on this branch yet, listed rather than failed:\n  %s", strings.Join(skipped, "\n  "))
	}
}
