package handler

import (
	"errors"
	"fmt"
	"net/url"

	"github.com/tickrun/tickrun/pipeline/alert"
	"github.com/tickrun/tickrun/pipeline/kapconf"
)

// The pagerduty kind sends each event to PagerDuty's generic Events API
// (v1) as Kapacitor's pagerduty service does: {client: "kapacitor",
// client_url, description (the message), details (the details),
// event_type (trigger for WARNING and CRITICAL, resolve for OK),
// incident_key (the id), service_key}. INFO events are not sent: like
// Kapacitor, tickrun logs them as errors (and counts them dropped).
func init() {
	register(&Kind{
		Name: "pagerduty", Doc: "sends each event to PagerDuty's Events API v1 (OK resolves, INFO is not sent)",
		Property: &Property{Name: "pagerDuty"},
		Options: []Option{
			{Name: "service-key", Type: String, Doc: "the service's integration key", Default: "service-key of [pagerduty]", Prop: "serviceKey"},
		},
		Section: "pagerduty", Global: true,
		Config: kapconf.Schema{Keys: map[string]kapconf.Kind{"enabled": kapconf.Bool, "global": kapconf.Bool, "url": kapconf.String, "service-key": kapconf.Secret},
			Defaults: map[string]any{"url": "https://events.pagerduty.com/generic/2010-04-15/create_event.json"}},
		open: webhookKind(pagerDutyRequest),
	})
}

// errPagerDutyInfo is Kapacitor's error for INFO events.
var errPagerDutyInfo = errors.New("AlertLevel 'info' is currently ignored by the PagerDuty service")

func pagerDutyRequest(o opts, env *Env) (*webhook, error) {
	c, err := env.Config.Section("pagerduty", "")
	if err != nil {
		return nil, err
	}
	u := c.String("url")
	if p, err := url.Parse(u); err != nil || (p.Scheme != "http" && p.Scheme != "https") {
		return nil, fmt.Errorf("[pagerduty] url: want an http:// or https:// URL")
	}
	key := o.or("service-key", c.String("service-key"))
	clientURL := kapacitorURL(env)
	return &webhook{url: u, target: redactURL(u), body: func(ev *alert.Event, _ []byte) ([]byte, error) {
		typ := "resolve"
		switch ev.Level {
		case alert.Warning, alert.Critical:
			typ = "trigger"
		case alert.Info:
			return nil, errPagerDutyInfo
		}
		return encodeJSON(map[string]string{"client": "kapacitor", "client_url": clientURL, "description": ev.Message,
			"details": ev.Details, "event_type": typ, "incident_key": ev.ID, "service_key": key}, true)
	}}, nil
}

// kapacitorURL is the address of Kapacitor's HTTP API that PagerDuty
// events name as their client_url: tickrun run has none and names what
// Kapacitor would on this host.
func kapacitorURL(env *Env) string {
	if env.Server.Hostname == "" {
		return ""
	}
	return "http://" + env.Server.Hostname + ":9092"
}
