package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"runtime"
	"sort"
	"strconv"
)

// debugVars serves GET /kapacitor/v1/debug/vars in expvar's layout, as
// kapacitord does: one top-level key a line, sorted, and under
// "kapacitor" one {"name", "tags", "values"} entry per statistic. The
// CLI's `stats general` and `stats ingress` and Telegraf's
// inputs.kapacitor read it.
func (a *API) debugVars(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		methodNotAllowed(w, "GET")
		return
	}
	tasks, _ := a.opts.Store.Tasks()
	enabled := 0
	for _, t := range tasks {
		if a.opts.Engine.Executing(t.ID) {
			enabled++
		}
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	top := map[string]any{
		"cluster_id":        a.opts.ClusterID,
		"server_id":         a.opts.ServerID,
		"host":              a.opts.Hostname,
		"product":           "kapacitor",
		"version":           Version,
		"platform":          "OSS",
		"num_tasks":         len(tasks),
		"num_enabled_tasks": enabled,
		"num_subscriptions": 0,
		"cmdline":           a.opts.Cmdline,
		"memstats":          &ms,
	}
	keys := make([]string, 0, len(top)+1)
	for k := range top {
		keys = append(keys, k)
	}
	keys = append(keys, "kapacitor")
	sort.Strings(keys)
	var b bytes.Buffer
	b.WriteString("{\n")
	for i, k := range keys {
		if i > 0 {
			b.WriteString(",\n")
		}
		b.WriteString(strconv.Quote(k))
		b.WriteString(": ")
		if k == "kapacitor" {
			a.writeStats(&b)
			continue
		}
		v, _ := json.Marshal(top[k])
		b.Write(v)
	}
	b.WriteString("\n}\n")
	w.WriteHeader(http.StatusOK)
	w.Write(b.Bytes())
}

// stat is one entry of the "kapacitor" map.
type stat struct {
	key    string
	name   string
	tags   map[string]string
	values map[string]int64
}

// writeStats writes the statistics in expvar.Map's form: {"k": v, ...}.
func (a *API) writeStats(b *bytes.Buffer) {
	var stats []stat
	base := func(extra map[string]string) map[string]string {
		tags := map[string]string{"cluster_id": a.opts.ClusterID, "server_id": a.opts.ServerID, "host": a.opts.Hostname}
		for k, v := range extra {
			tags[k] = v
		}
		return tags
	}
	var total int64
	for _, in := range a.opts.Engine.Ingress() {
		total += in.Points
		stats = append(stats, stat{key: "ingress:" + in.DB + "." + in.RP + "." + in.Measurement, name: "ingress",
			tags:   base(map[string]string{"task_master": "main", "database": in.DB, "retention_policy": in.RP, "measurement": in.Measurement}),
			values: map[string]int64{"points_received": in.Points}})
	}
	stats = append(stats, stat{key: "edges:task_master:main", name: "edges",
		tags:   base(map[string]string{"task": "task_master:main", "parent": "write_points", "child": "stream", "type": "stream"}),
		values: map[string]int64{"collected": total, "emitted": total}})
	topics := a.opts.Engine.Topics()
	for id, st := range topics {
		stats = append(stats, stat{key: "topics:" + id, name: "topics", tags: base(map[string]string{"id": id}),
			values: map[string]int64{"collected": st.Collected}})
	}
	tasks, _ := a.opts.Store.Tasks()
	for _, t := range tasks {
		ts, ok := a.opts.Engine.Stats(t.ID)
		if !ok {
			continue
		}
		for node, values := range ts.Nodes {
			stats = append(stats, stat{key: "nodes:" + t.ID + ":" + node, name: "nodes",
				tags: base(map[string]string{"task": t.ID, "node": node, "type": trimDigits(node)}), values: values})
		}
	}
	sort.Slice(stats, func(i, j int) bool { return stats[i].key < stats[j].key })
	b.WriteByte('{')
	for i, s := range stats {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.Quote(s.key))
		b.WriteString(": {\"name\": ")
		b.WriteString(strconv.Quote(s.name))
		b.WriteString(", \"tags\": ")
		writeMap(b, s.tags, func(v string) string { return strconv.Quote(v) })
		b.WriteString(", \"values\": ")
		writeMap(b, s.values, func(v int64) string { return strconv.FormatInt(v, 10) })
		b.WriteByte('}')
	}
	b.WriteByte('}')
}

func writeMap[V any](b *bytes.Buffer, m map[string]V, format func(V) string) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.Quote(k))
		b.WriteString(": ")
		b.WriteString(format(m[k]))
	}
	b.WriteByte('}')
}

func trimDigits(s string) string {
	i := len(s)
	for i > 0 && s[i-1] >= '0' && s[i-1] <= '9' {
		i--
	}
	return s[:i]
}
