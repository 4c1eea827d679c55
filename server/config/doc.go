// Package config reads the server sections of a kapacitor.conf for
// `tickrun serve`: hostname, data_dir, default-retention-policy, [http],
// [storage], [load], [[influxdb]] and [deadman], with kapacitord's
// KAPACITOR_* environment overrides and its server identity files
// (data_dir/cluster.id and server.id).
//
// The alert handler sections ([slack], [smtp], ...) are read by the
// engine's own configuration reader from the same file; this package
// ignores them. Errors read "FILE:LINE: [section] key: problem" and never
// show a value that may be secret. It imports no package of tickrun.
package config
