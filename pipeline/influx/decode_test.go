package influx_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tickrun/tickrun/pipeline/influx"
)

func TestDecodeTypes(t *testing.T) {
	body := `{"results":[{"statement_id":0,"series":[{"name":"cpu","tags":{"host":"a","dc":"x"},` +
		`"columns":["time","i","f","s","b","n"],` +
		`"values":[["2023-11-14T22:00:00Z",12,0.5,"up",true,null],["2023-11-14T22:01:00.5Z",-3e2,-0,"d\u00e9j\u00e0 \ud83d\ude00",false,null]]}],` +
		`"messages":[{"level":"warning","text":"deprecated"}]}]}` + "\n"
	r, err := influx.DecodeResponse([]byte(body))
	require.NoError(t, err)
	require.Len(t, r.Results, 1)
	res := r.Results[0]
	assert.Equal(t, []influx.Message{{Level: "warning", Text: "deprecated"}}, res.Messages)
	require.Len(t, res.Series, 1)
	s := res.Series[0]
	assert.Equal(t, "cpu", s.Name)
	assert.Equal(t, []influx.Tag{{Key: "dc", Value: "x"}, {Key: "host", Value: "a"}}, s.Tags, "tags sorted")
	host, ok := s.Tag("host")
	assert.True(t, ok)
	assert.Equal(t, "a", host)
	_, ok = s.Tag("nope")
	assert.False(t, ok)
	assert.Equal(t, []string{"time", "i", "f", "s", "b", "n"}, s.Columns)
	// An integer is a float64, as in Kapacitor (#1338); null stays null.
	assert.Equal(t, []influx.Value{
		influx.StringValue("2023-11-14T22:00:00Z"), influx.FloatValue(12), influx.FloatValue(0.5),
		influx.StringValue("up"), influx.BoolValue(true), {},
	}, s.Values[0])
	assert.Equal(t, influx.Float, s.Values[0][1].Kind)
	assert.Equal(t, float64(12), s.Values[0][1].Any())
	assert.Nil(t, s.Values[0][5].Any())
	assert.True(t, s.Values[0][5].IsNull())
	assert.Equal(t, -300.0, s.Values[1][1].F)
	assert.True(t, math.Signbit(s.Values[1][2].F), "-0 keeps its sign")
	assert.Equal(t, "déjà 😀", s.Values[1][3].S)

	points, tmax, err := s.Points()
	require.NoError(t, err)
	assert.Equal(t, time.Date(2023, 11, 14, 22, 1, 0, 5e8, time.UTC), tmax)
	require.Len(t, points, 2)
	assert.Equal(t, []influx.Field{
		{Name: "i", Value: influx.FloatValue(12)}, {Name: "f", Value: influx.FloatValue(0.5)},
		{Name: "s", Value: influx.StringValue("up")}, {Name: "b", Value: influx.BoolValue(true)},
	}, points[0].Fields, "the null column is dropped")
}

func TestPoints(t *testing.T) {
	r, err := influx.DecodeResponse([]byte(`{"results":[{"series":[{"name":"m","columns":["time","a","b"],"values":[` +
		`["2023-11-14T22:00:00Z",null,1],` + // a null then a value: the value stays
		`["2023-11-14T22:01:00Z",null,null],` + // all null: the row is dropped
		`["2023-11-14T22:02:00Z",2,null]]}]}]}`))
	require.NoError(t, err)
	points, tmax, err := r.Results[0].Series[0].Points()
	require.NoError(t, err)
	assert.Equal(t, []influx.Point{
		{Time: at("22:00:00"), Fields: []influx.Field{{Name: "b", Value: influx.FloatValue(1)}}},
		{Time: at("22:02:00"), Fields: []influx.Field{{Name: "a", Value: influx.FloatValue(2)}}},
	}, points)
	assert.Equal(t, at("22:02:00"), tmax)

	for body, msg := range map[string]string{
		`{"results":[{"series":[{"columns":["time","v"],"values":[[1700000000,1]]}]}]}`:      `series "" row 0: unexpected time value: 1.7e+09`,
		`{"results":[{"series":[{"columns":["time","v"],"values":[["yesterday",1]]}]}]}`:     `series "" row 0: unexpected time format: parsing time "yesterday" as "2006-01-02T15:04:05Z07:00": cannot parse "yesterday" as "2006"`,
		`{"results":[{"series":[{"name":"m","columns":["time","v"],"values":[[null,1]]}]}]}`: `series "m" row 0: unexpected time value: null`,
	} {
		r, err := influx.DecodeResponse([]byte(body))
		require.NoError(t, err)
		_, _, err = r.Results[0].Series[0].Points()
		assert.EqualError(t, err, msg)
	}
}

func TestDecodeLenient(t *testing.T) {
	// What Kapacitor's encoding/json decoding accepts, DecodeResponse does.
	tests := map[string]string{
		"null body":                         `null`,
		"trailing data ignored":             `{"results":[]} garbage`,
		"case-insensitive keys":             `{"Results":[{"SERIES":[{"Name":"m","Columns":["v"],"VALUES":[[1]]}]}]}`,
		"unknown keys skipped":              `{"x":{"y":[1,{"z":null}],"w":"\u00e9"},"results":[{"statement_id":3,"partial":true}]}`,
		"nulls for containers":              `{"results":[{"series":[{"name":null,"tags":null,"columns":null,"values":[null,[null]]}],"messages":null,"error":null}],"error":null}`,
		"repeated tags merge":               `{"results":[{"series":[{"tags":{"b":"1"},"tags":{"a":"2","b":"3"}}]}]}`,
		"invalid UTF-8 kept as replacement": "{\"results\":[{\"series\":[{\"name\":\"a\xffb\",\"values\":[[\"\\ud800x\"]]}]}]}",
	}
	for name, body := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := influx.DecodeResponse([]byte(body))
			require.NoError(t, err)
			want, err := referenceDecode([]byte(body))
			require.NoError(t, err)
			assert.Equal(t, dumpResponse(want), dumpResponse(got))
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := map[string]string{
		"":                                      "invalid JSON at byte 0: empty body",
		"<html>":                                `invalid JSON at byte 0: expected an object for the response, found '<'`,
		`{"results":[`:                          "invalid JSON at byte 12: expected an object for a result, found end of body",
		`{"results":{}}`:                        `invalid JSON at byte 11: expected an array for results, found '{'`,
		`{"results":[{"series":[{"name":1}]}]}`: `invalid JSON at byte 31: expected a string for name, found '1'`,
		`{"results":[{"series":[{"values":[[01]]}]}]}`:              `invalid JSON at byte 36: expected ',' or ']' in a row, found '1'`,
		`{"results":[{"series":[{"values":[[1.]]}]}]}`:              `invalid JSON at byte 37: invalid number: no digit after '.'`,
		`{"results":[{"series":[{"values":[[1e400]]}]}]}`:           `invalid JSON at byte 35: number 1e400 out of range`,
		`{"results":[{"series":[{"values":[[[1]]]}]}]}`:             `invalid JSON at byte 35: unsupported value in a row: InfluxDB sends only numbers, strings, booleans and null`,
		`{"results":[{"series":[{"values":[["a` + "\n" + `"]]}]}]}`: `invalid JSON at byte 37: control character '\n' in a string`,
		`{"results":[{"series":[{"values":[["\x"]]}]}]}`:            `invalid JSON at byte 37: invalid escape \x in a string`,
		`{"results":[{"series":[{"values":[["\u12"]]}]}]}`:          `invalid JSON at byte 37: invalid \u escape`,
		`{"results":[{"series":[{"partial":"yes"}]}]}`:              `invalid JSON at byte 34: expected true or false for partial, found '"'`,
		`{"error":nul}`:                "invalid JSON at byte 9: invalid literal, expected null",
		`{"results" []}`:               `invalid JSON at byte 11: expected ':' after a key in the response, found '['`,
		strings.Repeat(`{"x":`, 20000): "invalid JSON at byte 50005: nesting deeper than 10000",
	}
	for body, msg := range tests {
		_, err := influx.DecodeResponse([]byte(body))
		require.Error(t, err, "%.60s", body)
		assert.Equal(t, msg, err.Error(), "%.60s", body)
		var de *influx.DecodeError
		assert.True(t, errors.As(err, &de))
		// And encoding/json refuses them too (except the values
		// DecodeResponse refuses on purpose).
		if _, rerr := referenceDecode([]byte(body)); rerr == nil {
			assert.Contains(t, msg, "unsupported value", "the reference accepts %q", body)
		}
	}
}

// FuzzDecodeResponse checks DecodeResponse against the reference decoding
// (encoding/json into Kapacitor's structs): both fail, or both succeed
// with the same answer. Inputs with repeated keys are left out: encoding/json
// decodes a repeated array into the elements of the first one, a quirk
// DecodeResponse does not copy.
func FuzzDecodeResponse(f *testing.F) {
	for _, c := range seedBodies(f) {
		f.Add([]byte(c))
	}
	f.Add([]byte(`{"results":[{"series":[{"name":"a","tags":{"k":"v"},"columns":["time","v"],"values":[["t",1,"x",true,null]]}]}]}`))
	f.Add([]byte(`{"results":[{"error":"boom"}],"error":"x"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		got, err := influx.DecodeResponse(body)
		if err != nil {
			var de *influx.DecodeError
			if !errors.As(err, &de) || de.Offset < 0 || de.Offset > len(body) {
				t.Fatalf("error %v is not a DecodeError inside the body", err)
			}
		}
		if hasRepeatedKeys(body) {
			return
		}
		want, rerr := referenceDecode(body)
		if errors.Is(rerr, errUnsupported) {
			return
		}
		if (err == nil) != (rerr == nil) {
			t.Fatalf("DecodeResponse error %v, encoding/json error %v", err, rerr)
		}
		if err == nil && dumpResponse(got) != dumpResponse(want) {
			t.Fatalf("answers differ:\n%s\nwant\n%s", dumpResponse(got), dumpResponse(want))
		}
	})
}

// hasRepeatedKeys reports whether an object of the first JSON value has a
// key twice (case-insensitively, as struct fields match); invalid JSON
// reports false.
func hasRepeatedKeys(body []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(body))
	type frame struct {
		obj    bool
		keys   map[string]bool
		expect bool // next string token is a key
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		isKey := top != nil && top.obj && top.expect
		switch v := tok.(type) {
		case json.Delim:
			switch v {
			case '{':
				if top != nil && top.obj {
					top.expect = true
				}
				stack = append(stack, &frame{obj: true, keys: map[string]bool{}, expect: true})
			case '[':
				if top != nil && top.obj {
					top.expect = true
				}
				stack = append(stack, &frame{})
			default:
				stack = stack[:len(stack)-1]
				if len(stack) > 0 && stack[len(stack)-1].obj {
					stack[len(stack)-1].expect = true
				}
			}
		case string:
			if isKey {
				k := strings.ToLower(v)
				if top.keys[k] {
					return true
				}
				top.keys[k] = true
				top.expect = false
				continue
			}
			if top != nil && top.obj {
				top.expect = true
			}
		default:
			if top != nil && top.obj {
				top.expect = true
			}
		}
		if len(stack) == 0 {
			return false
		}
	}
}

// seedBodies returns the InfluxDB answers recorded in the batch cases.
func seedBodies(tb testing.TB) []string {
	var out []string
	files, _ := filepath.Glob(filepath.Join(casesDir, "*", "queries.jsonl"))
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			tb.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		sc.Buffer(nil, 1<<24)
		for sc.Scan() {
			var r recorded
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
				tb.Fatal(err)
			}
			out = append(out, r.Response)
		}
		fh.Close()
	}
	return out
}
