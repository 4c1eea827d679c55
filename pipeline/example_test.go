package pipeline_test

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/tickrun/tickrun/pipeline"
	"github.com/tickrun/tickrun/pipeline/lineproto"
)

// The seed script of Kapacitor's TCP handler page, run in-process: the
// event is printed instead of sent (the script has no handler).
func Example() {
	script := `
stream
    |from()
        .measurement('cpu')
    |alert()
        .crit(lambda: "usage_idle" < 10)
        .message('Hey, check your CPU')
        .details('')
`
	task, err := pipeline.Compile("cpu_alert", "cpu_alert.tick", script, pipeline.Options{
		OnEvent: func(ev *pipeline.Event, payload []byte) { fmt.Println(string(payload)) },
	})
	if err != nil {
		fmt.Print(task.ErrorText(err))
		return
	}
	task.Write("telegraf", "autogen", "cpu", map[string]string{"host": "serverA"},
		map[string]any{"usage_idle": 5.0}, time.Unix(1700000000, 0))
	task.Close(context.Background())
	// Output:
	// {"id":"cpu:nil","message":"Hey, check your CPU","details":"","time":"2023-11-14T22:13:20Z","duration":0,"level":"CRITICAL","data":{"series":[{"name":"cpu","tags":{"host":"serverA"},"columns":["time","usage_idle"],"values":[["2023-11-14T22:13:20Z",5]]}]},"previousLevel":"OK","recoverable":true}
}

// Compile reports a script error with its position and a caret.
func ExampleCompile_error() {
	script := "stream\n    |from()\n        .measurment('cpu')\n"
	task, err := pipeline.Compile("t", "t.tick", script, pipeline.Options{})
	if err != nil {
		fmt.Print(task.ErrorText(err))
	}
	// Output:
	// t.tick:3:10: no method or property "measurment" on from (did you mean "measurement"?)
	//  |         .measurment('cpu')
	//  |          ^
}

// WriteLineProtocol decodes line protocol; bad lines are reported with
// their line number and skipped.
func ExampleTask_WriteLineProtocol() {
	script := `stream|from().measurement('cpu')|alert().crit(lambda: "usage_idle" < 10).message('{{ .Level }} {{ index .Fields "usage_idle" }}').details('')`
	task, _ := pipeline.Compile("t", "t.tick", script, pipeline.Options{
		OnEvent: func(ev *pipeline.Event, _ []byte) { fmt.Println(ev.Message) },
	})
	input := "cpu usage_idle=5 1\ncpu usage_idle= 2\ncpu usage_idle=50 3\n"
	bad, _ := task.WriteLineProtocol(strings.NewReader(input), "telegraf", "autogen", "", func(e *lineproto.LineError) {
		fmt.Println("bad line", e.Line)
	})
	task.Close(context.Background())
	fmt.Println(bad, "bad line(s)")
	// Output:
	// CRITICAL 5
	// bad line 2
	// OK 50
	// 1 bad line(s)
}

// Write takes points as Go values; here two hosts go through a grouped
// alert that only reports level changes.
func ExampleTask_Write() {
	script := `
stream
    |from()
        .measurement('cpu')
        .groupBy('host')
    |alert()
        .warn(lambda: "usage_idle" < 20.0)
        .crit(lambda: "usage_idle" < 10.0)
        .stateChangesOnly()
        .message('{{ index .Tags "host" }} is {{ .Level }}')
`
	task, err := pipeline.Compile("cpu", "cpu.tick", script, pipeline.Options{
		OnEvent: func(ev *pipeline.Event, _ []byte) { fmt.Println(ev.Message) },
	})
	if err != nil {
		fmt.Print(task.ErrorText(err))
		return
	}
	t0 := time.Unix(1700000000, 0)
	for i, idle := range []float64{50, 15, 5, 5, 60} {
		for _, host := range []string{"a", "b"} {
			if host == "b" {
				idle = 100 - idle
			}
			task.Write("telegraf", "autogen", "cpu", map[string]string{"host": host},
				map[string]any{"usage_idle": idle}, t0.Add(time.Duration(i)*10*time.Second))
		}
	}
	task.Close(context.Background())
	// Output:
	// a is WARNING
	// a is CRITICAL
	// a is OK
}

// Deliver.Capture replaces every handler, so a program (or a test) sees
// what would be sent where, without a network.
func ExampleOptions_capture() {
	script := `stream|from()|alert().crit(lambda: "v" > 1).details('').tcp('127.0.0.1:9000')`
	opts := pipeline.Options{}
	opts.Deliver.Capture = func(kind, target string, payload []byte) {
		fmt.Println(kind, target, string(payload[:40]))
	}
	task, err := pipeline.Compile("t", "t.tick", script, opts)
	if err != nil {
		fmt.Print(task.ErrorText(err))
		return
	}
	task.Write("db", "rp", "m", nil, map[string]any{"v": 2.0}, time.Unix(0, 0))
	task.Close(context.Background())
	// Output:
	// tcp 127.0.0.1:9000 {"id":"m:nil","message":"m:nil is CRITIC
}
