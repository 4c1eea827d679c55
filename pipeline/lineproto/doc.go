// Package lineproto decodes InfluxDB line protocol into models.Point with
// Kapacitor's corrections to line-protocol/v2 (what Kapacitor rejects is
// rejected, what it keeps is kept), reporting each bad line with its
// number and going on. A fast path decodes plain lines without the
// library (checked against it by differential fuzzing), and parallel
// workers decode chunks of input while points come out in input order.
// AppendLine writes a point back as line protocol.
//
// lineproto imports eval and models.
package lineproto
