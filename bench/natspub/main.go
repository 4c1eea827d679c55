// Command natspub publishes line protocol to NATS JetStream as Telegraf's
// outputs.nats does with subject = "telegraf.{{ .Tag "host" }}.{{ .Name }}":
// one message per line, to telegraf.<host>.<measurement>. bench/cluster.sh
// uses it to load a stream before the instances read it, or to keep
// publishing at a rate while one is killed.
//
//	natspub -url nats://127.0.0.1:4222 [-rate N] [-loop] < points.lp
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

func main() {
	url := flag.String("url", nats.DefaultURL, "NATS server")
	rate := flag.Int("rate", 0, "messages per second (0: as fast as the server acknowledges)")
	loop := flag.Bool("loop", false, "publish the input again and again, with times moved on, until killed")
	flag.Parse()
	if err := run(*url, *rate, *loop); err != nil {
		fmt.Fprintln(os.Stderr, "natspub:", err)
		os.Exit(1)
	}
}

func run(url string, rate int, loop bool) error {
	nc, err := nats.Connect(url)
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(8192))
	if err != nil {
		return err
	}
	var lines []string
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if l := sc.Text(); l != "" && l[0] != '#' {
			lines = append(lines, l)
		}
	}
	start := time.Now()
	n := 0
	var tick <-chan time.Time
	if rate > 0 {
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		tick = t.C
	}
	for round := 0; ; round++ {
		for i, l := range lines {
			if tick != nil && i%max(1, rate/100) == 0 {
				<-tick
			}
			if round > 0 {
				l = shift(l, round)
			}
			for {
				_, err := js.PublishAsync(subject(l), []byte(l))
				if err == nil {
					break
				}
				if !errors.Is(err, jetstream.ErrTooManyStalledMsgs) {
					return err
				}
				// Acknowledgements are behind: wait for them.
				select {
				case <-js.PublishAsyncComplete():
				case <-time.After(10 * time.Second):
					return fmt.Errorf("no acknowledgement for 10s: is there a stream for %s?", subject(l))
				}
			}
			n++
		}
		if !loop {
			break
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	select {
	case <-js.PublishAsyncComplete():
	case <-ctx.Done():
		return fmt.Errorf("not every message was acknowledged")
	}
	el := time.Since(start)
	fmt.Printf("published %d messages in %.2fs: %.0f/s\n", n, el.Seconds(), float64(n)/el.Seconds())
	return nil
}

// subject is telegraf.<host>.<measurement> of a line.
func subject(l string) string {
	name, rest, _ := strings.Cut(l, ",")
	host := "none"
	if i := strings.Index(rest, "host="); i >= 0 {
		host = rest[i+5:]
		if j := strings.IndexAny(host, ", "); j >= 0 {
			host = host[:j]
		}
	}
	return "telegraf." + host + "." + name
}

// shift moves a line's timestamp on by round hours, so that a looped
// input keeps its time order.
func shift(l string, round int) string {
	i := strings.LastIndexByte(l, ' ')
	var ts int64
	if _, err := fmt.Sscan(l[i+1:], &ts); err != nil {
		return l
	}
	return fmt.Sprintf("%s %d", l[:i], ts+int64(round)*int64(time.Hour))
}
