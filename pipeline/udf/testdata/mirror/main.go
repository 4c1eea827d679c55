// Command mirror is a test UDF built on Kapacitor's Go agent: it sends back
// every point it gets (or, with -batch, every batch), -copies times, with
// the tags of its `tag` options, the values of its `all` option as fields,
// and, with -env VAR, a tag env=$VAR.
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/influxdata/kapacitor/udf/agent"
)

type mirror struct {
	a      *agent.Agent
	batch  bool
	copies int
	env    string
	tags   map[string]string
	extra  map[string]*agent.OptionValue
	begin  *agent.BeginBatch
	points []*agent.Point
}

func (m *mirror) Info() (*agent.InfoResponse, error) {
	edge := agent.EdgeType_STREAM
	if m.batch {
		edge = agent.EdgeType_BATCH
	}
	return &agent.InfoResponse{
		Wants:    edge,
		Provides: edge,
		Options: map[string]*agent.OptionInfo{
			"tag": {ValueTypes: []agent.ValueType{agent.ValueType_STRING, agent.ValueType_STRING}},
			"all": {ValueTypes: []agent.ValueType{agent.ValueType_BOOL, agent.ValueType_INT,
				agent.ValueType_DOUBLE, agent.ValueType_STRING, agent.ValueType_DURATION}},
		},
	}, nil
}

func (m *mirror) Init(r *agent.InitRequest) (*agent.InitResponse, error) {
	m.tags = map[string]string{}
	m.extra = map[string]*agent.OptionValue{}
	for _, o := range r.Options {
		switch o.Name {
		case "tag":
			if o.Values[0].GetStringValue() == "" {
				return &agent.InitResponse{Success: false, Error: "tag key must not be empty"}, nil
			}
			m.tags[o.Values[0].GetStringValue()] = o.Values[1].GetStringValue()
		case "all":
			for i, name := range []string{"opt_bool", "opt_int", "opt_double", "opt_string", "opt_duration"} {
				m.extra[name] = o.Values[i]
			}
		default:
			return &agent.InitResponse{Success: false, Error: "unknown option " + o.Name}, nil
		}
	}
	if r.TaskID != "" {
		m.tags["task"] = r.TaskID + "/" + r.NodeID
	}
	return &agent.InitResponse{Success: true}, nil
}

func (m *mirror) Snapshot() (*agent.SnapshotResponse, error) {
	return &agent.SnapshotResponse{Snapshot: []byte("mirror")}, nil
}

func (m *mirror) Restore(r *agent.RestoreRequest) (*agent.RestoreResponse, error) {
	if string(r.Snapshot) != "mirror" {
		return &agent.RestoreResponse{Success: false, Error: fmt.Sprintf("not a mirror snapshot: %q", r.Snapshot)}, nil
	}
	return &agent.RestoreResponse{Success: true}, nil
}

// decorate adds the option tags and fields to p.
func (m *mirror) decorate(p *agent.Point) {
	if len(m.tags) > 0 || m.env != "" {
		if p.Tags == nil {
			p.Tags = map[string]string{}
		}
		for k, v := range m.tags {
			p.Tags[k] = v
		}
		if m.env != "" {
			p.Tags["env"] = os.Getenv(m.env)
		}
	}
	for name, v := range m.extra {
		switch x := v.Value.(type) {
		case *agent.OptionValue_BoolValue:
			if p.FieldsBool == nil {
				p.FieldsBool = map[string]bool{}
			}
			p.FieldsBool[name] = x.BoolValue
		case *agent.OptionValue_IntValue:
			setInt(p, name, x.IntValue)
		case *agent.OptionValue_DurationValue:
			setInt(p, name, x.DurationValue)
		case *agent.OptionValue_DoubleValue:
			if p.FieldsDouble == nil {
				p.FieldsDouble = map[string]float64{}
			}
			p.FieldsDouble[name] = x.DoubleValue
		case *agent.OptionValue_StringValue:
			if p.FieldsString == nil {
				p.FieldsString = map[string]string{}
			}
			p.FieldsString[name] = x.StringValue
		}
	}
}

func setInt(p *agent.Point, name string, v int64) {
	if p.FieldsInt == nil {
		p.FieldsInt = map[string]int64{}
	}
	p.FieldsInt[name] = v
}

func (m *mirror) BeginBatch(b *agent.BeginBatch) error {
	m.begin, m.points = b, nil
	return nil
}

func (m *mirror) Point(p *agent.Point) error {
	m.decorate(p)
	if m.batch {
		m.points = append(m.points, p)
		return nil
	}
	for i := 0; i < m.copies; i++ {
		m.a.Responses <- &agent.Response{Message: &agent.Response_Point{Point: p}}
	}
	return nil
}

func (m *mirror) EndBatch(e *agent.EndBatch) error {
	for i := 0; i < m.copies; i++ {
		m.a.Responses <- &agent.Response{Message: &agent.Response_Begin{Begin: m.begin}}
		for _, p := range m.points {
			m.a.Responses <- &agent.Response{Message: &agent.Response_Point{Point: p}}
		}
		m.a.Responses <- &agent.Response{Message: &agent.Response_End{End: e}}
	}
	return nil
}

func (m *mirror) Stop() { close(m.a.Responses) }

func main() {
	m := &mirror{}
	flag.BoolVar(&m.batch, "batch", false, "want and provide batches")
	flag.IntVar(&m.copies, "copies", 1, "copies of each point or batch")
	flag.StringVar(&m.env, "env", "", "add a tag env with the value of this environment variable")
	flag.Parse()
	m.a = agent.New(os.Stdin, os.Stdout)
	m.a.Handler = m
	if err := m.a.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "mirror:", err)
		os.Exit(1)
	}
	if err := m.a.Wait(); err != nil {
		fmt.Fprintln(os.Stderr, "mirror:", strings.TrimSpace(err.Error()))
		os.Exit(1)
	}
}
