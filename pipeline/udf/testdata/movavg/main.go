// Command movavg is a test UDF built on Kapacitor's Go agent: the moving
// average of a field over the last `size` values of each group, emitted as
// field `as` once the window is full. On a stream (the default) it emits a
// point per input point; with -batch it wants batches and emits, per input
// batch, a batch of the averages. Its state (every group's window) goes in
// snapshots.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/influxdata/kapacitor/udf/agent"
)

type movavg struct {
	a       *agent.Agent
	batch   bool
	field   string
	size    int
	as      string
	windows map[string][]float64 // group → last values, oldest first
	begin   *agent.BeginBatch
	out     []*agent.Point
}

func (m *movavg) Info() (*agent.InfoResponse, error) {
	edge := agent.EdgeType_STREAM
	if m.batch {
		edge = agent.EdgeType_BATCH
	}
	return &agent.InfoResponse{
		Wants:    edge,
		Provides: edge,
		Options: map[string]*agent.OptionInfo{
			"field": {ValueTypes: []agent.ValueType{agent.ValueType_STRING}},
			"size":  {ValueTypes: []agent.ValueType{agent.ValueType_INT}},
			"as":    {ValueTypes: []agent.ValueType{agent.ValueType_STRING}},
		},
	}, nil
}

func (m *movavg) Init(r *agent.InitRequest) (*agent.InitResponse, error) {
	m.as = "avg"
	for _, o := range r.Options {
		switch o.Name {
		case "field":
			m.field = o.Values[0].GetStringValue()
		case "size":
			m.size = int(o.Values[0].GetIntValue())
		case "as":
			m.as = o.Values[0].GetStringValue()
		}
	}
	var msg string
	switch {
	case m.field == "":
		msg = "field must not be empty"
	case m.size < 1:
		msg = fmt.Sprintf("size must be at least 1, got %d", m.size)
	}
	return &agent.InitResponse{Success: msg == "", Error: msg}, nil
}

func (m *movavg) Snapshot() (*agent.SnapshotResponse, error) {
	b, err := json.Marshal(m.windows)
	if err != nil {
		return nil, err
	}
	return &agent.SnapshotResponse{Snapshot: b}, nil
}

func (m *movavg) Restore(r *agent.RestoreRequest) (*agent.RestoreResponse, error) {
	w := map[string][]float64{}
	if err := json.Unmarshal(r.Snapshot, &w); err != nil {
		return &agent.RestoreResponse{Success: false, Error: "bad snapshot: " + err.Error()}, nil
	}
	m.windows = w
	return &agent.RestoreResponse{Success: true}, nil
}

// add puts p's value in its group's window and returns the average once
// the window is full.
func (m *movavg) add(group string, p *agent.Point) (float64, bool, error) {
	v, ok := p.FieldsDouble[m.field]
	if !ok {
		i, ok := p.FieldsInt[m.field]
		if !ok {
			return 0, false, errors.New("point has no field " + m.field)
		}
		v = float64(i)
	}
	w := append(m.windows[group], v)
	if len(w) > m.size {
		w = w[len(w)-m.size:]
	}
	m.windows[group] = w
	if len(w) < m.size {
		return 0, false, nil
	}
	sum := 0.0
	for _, x := range w {
		sum += x
	}
	return sum / float64(len(w)), true, nil
}

func (m *movavg) BeginBatch(b *agent.BeginBatch) error {
	m.begin, m.out = b, nil
	return nil
}

func (m *movavg) Point(p *agent.Point) error {
	if m.windows == nil {
		m.windows = map[string][]float64{}
	}
	avg, full, err := m.add(p.Group, p)
	if err != nil || !full {
		return err
	}
	out := &agent.Point{
		Time: p.Time, Name: p.Name, Database: p.Database, RetentionPolicy: p.RetentionPolicy,
		Group: p.Group, Dimensions: p.Dimensions, ByName: p.ByName, Tags: p.Tags,
		FieldsDouble: map[string]float64{m.as: avg},
	}
	if m.batch {
		m.out = append(m.out, out)
		return nil
	}
	m.a.Responses <- &agent.Response{Message: &agent.Response_Point{Point: out}}
	return nil
}

func (m *movavg) EndBatch(e *agent.EndBatch) error {
	begin := &agent.BeginBatch{Name: e.Name, Group: e.Group, Tags: e.Tags, Size: int64(len(m.out)), ByName: m.begin.GetByName()}
	m.a.Responses <- &agent.Response{Message: &agent.Response_Begin{Begin: begin}}
	for _, p := range m.out {
		m.a.Responses <- &agent.Response{Message: &agent.Response_Point{Point: p}}
	}
	m.a.Responses <- &agent.Response{Message: &agent.Response_End{End: e}}
	m.out = nil
	return nil
}

func (m *movavg) Stop() { close(m.a.Responses) }

func main() {
	m := &movavg{}
	flag.BoolVar(&m.batch, "batch", false, "want and provide batches")
	flag.Parse()
	m.a = agent.New(os.Stdin, os.Stdout)
	m.a.Handler = m
	if err := m.a.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "movavg:", err)
		os.Exit(1)
	}
	if err := m.a.Wait(); err != nil {
		fmt.Fprintln(os.Stderr, "movavg:", err)
		os.Exit(1)
	}
}
