// Package handler holds the alert handler kinds: a registry with one file
// per kind (tcp.go, log.go, slack.go, ...), each declaring its options as
// rows from which the alert node's script properties, the checks of topic
// handler files (YAML or JSON, file.go), the schema of its kapacitor.conf
// section and docs/handlers.md are derived. A kind turns events into
// payloads and makes one delivery attempt; the queue, retries and
// counters are package deliver's. The topic kinds (publish, aggregate)
// hand events on to topics of the Env's alert registry instead.
//
// handler imports ast, alert, deliver and kapconf, and the protocol
// libraries of its kinds (paho.mqtt.golang, franz-go, gosnmp); it must not
// import pipeline.
package handler
