// Command sink is the TCP receiver of the delivery benchmarks: it accepts
// connections, reads each to EOF and closes it, as a Kapacitor tcp
// endpoint's reader does, and counts the events (JSON documents ended by
// a newline) it received. It prints the counts on SIGINT/SIGTERM.
//
//	go run ./bench/sink -addr 127.0.0.1:17777
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:17777", "address to listen on")
	flag.Parse()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	var events, conns atomic.Int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			go func() {
				defer c.Close()
				b, _ := io.ReadAll(c)
				events.Add(int64(bytes.Count(b, []byte("}\n"))))
			}()
		}
	}()
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	<-stop
	fmt.Printf("%d events on %d connections\n", events.Load(), conns.Load())
}
