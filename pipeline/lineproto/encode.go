package lineproto

import (
	"math"
	"strconv"
	"strings"

	"github.com/tickrun/tickrun/eval"
	"github.com/tickrun/tickrun/pipeline/models"
)

// AppendLine appends one line of line protocol; fields InfluxDB cannot
// hold (NaN, Inf) are left out, and a point left with none is refused.
func AppendLine(b []byte, name string, tags []models.Tag, fields []models.Field, ts int64) ([]byte, bool) {
	start := len(b)
	b = appendEscaped(b, name, ", ")
	for _, t := range tags {
		b = append(b, ',')
		b = appendEscaped(b, t.Key, ",= ")
		b = append(b, '=')
		b = appendEscaped(b, t.Value, ",= ")
	}
	sep := byte(' ')
	wrote := false
	for _, f := range fields {
		var v []byte
		switch f.Value.Kind {
		case eval.Float:
			x := f.Value.Float()
			if math.IsNaN(x) || math.IsInf(x, 0) {
				continue
			}
			v = strconv.AppendFloat(nil, x, 'g', -1, 64)
		case eval.Int:
			v = append(strconv.AppendInt(nil, f.Value.Int(), 10), 'i')
		case eval.Bool:
			v = strconv.AppendBool(nil, f.Value.Bool())
		case eval.Duration:
			v = append(strconv.AppendInt(nil, int64(f.Value.Duration()), 10), 'i')
		case eval.String:
			v = append(appendEscaped([]byte{'"'}, f.Value.Str(), `"\`), '"')
		default:
			continue
		}
		b = append(b, sep)
		sep = ','
		b = appendEscaped(b, f.Key, ",= ")
		b = append(b, '=')
		b = append(b, v...)
		wrote = true
	}
	if !wrote {
		return b[:start], false
	}
	b = append(b, ' ')
	b = strconv.AppendInt(b, ts, 10)
	return append(b, '\n'), true
}

// appendEscaped appends s with a backslash before every byte of special.
func appendEscaped(b []byte, s, special string) []byte {
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(special, s[i]) >= 0 {
			b = append(b, '\\')
		}
		b = append(b, s[i])
	}
	return b
}
