package lineproto

import (
	"bytes"
	"io"
	"slices"
	"sync"

	"github.com/tickrun/tickrun/pipeline/models"
)

// Parallel decoding: a reader goroutine cuts the input into chunks of whole
// lines, workers decode chunks into arenas of points, and Next hands the
// points out in input order. Decoding is most of the cost of a run, so this
// is where more cores help; the task itself stays on one goroutine, so the
// output is identical to sequential decoding.

// decodedChunk is the decoded content of one chunk.
type decodedChunk struct {
	seq     int
	data    []byte
	long    *longLine // a line over the limit, the placeholder opening data
	now     int64     // the time of points without a timestamp
	counted int       // bad lines past the cap, only counted
	points  []models.Point
	tags    []models.Tag
	fields  []models.Field
	spans   []pointSpan
	errs    []chunkErr
}

// pointSpan locates a point's tags and fields in the chunk's arenas.
type pointSpan struct{ tags, tagsEnd, fields, fieldsEnd int }

// chunkErr is a bad line, with the number of points decoded before it.
// A worker keeps at most MaxReported of them per chunk: more can never be
// reported.
type chunkErr struct {
	before int
	err    *LineError
}

type parallel struct {
	results chan *decodedChunk
	free    chan *decodedChunk
	pending map[int]*decodedChunk
	next    int // seq of the chunk to hand out next
	cur     *decodedChunk
	i       int // next point of cur
	e       int // next error of cur
	readErr error
	errMu   sync.Mutex
}

func (d *Decoder) startParallel() {
	n := d.Workers
	p := &parallel{
		results: make(chan *decodedChunk, n),
		free:    make(chan *decodedChunk, n+2),
		pending: map[int]*decodedChunk{},
	}
	d.par = p
	for i := 0; i < n+2; i++ {
		p.free <- &decodedChunk{}
	}
	jobs := make(chan *decodedChunk, n)
	lr := newLineReader(d.r, d.MaxLineSize)
	go func() { // reader
		defer close(jobs)
		seq, lines := 0, 0
		for {
			c := <-p.free
			c.seq = seq
			var err error
			c.data, c.long, err = lr.next(c.data[:0], chunkSize/4)
			if len(c.data) > 0 {
				c.spans = append(c.spans[:0], pointSpan{tags: lines}) // lineBase, kept in spans[0] until decoded
				jobs <- c
				seq++
				lines += bytes.Count(c.data, []byte{'\n'})
			} else {
				p.free <- c
			}
			if err != nil {
				if err != io.EOF {
					p.errMu.Lock()
					p.readErr = err
					p.errMu.Unlock()
				}
				return
			}
		}
	}()
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := &Decoder{Database: d.Database, RP: d.RP, Precision: d.Precision, Now: d.Now,
				MaxReported: d.MaxReported, intern: make(map[string]string)}
			for c := range jobs {
				w.decodeChunk(c, lr.max)
				p.results <- c
			}
		}()
	}
	go func() { wg.Wait(); close(p.results) }()
}

// decodeChunk decodes c.data into c's arenas with w, a worker's decoder;
// maxLine is the line size limit, for messages.
func (w *Decoder) decodeChunk(c *decodedChunk, maxLine int) {
	lineBase := c.spans[0].tags
	c.points, c.tags, c.fields, c.spans, c.errs = c.points[:0], c.tags[:0], c.fields[:0], c.spans[:0], c.errs[:0]
	w.OnError = func(e *LineError) { c.errs = append(c.errs, chunkErr{before: len(c.spans), err: e}) }
	w.bad, w.reported = 0, 0
	w.loadChunk(c.data, lineBase, c.long, maxLine)
	c.now = w.now
	for {
		// The decoder fills its point's tags and fields in place, so let
		// them be the free ends of the arenas: a line that fits needs no
		// copy.
		c.tags, c.fields = slices.Grow(c.tags, arenaSlack), slices.Grow(c.fields, arenaSlack)
		w.point.Tags, w.point.Fields = c.tags[len(c.tags):], c.fields[len(c.fields):]
		p, _ := w.Next()
		if p == nil {
			break
		}
		c.spans = append(c.spans, pointSpan{len(c.tags), len(c.tags) + len(p.Tags), len(c.fields), len(c.fields) + len(p.Fields)})
		c.tags = appendArena(c.tags, p.Tags)
		c.fields = appendArena(c.fields, p.Fields)
		c.points = append(c.points, models.Point{Name: p.Name, Database: p.Database, RP: p.RP, Timestamp: p.Timestamp})
	}
	w.point.Tags, w.point.Fields = nil, nil // the arenas are handed out
	c.counted = w.bad - w.reported
	for i, s := range c.spans {
		c.points[i].Tags = c.tags[s.tags:s.tagsEnd:s.tagsEnd]
		c.points[i].Fields = c.fields[s.fields:s.fieldsEnd:s.fieldsEnd]
	}
}

// arenaSlack is the room left at the end of a chunk's arenas before each
// line: lines with more tags or fields than this are copied.
const arenaSlack = 64

// appendArena appends x to arena, unless x already is the arena's next
// elements (decoded in place), which it then only takes in.
func appendArena[T any](arena, x []T) []T {
	n := len(arena)
	if len(x) > 0 && cap(arena) > n && &arena[:n+1][n] == &x[0] {
		return arena[:n+len(x)]
	}
	return append(arena, x...)
}

// nextParallel is Next with workers.
func (d *Decoder) nextParallel() (*models.Point, error) {
	if d.par == nil {
		d.startParallel()
	}
	p := d.par
	for {
		if c := p.cur; c != nil {
			for p.e < len(c.errs) && c.errs[p.e].before <= p.i {
				d.forward(c.errs[p.e].err)
				p.e++
			}
			if p.i < len(c.points) {
				p.i++
				return d.yield(&c.points[p.i-1], c.now), nil
			}
			d.bad += c.counted
			p.cur = nil
			p.free <- c
		}
		c, ok := p.pending[p.next]
		for !ok {
			r, open := <-p.results
			if !open {
				p.errMu.Lock()
				defer p.errMu.Unlock()
				return nil, p.readErr
			}
			p.pending[r.seq] = r
			c, ok = p.pending[p.next]
		}
		delete(p.pending, p.next)
		p.next++
		p.cur, p.i, p.e = c, 0, 0
	}
}
