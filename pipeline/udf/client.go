package udf

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/influxdata/kapacitor/udf/agent"
)

// Options are where a Client hands what its UDF sends.
//
// OnPoint, OnBatch and OnError are called from one goroutine of the Client,
// one call at a time, in the order the UDF sent things; OnError comes last,
// after everything received before the failure. A callback may block (the
// Client goes on reading the UDF meanwhile, queueing what it reads) and may
// call Abort, but must not call Close, which waits for the callbacks. Nil
// callbacks drop what they would have received.
type Options struct {
	OnPoint func(p *Point) // a point the UDF sent outside a batch; the callee owns it
	OnBatch func(b *Batch) // a batch the UDF sent; the callee owns it
	OnError func(err error)

	// Log receives each line the process writes to stderr and notes on
	// answers the Client did not ask for. It may be called from any
	// goroutine, concurrently with the other callbacks.
	Log func(line string)
}

// maxPending is how many bytes of frames WritePoint and WriteBatch queue
// before they wait for the UDF to read: a pipe's worth, so a keepalive
// queued behind data waits about as long as behind Kapacitor's pipe.
const maxPending = 64 << 10

// Client is one use of a UDF: one process, or one connection to a socket.
// Its methods are safe for concurrent use.
type Client struct {
	name string
	cfg  Config
	opts Options
	t    transport

	// Writing: frames are encoded into pending by the callers and written
	// by the writer goroutine, a whole buffer per write, each write bounded
	// by the timeout.
	wmu         sync.Mutex
	enc         *encoder
	pending     []byte
	spare       []byte
	space       chan struct{} // closed when pending empties; nil when nobody waits
	wake        chan struct{} // pending has frames, or the input is closing
	inputClosed bool          // Close began: nothing more is written

	// Requests: one at a time; the reader hands the reply over.
	reqMu   sync.Mutex
	replyMu sync.Mutex
	want    string // the answer awaited: "info", "init", "snapshot", "restore" or ""
	reply   chan *agent.Response

	seen atomic.Uint64 // messages received; the keepalive watch reads it

	// Ending.
	failOnce  sync.Once
	errMu     sync.Mutex
	err       error
	stop      chan struct{} // closed on a failure or Abort: everything stops now
	readEOF   chan struct{} // closed when the UDF's output ended cleanly
	ended     chan struct{} // closed when every goroutine but delivery has returned
	workers   sync.WaitGroup
	closeOnce sync.Once
	stderr    tail

	q *queue
}

// transport is a process's pipes or a socket connection.
type transport interface {
	reader() io.Reader
	// write writes b whole, giving up at the deadline.
	write(b []byte, deadline time.Time) error
	// closeInput tells the UDF no more requests come: it closes the
	// process's stdin or the write side of the connection.
	closeInput() error
	// kill ends the UDF now and unblocks every read and write.
	kill()
	// exited returns a channel closed when the UDF has ended, and then its
	// exit error; nil for a socket, whose far end does not exit.
	exited() <-chan struct{}
	exitErr() error
	// release frees what is left once every goroutine has returned.
	release()
}

// Start starts one use of the UDF called name: it starts cfg.Prog, or
// connects to cfg.Socket, and begins keepalives. Start sends no request:
// call Info, Init (and Restore), then write data.
func Start(name string, cfg Config, opts Options) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, &Error{Name: name, Err: err}
	}
	c := &Client{
		name:    name,
		cfg:     cfg,
		opts:    opts,
		enc:     newEncoder(),
		wake:    make(chan struct{}, 1),
		reply:   make(chan *agent.Response, 1),
		stop:    make(chan struct{}),
		readEOF: make(chan struct{}),
		ended:   make(chan struct{}),
		q:       newQueue(),
	}
	if cfg.Socket != "" {
		s, err := dialSocket(cfg.Socket, cfg.Timeout)
		if err != nil {
			return nil, &Error{Name: name, Err: err}
		}
		c.t = s
	} else {
		p, err := startProcess(cfg, c.logStderr)
		if err != nil {
			return nil, &Error{Name: name, Err: err}
		}
		c.stderr.mu.Lock()
		c.stderr.done = p.stderrDone
		c.stderr.mu.Unlock()
		c.t = p
	}
	c.workers.Add(3)
	go c.readLoop()
	go c.writeLoop()
	go c.keepaliveLoop()
	if ex := c.t.exited(); ex != nil {
		c.workers.Add(1)
		go c.watchExit(ex)
	}
	go func() {
		c.workers.Wait()
		c.t.release()
		close(c.ended)
	}()
	go c.q.deliver(c.opts)
	return c, nil
}

// Probe starts the UDF, asks for its Info and closes it, as Kapacitor does
// with every configured UDF when it starts.
func Probe(name string, cfg Config, opts Options) (Info, error) {
	c, err := Start(name, cfg, opts)
	if err != nil {
		return Info{}, err
	}
	info, err := c.Info()
	if err != nil {
		c.Abort()
		return Info{}, err
	}
	return info, c.Close()
}

// Name returns the UDF's name.
func (c *Client) Name() string { return c.name }

// Done returns a channel closed once the Client has ended: it failed, was
// aborted, or Close returned.
func (c *Client) Done() <-chan struct{} { return c.ended }

// Err returns the failure of the Client, an *Error, or nil.
func (c *Client) Err() error {
	c.errMu.Lock()
	defer c.errMu.Unlock()
	return c.err
}

// Info asks the UDF what it wants, provides and accepts as options.
func (c *Client) Info() (Info, error) {
	resp, err := c.request("info", &agent.Request{Message: &agent.Request_Info{Info: &agent.InfoRequest{}}})
	if err != nil {
		return Info{}, err
	}
	ri := resp.GetInfo()
	info := Info{
		Wants:    EdgeType(ri.GetWants()),
		Provides: EdgeType(ri.GetProvides()),
		Options:  make(map[string][]ValueType, len(ri.GetOptions())),
	}
	for name, o := range ri.GetOptions() {
		types := make([]ValueType, len(o.GetValueTypes()))
		for i, t := range o.GetValueTypes() {
			types[i] = ValueType(t)
		}
		info.Options[name] = types
	}
	return info, nil
}

// Init hands the UDF the script's options, with the task's and the node's
// ids. A refusal fails the Client with ErrInit and the UDF's text:
// `udf NAME: init failed: TEXT`.
func (c *Client) Init(taskID, nodeID string, options []Option) error {
	req := &agent.InitRequest{TaskID: taskID, NodeID: nodeID}
	for _, o := range options {
		wo := &agent.Option{Name: o.Name}
		for _, v := range o.Values {
			wv := &agent.OptionValue{Type: agent.ValueType(v.Type)}
			switch v.Type {
			case Bool:
				wv.Value = &agent.OptionValue_BoolValue{BoolValue: v.Bool}
			case Int:
				wv.Value = &agent.OptionValue_IntValue{IntValue: v.Int}
			case Double:
				wv.Value = &agent.OptionValue_DoubleValue{DoubleValue: v.Double}
			case String:
				wv.Value = &agent.OptionValue_StringValue{StringValue: v.Str}
			case Duration:
				wv.Value = &agent.OptionValue_DurationValue{DurationValue: v.Int}
			default:
				return &Error{Name: c.name, Err: fmt.Errorf("option %s: value of unknown type %d", o.Name, int(v.Type))}
			}
			wo.Values = append(wo.Values, wv)
		}
		req.Options = append(req.Options, wo)
	}
	resp, err := c.request("init", &agent.Request{Message: &agent.Request_Init{Init: req}})
	if err != nil {
		return err
	}
	if ri := resp.GetInit(); !ri.GetSuccess() {
		return c.fail(fmt.Errorf("%w: %s", ErrInit, ri.GetError()))
	}
	return nil
}

// Snapshot asks the UDF for its state.
func (c *Client) Snapshot() ([]byte, error) {
	resp, err := c.request("snapshot", &agent.Request{Message: &agent.Request_Snapshot{Snapshot: &agent.SnapshotRequest{}}})
	if err != nil {
		return nil, err
	}
	return resp.GetSnapshot().GetSnapshot(), nil
}

// Restore hands the UDF a state from Snapshot. A refusal fails the Client
// with ErrRestore: `udf NAME: restore failed: TEXT`.
func (c *Client) Restore(snapshot []byte) error {
	resp, err := c.request("restore", &agent.Request{Message: &agent.Request_Restore{Restore: &agent.RestoreRequest{Snapshot: snapshot}}})
	if err != nil {
		return err
	}
	if rr := resp.GetRestore(); !rr.GetSuccess() {
		return c.fail(fmt.Errorf("%w: %s", ErrRestore, rr.GetError()))
	}
	return nil
}

// WritePoint sends p to the UDF; p is borrowed for the call only. It waits
// while 64 KiB are queued for a UDF that does not read, at most
// about the timeout, after which the Client has failed. It returns an error
// for a point the protocol cannot carry (a string that is not UTF-8, a
// Duration field): the Client goes on. Once the Client has failed it returns
// the failure; after Close or Abort, ErrClosed.
func (c *Client) WritePoint(p *Point) error {
	return c.enqueue(func(buf []byte) ([]byte, error) { return c.enc.appendPoint(buf, p) })
}

// WriteBatch sends b to the UDF (begin, points, end) as WritePoint does.
func (c *Client) WriteBatch(b *Batch) error {
	return c.enqueue(func(buf []byte) ([]byte, error) { return c.enc.appendBatch(buf, b) })
}

// Close ends the use gracefully: it sends what is queued, closes the UDF's
// input, waits for the UDF to send its last output and end (a process must
// exit, with status 0) for at most twice the timeout, as Kapacitor's grace
// period, and waits until the callbacks have had everything. It returns the
// Client's failure or nil. It must not be called from a callback.
func (c *Client) Close() error {
	c.wmu.Lock()
	first := !c.inputClosed
	c.inputClosed = true
	c.wmu.Unlock()
	if first {
		c.signal()
		grace := time.NewTimer(2 * c.cfg.Timeout)
		defer grace.Stop()
		select {
		case <-c.readEOF:
			c.waitExit(grace.C)
		case <-c.stop:
		case <-grace.C:
			c.fail(timeoutError{what: "shutdown", after: 2 * c.cfg.Timeout})
		}
		c.finish()
	}
	<-c.ended
	<-c.q.done
	return c.Err()
}

// waitExit waits, after a clean end of the output, for the process to exit
// and fails the Client if it exited with an error.
func (c *Client) waitExit(grace <-chan time.Time) {
	ex := c.t.exited()
	if ex == nil {
		return
	}
	select {
	case <-ex:
		if err := c.t.exitErr(); err != nil {
			c.failExited(err)
		}
	case <-c.stop:
	case <-grace:
		c.fail(timeoutError{what: "shutdown", after: 2 * c.cfg.Timeout})
	}
}

// Abort ends the use now: it kills the process or closes the connection and
// drops what the callbacks have not had yet. It does not wait for a
// callback in progress, so a callback may call it. A failure before it
// stays the Client's error; Abort itself is none.
func (c *Client) Abort() {
	c.wmu.Lock()
	c.inputClosed = true
	c.wmu.Unlock()
	c.q.discard()
	c.shutdown()
	<-c.ended
}

// finish stops the goroutines after a graceful end or a failure.
func (c *Client) finish() {
	c.shutdown()
	c.q.seal()
}

// shutdown closes stop once and kills the transport.
func (c *Client) shutdown() {
	c.closeOnce.Do(func() {
		close(c.stop)
		c.t.kill()
	})
}

// fail makes err the Client's failure, unless it already has one, stops
// everything and queues the error for OnError. It returns the failure.
func (c *Client) fail(cause error) error {
	return c.setFailure(&Error{Name: c.name, Err: cause, Stderr: c.stderr.String()})
}

// failExited is fail for a process that ended on its own; the error
// carries what the process wrote to stderr last, so it waits a moment for
// stderr to end.
func (c *Client) failExited(status error) error {
	c.stderr.wait(time.Second)
	return c.setFailure(&Error{Name: c.name, Exited: true, Err: status, Stderr: c.stderr.String()})
}

func (c *Client) setFailure(e *Error) error {
	c.failOnce.Do(func() {
		c.errMu.Lock()
		c.err = e
		c.errMu.Unlock()
		c.q.pushError(e)
		c.shutdown()
	})
	return c.Err()
}

// stopped returns the error for a call on an ended Client.
func (c *Client) stopped() error {
	if err := c.Err(); err != nil {
		return err
	}
	return &Error{Name: c.name, Err: ErrClosed}
}

// request sends req and waits for the answer of kind want, at most the
// timeout; a UDF that does not answer in time fails the Client.
func (c *Client) request(want string, req *agent.Request) (*agent.Response, error) {
	c.reqMu.Lock()
	defer c.reqMu.Unlock()
	c.replyMu.Lock()
	c.want = want
	c.replyMu.Unlock()
	defer func() {
		c.replyMu.Lock()
		c.want = ""
		c.replyMu.Unlock()
	}()
	if err := c.enqueue(func(buf []byte) ([]byte, error) { return appendFrame(buf, req) }); err != nil {
		return nil, err
	}
	timer := time.NewTimer(c.cfg.Timeout)
	defer timer.Stop()
	select {
	case resp := <-c.reply:
		return resp, nil
	case <-c.stop:
		return nil, c.stopped()
	case <-timer.C:
		return nil, c.fail(timeoutError{what: want, after: c.cfg.Timeout})
	}
}

// enqueue appends frames to pending with add, waiting for room first.
func (c *Client) enqueue(add func([]byte) ([]byte, error)) error {
	c.wmu.Lock()
	for {
		if c.inputClosed || isClosed(c.stop) {
			c.wmu.Unlock()
			return c.stopped()
		}
		if len(c.pending) < maxPending {
			break
		}
		if c.space == nil {
			c.space = make(chan struct{})
		}
		space := c.space
		c.wmu.Unlock()
		select {
		case <-space:
		case <-c.stop:
		}
		c.wmu.Lock()
	}
	buf, err := add(c.pending)
	c.pending = buf
	c.wmu.Unlock()
	if err != nil {
		return &Error{Name: c.name, Err: err}
	}
	c.signal()
	return nil
}

// signal wakes the writer.
func (c *Client) signal() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

func isClosed(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// writeLoop writes pending frames; once the input is closing and nothing is
// pending, it closes the UDF's input.
func (c *Client) writeLoop() {
	defer c.workers.Done()
	for {
		select {
		case <-c.wake:
		case <-c.stop:
			return
		}
		c.wmu.Lock()
		buf := c.pending
		c.pending = c.spare[:0]
		closing := c.inputClosed
		if c.space != nil {
			close(c.space)
			c.space = nil
		}
		c.wmu.Unlock()
		if len(buf) > 0 {
			err := c.t.write(buf, time.Now().Add(c.cfg.Timeout))
			if err != nil {
				if isClosed(c.stop) {
					return
				}
				if errors.Is(err, os.ErrDeadlineExceeded) {
					c.fail(timeoutError{what: "write", after: c.cfg.Timeout})
					return
				}
				// The UDF went away: the reader or the exit watch tells why.
				c.lost(fmt.Errorf("%w: %v", ErrConnection, err))
				return
			}
		}
		c.wmu.Lock()
		c.spare = buf[:0]
		empty := len(c.pending) == 0
		c.wmu.Unlock()
		if closing && empty {
			if err := c.t.closeInput(); err != nil && !isClosed(c.stop) {
				c.lost(fmt.Errorf("%w: %v", ErrConnection, err))
			}
			return
		}
		if !empty {
			c.signal()
		}
	}
}

// readLoop reads what the UDF sends and hands it on.
func (c *Client) readLoop() {
	defer c.workers.Done()
	dec := newDecoder(c.t.reader())
	for {
		ev, err := dec.next()
		if err != nil {
			c.readEnded(err)
			return
		}
		c.seen.Add(1)
		switch {
		case ev.point != nil:
			c.q.push(item{point: ev.point})
		case ev.batch != nil:
			c.q.push(item{batch: ev.batch})
		default:
			c.answer(ev.reply)
		}
	}
}

// readEnded handles the end of the UDF's output.
func (c *Client) readEnded(err error) {
	if isClosed(c.stop) {
		return // we closed it
	}
	switch {
	case err == io.EOF:
		c.wmu.Lock()
		closing := c.inputClosed
		c.wmu.Unlock()
		if closing {
			close(c.readEOF)
			return
		}
		c.lost(fmt.Errorf("%w: the udf closed its output", ErrConnection))
	case errors.Is(err, errCutShort) && c.t.exited() != nil:
		// Cut short by a crash, or by garbage: the exit status tells.
		c.lost(err)
	case errors.Is(err, ErrBadMessage), errors.Is(err, ErrReported):
		c.fail(err)
	default:
		c.lost(fmt.Errorf("%w: %v", ErrConnection, err))
	}
}

// lost fails the Client after the UDF's output ended or broke. A process
// gets a moment to exit, and then its exit status is the failure, unless it
// exited with status 0 after writing garbage; a socket's cause is the
// failure.
func (c *Client) lost(cause error) {
	ex := c.t.exited()
	if ex == nil {
		c.fail(cause)
		return
	}
	timer := time.NewTimer(c.cfg.Timeout)
	defer timer.Stop()
	select {
	case <-ex:
		status := c.t.exitErr()
		if status == nil && errors.Is(cause, ErrBadMessage) {
			c.fail(cause)
			return
		}
		if status == nil {
			status = errors.New("exit status 0")
		}
		c.failExited(status)
	case <-c.stop:
	case <-timer.C:
		c.fail(cause)
	}
}

// watchExit fails the Client when its process exits before Close, once the
// process's last output has been read (a child that keeps the output open
// gets the timeout).
func (c *Client) watchExit(ex <-chan struct{}) {
	defer c.workers.Done()
	select {
	case <-ex:
	case <-c.stop:
		return
	}
	timer := time.NewTimer(c.cfg.Timeout)
	defer timer.Stop()
	select {
	case <-c.readEOF:
	case <-c.stop:
	case <-timer.C:
		c.wmu.Lock()
		closing := c.inputClosed
		c.wmu.Unlock()
		if !closing {
			c.lost(fmt.Errorf("%w: the process exited", ErrConnection))
		}
	}
}

// answer hands a reply to the request waiting for it.
func (c *Client) answer(resp *agent.Response) {
	kind := ""
	switch resp.Message.(type) {
	case *agent.Response_Keepalive:
		return // seen counts it
	case *agent.Response_Info:
		kind = "info"
	case *agent.Response_Init:
		kind = "init"
	case *agent.Response_Snapshot:
		kind = "snapshot"
	case *agent.Response_Restore:
		kind = "restore"
	}
	c.replyMu.Lock()
	ok := kind != "" && c.want == kind
	if ok {
		c.want = ""
	}
	c.replyMu.Unlock()
	if ok {
		c.reply <- resp // one slot, one waiter: never blocks
		return
	}
	c.log(fmt.Sprintf("udf %s: dropped an unrequested %s answer", c.name, kind))
}

// keepaliveLoop sends a keepalive every half timeout and fails the Client
// when nothing at all has come from the UDF for a whole timeout. It stops
// once the input is closed: Close's grace period takes over.
func (c *Client) keepaliveLoop() {
	defer c.workers.Done()
	tick := time.NewTicker(c.cfg.Timeout / 4)
	defer tick.Stop()
	last, lastAt := c.seen.Load(), time.Now()
	for n := 0; ; n++ {
		select {
		case <-c.stop:
			return
		case now := <-tick.C:
			c.wmu.Lock()
			closing := c.inputClosed
			c.wmu.Unlock()
			if closing {
				return
			}
			if s := c.seen.Load(); s != last {
				last, lastAt = s, now
			} else if now.Sub(lastAt) >= c.cfg.Timeout {
				c.fail(timeoutError{what: "keepalive", after: c.cfg.Timeout})
				return
			}
			if n%2 == 1 {
				c.sendKeepalive(now)
			}
		}
	}
}

// sendKeepalive queues a keepalive request; it never waits for room, so a
// UDF that does not read cannot hold up the watch.
func (c *Client) sendKeepalive(now time.Time) {
	req := &agent.Request{Message: &agent.Request_Keepalive{Keepalive: &agent.KeepaliveRequest{Time: now.UnixNano()}}}
	c.wmu.Lock()
	if !c.inputClosed {
		if buf, err := appendFrame(c.pending, req); err == nil {
			c.pending = buf
		}
	}
	c.wmu.Unlock()
	c.signal()
}

// logStderr keeps a line of the process's stderr and logs it.
func (c *Client) logStderr(line string) {
	c.stderr.add(line)
	c.log(line)
}

func (c *Client) log(line string) {
	if c.opts.Log != nil {
		c.opts.Log(line)
	}
}
