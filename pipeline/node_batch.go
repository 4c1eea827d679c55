package pipeline

import (
	"time"

	"github.com/tickrun/tickrun/ast"
)

// batchSource is the source of a batch task, and queryNode its
// `|query('SELECT ...')`. tickrun binds and checks batch scripts, so
// `tickrun check` validates them, but it cannot run them: it has no
// InfluxDB to query. Task.BatchPos tells where the script uses batch.
type batchSource struct{ nodeBase }

// queryNode is `batch|query(...)`; it never receives data in tickrun.
type queryNode struct {
	nodeBase
}

func init() {
	register(&Spec{
		Method: "batch", Kind: "batch", Doc: "the source of a batch task (checked, not run)",
		Wants: batchEdge, Provides: batchEdge,
		New: func(*binder, *ast.Chain, []value) (node, error) { return &batchSource{}, nil },
	})
	dur := func(name string) *Prop {
		return propDuration(name, "query "+name, func(*queryNode, time.Duration) error { return nil })
	}
	register(&Spec{
		Method: "query", Kind: "query", Doc: "an InfluxQL query of a batch task (checked, not run)",
		Args: []argKind{argString}, Wants: batchEdge, Provides: batchEdge,
		New: func(*binder, *ast.Chain, []value) (node, error) { return &queryNode{}, nil },
		Props: []*Prop{
			dur("period"), dur("every"), dur("offset"),
			propNone("align", "align query times", func(*queryNode) {}),
			propNone("alignGroup", "align group times", func(*queryNode) {}),
			propString("cron", "query schedule", func(*queryNode, string) error { return nil }),
			propString("cluster", "InfluxDB cluster", func(*queryNode, string) error { return nil }),
			{Name: "groupBy", Doc: "group by tags, time(...) or *", Variadic: argAny,
				set: func(*binder, node, *ast.Chain, []value) error { return nil }},
			propNone("groupByMeasurement", "group by measurement", func(*queryNode) {}),
			{Name: "fill", Doc: "fill empty windows", Args: []argKind{argAny},
				set: func(*binder, node, *ast.Chain, []value) error { return nil }},
		},
	})
}

func (n *batchSource) point(*Point) {}
func (n *batchSource) batch(*Batch) {}
func (n *queryNode) point(*Point)   {}
func (n *queryNode) batch(b *Batch) { n.emitBatch(b) }

var (
	_ batchNode = (*batchSource)(nil)
	_ batchNode = (*queryNode)(nil)
)

// BatchPos returns where the script first uses the batch source, if it
// does. Such a task can be checked but not run.
func (t *Task) BatchPos() (ast.Pos, bool) {
	if t.batchPos == nil {
		return ast.Pos{}, false
	}
	return *t.batchPos, true
}
