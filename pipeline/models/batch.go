package models

// Batch is a group of points produced by a window (nodes.md §0.1): the
// points of one group between two emission times.
//
// Batches are borrowed like points: a node may read a batch only during
// the call that hands it over.
type Batch struct {
	Name   string     // measurement of the group's first point
	Group  string     // group id
	Dims   Dimensions // group dimensions
	Tags   []Tag      // group tags
	TMax   int64      // emission time (window end), ns since the epoch
	Points []*Point   // in arrival order, each with its own tags, fields and time
}
