// Package load applies a [load] directory (server.md §3) as kapacitord's
// load service does: templates/*.tick become templates, tasks/*.tick
// tasks (their dbrps and type read from the script), tasks/*.yaml|yml|json
// tasks from templates with vars, and handlers/*.yaml|yml|json topic
// handlers. It runs at start and on SIGHUP; what a previous load defined
// and whose file is gone is deleted, and nothing defined through the API
// is touched.
//
// Like kapacitord's, the loader drives the server's own HTTP API in
// process, so a file is checked exactly as the same definition sent by
// the kapacitor CLI would be. It imports only package store (for the
// list of loaded items) and never the engine.
package load
