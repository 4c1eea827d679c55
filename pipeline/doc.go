// Package pipeline runs TICKscript tasks: it binds a parsed script into a
// graph of nodes and pushes points through them. It is also tickrun's
// embedding API: Compile a script, then WritePoint, Write or
// WriteLineProtocol, then Close.
//
// A point of the seed script (stream|from().measurement('cpu')|alert()
// .crit(lambda: "usage_idle" < 10).tcp('127.0.0.1:7777')) meets the
// packages in this order:
//
//  1. pipeline/lineproto: Decoder.Next turns a line of line protocol into a
//     models.Point (decode.go; the fast path in decode_fast.go, parallel
//     workers in decode_parallel.go).
//  2. pipeline (task.go): Task.WritePoint hands it to the stream node; each
//     node calls its children with plain method calls (node.go says how
//     points are borrowed): node_stream.go, node_from.go, node_alert.go.
//     The binder (bind.go, spec.go) built that graph from the script: each
//     node kind registers a Spec from its own node_*.go file.
//  3. pipeline/alert: the alert node evaluates its level lambdas (package
//     eval) and updates the group's alert.State (state.go); when an event
//     is due it renders the templates (template.go) into an alert.Event.
//  4. pipeline/alert (registry.go): Task.publish hands the event to the
//     Registry, whose topics set its previous level and encode it as
//     Kapacitor's JSON (event.go, with models' JSON writers) for each
//     subscribed handler.
//  5. pipeline/handler: the handler (kind.go, tcp.go) queues the payload
//     on its pipeline/deliver Queue, whose goroutine dials, writes and
//     retries (deliver/queue.go, handler/tcp.go) beside the pipeline.
//
// A batch task's data comes from InfluxDB instead: its query nodes
// (node_batch.go) build their InfluxQL and schedule with package
// pipeline/influx, and batch_run.go runs them, on the data's clock
// (Task.RunBatches, a backtest) or the wall clock (Task.StartBatches),
// turning each series of an answer into a models.Batch that goes down the
// same nodes (their batch methods, batch.go). The InfluxDB comes from
// Options.InfluxDB or the [[influxdb]] sections of kapacitor.conf
// (influxdb.go), which influxDBOut writes to as well.
//
// Handler kinds are declared in package handler as rows of options; the
// alert node's handler properties (.tcp(), .slack(), .channel(), ...) are
// derived from those rows in node_alert_handlers.go. kapacitor.conf is
// read by package kapconf.
//
// pipeline imports ast, eval, parser (to compile script text) and the
// packages under it; it must not import cmd.
package pipeline
