package handler

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"path"
	"time"

	"github.com/tickrun/tickrun/pipeline/alert"
	"github.com/tickrun/tickrun/pipeline/kapconf"
)

func init() {
	register(&Kind{
		Name: "victorops", Doc: "sends each event to VictorOps' REST endpoint",
		Property: &Property{Name: "victorOps"},
		Options: []Option{
			{Name: "routing-key", Type: String, Doc: "the routing key", Default: "routing-key of [victorops]", Prop: "routingKey"},
		},
		Section: "victorops", Global: true,
		Config: kapconf.Schema{Keys: map[string]kapconf.Kind{"enabled": kapconf.Bool, "global": kapconf.Bool, "api-key": kapconf.Secret, "routing-key": kapconf.Secret, "url": kapconf.String, "json-data": kapconf.Bool},
			Defaults: map[string]any{"url": "https://alert.victorops.com/integrations/generic/20131114/alert"}},
		open: webhookKind(victorOpsRequest),
	})
}

// victorOpsRequest: {data, entity_id, message_type, monitoring_tool,
// state_message, timestamp} posted to URL/api-key/routing-key; data is the
// event's series as a JSON string, or as an object with json-data.
func victorOpsRequest(o opts, env *Env) (*webhook, error) {
	c, err := env.Config.Section("victorops", "")
	if err != nil {
		return nil, err
	}
	key := o.or("routing-key", c.String("routing-key"))
	u, err := url.Parse(c.String("url"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("[victorops] url: want an http:// or https:// URL")
	}
	target := u.Scheme + "://" + u.Host + "/…"
	u.Path = path.Join(u.Path, c.String("api-key"), key)
	jsonData := c.Bool("json-data")
	return &webhook{
		url: u.String(), target: target,
		body: func(ev *alert.Event, payload []byte) ([]byte, error) {
			typ := ev.Level.String()
			if ev.Level == alert.OK {
				typ = "RECOVERY"
			}
			var data any = eventResult(payload)
			if !jsonData {
				var buf bytes.Buffer
				if err := json.Compact(&buf, data.(json.RawMessage)); err != nil {
					return nil, err
				}
				data = buf.String()
			}
			return encodeJSON(map[string]any{
				"message_type": typ, "entity_id": ev.ID, "state_message": ev.Message,
				"timestamp": time.Unix(0, ev.Time).Unix(), "monitoring_tool": "kapacitor", "data": data,
			}, true)
		},
	}, nil
}
