// Command badudf is a test UDF that misbehaves on purpose. It answers
// requests and mirrors points, one message at a time on a single goroutine
// (with the protocol types and framing of Kapacitor's Go agent package),
// until its mode says otherwise:
//
//	badudf exit-after N CODE   after N points: a line on stderr, exit CODE
//	badudf hang-after N        after N points: stop reading and answering
//	badudf garbage-after N     after N points: write bytes that are no message
//	badudf huge-after N        after N points: a length prefix of 1 TiB
//	badudf error-after N       at point N+1: answer with an error message
//	badudf silent              read nothing, write nothing
//	badudf exit-now CODE       a line on stderr, exit CODE at once
//	badudf garbage-exit        write garbage and exit 0 at once
//	badudf spontaneous K       after init, send K points without being asked
//	badudf linger              after its input closes, keep running
//	badudf unasked             answer the first point with an init answer nobody asked for
package main

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/influxdata/kapacitor/udf/agent"
)

func main() {
	mode := os.Args[1]
	arg := func(i int) int {
		v, err := strconv.Atoi(os.Args[i])
		if err != nil {
			panic(err)
		}
		return v
	}
	n, code := 0, 0
	switch mode {
	case "exit-after":
		n, code = arg(2), arg(3)
	case "hang-after", "garbage-after", "huge-after", "error-after", "spontaneous":
		n = arg(2)
	case "silent":
		select {}
	case "exit-now":
		fmt.Fprintln(os.Stderr, "badudf: giving up at once")
		os.Exit(arg(2))
	case "garbage-exit":
		os.Stdout.Write([]byte("hello, I am not a UDF\n"))
		os.Exit(0)
	}
	in := bufio.NewReader(os.Stdin)
	send := func(r *agent.Response) {
		if err := agent.WriteMessage(r, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "badudf:", err)
			os.Exit(1)
		}
	}
	var buf []byte
	seen := 0
	for {
		var req agent.Request
		err := agent.ReadMessage(&buf, in, &req)
		if err == io.EOF {
			break
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "badudf:", err)
			os.Exit(1)
		}
		switch m := req.Message.(type) {
		case *agent.Request_Info:
			send(&agent.Response{Message: &agent.Response_Info{Info: &agent.InfoResponse{}}})
		case *agent.Request_Init:
			send(&agent.Response{Message: &agent.Response_Init{Init: &agent.InitResponse{Success: true}}})
			if mode == "spontaneous" {
				for i := 0; i < n; i++ {
					send(&agent.Response{Message: &agent.Response_Point{Point: &agent.Point{
						Name: "tick", Time: int64(i), FieldsInt: map[string]int64{"i": int64(i)},
					}}})
				}
			}
		case *agent.Request_Keepalive:
			send(&agent.Response{Message: &agent.Response_Keepalive{Keepalive: &agent.KeepaliveResponse{Time: m.Keepalive.Time}}})
		case *agent.Request_Snapshot:
			send(&agent.Response{Message: &agent.Response_Snapshot{Snapshot: &agent.SnapshotResponse{}}})
		case *agent.Request_Restore:
			send(&agent.Response{Message: &agent.Response_Restore{Restore: &agent.RestoreResponse{Success: true}}})
		case *agent.Request_Point:
			if seen == n {
				switch mode {
				case "exit-after":
					fmt.Fprintf(os.Stderr, "badudf: dying after %d points\n", n)
					os.Exit(code)
				case "hang-after":
					select {}
				case "garbage-after":
					os.Stdout.Write([]byte("\x05\xff\xff\xff\xff\xffthis is not a protobuf message\n"))
					select {}
				case "huge-after":
					os.Stdout.Write(binary.AppendUvarint(nil, 1<<40))
					select {}
				case "error-after":
					send(&agent.Response{Message: &agent.Response_Error{Error: &agent.ErrorResponse{
						Error: fmt.Sprintf("boom at point %d", n+1)}}})
					select {}
				}
			}
			if mode == "unasked" && seen == 0 {
				send(&agent.Response{Message: &agent.Response_Init{Init: &agent.InitResponse{Success: true}}})
			}
			seen++
			send(&agent.Response{Message: &agent.Response_Point{Point: m.Point}})
		}
	}
	if mode == "linger" {
		time.Sleep(time.Hour)
	}
}
