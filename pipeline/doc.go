// Package pipeline runs TICKscript tasks: it binds a parsed script into a
// graph of nodes, decodes line protocol into points, pushes them through
// the nodes and delivers alert events to handlers. It is also tickrun's
// embedding API: Compile a script, then WritePoint, Write or
// WriteLineProtocol, then Close.
//
// The pieces, in the order a point meets them:
//
//   - decode.go, decode_parallel.go: line protocol to Point, with
//     Kapacitor's corrections to line-protocol/v2;
//   - task.go: Task, Options, the write API;
//   - bind.go, spec.go: the binder turns the script into nodes; every node
//     kind registers a Spec (its chain method, arguments and properties as
//     a table of typed setters) from its own node_*.go file;
//   - node_*.go: the nodes; node.go says how they borrow points;
//   - node_alert.go, alert_*.go: levels, state, templates, event JSON;
//   - topic.go, handler*.go: topics, handler files, delivery.
//
// pipeline imports ast and eval, and parser only to compile script text; it
// must not import cmd.
package pipeline
