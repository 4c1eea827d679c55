package influx

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/influxdata/influxql"
)

// DimKind says what a groupBy argument is.
type DimKind uint8

// Dimension kinds.
const (
	DimTag  DimKind = iota // a tag name: groupBy('host')
	DimStar                // groupBy(*)
	DimTime                // groupBy(time(1m[, 30s]))
)

// Dimension is one argument of the query node's groupBy().
type Dimension struct {
	Kind     DimKind
	Tag      string        // DimTag: the tag name
	Interval time.Duration // DimTime: the bucket width
	Offset   time.Duration // DimTime: the bucket offset (time(d, offset))
}

// TagDimension returns groupBy('name').
func TagDimension(name string) Dimension { return Dimension{Kind: DimTag, Tag: name} }

// StarDimension returns groupBy(*).
func StarDimension() Dimension { return Dimension{Kind: DimStar} }

// TimeDimension returns groupBy(time(interval, offset)); time(d) has a
// zero offset, which Kapacitor still writes out: GROUP BY time(1m, 0s).
func TimeDimension(interval, offset time.Duration) Dimension {
	return Dimension{Kind: DimTime, Interval: interval, Offset: offset}
}

// FillMode is the query node's fill() option.
type FillMode uint8

// Fill modes. FillUnset (no .fill() in the script) keeps whatever fill the
// query text has; FillNull sets InfluxDB's default, which InfluxQL does not
// print.
const (
	FillUnset FillMode = iota
	FillNull
	FillNone
	FillPrevious
	FillLinear
	FillNumber
)

// Fill is the query node's fill(): a mode, and the number for FillNumber.
type Fill struct {
	Mode   FillMode
	number any // int64 or float64: InfluxQL prints them with %v, as Kapacitor passes them
}

// FillInt returns fill(n) for a TICKscript integer.
func FillInt(n int64) Fill { return Fill{Mode: FillNumber, number: n} }

// FillFloat returns fill(x) for a TICKscript float; fill(1.0) prints as
// fill(1), as in Kapacitor.
func FillFloat(x float64) Fill { return Fill{Mode: FillNumber, number: x} }

// ParseFill returns the fill of a string argument: 'null', 'none',
// 'previous' or 'linear'. Any other string is Kapacitor's error
// "unexpected fill option X".
func ParseFill(s string) (Fill, error) {
	switch s {
	case "null":
		return Fill{Mode: FillNull}, nil
	case "none":
		return Fill{Mode: FillNone}, nil
	case "previous":
		return Fill{Mode: FillPrevious}, nil
	case "linear":
		return Fill{Mode: FillLinear}, nil
	}
	return Fill{}, fmt.Errorf(msgFillOption, s)
}

// QueryOptions are the query node's properties that change the InfluxQL.
type QueryOptions struct {
	GroupBy    []Dimension // groupBy(...): replaces any GROUP BY of the query text
	Fill       Fill        // fill(...)
	AlignGroup bool        // alignGroup(): GROUP BY time offset = window start mod interval
}

// Source is one measurement of the query's FROM clause.
type Source struct {
	Database, RetentionPolicy, Name string
}

// SyntaxError is a query() text that Kapacitor refuses: InfluxQL that does
// not parse, more than one statement, or a statement other than SELECT.
type SyntaxError struct {
	Msg string // Kapacitor's message, e.g. "failed to parse InfluxQL query: found FROMM, expected FROM at line 1, char 22"
	// Where in the query text the problem is, when InfluxQL says: the
	// byte offset and the 1-based line and column (in runes). Offset is
	// -1 when the error has no position (the whole text is at fault).
	Offset, Line, Col int
}

// Error returns Msg.
func (e *SyntaxError) Error() string { return e.Msg }

// Query is a batch query() node's InfluxQL, parsed once and rendered for
// each window. A Query is safe for concurrent use.
type Query struct {
	mu         sync.Mutex
	stmt       *influxql.SelectStatement
	start      *influxql.TimeLiteral     // in stmt's condition
	stop       *influxql.TimeLiteral     // in stmt's condition
	interval   *influxql.DurationLiteral // GROUP BY time(interval, offset) in stmt, or nil
	offset     *influxql.DurationLiteral
	baseOffset time.Duration // the offset the script gave
	alignGroup bool
}

// NewQuery parses the query() text and applies the node's properties as
// Kapacitor does when it creates the node: the text must be one SELECT;
// `time >= start AND time < stop` is ANDed onto its WHERE clause (without
// parentheses around the user's condition, exactly as Kapacitor prints
// it); its GROUP BY is replaced by opts.GroupBy; opts.Fill, when set,
// replaces its fill. The error is a *SyntaxError for a bad text, a plain
// error for bad options.
func NewQuery(text string, opts QueryOptions) (*Query, error) {
	parsed, err := influxql.ParseQuery(text)
	if err != nil {
		return nil, syntaxError(text, err)
	}
	if n := len(parsed.Statements); n != 1 {
		return nil, &SyntaxError{Msg: fmt.Sprintf(msgOneStatement, n), Offset: -1}
	}
	stmt, ok := parsed.Statements[0].(*influxql.SelectStatement)
	if !ok {
		return nil, &SyntaxError{Msg: fmt.Sprintf(msgNotSelect, parsed.String()), Offset: -1}
	}
	q := &Query{stmt: stmt, alignGroup: opts.AlignGroup}
	q.start = &influxql.TimeLiteral{}
	q.stop = &influxql.TimeLiteral{}
	bounds := &influxql.BinaryExpr{
		Op:  influxql.AND,
		LHS: &influxql.BinaryExpr{Op: influxql.GTE, LHS: &influxql.VarRef{Val: "time"}, RHS: q.start},
		RHS: &influxql.BinaryExpr{Op: influxql.LT, LHS: &influxql.VarRef{Val: "time"}, RHS: q.stop},
	}
	if stmt.Condition != nil {
		stmt.Condition = &influxql.BinaryExpr{Op: influxql.AND, LHS: stmt.Condition, RHS: bounds}
	} else {
		stmt.Condition = bounds
	}
	if err := q.setDimensions(opts.GroupBy); err != nil {
		return nil, err
	}
	switch opts.Fill.Mode {
	case FillUnset:
	case FillNull:
		stmt.Fill, stmt.FillValue = influxql.NullFill, nil
	case FillNone:
		stmt.Fill, stmt.FillValue = influxql.NoFill, nil
	case FillPrevious:
		stmt.Fill, stmt.FillValue = influxql.PreviousFill, nil
	case FillLinear:
		stmt.Fill, stmt.FillValue = influxql.LinearFill, nil
	case FillNumber:
		stmt.Fill, stmt.FillValue = influxql.NumberFill, opts.Fill.number
	default:
		return nil, fmt.Errorf("unknown fill mode %d", opts.Fill.Mode)
	}
	return q, nil
}

// setDimensions replaces the statement's GROUP BY.
func (q *Query) setDimensions(dims []Dimension) error {
	q.stmt.Dimensions = nil
	hasTime := false
	for _, d := range dims {
		var expr influxql.Expr
		switch d.Kind {
		case DimTag:
			expr = &influxql.VarRef{Val: d.Tag}
		case DimStar:
			expr = &influxql.Wildcard{}
		case DimTime:
			if hasTime {
				return errors.New(msgTwoTimeDims)
			}
			hasTime = true
			q.interval = &influxql.DurationLiteral{Val: d.Interval}
			q.offset = &influxql.DurationLiteral{Val: d.Offset}
			q.baseOffset = d.Offset
			expr = &influxql.Call{Name: "time", Args: []influxql.Expr{q.interval, q.offset}}
		default:
			return fmt.Errorf("unknown groupBy dimension kind %d", d.Kind)
		}
		q.stmt.Dimensions = append(q.stmt.Dimensions, &influxql.Dimension{Expr: expr})
	}
	return nil
}

// syntaxError turns an influxql parse error into a *SyntaxError with the
// position converted to a byte offset and a 1-based line and column.
func syntaxError(text string, err error) *SyntaxError {
	e := &SyntaxError{Msg: msgParse + err.Error(), Offset: -1}
	var pe *influxql.ParseError
	if errors.As(err, &pe) {
		e.Line, e.Col = pe.Pos.Line+1, pe.Pos.Char+1
		e.Offset = byteOffset(text, pe.Pos.Line, pe.Pos.Char)
	}
	return e
}

// byteOffset converts influxql's 0-based line and rune column to a byte
// offset in text, clamped to the text.
func byteOffset(text string, line, char int) int {
	off := 0
	for l := 0; l < line; l++ {
		i := strings.IndexByte(text[off:], '\n')
		if i < 0 {
			return len(text)
		}
		off += i + 1
	}
	for c := 0; c < char && off < len(text); c++ {
		if text[off] == '\n' {
			break
		}
		_, size := utf8.DecodeRuneInString(text[off:])
		off += size
	}
	return off
}

// Render returns the InfluxQL a running Kapacitor task sends for the
// window [start, stop): with alignGroup(), the GROUP BY time offset is
// start modulo the interval.
func (q *Query) Render(start, stop time.Time) string {
	return q.render(start, stop, q.alignGroup)
}

// RenderReplay returns the InfluxQL Kapacitor's replay-live (and record
// batch) sends for the window: the same as Render except that alignGroup()
// has no effect there, because Kapacitor renders replay queries from a
// clone whose GROUP BY time offset is detached from the statement. A
// backtest that reproduces replay-live uses this one.
func (q *Query) RenderReplay(start, stop time.Time) string {
	return q.render(start, stop, false)
}

func (q *Query) render(start, stop time.Time, alignGroup bool) string {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.start.Val, q.stop.Val = start, stop
	if q.interval != nil {
		q.offset.Val = q.baseOffset
		if alignGroup && q.interval.Val != 0 {
			q.offset.Val = start.Sub(time.Unix(0, 0)) % q.interval.Val
		}
	}
	return q.stmt.String()
}

// GroupedByTime reports whether the query has a GROUP BY time(...).
func (q *Query) GroupedByTime() bool { return q.interval != nil }

// BatchTime returns the time Kapacitor gives a batch (one series of the
// answer) for the window ending at stop: the window stop when the query is
// not grouped by time or the batch has no point (tmax zero), else tmax,
// the latest point time (Series.Points returns it).
func (q *Query) BatchTime(stop, tmax time.Time) time.Time {
	if tmax.IsZero() || !q.GroupedByTime() {
		return stop
	}
	return tmax
}

// Sources returns the measurements of the FROM clause with their database
// and retention policy as written ("" when the query leaves them out).
// Kapacitor takes a batch task's dbrps from them. A subquery source is
// skipped.
func (q *Query) Sources() []Source {
	var out []Source
	for _, s := range q.stmt.Sources {
		if m, ok := s.(*influxql.Measurement); ok {
			name := m.Name
			if m.Regex != nil {
				name = m.Regex.String()
			}
			out = append(out, Source{Database: m.Database, RetentionPolicy: m.RetentionPolicy, Name: name})
		}
	}
	return out
}
