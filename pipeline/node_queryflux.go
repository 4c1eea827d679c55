package pipeline

import (
	"time"

	"github.com/tickrun/tickrun/ast"
)

// queryFluxNode is `batch|queryFlux('from(bucket: ...)')`, the Flux query
// of a batch task on InfluxDB 2 (Kapacitor 1.6+). Like query, tickrun
// binds and checks it (tickrun check) but does not run it.
type queryFluxNode struct {
	nodeBase
}

func init() {
	dur := func(name, doc string) *Prop {
		return propDuration(name, doc, func(*queryFluxNode, time.Duration) error { return nil })
	}
	str := func(name, doc string) *Prop {
		return propString(name, doc, func(*queryFluxNode, string) error { return nil })
	}
	register(&Spec{
		Method: "queryFlux", Kind: "query_flux", Doc: "a Flux query of a batch task (checked, not run)",
		Args: []argKind{argString}, Wants: batchEdge, Provides: batchEdge,
		New: func(*binder, *ast.Chain, []value) (node, error) { return &queryFluxNode{}, nil },
		Props: []*Prop{
			dur("period", "length of time queried"), dur("every", "how often to query"), dur("offset", "how far back the query ends"),
			propNone("align", "align query times to every", func(*queryFluxNode) {}),
			str("cron", "query schedule"), str("cluster", "InfluxDB cluster"),
			str("org", "InfluxDB 2 organization name"), str("orgID", "InfluxDB 2 organization id"),
		},
	})
}

func (n *queryFluxNode) point(*Point)   {}
func (n *queryFluxNode) batch(b *Batch) { n.emitBatch(b) }

var _ batchNode = (*queryFluxNode)(nil)
