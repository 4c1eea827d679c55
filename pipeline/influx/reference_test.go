package influx_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/tickrun/tickrun/pipeline/influx"
)

// refResponse mirrors the structs Kapacitor's client decodes a /query
// answer into (kap:influxdb/client.go Response, Result, Message and
// InfluxDB's models.Row), for a reference decoding with encoding/json.
type refResponse struct {
	Results []refResult
	Err     string `json:"error,omitempty"`
}

type refResult struct {
	Series   []refRow
	Messages []*refMessage
	Err      string `json:"error,omitempty"`
}

type refMessage struct {
	Level string
	Text  string
}

type refRow struct {
	Name    string            `json:"name,omitempty"`
	Tags    map[string]string `json:"tags,omitempty"`
	Columns []string          `json:"columns,omitempty"`
	Values  [][]any           `json:"values,omitempty"`
	Partial bool              `json:"partial,omitempty"`
}

// errUnsupported marks answers the reference decodes but DecodeResponse
// refuses on purpose (arrays or objects in a row, numbers out of range).
var errUnsupported = fmt.Errorf("unsupported by DecodeResponse")

// referenceDecode decodes body as Kapacitor does (json.Decoder with
// UseNumber, json.Number turned into float64 by ResultToBufferedBatches)
// and converts the result into influx's types.
func referenceDecode(body []byte) (*influx.Response, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var r refResponse
	if err := dec.Decode(&r); err != nil {
		return nil, err
	}
	out := &influx.Response{Err: r.Err}
	for _, res := range r.Results {
		or := influx.Result{Err: res.Err}
		for _, m := range res.Messages {
			if m == nil {
				or.Messages = append(or.Messages, influx.Message{})
				continue
			}
			or.Messages = append(or.Messages, influx.Message{Level: m.Level, Text: m.Text})
		}
		for _, s := range res.Series {
			os := influx.Series{Name: s.Name, Columns: s.Columns, Partial: s.Partial}
			if s.Tags != nil {
				os.Tags = []influx.Tag{}
				for k, v := range s.Tags {
					os.Tags = append(os.Tags, influx.Tag{Key: k, Value: v})
				}
				sort.Slice(os.Tags, func(i, j int) bool { return os.Tags[i].Key < os.Tags[j].Key })
			}
			if s.Values != nil {
				os.Values = make([][]influx.Value, len(s.Values))
			}
			for i, row := range s.Values {
				if row == nil {
					continue
				}
				os.Values[i] = make([]influx.Value, len(row))
				for j, v := range row {
					switch v := v.(type) {
					case nil:
					case json.Number:
						f, err := v.Float64()
						if err != nil {
							return nil, errUnsupported
						}
						os.Values[i][j] = influx.FloatValue(f)
					case string:
						os.Values[i][j] = influx.StringValue(v)
					case bool:
						os.Values[i][j] = influx.BoolValue(v)
					default:
						return nil, errUnsupported
					}
				}
			}
			or.Series = append(or.Series, os)
		}
		out.Results = append(out.Results, or)
	}
	return out, nil
}
