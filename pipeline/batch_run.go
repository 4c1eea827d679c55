package pipeline

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/tickrun/tickrun/eval"
	"github.com/tickrun/tickrun/pipeline/influx"
	"github.com/tickrun/tickrun/pipeline/models"
)

// ErrNotBatch is returned by RunBatches and StartBatches for a task
// without a batch query.
var ErrNotBatch = errors.New("the task has no batch|query(): it is a stream task")

// RunBatches runs the task's batch queries over [start, stop] on the
// data's clock, as Kapacitor's `replay-live batch -rec-time` does (a
// backtest): each query node's ticks from start to stop (stop included,
// and none whose window ends after the wall clock's now) are queried in
// tick order, the nodes of one tick in script order, and each series of
// an answer goes through the task as one batch before the next query is
// sent. The queries are rendered as replay-live renders them
// (influx.Query.RenderReplay).
//
// A failed query is logged with the task and the query, counted as an
// error of its node, and ends the run: RunBatches returns it (replay-live
// fails the same way). ctx cancels the run between queries and aborts a
// query in flight. Points written to the task meanwhile (WritePoint) go
// through the nodes between two batches, never in the middle of one.
func (t *Task) RunBatches(ctx context.Context, start, stop time.Time) error {
	nodes := t.queryNodes()
	if len(nodes) == 0 {
		return ErrNotBatch
	}
	type job struct {
		n *queryNode
		w influx.Window
	}
	var jobs []job
	now := time.Now()
	for _, n := range nodes {
		if _, err := n.clients.client(n.cluster); err != nil {
			return fmt.Errorf("%s: %w", n.name, err)
		}
		for w := range n.sched.All(start, stop, now) {
			jobs = append(jobs, job{n, w})
		}
	}
	// Stable: the nodes of one tick keep their script order.
	sort.SliceStable(jobs, func(i, j int) bool { return jobs[i].w.Tick.Before(jobs[j].w.Tick) })
	for _, j := range jobs {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := j.n.tick(ctx, j.w, true); err != nil {
			return err
		}
	}
	return nil
}

// StartBatches starts the task's batch queries on the wall clock, as
// kapacitord runs an enabled batch task: one goroutine per query node
// ticks on its schedule (influx.Schedule.NewTicker) and queries the
// tick's window (influx.Query.Render). A failed query is logged with the
// task and the query and counted as an error of its node; the node goes
// on with its next tick (no retry, no backfill, as in Kapacitor). Close
// stops the queries before it drains the task. StartBatches returns an
// error, and starts nothing, when the task has no query node or a node
// has no InfluxDB to query; calling it twice is an error.
func (t *Task) StartBatches() error {
	nodes := t.queryNodes()
	src := t.batchSourceNode()
	if len(nodes) == 0 || src == nil {
		return ErrNotBatch
	}
	for _, n := range nodes {
		if _, err := n.clients.client(n.cluster); err != nil {
			return fmt.Errorf("%s: %w", n.name, err)
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return ErrClosed
	}
	if src.run != nil {
		return errors.New("the task's batch queries are already started")
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &batchRunner{cancel: cancel}
	src.run = r
	for _, n := range nodes {
		tk := n.sched.NewTicker()
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			defer tk.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case tick := <-tk.C:
					_ = n.tick(ctx, n.sched.Window(tick), false)
				}
			}
		}()
	}
	return nil
}

// batchRunner is what StartBatches started.
type batchRunner struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// stopBatches stops the wall-clock queries, if they run, and waits for
// them; a query in flight is aborted. Close calls it before it drains
// the nodes, without holding the task's lock the queries take.
func (t *Task) stopBatches() {
	src := t.batchSourceNode()
	if src == nil {
		return
	}
	t.mu.Lock()
	r := src.run
	t.mu.Unlock()
	if r != nil {
		r.cancel()
		r.wg.Wait()
	}
	if q := t.queryNodes(); len(q) > 0 {
		q[0].clients.close() // the nodes share one set of clients
	}
}

// tick queries one window and hands the answer's batches to the children.
// The query runs without the task's lock, the batches go through the
// nodes under it. replay renders the query as replay-live does. A failed
// query is logged, counted and returned.
func (n *queryNode) tick(ctx context.Context, w influx.Window, replay bool) error {
	t := n.task
	text := n.query.Render(w.Start, w.Stop)
	if replay {
		text = n.query.RenderReplay(w.Start, w.Stop)
	}
	client, err := n.clients.client(n.cluster)
	var resp *influx.Response
	began := time.Now()
	if err == nil {
		resp, err = client.Query(ctx, influx.QueryRequest{Command: text})
	}
	waited := time.Since(began)
	if err != nil && ctx.Err() != nil && !replay {
		return err // stopped: not a failure of the query
	}
	var batches []*Batch
	if err == nil {
		batches = n.batches(resp, w.Stop)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	n.stats.Queries++
	n.stats.Wait += waited
	if t.closed {
		return ErrClosed
	}
	if err != nil {
		n.stats.Failed++
		n.fail("error executing query", err, "task", t.name)
		return fmt.Errorf("%s: %w", n.name, err)
	}
	for _, b := range batches {
		n.stats.Batches++
		n.stats.Points += int64(len(b.Points))
		t.stats.Points += int64(len(b.Points))
		b.Group = t.groups.ID(&Point{Name: b.Name, Tags: b.Tags, Dims: b.Dims})
		for _, p := range b.Points {
			p.Group = b.Group
		}
		n.emitBatch(b)
	}
	return nil
}

// batches maps an answer to batches as Kapacitor's ResultToBufferedBatches
// does: one batch per series, named after it, its tags the series' tags
// (which are also its dimensions: GROUP BY's tags) and, with
// groupByMeasurement, grouped by name too; each row a point with the
// row's non-null columns as fields, numbers as float64; the batch time
// per influx.Query.BatchTime. A series that cannot be read is logged and
// skipped. Group ids are set by the caller, under the task's lock.
func (n *queryNode) batches(resp *influx.Response, stop time.Time) []*Batch {
	var out []*Batch
	for ri := range resp.Results {
		for si := range resp.Results[ri].Series {
			s := &resp.Results[ri].Series[si]
			pts, tmax, err := s.Points()
			if err != nil {
				n.task.mu.Lock()
				n.fail("failed to understand query result", err, "task", n.task.name)
				n.task.mu.Unlock()
				continue
			}
			tags := make([]Tag, len(s.Tags))
			dims := make([]string, len(s.Tags))
			for i, tg := range s.Tags { // sorted by key
				tags[i], dims[i] = Tag{Key: tg.Key, Value: tg.Value}, tg.Key
			}
			b := &Batch{Name: s.Name, Tags: tags, Dims: Dimensions{ByName: n.byName, TagNames: dims},
				TMax: n.query.BatchTime(stop, tmax).UnixNano(), Points: make([]*Point, 0, len(pts))}
			for _, rp := range pts {
				p := &Point{Name: s.Name, Timestamp: rp.Time.UnixNano(), Tags: tags, Dims: b.Dims,
					Fields: make([]Field, 0, len(rp.Fields))}
				for _, f := range rp.Fields {
					p.Fields = append(p.Fields, Field{Key: f.Name, Value: fieldValue(f.Value)})
				}
				p.Fields = models.SortFields(p.Fields)
				b.Points = append(b.Points, p)
			}
			out = append(out, b)
		}
	}
	return out
}

// fieldValue converts a cell of an answer; numbers are float64, as in
// Kapacitor (issue #1338).
func fieldValue(v influx.Value) eval.Value {
	switch v.Kind {
	case influx.String:
		return eval.StringValue(v.S)
	case influx.Bool:
		return eval.BoolValue(v.B)
	}
	return eval.FloatValue(v.F)
}
