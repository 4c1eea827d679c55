package pipeline

import (
	"github.com/tickrun/tickrun/pipeline/alert"
	"github.com/tickrun/tickrun/pipeline/models"
)

// The data types of the pipeline live in package models and the alert
// event in package alert; these aliases keep the embedding API in one
// import for the common case (pipeline.Point, pipeline.Event) and keep the
// node files short.
type (
	// Point is models.Point: one data point, borrowed by the nodes.
	Point = models.Point
	// Tag is models.Tag.
	Tag = models.Tag
	// Field is models.Field.
	Field = models.Field
	// Dimensions is models.Dimensions.
	Dimensions = models.Dimensions
	// Batch is models.Batch: the points of one group between two
	// emission times.
	Batch = models.Batch
	// Series is models.Series: the data of an event.
	Series = models.Series
	// Event is alert.Event: one alert event, as handlers receive it.
	Event = alert.Event
)
