package server

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tickrun/tickrun/server/api"
	"github.com/tickrun/tickrun/server/store"
)

// FuzzWrite sends arbitrary bodies through the write path of an engine
// running the seed task: it must not panic, every rejected line must be
// a line of the body with a reason, and no more points than lines may
// come out.
func FuzzWrite(f *testing.F) {
	for _, s := range []string{
		"cpu,host=serverA,cpu=cpu-total usage_idle=5 1700000000000000000\n",
		"cpu,host=serverA usage_idle= 1\ncpu usage_idle=oops\ncpu 17\n",
		"cpu a=1u\ncpu a=\"x\ny\" 5\r\n,a=1\n\\\n",
	} {
		f.Add([]byte(s), true)
	}
	if data, err := os.ReadFile("testdata/seed_topic_handler/input.lp"); err == nil {
		f.Add(data, false)
	}
	st, err := store.Open(filepath.Join(f.TempDir(), "fuzz.db"))
	if err != nil {
		f.Fatal(err)
	}
	defer st.Close()
	e := newEngine(engineOptions{Store: st})
	seed := api.TaskSpec{ID: "cpu_alert", Type: "stream", DBRPs: []store.DBRP{{DB: "telegraf", RP: "autogen"}},
		Script: "stream|from().measurement('cpu')|alert().crit(lambda: \"usage_idle\" < 10).topic('cpu')"}
	if err := e.Start(seed); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte, allOrNothing bool) {
		res := e.Write(api.WriteRequest{DB: "telegraf", RP: "autogen", Body: body, Now: time.Unix(1700000000, 0), AllOrNothing: allOrNothing})
		lines := bytes.Count(body, []byte{'\n'}) + 1
		if res.Points > lines {
			t.Fatalf("%d points from %d lines", res.Points, lines)
		}
		if allOrNothing && len(res.Bad) > 0 && res.Points != 0 {
			t.Fatalf("all or nothing wrote %d points beside %d bad lines", res.Points, len(res.Bad))
		}
		for _, b := range res.Bad {
			if b.Reason == "" || b.Line < 0 || b.Line > lines {
				t.Fatalf("bad line report %+v for %d lines", b, lines)
			}
		}
	})
}
