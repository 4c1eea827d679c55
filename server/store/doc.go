// Package store keeps the state of `tickrun serve` in one bbolt file:
// tasks, templates, topic handlers, users, and the last alert state of
// every alert id per topic, so that all of it survives a restart
// (server.md §4). Kapacitor keeps the same things in BoltDB; the layout
// here is tickrun's own, versioned by a schema number in the meta bucket.
//
// Values are JSON. The store knows nothing of TICKscript, HTTP or the
// engine: it imports no package of tickrun.
package store
