// Package models holds the data that flows through a task: Point (name,
// time, sorted tags, sorted fields of eval.Value, dimensions, group id),
// Batch, the Series of an alert event, group ids, and the JSON writers
// that write them exactly as Go's encoding/json (and so Kapacitor) does,
// without reflection or allocation.
//
// Points are borrowed: whoever receives one may read it only during the
// call; what it keeps it copies (Clone, CopyFrom, PointPool).
//
// models imports only eval.
package models
