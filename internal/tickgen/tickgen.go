// Package tickgen generates the deterministic telegraf-like cpu data set
// of tickrun's benchmarks: 10 float fields per point, round-robin over a
// number of hosts, ten seconds apart per host.
package tickgen

import (
	"io"
	"math/rand"
	"strconv"
)

// Config describes a data set.
type Config struct {
	Points int     // number of points
	Hosts  int     // number of hosts (series)
	Crit   float64 // share of points whose usage_idle is below 10
	Seed   int64   // random seed
	Start  int64   // time of the first point, seconds since the epoch
}

var fields = []string{
	"usage_guest", "usage_guest_nice", "usage_idle", "usage_iowait", "usage_irq",
	"usage_nice", "usage_softirq", "usage_steal", "usage_system", "usage_user",
}

// Generate writes the data set as line protocol.
func Generate(w io.Writer, c Config) error {
	if c.Hosts <= 0 {
		c.Hosts = 1
	}
	r := rand.New(rand.NewSource(c.Seed))
	buf := make([]byte, 0, 512)
	for i := 0; i < c.Points; i++ {
		host := i % c.Hosts
		ts := (c.Start + int64(i/c.Hosts)*10) * 1e9
		buf = append(buf[:0], "cpu,cpu=cpu-total,host=host"...)
		buf = strconv.AppendInt(buf, int64(host), 10)
		buf = append(buf, ' ')
		idle := 10 + r.Float64()*89
		if r.Float64() < c.Crit {
			idle = r.Float64() * 9.99
		}
		rest := 100 - idle
		for j, f := range fields {
			if j > 0 {
				buf = append(buf, ',')
			}
			buf = append(buf, f...)
			buf = append(buf, '=')
			v := 0.0
			switch f {
			case "usage_idle":
				v = idle
			case "usage_user":
				v = rest * 0.6
			case "usage_system":
				v = rest * 0.3
			default:
				v = rest * 0.1 * r.Float64() / 7
			}
			buf = strconv.AppendFloat(buf, float64(int64(v*1000))/1000, 'f', -1, 64)
		}
		buf = append(buf, ' ')
		buf = strconv.AppendInt(buf, ts, 10)
		buf = append(buf, '\n')
		if _, err := w.Write(buf); err != nil {
			return err
		}
	}
	return nil
}
