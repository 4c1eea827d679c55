package lineproto

import (
	"errors"
	"fmt"
	"time"

	"github.com/tickrun/tickrun/pipeline/models"
)

// Precision is the unit of line-protocol timestamps, named as InfluxDB's
// write API names it: n, u, ms, s, m, h.
type Precision string

// Multiplier returns the nanoseconds of one unit; any unknown name counts as
// nanoseconds, as in Kapacitor (lineprotocol.md §4).
func (p Precision) Multiplier() int64 {
	switch p {
	case "u", "us", "µ":
		return int64(time.Microsecond)
	case "ms":
		return int64(time.Millisecond)
	case "s":
		return int64(time.Second)
	case "m":
		return int64(time.Minute)
	case "h":
		return int64(time.Hour)
	}
	return 1
}

// precisions are the units, finest first.
var precisions = []Precision{"n", "u", "ms", "s", "m", "h"}

// name returns the canonical name of p: "n" for "" and unknown names.
func (p Precision) name() Precision {
	for _, q := range precisions {
		if q.Multiplier() == p.Multiplier() {
			return q
		}
	}
	return "n"
}

// unit returns what one p is called in a sentence.
func (p Precision) unit() string {
	switch p.name() {
	case "u":
		return "microseconds"
	case "ms":
		return "milliseconds"
	case "s":
		return "seconds"
	case "m":
		return "minutes"
	case "h":
		return "hours"
	}
	return "nanoseconds"
}

// The plausible times of a point: [2000-01-01, 2100-01-01) UTC. Metrics
// fed to an alerting engine are recent; a time outside, read in one
// precision, is most likely a timestamp written in another.
var (
	plausibleFrom = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	plausibleTo   = time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()
)

// plausible reports whether t, in precision p, is a plausible time.
func plausible(t int64, p Precision) bool {
	m := p.Multiplier()
	return t >= plausibleFrom/m && t < plausibleTo/m
}

// likelyPrecision returns the one precision in which t is a plausible
// time, or "" (the ranges of the units do not overlap).
func likelyPrecision(t int64) Precision {
	for _, p := range precisions {
		if plausible(t, p) {
			return p
		}
	}
	return ""
}

// PrecisionHint says that the first timestamp of the input is no time
// between 2000 and 2100 in the decoder's precision (before the change
// that added it, seconds read as nanoseconds put every point in 1970 and
// no window ever closed).
type PrecisionHint struct {
	Timestamp int64     // the first timestamp written in the input, as written
	Precision Precision // the decoder's ("" is n)
	Likely    Precision // the precision in which Timestamp is between 2000 and 2100; "" if none
}

// String words the hint for a person: what the timestamp means, and the
// precision to use if one fits.
func (h *PrecisionHint) String() string {
	read := "is outside the range"
	if m := h.Precision.Multiplier(); h.Timestamp <= (1<<63-1)/m && h.Timestamp >= -(1<<63-1)/m {
		read = "is " + time.Unix(0, h.Timestamp*m).UTC().Format(time.RFC3339Nano)
	}
	if h.Likely == "" {
		return fmt.Sprintf("timestamp %d read as %s %s, and no precision makes it a time between 2000 and 2100",
			h.Timestamp, h.Precision.unit(), read)
	}
	return fmt.Sprintf("timestamps look like %s: %d read as %s %s; use --precision %s",
		h.Likely.unit(), h.Timestamp, h.Precision.unit(), read, h.Likely)
}

// PrecisionHint returns the hint given to OnPrecisionHint, or nil if the
// timestamps seen so far are plausible (or none was written).
func (d *Decoder) PrecisionHint() *PrecisionHint { return d.hint }

// checkPoint looks at the time of p, a point of a chunk whose points
// without a timestamp get now, until one was written.
func (d *Decoder) checkPoint(p *models.Point, now int64) {
	if p.Timestamp != now {
		d.checkTime(p.Timestamp / d.Precision.Multiplier()) // as written
	}
}

// checkTime looks at the first timestamp written in the input, t as
// written, once.
func (d *Decoder) checkTime(t int64) {
	d.timeChecked = true
	if plausible(t, d.Precision) {
		return
	}
	d.hint = &PrecisionHint{Timestamp: t, Precision: d.Precision.name(), Likely: likelyPrecision(t)}
	if d.OnPrecisionHint != nil {
		d.OnPrecisionHint(d.hint)
	}
}

// checkError looks at the timestamp of a bad line, if it is the first
// timestamp and out of range: with precision s, nanosecond timestamps
// overflow and every line is bad, which the hint explains.
func (d *Decoder) checkError(err error) {
	var te *TimeRangeError
	if !d.timeChecked && errors.As(err, &te) {
		d.checkTime(te.Timestamp)
	}
}
