package handler

import (
	"fmt"
	"net/url"
	"time"

	"github.com/tickrun/tickrun/pipeline/alert"
	"github.com/tickrun/tickrun/pipeline/kapconf"
)

func init() {
	register(&Kind{
		Name: "pagerduty2", Doc: "sends each event to PagerDuty's Events API v2 (OK resolves)",
		Property: &Property{Name: "pagerDuty2"},
		Options: []Option{
			{Name: "routing-key", Type: String, Doc: "the integration's routing key", Default: "routing-key of [pagerduty2]", Prop: "routingKey"},
		},
		Section: "pagerduty2", Global: true,
		Config: kapconf.Schema{Keys: map[string]kapconf.Kind{"enabled": kapconf.Bool, "global": kapconf.Bool, "routing-key": kapconf.Secret, "url": kapconf.String},
			Defaults: map[string]any{"url": "https://events.pagerduty.com/v2/enqueue"}},
		open: webhookKind(pagerDuty2Request),
	})
}

// pagerDuty2Request: an Events API v2 trigger {routing_key, event_action,
// dedup_key, payload {summary, source, severity, timestamp, class,
// component, group, custom_details {result}}, images, links, client,
// client_url}, or for OK a resolve {routing_key, dedup_key, event_action}.
func pagerDuty2Request(o opts, env *Env) (*webhook, error) {
	c, err := env.Config.Section("pagerduty2", "")
	if err != nil {
		return nil, err
	}
	key := o.or("routing-key", c.String("routing-key"))
	u := c.String("url")
	if p, err := url.Parse(u); err != nil || (p.Scheme != "http" && p.Scheme != "https") {
		return nil, fmt.Errorf("[pagerduty2] url: want an http:// or https:// URL")
	}
	clientURL := ""
	if env.Server.Hostname != "" {
		// Kapacitor sends its own HTTP API address; tickrun run has none
		// and sends what Kapacitor would on this host.
		clientURL = "http://" + env.Server.Hostname + ":9092"
	}
	type pdcef struct {
		Summary       string         `json:"summary"`
		Source        string         `json:"source"`
		Severity      string         `json:"severity"`
		Timestamp     string         `json:"timestamp"`
		Class         string         `json:"class"`
		Component     string         `json:"component"`
		Group         string         `json:"group"`
		CustomDetails map[string]any `json:"custom_details"`
	}
	type trigger struct {
		RoutingKey  string `json:"routing_key"`
		EventAction string `json:"event_action"`
		DedupKey    string `json:"dedup_key"`
		Payload     *pdcef `json:"payload"`
		Images      []any  `json:"images"`
		Links       []any  `json:"links"`
		Client      string `json:"client"`
		ClientURL   string `json:"client_url"`
	}
	type resolve struct {
		RoutingKey  string `json:"routing_key"`
		DedupKey    string `json:"dedup_key"`
		EventAction string `json:"event_action"`
	}
	return &webhook{
		url: u, target: redactURL(u),
		headers: [][2]string{{"Accept", "application/vnd.pagerduty+json;version=2"}},
		body: func(ev *alert.Event, payload []byte) ([]byte, error) {
			var severity string
			switch ev.Level {
			case alert.Warning:
				severity = "warning"
			case alert.Critical:
				severity = "critical"
			case alert.Info:
				severity = "info"
			default:
				return encodeJSON(resolve{key, ev.ID, "resolve"}, true)
			}
			source := "unknown"
			if h, ok := ev.Tag("host"); ok {
				source = h
			}
			return encodeJSON(trigger{
				RoutingKey: key, EventAction: "trigger", DedupKey: ev.ID, Client: "kapacitor", ClientURL: clientURL,
				Payload: &pdcef{
					Summary: ev.Message, Source: source, Severity: severity, Class: ev.TaskName,
					Timestamp:     time.Unix(0, ev.Time).UTC().Format("2006-01-02T15:04:05.000000000Z07:00"),
					CustomDetails: map[string]any{"result": eventResult(payload)},
				},
			}, true)
		},
	}, nil
}
