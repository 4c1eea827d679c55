// Package lineproto decodes InfluxDB line protocol into models.Point with
// Kapacitor's corrections to line-protocol/v2 (what Kapacitor rejects is
// rejected, what it keeps is kept), reporting each bad line with its
// number and going on. A fast path decodes plain lines without the
// library (checked against it by differential fuzzing), and parallel
// workers decode chunks of input while points come out in input order.
// AppendLine writes a point back as line protocol.
//
// The decoder is bounded under hostile input: each byte is looked at once
// for line ends however long its line, a line over Decoder.MaxLineSize is
// skipped without being held, a bad line is quoted in at most 200 bytes
// with control bytes escaped, and only Decoder.MaxReported bad lines are
// reported (all are counted). Read errors other than EOF end the input
// without making the line they cut a bad line. The first timestamp is
// checked against the precision (PrecisionHint).
//
// lineproto imports eval and models.
package lineproto
