// Command tickgen writes a deterministic telegraf-like cpu data set as line
// protocol: N points, 10 float fields each, round-robin over H hosts, ten
// seconds apart per host. It is the load of tickrun's benchmarks
// (bench/README.md).
//
//	go run ./cmd/tickgen -n 1000000 -hosts 100 -crit 0.1 > cpu.lp
//
// -crit is the share of points whose usage_idle is below 10 (0: no alert of
// the seed script fires; 0.1 makes it fire about 190k events per 1M points).
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"

	"github.com/tickrun/tickrun/internal/tickgen"
)

func main() {
	n := flag.Int("n", 1_000_000, "number of points")
	hosts := flag.Int("hosts", 100, "number of hosts (series)")
	crit := flag.Float64("crit", 0, "share of points with usage_idle < 10")
	seed := flag.Int64("seed", 1, "random seed")
	start := flag.Int64("start", 1700000000, "time of the first point, seconds since the epoch")
	flag.Parse()
	w := bufio.NewWriterSize(os.Stdout, 1<<20)
	defer w.Flush()
	if err := tickgen.Generate(w, tickgen.Config{Points: *n, Hosts: *hosts, Crit: *crit, Seed: *seed, Start: *start}); err != nil {
		fmt.Fprintln(os.Stderr, "tickgen:", err)
		os.Exit(1)
	}
}
