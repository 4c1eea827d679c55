// Package influx talks to InfluxDB 1.x as Kapacitor's batch tasks do.
//
// It has three parts, each usable alone:
//
//   - Client: an HTTP client for /ping, /query and /write with basic or
//     token auth, timeouts and TLS options, configured from an
//     [[influxdb]] section of kapacitor.conf (Config). Query answers are
//     decoded into plain types (Response, Result, Series, Value) with
//     numbers typed as Kapacitor types them: every JSON number is a float64
//     (Kapacitor issue #1338), null is kept as a distinct Null value.
//   - Query: the InfluxQL of a batch query() node, parsed once with
//     github.com/influxdata/influxql (the version Kapacitor 1.8 pins) and
//     rendered for a time window exactly as Kapacitor renders it: the time
//     bounds ANDed onto the WHERE clause, GROUP BY and fill() from the node's
//     properties.
//   - Schedule: every/align/cron/period/offset turned into query windows,
//     as a list over a time range (replay-live, backtests) or as a
//     wall-clock Ticker (a running task).
//
// The package must not import tickrun's pipeline: the pipeline imports it
// and maps Series to its own batches. It imports none of tickrun's
// packages at all.
package influx
