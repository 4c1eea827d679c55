package influx_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/tickrun/tickrun/ast"
	"github.com/tickrun/tickrun/parser"
	"github.com/tickrun/tickrun/pipeline/influx"
)

// queryNode is a `|query('...')` of a script with its properties, read
// from the syntax tree the way the pipeline binder will hand them over.
type queryNode struct {
	text     string
	query    influx.QueryOptions
	schedule influx.ScheduleOptions
	cluster  string
	byName   bool
}

// scriptQueries parses a TICKscript with tickrun's parser and returns its
// query() nodes in script order.
func scriptQueries(t *testing.T, name, src string) []*queryNode {
	t.Helper()
	prog, err := parser.Parse(name, src)
	require.NoError(t, err)
	var nodes []*queryNode
	byChain := map[*ast.Chain]*queryNode{}
	var visit func(e ast.Expr)
	visit = func(e ast.Expr) {
		c, ok := e.(*ast.Chain)
		if !ok {
			return
		}
		visit(c.Receiver)
		if c.Op == ast.Pipe && c.Method.Name == "query" {
			require.Len(t, c.Args, 1, "query() takes the query text")
			lit, ok := c.Args[0].(*ast.StringLit)
			require.True(t, ok, "query() argument is a string")
			n := &queryNode{text: lit.Value}
			nodes = append(nodes, n)
			byChain[c] = n
			return
		}
		if c.Op != ast.Dot {
			return
		}
		// A property: find the node it belongs to below the other properties.
		owner := c.Receiver
		for {
			oc, ok := owner.(*ast.Chain)
			require.True(t, ok, "property %s on a non-chain", c.Method.Name)
			if oc.Op != ast.Dot {
				break
			}
			owner = oc.Receiver
		}
		n := byChain[owner.(*ast.Chain)]
		if n == nil {
			return // a property of another node
		}
		require.NoError(t, n.set(c), "%s: .%s", name, c.Method.Name)
	}
	for _, st := range prog.Stmts {
		switch st := st.(type) {
		case *ast.VarDecl:
			if st.Value != nil {
				visit(st.Value)
			}
		case *ast.ExprStmt:
			visit(st.X)
		}
	}
	return nodes
}

// set applies one property of the query node.
func (n *queryNode) set(c *ast.Chain) error {
	dur := func() (ast.Expr, error) {
		if len(c.Args) != 1 {
			return nil, fmt.Errorf("want one argument")
		}
		return c.Args[0], nil
	}
	switch c.Method.Name {
	case "period", "every", "offset":
		a, err := dur()
		if err != nil {
			return err
		}
		d, ok := a.(*ast.DurationLit)
		if !ok {
			return fmt.Errorf("want a duration")
		}
		switch c.Method.Name {
		case "period":
			n.schedule.Period = d.Value
		case "every":
			n.schedule.Every = d.Value
		case "offset":
			n.schedule.Offset = d.Value
		}
	case "align":
		n.schedule.Align = true
	case "alignGroup":
		n.query.AlignGroup = true
	case "groupByMeasurement":
		n.byName = true
	case "cron", "cluster":
		a, err := dur()
		if err != nil {
			return err
		}
		s, ok := a.(*ast.StringLit)
		if !ok {
			return fmt.Errorf("want a string")
		}
		if c.Method.Name == "cron" {
			n.schedule.Cron = s.Value
		} else {
			n.cluster = s.Value
		}
	case "groupBy":
		for _, a := range c.Args {
			switch a := a.(type) {
			case *ast.StringLit:
				n.query.GroupBy = append(n.query.GroupBy, influx.TagDimension(a.Value))
			case *ast.Star:
				n.query.GroupBy = append(n.query.GroupBy, influx.StarDimension())
			case *ast.Call:
				if a.Func.Name != "time" || len(a.Args) < 1 || len(a.Args) > 2 {
					return fmt.Errorf("unexpected call %s", a.Func.Name)
				}
				var ds [2]int64
				for i, arg := range a.Args {
					d, ok := arg.(*ast.DurationLit)
					if !ok {
						return fmt.Errorf("time() wants durations")
					}
					ds[i] = int64(d.Value)
				}
				n.query.GroupBy = append(n.query.GroupBy, influx.TimeDimension(time.Duration(ds[0]), time.Duration(ds[1])))
			default:
				return fmt.Errorf("unexpected groupBy argument %T", a)
			}
		}
	case "fill":
		a, err := dur()
		if err != nil {
			return err
		}
		switch a := a.(type) {
		case *ast.StringLit:
			f, err := influx.ParseFill(a.Value)
			if err != nil {
				return err
			}
			n.query.Fill = f
		case *ast.IntLit:
			n.query.Fill = influx.FillInt(a.Value)
		case *ast.FloatLit:
			n.query.Fill = influx.FillFloat(a.Value)
		default:
			return fmt.Errorf("unexpected fill argument %T", a)
		}
	default:
		return fmt.Errorf("unknown query property %s", c.Method.Name)
	}
	return nil
}
