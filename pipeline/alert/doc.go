// Package alert is what an alert node produces and where it goes: levels,
// the per-group State (history, flapping, episode start), the id, message
// and details Templates with Kapacitor's data, the Event and its JSON,
// and the Registry of topics that any number of tasks publish into and
// handlers subscribe to, with match expressions (alert.md).
//
// alert imports ast, eval, parser (match expressions), models and deliver
// (handler counters); it must not import handler or pipeline: handlers
// implement its Handler interface.
package alert
