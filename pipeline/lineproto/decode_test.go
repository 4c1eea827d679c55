package lineproto

import (
	"fmt"
	"io"
	"math"
	"math/rand"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickrun/tickrun/eval"
	"github.com/tickrun/tickrun/pipeline/models"
)

// decodeAll decodes input and returns the points (as strings) and the bad
// lines.
func decodeAll(t testing.TB, input string, prec Precision) ([]string, []*LineError) {
	return decodeWith(t, input, prec, 0)
}

func decodeWith(t testing.TB, input string, prec Precision, workers int) ([]string, []*LineError) {
	d := NewDecoder(strings.NewReader(input))
	d.Precision = prec
	d.Workers = workers
	d.MaxReported = -1
	d.Now = func() time.Time { return time.Unix(42, 0) }
	var bad []*LineError
	d.OnError = func(e *LineError) { bad = append(bad, e) }
	var out []string
	for {
		p, err := d.Next()
		require.NoError(t, err)
		if p == nil {
			break
		}
		out = append(out, p.String())
	}
	require.Equal(t, len(bad), d.BadLines())
	return out, bad
}

func TestDecoder(t *testing.T) {
	tests := []struct {
		name   string
		input  string
		prec   Precision
		points []string
		bad    map[int]string // line -> part of the reason
	}{
		{name: "sorted tags and fields",
			input:  "cpu,z=1,a=2 b=1i,a=2.5,c=\"x\",d=t 1700000000000000000\n",
			points: []string{"cpu,a=2,z=1 a=2.5,b=1,c=x,d=true 2023-11-14T22:13:20Z"}},
		{name: "escapes as Kapacitor reads them",
			input:  `cpu\ load,host\ name=a\,b,x\=y=1 idle\ value=5,s="q\"uote\\" 1700000000000000000` + "\n",
			points: []string{`cpu load,host name=a,b,x=y=1 idle value=5,s=q"uote\ 2023-11-14T22:13:20Z`}},
		{name: "backslash n stays two characters in strings",
			input:  `m s="a\nb\tc" 1` + "\n",
			points: []string{`m s=a\nb\tc 1970-01-01T00:00:00.000000001Z`}},
		{name: "escaped quote and equals in measurement",
			input:  `m\"x\=y f=1 1` + "\n",
			points: []string{`m"x=y f=1 1970-01-01T00:00:00.000000001Z`}},
		{name: "duplicate field keys: last wins",
			input:  "m f=1,f=2 1\n",
			points: []string{"m f=2 1970-01-01T00:00:00.000000001Z"}},
		{name: "missing timestamp takes the read time",
			input:  "m f=1\n",
			points: []string{"m f=1 1970-01-01T00:00:42Z"}},
		{name: "precision seconds", prec: "s",
			input:  "m f=1 1700000000\n",
			points: []string{"m f=1 2023-11-14T22:13:20Z"}},
		{name: "comments and blank lines",
			input:  "# comment\n\n   \nm f=1 1\n",
			points: []string{"m f=1 1970-01-01T00:00:00.000000001Z"}},
		{name: "bad lines are reported with their number and skipped",
			input:  "m f=1 1\nm f=1u 2\nm,a=1,a=2 f=1 3\nm f= 4\nm f=1 5\n",
			points: []string{"m f=1 1970-01-01T00:00:00.000000001Z", "m f=1 1970-01-01T00:00:00.000000005Z"},
			bad:    map[int]string{2: "unsigned", 3: "duplicate tags", 4: ""}},
		{name: "CRLF lines are rejected as in Kapacitor",
			input:  "m f=1 1\r\nm f=2 2\n",
			points: []string{"m f=2 1970-01-01T00:00:00.000000002Z"},
			bad:    map[int]string{1: "carriage return"}},
		{name: "a lone carriage return spoils the line",
			input:  "m f=1\r0 1\nm s=\"a\rb\" 2\n",
			points: []string{"m s=a\rb 1970-01-01T00:00:00.000000002Z"},
			bad:    map[int]string{1: "carriage return"}},
		{name: "bad timestamp",
			input: "m f=1 12x\n",
			bad:   map[int]string{1: ""}},
		{name: "non-finite floats are rejected, as in InfluxDB 1.x",
			input:  "m f=Inf 1\nm f=-Inf 2\nm f=+Inf 3\nm f=NaN 4\nm f=-NaN 5\nm f=1e999 6\nm f=-inf,g=1 7\nm f=-1.5e3 8\n",
			points: []string{"m f=-1500 1970-01-01T00:00:00.000000008Z"},
			bad:    map[int]string{1: "", 2: "invalid number", 3: "", 4: "", 5: "invalid number", 6: "invalid number", 7: "invalid number"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			points, bad := decodeAll(t, tc.input, tc.prec)
			ppoints, pbad := decodeWith(t, tc.input, tc.prec, 3)
			assert.Equal(t, points, ppoints, "parallel decoding gives the same points")
			assert.Equal(t, bad, pbad, "parallel decoding gives the same errors")
			assert.Equal(t, tc.points, points)
			got := map[int]string{}
			for _, b := range bad {
				got[b.Line] = b.Error()
			}
			require.Len(t, got, len(tc.bad), "bad lines: %v", got)
			for line, part := range tc.bad {
				assert.Contains(t, got[line], part, "line %d", line)
				assert.Contains(t, got[line], "unable to parse '", "line %d", line)
			}
		})
	}
}

func TestDecoderLineNumbersAcrossChunks(t *testing.T) {
	var b strings.Builder
	n := 0
	for b.Len() < 3*chunkSize {
		n++
		b.WriteString("cpu,host=a usage_idle=5 1700000000000000000\n")
	}
	b.WriteString("cpu bad\n")
	points, bad := decodeAll(t, b.String(), "")
	assert.Len(t, points, n)
	require.Len(t, bad, 1)
	assert.Equal(t, n+1, bad[0].Line)
	assert.Equal(t, "cpu bad", bad[0].Text)
}

// Parallel decoding yields the same points and bad lines, in the same
// order, as sequential decoding, across many chunks.
func TestDecoderParallelMatchesSequential(t *testing.T) {
	var b strings.Builder
	for i := 0; b.Len() < 3*chunkSize; i++ {
		switch i % 97 {
		case 13:
			b.WriteString("cpu bad line\n")
		case 50:
			b.WriteString("m s=\"multi\nline\" 5\n")
		default:
			b.WriteString("cpu,host=h" + strings.Repeat("x", i%5) + " usage_idle=5,n=1i " + "17000000000000000" + string(rune('0'+i%10)) + string(rune('0'+i%7)) + "\n")
		}
	}
	seqPoints, seqBad := decodeWith(t, b.String(), "", 0)
	for _, w := range []int{2, 4} {
		parPoints, parBad := decodeWith(t, b.String(), "", w)
		require.Equal(t, seqPoints, parPoints, "%d workers", w)
		require.Equal(t, seqBad, parBad, "%d workers", w)
	}
	assert.Greater(t, len(seqBad), 10)
}

// Fields come out sorted whatever the order of the line, also when a line
// repeats the keys of the line before it in the same places (the fast
// path then skips the check) after a line the library decoded (the
// fast path leaves non-ASCII tags to it).
func TestDecoderSortsRepeatedKeys(t *testing.T) {
	in := "cpu b=1,a=2 1\ncpu b=3,a=4 2\ncpu a=5,b=6 3\ncpu a=7,b=8 4\n" +
		"cpu,h=é b=-9,a=9 5\ncpu b=10,a=11 6\ncpu a=12,a=13 7\ncpu a=14,a=15 8\ncpu a=16,b=17 9\n" +
		// A bad line with the keys unsorted, then a line repeating them.
		"cpu b=18,a=x 10\ncpu b=19,a=20 11\ncpu a=21,b=22 12\ncpu b=23,a=24 x\ncpu b=25,a=26 13\n"
	want := [][]string{{"a=2", "b=1"}, {"a=4", "b=3"}, {"a=5", "b=6"}, {"a=7", "b=8"},
		{"a=9", "b=-9"}, {"a=11", "b=10"}, {"a=13"}, {"a=15"}, {"a=16", "b=17"},
		{"a=20", "b=19"}, {"a=21", "b=22"}, {"a=26", "b=25"}}
	for _, noFast := range []bool{false, true} {
		d := NewDecoder(strings.NewReader(in))
		d.noFast = noFast
		var got [][]string
		for {
			p, err := d.Next()
			require.NoError(t, err)
			if p == nil {
				break
			}
			var fs []string
			for _, f := range p.Fields {
				fs = append(fs, f.Key+"="+strings.TrimSuffix(f.Value.String(), ".0"))
			}
			got = append(got, fs)
		}
		assert.Equal(t, want, got, "noFast=%v", noFast)
	}
}

func TestDecoderAllocations(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation count")
	}
	input := strings.Repeat("cpu,host=a,cpu=cpu-total usage_idle=95.5,usage_user=3.5 1700000000000000000\n", 2000)
	d := NewDecoder(strings.NewReader(input))
	d.Next() // warm up the intern table
	allocs := testing.AllocsPerRun(1000, func() {
		if p, _ := d.Next(); p == nil {
			t.Fatal("ran out of input")
		}
	})
	assert.Zero(t, allocs, "decoding a known point allocates nothing")
}

func FuzzDecode(f *testing.F) {
	f.Add("cpu,host=a usage_idle=5 1700000000000000000\n")
	f.Add("m f=1u 2\nm,a=1,a=2 f=1 3\nm f= 4\r\n")
	f.Add(`m s="a\nb" 1` + "\nm f=1\n")
	f.Add("cpu\\ load,host\\ name=a\\,b x=1\n# c\n\nm f=t")
	f.Fuzz(func(t *testing.T, input string) {
		lines := strings.Count(input, "\n") + 1
		d := NewDecoder(strings.NewReader(input))
		d.MaxReported = -1
		seen := map[int]bool{}
		d.OnError = func(e *LineError) {
			if e.Line < 1 || e.Line > lines {
				t.Fatalf("bad line number %d of %d: %v", e.Line, lines, e)
			}
			if seen[e.Line] {
				t.Fatalf("line %d reported twice: %v", e.Line, e)
			}
			seen[e.Line] = true
		}
		good := 0
		for {
			p, err := d.Next()
			if err != nil {
				t.Fatal(err)
			}
			if p == nil {
				break
			}
			good++
			if len(p.Fields) == 0 {
				t.Fatalf("point without fields: %v", p)
			}
			for _, f := range p.Fields {
				if f.Value.Kind == eval.Missing {
					t.Fatalf("missing field value: %v", p)
				}
			}
		}
		if good+d.BadLines() > lines {
			t.Fatalf("%d good + %d bad > %d lines", good, d.BadLines(), lines)
		}
		if d.Points() != good {
			t.Fatalf("Points() = %d, %d points returned", d.Points(), good)
		}
		// With a small line limit, read a byte at a time, the workers
		// give what the caller's goroutine gives.
		small := func(workers int) result {
			return decodeReader(t, iotest.OneByteReader(strings.NewReader(input)), func(d *Decoder) {
				d.MaxLineSize, d.Workers = 16, workers
			})
		}
		seq, par := small(0), small(2)
		if !assert.Equal(t, seq, par) {
			t.FailNow()
		}
		// Exactly the lines over the limit are too long, with their
		// lengths.
		want := map[int]int{}
		for i, l := range strings.Split(input, "\n") {
			if len(l) > 16 {
				want[i+1] = len(l)
			}
		}
		got := map[int]int{}
		for _, b := range seq.bad {
			if m := tooLong.FindStringSubmatch(b); m != nil {
				line, _ := strconv.Atoi(m[1])
				n, _ := strconv.Atoi(m[2])
				got[line] = n
			}
		}
		if !assert.Equal(t, want, got, "lines too long") {
			t.FailNow()
		}
	})
}

// tooLong matches the message of a line over the limit.
var tooLong = regexp.MustCompile(`^line (\d+): unable to parse '.*: line too long: (\d+) bytes, the limit is 16 `)

// decodePath decodes input with the fast path on or off.
func decodePath(input string, noFast bool) ([]string, []string) {
	d := NewDecoder(strings.NewReader(input))
	d.noFast = noFast
	d.MaxReported = -1
	d.Now = func() time.Time { return time.Unix(42, 0) }
	var bad []string
	d.OnError = func(e *LineError) { bad = append(bad, e.Error()) }
	var out []string
	for {
		p, err := d.Next()
		if err != nil || p == nil {
			break
		}
		out = append(out, p.String())
	}
	return out, bad
}

// manyTags returns "t00=v,t01=v,..." with n tags.
func manyTags(n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "t%02d=v", i)
	}
	return b.String()
}

// The fast path decodes exactly what line-protocol/v2 decodes: the same
// points and the same bad lines.
func FuzzDecodePaths(f *testing.F) {
	for _, s := range []string{
		"cpu,host=a usage_idle=5 1700000000000000000\n",
		"m f=1,f=2 1\nm,b=1,a=2 x=-1.5e3,y=3i,z=t 2\n",
		"m f=1.\nm f=.5 3\nm f=+1 4\nm f=1e 5\nm f=0x10 6\nm f=1u 7\nm f=NaN 8\n",
		"m,a=1,a=2 f=1 1\nm f=1  2\n m f=1 3\nm f=1 3 \nm  f=1\nm, f=1\nm,a= f=1\n",
		"m f=9223372036854775808i 1\nm f=1 99999999999999999999\nm=x f=1 1\n",
		"m f=TRUE,g=False,h=tRUE 1\nm f=1 -5\nm f=--1\nm f=1e+5,g=2E-3 1\n",
		// The place cache: a token compared with the last line's at the
		// same place, as a prefix, extended, shortened, moved, repeated.
		"cpu,host=a usage=1,usage_idle=2 1\ncpu,host=ab usage_idle=1,usage=2 2\ncpu,host=a usage=3 3\ncpu,host=a usag=3 4\n",
		"cpu,h=a b=1,a=2 1\ncpu,h=a b=3,a=4 2\ncpu,h=a,h=b b=5 3\ncpu,h=a b=6,b=7 4\ncpux,h=a b=1 5\ncp,h=a b=1 6\ncpu,h=a=b b=1 7\n",
		"m " + strings.Repeat("f=1,", 3) + "g=2 1\nm,k=v f=1 2\nm,k=v,k2=v2 f=1 3\nm,k=v f=1,k=2 4\n",
		strings.Repeat("m,"+manyTags(40)+" f=1,g=2 1\n", 3),
		"m a=1,b=2 1\nm b=1,a=x 2\nm b=3,a=4 3\nm b=3,a=4 x\nm b=5,a=6 4\n",
		// Non-finite floats, in every spelling, are bad lines (issue 16).
		"m f=Inf 1\nm f=-Inf 2\nm f=+Inf 3\nm f=inf 4\nm f=-inf 5\nm f=NaN 6\nm f=nan 7\nm f=-NaN 8\n",
		"m f=Infinity 1\nm f=-Infinity 2\nm f=1e400 3\nm f=-1e999 4\nm f=0x1p4 5\nm f=1_0 6\nm f=-Infi 7\nm g=1,f=-Inf 8\n",
		// Long lines, a precision hint (issues 16, 17).
		"m f=1 1700000000\n" + strings.Repeat("m,t=a f=1 1\n", 3) + "m f=1 1\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, input string) {
		fastPoints, fastBad := decodePath(input, false)
		libPoints, libBad := decodePath(input, true)
		if !assert.Equal(t, libPoints, fastPoints, "points") || !assert.Equal(t, libBad, fastBad, "bad lines") {
			t.FailNow()
		}
	})
}

// The exact fast float path gives what strconv.ParseFloat gives.
func TestFastFloatMatchesParseFloat(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	for i := 0; i < 200000; i++ {
		var s string
		switch i % 4 {
		case 0:
			s = strconv.FormatFloat(r.Float64()*100, 'f', r.Intn(6), 64)
		case 1:
			s = strconv.FormatInt(r.Int63n(1e15), 10)
		case 2:
			s = "-" + strconv.FormatFloat(r.ExpFloat64(), 'f', -1, 64)
		default:
			s = strconv.FormatInt(r.Int63n(1e15), 10) + "." + strconv.Itoa(r.Intn(1000))
		}
		want, err := strconv.ParseFloat(s, 64)
		require.NoError(t, err)
		var got eval.Value
		ok := fastValue(&got, []byte(s))
		require.True(t, ok, s)
		require.Equal(t, math.Float64bits(want), math.Float64bits(got.Float()), s)
		if x, end, ok := plainDecimal([]byte(s), 0); ok && end == len(s) {
			require.Equal(t, math.Float64bits(want), math.Float64bits(x), s)
		}
	}
}

// Live input: a point is decoded as soon as its line has arrived, without
// waiting for a full chunk or the end of the input.
func TestDecoderLiveInput(t *testing.T) {
	for _, workers := range []int{0, 2} {
		pr, pw := io.Pipe()
		d := NewDecoder(pr)
		d.Workers = workers
		go pw.Write([]byte("cpu usage_idle=5 1\n"))
		done := make(chan *models.Point)
		go func() { p, _ := d.Next(); done <- p }()
		select {
		case p := <-done:
			require.NotNil(t, p)
			assert.Equal(t, "cpu", p.Name)
		case <-time.After(5 * time.Second):
			t.Fatalf("workers=%d: the point waited for more input", workers)
		}
		pw.Close()
	}
}

// fastInt accepts what strconv.ParseInt accepts in 19 digits, with the
// same value, and nothing else.
func TestFastIntMatchesParseInt(t *testing.T) {
	for _, s := range []string{"0", "-0", "7", "-7", "1700000000000000000", "9223372036854775807",
		"9223372036854775808", "-9223372036854775808", "-9223372036854775809", "9999999999999999999",
		"99999999999999999999", "", "-", "12a", "+1", "--1", "1-"} {
		got, ok := fastInt([]byte(s))
		want, err := strconv.ParseInt(s, 10, 64)
		if ok {
			assert.NoError(t, err, s)
			assert.Equal(t, want, got, s)
		} else if len(strings.TrimPrefix(s, "-")) <= 19 && !strings.HasPrefix(s, "+") {
			assert.Error(t, err, s)
		}
	}
}

// ResetBytes decodes one in-memory input after another with one decoder,
// as NewDecoder would decode each: the same points and bad lines, line
// numbers from 1 in each, lines over MaxLineSize reported and skipped
// (then the next input is decoded in place again).
func TestResetBytes(t *testing.T) {
	inputs := []string{
		"cpu,host=a usage_idle=1 1\ncpu,host=b usage_idle=2 2\n",
		"cpu,host=c usage_idle=3 3",
		"bad line\ncpu,host=d usage_idle=4 4\n",
		"",
		`mem,host=e s="x\ty" 5`,
		"m f=1 1\nm,host=long-enough f=2 2\nm f=3 3\n",
		"m f=1 1\nm,host=long-enough f=2 2",
		"m,host=long-enough f=2 2\nm f=3 3\n",
		"m f=4 4\n",
	}
	for _, limit := range []int{0, 16} {
		reused := NewDecoder(strings.NewReader(""))
		reused.MaxLineSize = limit
		for _, in := range inputs {
			where := fmt.Sprintf("limit %d: %q", limit, in)
			var wantErr, gotErr []string
			fresh := NewDecoder(strings.NewReader(in))
			fresh.MaxLineSize = limit
			fresh.OnError = func(e *LineError) { wantErr = append(wantErr, e.Error()) }
			reused.OnError = func(e *LineError) { gotErr = append(gotErr, e.Error()) }
			reused.ResetBytes([]byte(in))
			for {
				w, err := fresh.Next()
				require.NoError(t, err)
				g, err := reused.Next()
				require.NoError(t, err)
				if w == nil {
					require.Nil(t, g, where)
					break
				}
				require.NotNil(t, g, where)
				wc, gc := *w, *g
				if len(wc.Tags) == 0 && len(gc.Tags) == 0 {
					wc.Tags, gc.Tags = nil, nil // a reused decoder keeps its empty slice
				}
				require.Equal(t, wc, gc, where)
			}
			require.Equal(t, wantErr, gotErr, where)
			require.Equal(t, fresh.Points(), reused.Points(), where)
			if limit > 0 && strings.Contains(in, "long-enough") {
				require.NotEmpty(t, gotErr, where)
				require.Contains(t, gotErr[len(gotErr)-1], "line too long", where)
			}
		}
	}
}
