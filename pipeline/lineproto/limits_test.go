package lineproto

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand"
	"runtime"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickrun/tickrun/pipeline/models"
)

// Tests of the decoder under hostile input (issues 16 and 17): long lines,
// many fields, binary garbage, floods of bad lines, cut input and
// timestamps in the wrong unit.

// segment is a piece of generated input: text, or n copies of a byte.
type segment struct {
	text string
	rep  byte
	n    int
}

// genReader yields its segments in reads of at most max bytes without
// holding them (a long line is generated as it is read), then err (EOF
// if nil).
type genReader struct {
	segs []segment
	max  int
	err  error
}

func (g *genReader) Read(p []byte) (int, error) {
	if g.max > 0 && len(p) > g.max {
		p = p[:g.max]
	}
	n := 0
	for n < len(p) && len(g.segs) > 0 {
		s := &g.segs[0]
		if s.text != "" {
			k := copy(p[n:], s.text)
			s.text = s.text[k:]
			n += k
		} else {
			k := min(s.n, len(p)-n)
			for i := range p[n : n+k] {
				p[n+i] = s.rep
			}
			s.n -= k
			n += k
		}
		if s.text == "" && s.n == 0 {
			g.segs = g.segs[1:]
		}
	}
	if n == 0 && len(g.segs) == 0 {
		if g.err != nil {
			return 0, g.err
		}
		return 0, io.EOF
	}
	return n, nil
}

func text(s string) segment          { return segment{text: s} }
func run(c byte, n int) segment      { return segment{rep: c, n: n} }
func gen(segs ...segment) *genReader { return &genReader{segs: segs, max: 64 << 10} }

// result is what a decoder produced: points as strings, bad lines as
// messages, the error Next ended with and the counts.
type result struct {
	points []string
	bad    []string
	err    error
	nbad   int
	npts   int
}

// decodeReader decodes r with configure applied to the decoder.
func decodeReader(t testing.TB, r io.Reader, configure func(*Decoder)) result {
	d := NewDecoder(r)
	d.MaxReported = -1
	d.Now = func() time.Time { return time.Unix(42, 0) }
	var res result
	d.OnError = func(e *LineError) { res.bad = append(res.bad, e.Error()) }
	if configure != nil {
		configure(d)
	}
	for {
		p, err := d.Next()
		if err != nil {
			res.err = err
			break
		}
		if p == nil {
			break
		}
		res.points = append(res.points, p.String())
	}
	res.nbad, res.npts = d.BadLines(), d.Points()
	require.Equal(t, len(res.points), res.npts, "Points counts the points returned")
	return res
}

// point returns the String of the point "m f=<f> <ts>".
func point(f, ts int) string {
	return fmt.Sprintf("m f=%d %s", f, time.Unix(0, int64(ts)).UTC().Format(time.RFC3339Nano))
}

func TestLongLine_issue17(t *testing.T) {
	const size = 12 << 20 // 12582912
	for _, workers := range []int{0, 1, 2, 4} {
		res := decodeReader(t, gen(text("m f=1 1\n"), run('x', size), text("\nm f=2 3\nm f=3 4")),
			func(d *Decoder) { d.Workers = workers })
		require.NoError(t, res.err)
		assert.Equal(t, []string{point(1, 1), point(2, 3), point(3, 4)}, res.points, "workers=%d", workers)
		require.Len(t, res.bad, 1, "workers=%d", workers)
		assert.Equal(t, "line 2: unable to parse '"+strings.Repeat("x", maxQuoted)+"...' (12582912 bytes, the first 200 shown): "+
			"line too long: 12582912 bytes, the limit is 4194304 (--max-line-size)", res.bad[0], "workers=%d", workers)
	}
}

// allocated returns the bytes allocated while f runs.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// A long line is skipped as it is read, not held: decoding 64 MiB on one
// line, and 256 MiB without any newline, allocates a few limits' worth.
func TestLongLineMemory_issue17(t *testing.T) {
	for _, workers := range []int{0, 2} {
		var res result
		n := allocated(func() {
			res = decodeReader(t, gen(text("m f=1 1\n"), run('x', 64<<20), text("\nm f=2 3\n")),
				func(d *Decoder) { d.Workers = workers })
		})
		assert.Equal(t, []string{point(1, 1), point(2, 3)}, res.points)
		assert.Equal(t, 1, res.nbad)
		assert.Less(t, n, uint64(32<<20), "workers=%d: bytes allocated for a 64 MiB line", workers)

		n = allocated(func() {
			res = decodeReader(t, gen(run('x', 256<<20)), func(d *Decoder) { d.Workers = workers })
		})
		assert.Empty(t, res.points)
		require.Len(t, res.bad, 1)
		assert.Contains(t, res.bad[0], "line 1: unable to parse 'xxx")
		assert.Contains(t, res.bad[0], "line too long: 268435456 bytes")
		assert.Less(t, n, uint64(32<<20), "workers=%d: bytes allocated for 256 MiB without a newline", workers)
	}
}

// Lines over a small limit, wherever they fall, read in whole blocks or
// one byte at a time, with and without workers: each is one bad line with
// its length, and the lines after it keep their numbers.
func TestLongLineTable_issue17(t *testing.T) {
	long := func(line, n int) string {
		return fmt.Sprintf("line %d: unable to parse '%s", line, strings.Repeat("x", min(n, maxQuoted)))
	}
	tests := []struct {
		name   string
		input  string
		err    error // the reader's error after the input (nil: EOF)
		points []string
		bad    []string // prefixes of the messages
		badLen []int    // the lengths named
	}{
		{name: "first line", input: "xxxxxxxxxxxx\nm f=1 2\n",
			points: []string{point(1, 2)}, bad: []string{long(1, 12)}, badLen: []int{12}},
		{name: "middle", input: "m f=1 1\nxxxxxxxxxxxx\nm f=2 3\n",
			points: []string{point(1, 1), point(2, 3)}, bad: []string{long(2, 12)}, badLen: []int{12}},
		{name: "last, no newline", input: "m f=1 1\nxxxxxxxxxxxxx",
			points: []string{point(1, 1)}, bad: []string{long(2, 13)}, badLen: []int{13}},
		{name: "whole input", input: "xxxxxxxxxxxx", bad: []string{long(1, 12)}, badLen: []int{12}},
		{name: "two in a row", input: "xxxxxxxxxx\nxxxxxxxxxxxx\nm f=1 3\n",
			points: []string{point(1, 3)}, bad: []string{long(1, 10), long(2, 12)}, badLen: []int{10, 12}},
		{name: "at the limit", input: "m f=12 1\nm f=123 2\n",
			points: []string{point(12, 1)}, bad: []string{"line 2: unable to parse 'm f=123 2'"}, badLen: []int{9}},
		{name: "cut by a cancelled read", input: "m f=1 1\nxxxxxxxxxxxx", err: context.Canceled,
			points: []string{point(1, 1)}},
		{name: "complete, then cancelled", input: "m f=1 1\nxxxxxxxxxxxx\nm f=2 3\nm f=", err: context.Canceled,
			points: []string{point(1, 1), point(2, 3)}, bad: []string{long(2, 12)}, badLen: []int{12}},
		{name: "empty lines around", input: "\n\nxxxxxxxxxxxxxxxxxxxx\n\nm f=1 5\n",
			points: []string{point(1, 5)}, bad: []string{long(3, 20)}, badLen: []int{20}},
	}
	for _, tc := range tests {
		for _, workers := range []int{0, 2} {
			for _, oneByte := range []bool{false, true} {
				var r io.Reader = &genReader{segs: []segment{text(tc.input)}, err: tc.err}
				if oneByte {
					r = iotest.OneByteReader(r)
				}
				res := decodeReader(t, r, func(d *Decoder) { d.MaxLineSize, d.Workers = 8, workers })
				where := fmt.Sprintf("%s, workers=%d, oneByte=%v", tc.name, workers, oneByte)
				assert.ErrorIs(t, res.err, tc.err, where)
				assert.Equal(t, tc.points, res.points, where)
				require.Len(t, res.bad, len(tc.bad), "%s: %q", where, res.bad)
				for i, b := range tc.bad {
					assert.True(t, strings.HasPrefix(res.bad[i], b), "%s: %q", where, res.bad[i])
					if strings.Contains(res.bad[i], "too long") {
						assert.Contains(t, res.bad[i], fmt.Sprintf("line too long: %d bytes, the limit is 8", tc.badLen[i]), where)
					}
				}
			}
		}
	}
}

// Over several chunks, with lines of random lengths around the limit:
// every line over it is reported with its number and length, every other
// line is a point stamped with its line number.
func TestLongLinesAcrossChunks_issue17(t *testing.T) {
	const limit = 300
	r := rand.New(rand.NewSource(17))
	var in strings.Builder
	var want result
	for line := 1; in.Len() < 3*chunkSize; line++ {
		n := 20 + r.Intn(2*limit)
		if line%1000 == 0 {
			n = chunkSize/2 + r.Intn(chunkSize) // some longer than a chunk
		}
		head := fmt.Sprintf("m,t=a f=1 %d", line)
		if n <= limit {
			// pad the tag value to n bytes
			fmt.Fprintf(&in, "m,t=%s f=1 %d\n", strings.Repeat("a", n-len(head)+1), line)
			want.points = append(want.points, fmt.Sprintf("m,t=%s f=1 %s", strings.Repeat("a", n-len(head)+1),
				time.Unix(0, int64(line)).UTC().Format(time.RFC3339Nano)))
			continue
		}
		pad := strings.Repeat("a", n-len(head)+1)
		fmt.Fprintf(&in, "m,t=%s f=1 %d\n", pad, line)
		want.bad = append(want.bad, fmt.Sprintf("line %d: unable to parse '%s...' (%d bytes, the first 200 shown): line too long: %d bytes, the limit is %d (--max-line-size)",
			line, ("m,t=" + pad)[:maxQuoted], n, n, limit))
	}
	require.Greater(t, len(want.bad), 100)
	for _, workers := range []int{0, 3} {
		res := decodeReader(t, strings.NewReader(in.String()), func(d *Decoder) { d.MaxLineSize, d.Workers = limit, workers })
		require.NoError(t, res.err)
		require.Equal(t, want.points, res.points, "workers=%d", workers)
		require.Equal(t, want.bad, res.bad, "workers=%d", workers)
	}
	// Without a limit the long lines are points.
	res := decodeReader(t, strings.NewReader(in.String()), func(d *Decoder) { d.MaxLineSize = -1 })
	assert.Empty(t, res.bad)
	assert.Equal(t, len(want.points)+len(want.bad), len(res.points))
}

// A line with many fields, or many tags, decodes in n log n: this test
// does not end on the code before the change (insertion sort: 200k
// fields written in reverse order are 2e10 swaps; go test -timeout 90s
// fails it there).
func TestDecodeManyFields_issue17(t *testing.T) {
	const n = 200_000
	keys := make([]string, n)
	var b strings.Builder
	b.WriteString("m ")
	for i := n - 1; i >= 0; i-- {
		keys[i] = fmt.Sprintf("f%06d", i)
		fmt.Fprintf(&b, "%s=%d,", keys[i], i%10)
	}
	b.WriteString("f000007=42 1\nm,")
	for i := n/2 - 1; i >= 0; i-- {
		fmt.Fprintf(&b, "t%06d=v,", i)
	}
	b.WriteString("z=1 f=1 2\n")
	for _, tc := range []struct {
		workers int
		noFast  bool
	}{{0, false}, {0, true}, {2, false}} {
		d := NewDecoder(strings.NewReader(b.String()))
		d.Workers, d.noFast = tc.workers, tc.noFast
		var bad []*LineError
		d.OnError = func(e *LineError) { bad = append(bad, e) }
		p, err := d.Next()
		require.NoError(t, err)
		require.NotNil(t, p, "%v", bad)
		require.Len(t, p.Fields, n)
		for i, f := range p.Fields {
			want := float64(i % 10)
			if i == 7 {
				want = 42 // the last of the duplicate keys wins
			}
			if f.Key != keys[i] || f.Value.Float() != want {
				t.Fatalf("%+v: field %d is %s=%v", tc, i, f.Key, f.Value)
			}
		}
		p, err = d.Next()
		require.NoError(t, err)
		require.NotNil(t, p, "%v", bad)
		require.Len(t, p.Tags, n/2+1)
		assert.True(t, slices.IsSortedFunc(p.Tags, func(a, b models.Tag) int { return strings.Compare(a.Key, b.Key) }))
		assert.Empty(t, bad)
	}
}

// A bad line is quoted in at most 200 bytes, with what could act on a
// terminal escaped, and the message says how long the line was.
func TestLineErrorQuoting_issue16(t *testing.T) {
	long := "m f=" + strings.Repeat("x", 3_000_000) + " 1"
	tests := []struct {
		name, line string
		want       string // the quoted part of the message
	}{
		{"a 3 MB line", long, "'m f=" + strings.Repeat("x", maxQuoted-4) + "...' (3000006 bytes, the first 200 shown)"},
		{"control bytes", "m\x00\x1b[2J\x07 f=x 1", `'m\x00\x1b[2J\x07 f=x 1'`},
		{"invalid UTF-8", "m f=\xff\xfe 1", `'m f=\xff\xfe 1'`},
		{"bidi override and a valid accent", "mé f=\u202e1 1", `'mé f=\u202e1 1'`},
		{"delete and C1 controls", "m f=\x7f\u0085 1", `'m f=\x7f\u0085 1'`},
		{"backslashes stay", `m f=\n\x 1`, `'m f=\n\x 1'`},
		{"cut before a multibyte character", "m f=" + strings.Repeat("a", maxQuoted-5) + "é 1",
			"'m f=" + strings.Repeat("a", maxQuoted-5) + "...' (203 bytes, the first 199 shown)"},
	}
	for _, tc := range tests {
		for _, workers := range []int{0, 2} {
			res := decodeReader(t, strings.NewReader(tc.line+"\nm f=1 2\n"), func(d *Decoder) { d.Workers = workers })
			require.Len(t, res.bad, 1, tc.name)
			msg := res.bad[0]
			assert.Contains(t, msg, tc.want, tc.name)
			assert.Less(t, len(msg), 400, tc.name)
			assert.True(t, utf8.ValidString(msg), "%s: %q", tc.name, msg)
			for _, c := range []byte(msg) {
				require.False(t, c < 0x20 || c == 0x7f, "%s: control byte %#x in %q", tc.name, c, msg)
			}
			assert.Equal(t, []string{point(1, 2)}, res.points, tc.name)
		}
	}
}

// Bad lines beyond MaxReported are counted, not reported, and the last one
// reported says so.
func TestMaxReported_issue16(t *testing.T) {
	var b strings.Builder
	bad := 0
	for i := 1; b.Len() < 3*chunkSize/2; i++ {
		// 25 bad lines in the first chunk, then one now and then
		if i <= 50 && i%2 == 0 || i%20000 == 0 {
			fmt.Fprintf(&b, "bad line %d\n", i)
			bad++
			continue
		}
		fmt.Fprintf(&b, "m f=1 %d\n", i)
	}
	require.Greater(t, bad, 30)
	for _, workers := range []int{0, 2} {
		for _, tc := range []struct{ max, reported int }{{0, 20}, {5, 5}, {-1, bad}, {1000, bad}} {
			var got []*LineError
			d := NewDecoder(strings.NewReader(b.String()))
			d.Workers, d.MaxReported = workers, tc.max
			d.OnError = func(e *LineError) { got = append(got, e) }
			for {
				p, err := d.Next()
				require.NoError(t, err)
				if p == nil {
					break
				}
			}
			where := fmt.Sprintf("workers=%d MaxReported=%d", workers, tc.max)
			require.Len(t, got, tc.reported, where)
			assert.Equal(t, bad, d.BadLines(), where)
			assert.Equal(t, bad-tc.reported, d.Unreported(), where)
			assert.Equal(t, 4, got[1].Line, where)
			for i, e := range got {
				last := i == len(got)-1 && tc.reported < bad
				assert.Equal(t, last, e.Last, "%s: error %d", where, i)
				assert.Equal(t, last, strings.HasSuffix(e.Error(), " (further bad lines are counted, not reported)"), where)
			}
		}
		// Without OnError every bad line is unreported.
		d := NewDecoder(strings.NewReader(b.String()))
		d.Workers = workers
		for p, _ := d.Next(); p != nil; p, _ = d.Next() {
		}
		assert.Equal(t, bad, d.BadLines())
		assert.Equal(t, bad, d.Unreported())
	}
}

// Points and BadLines tell a run where every line was bad.
func TestEveryLineBad_issue16(t *testing.T) {
	for _, workers := range []int{0, 2} {
		res := decodeReader(t, strings.NewReader("a\nb c\n\n# comment\nd e=\n"), func(d *Decoder) { d.Workers = workers })
		assert.Equal(t, 0, res.npts)
		assert.Equal(t, 3, res.nbad)
		res = decodeReader(t, strings.NewReader("a\nm f=1 1\n"), func(d *Decoder) { d.Workers = workers })
		assert.Equal(t, 1, res.npts)
		assert.Equal(t, 1, res.nbad)
	}
}

// Infinities and NaN are rejected in every spelling, as InfluxDB 1.x's
// parser (which Kapacitor uses) rejects them; both decoding paths agree.
func TestNonFiniteFloats_issue16(t *testing.T) {
	for _, v := range []string{"Inf", "-Inf", "+Inf", "inf", "-inf", "INF", "Infinity", "-Infinity", "infinity",
		"NaN", "nan", "-NaN", "+NaN", "1e400", "-1e400", "0x1p4", "-0x1p4", "1_000", "-Infi", "NaNi"} {
		in := "m f=1 1\nm f=" + v + " 2\nm g=2," + "f=" + v + " 3\nm f=3 4\n"
		for _, noFast := range []bool{false, true} {
			points, bad := decodePath(in, noFast)
			assert.Equal(t, []string{point(1, 1), point(3, 4)}, points, "%s noFast=%v", v, noFast)
			require.Len(t, bad, 2, "%s noFast=%v", v, noFast)
			assert.True(t, strings.HasPrefix(bad[0], "line 2: "), bad[0])
			assert.True(t, strings.HasPrefix(bad[1], "line 3: "), bad[1])
		}
		res := decodeReader(t, strings.NewReader(in), func(d *Decoder) { d.Workers = 2 })
		assert.Equal(t, 2, res.nbad, v)
	}
	// Finite spellings stay accepted.
	points, bad := decodePath("m f=-1.5e3,g=1E+2,h=.5,i=-0,j=1.,k=5e-324 1\n", false)
	assert.Empty(t, bad)
	assert.Equal(t, []string{"m f=-1500,g=100,h=0.5,i=-0,j=1,k=5e-324 1970-01-01T00:00:00.000000001Z"}, points)
}

// A read that ends with an error (Ctrl-C: context.Canceled) cuts the last
// line: the whole lines before it are decoded, the cut one is not a bad
// line, and Next returns the error.
func TestCancelledRead_issue16(t *testing.T) {
	for _, workers := range []int{0, 2} {
		for _, oneByte := range []bool{false, true} {
			var r io.Reader = &genReader{segs: []segment{text("m f=1 1\nm f=2 2\nm f=3")}, err: context.Canceled}
			if oneByte {
				r = iotest.OneByteReader(r)
			}
			res := decodeReader(t, r, func(d *Decoder) { d.Workers = workers })
			where := fmt.Sprintf("workers=%d oneByte=%v", workers, oneByte)
			assert.ErrorIs(t, res.err, context.Canceled, where)
			assert.Equal(t, []string{point(1, 1), point(2, 2)}, res.points, where)
			assert.Empty(t, res.bad, where)
			assert.Zero(t, res.nbad, where)
		}
	}
	// At a real EOF the last line without a newline is a line.
	res := decodeReader(t, strings.NewReader("m f=1 1\nm f="), nil)
	assert.Equal(t, []string{point(1, 1)}, res.points)
	assert.Len(t, res.bad, 1)
}

// The first timestamp is checked against the precision: written in
// another unit it is no time between 2000 and 2100, and the hint names
// the unit that fits.
func TestPrecisionHint_issue16(t *testing.T) {
	at := time.Date(2023, 11, 14, 22, 13, 20, 0, time.UTC).UnixNano()
	for _, prec := range precisions {
		for _, written := range precisions {
			ts := at / written.Multiplier()
			in := fmt.Sprintf("m f=1\nm f=1 %d\nm f=1 %d\nm f=2 5\n", ts, ts+1)
			for _, workers := range []int{0, 2} {
				for _, noFast := range []bool{false, true} {
					where := fmt.Sprintf("precision %s, written in %s, workers=%d noFast=%v", prec, written, workers, noFast)
					var hints []*PrecisionHint
					d := NewDecoder(strings.NewReader(in))
					d.Precision, d.Workers, d.noFast = prec, workers, noFast
					d.OnPrecisionHint = func(h *PrecisionHint) { hints = append(hints, h) }
					var bad []string
					d.OnError = func(e *LineError) { bad = append(bad, e.Error()) }
					for p, err := d.Next(); p != nil || err != nil; p, err = d.Next() {
						require.NoError(t, err)
					}
					if prec == written {
						assert.Empty(t, hints, where)
						assert.Nil(t, d.PrecisionHint(), where)
						assert.Empty(t, bad, where)
						continue
					}
					require.Len(t, hints, 1, where)
					h := hints[0]
					assert.Same(t, h, d.PrecisionHint(), where)
					assert.Equal(t, PrecisionHint{Timestamp: ts, Precision: prec, Likely: written}, *h, where)
					assert.Contains(t, h.String(), "timestamps look like "+written.unit()+": ", where)
					assert.Contains(t, h.String(), "; use --precision "+string(written), where)
					if written.Multiplier() < prec.Multiplier() && len(bad) > 0 {
						// Finer timestamps may overflow in a coarser unit:
						// bad lines, which name the unit too.
						assert.Contains(t, bad[0], "is outside the range in precision "+string(prec)+
							" (it looks like "+written.unit()+": use --precision "+string(written)+")", where)
					}
				}
			}
		}
	}
	// The first written timestamp decides, once; "" is nanoseconds.
	var hints []*PrecisionHint
	d := NewDecoder(strings.NewReader("m f=1 1700000000000000000\nm f=1 5\n"))
	d.OnPrecisionHint = func(h *PrecisionHint) { hints = append(hints, h) }
	for p, _ := d.Next(); p != nil; p, _ = d.Next() {
	}
	assert.Empty(t, hints)
	d = NewDecoder(strings.NewReader("m f=1 5\nm f=1 1700000000\n"))
	for p, _ := d.Next(); p != nil; p, _ = d.Next() {
	}
	require.NotNil(t, d.PrecisionHint())
	assert.Equal(t, PrecisionHint{Timestamp: 5, Precision: "n"}, *d.PrecisionHint())
	assert.Equal(t, "timestamp 5 read as nanoseconds is 1970-01-01T00:00:00.000000005Z, and no precision makes it a time between 2000 and 2100",
		d.PrecisionHint().String())
	assert.Equal(t, "timestamps look like seconds: 1700000000 read as nanoseconds is 1970-01-01T00:00:01.7Z; use --precision s",
		(&PrecisionHint{Timestamp: 1700000000, Precision: "n", Likely: "s"}).String())
}

// The parallel decoder allocates per chunk, not per point.
func TestDecoderParallelAllocations(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation count")
	}
	data := cpuData(t)
	decode := func() {
		d := NewDecoder(bytes.NewReader(data))
		d.Workers = 2
		for p, _ := d.Next(); p != nil; p, _ = d.Next() {
		}
	}
	decode() // warm up
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	decode()
	runtime.ReadMemStats(&after)
	perPoint := float64(after.Mallocs-before.Mallocs) / benchPoints
	assert.Less(t, perPoint, 0.05, "allocations per point")
}

// BenchmarkDecodeManyFields decodes one line of n fields in random order:
// the sort of its fields dominates. Before the change 100k fields took
// seconds and 200k minutes.
func BenchmarkDecodeManyFields_issue17(b *testing.B) {
	for _, n := range []int{10_000, 100_000, 200_000} {
		r := rand.New(rand.NewSource(1))
		var line bytes.Buffer
		line.WriteString("m ")
		for i, k := range r.Perm(n) {
			if i > 0 {
				line.WriteByte(',')
			}
			fmt.Fprintf(&line, "f%06d=%d", k, i%10)
		}
		line.WriteString(" 1\n")
		b.Run(fmt.Sprintf("fields=%d", n), func(b *testing.B) {
			b.SetBytes(int64(line.Len()))
			for range b.N {
				d := NewDecoder(bytes.NewReader(line.Bytes()))
				if p, err := d.Next(); err != nil || p == nil || len(p.Fields) != n {
					b.Fatal("not decoded", err)
				}
			}
		})
	}
}
