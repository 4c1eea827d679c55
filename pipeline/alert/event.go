package alert

import (
	"strconv"
	"time"

	"github.com/tickrun/tickrun/pipeline/models"
)

// Event is one alert event, as handlers receive it (alert.md §10).
type Event struct {
	ID            string
	Message       string
	Details       string
	Time          int64 // nanoseconds since the epoch
	Duration      time.Duration
	Level         Level
	PreviousLevel Level // set per topic when published
	Recoverable   bool
	Data          models.Series
	// Extra are further series of the event's data, after Data: an
	// aggregate handler's event holds the series of every event it
	// aggregated. Alert nodes leave it empty.
	Extra []models.Series

	// For topic handler match expressions and logs.
	TaskName string
	Node     string // name of the alert node, e.g. "alert2"
	Changed  bool   // set per topic: Level differs from the topic's previous level

	// For the templates of handler options (an MQTT topic, Alerta's
	// resource): the group ("nil" for none, as templates' .Group) and,
	// for a batch event, the fields of the point that triggered it
	// (sorted by key; the event owns them). A stream event leaves Fields
	// nil: its fields are its data's one row, which TriggerFields reads,
	// so that alerts cost nothing more for handlers that never look.
	Group  string
	Fields []models.Field
}

// TriggerFields returns the fields of the point that triggered the event:
// Fields, or for a stream event the columns of its data's one row after
// "time".
func (e *Event) TriggerFields() []models.Field {
	if e.Fields != nil || len(e.Data.Values) != 1 {
		return e.Fields
	}
	row := e.Data.Values[0]
	out := make([]models.Field, 0, len(e.Data.Columns))
	for i, c := range e.Data.Columns {
		if i > 0 && i < len(row) {
			out = append(out, models.Field{Key: c, Value: row[i]})
		}
	}
	return out
}

// Tag returns the value of a tag of the event's data.
func (e *Event) Tag(key string) (string, bool) {
	for _, t := range e.Data.Tags {
		if t.Key == key {
			return t.Value, true
		}
	}
	return "", false
}

// AppendJSON appends the event as Kapacitor's JSON (keys in Kapacitor's
// order, encoding/json's escaping and number formats), without a trailing
// newline.
func (e *Event) AppendJSON(b []byte) ([]byte, error) {
	b = append(b, `{"id":`...)
	b = models.AppendJSONString(b, e.ID)
	b = append(b, `,"message":`...)
	b = models.AppendJSONString(b, e.Message)
	b = append(b, `,"details":`...)
	b = models.AppendJSONString(b, e.Details)
	b = append(b, `,"time":`...)
	b = models.AppendJSONTime(b, e.Time)
	b = append(b, `,"duration":`...)
	b = strconv.AppendInt(b, int64(e.Duration), 10)
	b = append(b, `,"level":`...)
	b = models.AppendJSONString(b, e.Level.String())
	b = append(b, `,"data":{"series":[`...)
	b, err := models.AppendSeriesJSON(b, &e.Data)
	if err != nil {
		return b, err
	}
	for i := range e.Extra {
		b = append(b, ',')
		if b, err = models.AppendSeriesJSON(b, &e.Extra[i]); err != nil {
			return b, err
		}
	}
	b = append(b, `]},"previousLevel":`...)
	b = models.AppendJSONString(b, e.PreviousLevel.String())
	b = append(b, `,"recoverable":`...)
	b = strconv.AppendBool(b, e.Recoverable)
	return append(b, '}'), nil
}
