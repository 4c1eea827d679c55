package handler

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"

	"github.com/tickrun/tickrun/pipeline/alert"
	"github.com/tickrun/tickrun/pipeline/kapconf"
)

// The servicenow kind sends each event to ServiceNow's event web service
// as Kapacitor's servicenow service does: {records: [{source, node, type,
// resource, metric_name, message_key, severity, description,
// additional_info}]}, empty fields left out, node, type, resource,
// metric_name and message_key templates over .ID .Name .TaskName .Fields
// .Tags, the message key the id when empty, the severity 5 for OK and
// INFO, 4 for WARNING, 1 for CRITICAL, the description the message,
// additional_info the additional-info map as a JSON string, fields cut at
// 100 bytes (message_key 1024, description 4000), HTTP basic auth when
// username and password are set.
func init() {
	register(&Kind{
		Name: "servicenow", Doc: "sends each event to ServiceNow's event management web service",
		Property: &Property{Name: "serviceNow"},
		Options: []Option{
			{Name: "url", Type: String, Doc: "the web service URL", Default: "url of [servicenow]"},
			{Name: "username", Type: String, Doc: "user for HTTP basic auth", Default: "username of [servicenow]"},
			{Name: "password", Type: String, Doc: "password for HTTP basic auth", Default: "password of [servicenow]"},
			{Name: "source", Type: String, Doc: "the event's source", Default: "source of [servicenow]", Prop: "source"},
			{Name: "node", Type: String, Doc: "the node (a template)", Prop: "node"},
			{Name: "type", Type: String, Doc: "the metric type (a template)", Prop: "type"},
			{Name: "resource", Type: String, Doc: "the node's resource (a template)", Prop: "resource"},
			{Name: "metricName", Type: String, Doc: "the metric name (a template)", Prop: "metricName"},
			{Name: "messageKey", Type: String, Doc: "the key of related events (a template)", Default: "the id", Prop: "messageKey"},
			{Name: "additional_info", Type: Values, Doc: "additional information (string values are templates)", Prop: "additionalInfo"},
		},
		Section: "servicenow", Global: true,
		Config: kapconf.Schema{Keys: map[string]kapconf.Kind{"enabled": kapconf.Bool, "global": kapconf.Bool, "state-changes-only": kapconf.Bool,
			"url": kapconf.String, "source": kapconf.String, "username": kapconf.String, "password": kapconf.Secret},
			Defaults: map[string]any{"url": "https://instance.service-now.com/api/global/em/jsonv2"}},
		check: func(o opts) error {
			_, err := snowTemplates(o)
			return err
		},
		open: webhookKind(serviceNowRequest),
	})
}

// snowData is what the servicenow kind's templates see.
type snowData struct {
	ID       string
	Name     string
	TaskName string
	Fields   map[string]interface{}
	Tags     map[string]string
}

func snowTemplates(o opts) (map[string]*optTemplate, error) {
	ts, err := o.templates(&snowData{}, "node", "type", "resource", "metricName", "messageKey")
	if err != nil {
		return nil, err
	}
	info, err := o.values("additional_info")
	if err != nil {
		return nil, err
	}
	for k, v := range info {
		if s, ok := v.(string); ok {
			if ts["additional_info."+k], err = parseOptTemplate("additional_info", s, &snowData{}); err != nil {
				return nil, err
			}
		}
	}
	return ts, nil
}

func serviceNowRequest(o opts, env *Env) (*webhook, error) {
	c, err := env.Config.Section("servicenow", "")
	if err != nil {
		return nil, err
	}
	u := o.or("url", c.String("url"))
	if p, err := url.Parse(u); err != nil || (p.Scheme != "http" && p.Scheme != "https") {
		return nil, fmt.Errorf("servicenow url: want an http:// or https:// URL")
	}
	ts, _ := snowTemplates(o)
	info, _ := o.values("additional_info")
	source := o.or("source", c.String("source"))
	var headers [][2]string
	if user, pass := o.or("username", c.String("username")), o.or("password", c.String("password")); user != "" && pass != "" {
		headers = append(headers, [2]string{"Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))})
	}
	type record struct {
		Source         string `json:"source"`
		Node           string `json:"node,omitempty"`
		Type           string `json:"type,omitempty"`
		Resource       string `json:"resource,omitempty"`
		MetricName     string `json:"metric_name,omitempty"`
		MessageKey     string `json:"message_key,omitempty"`
		Severity       string `json:"severity,omitempty"`
		Description    string `json:"description,omitempty"`
		AdditionalInfo string `json:"additional_info,omitempty"`
	}
	return &webhook{url: u, target: redactURL(u), headers: headers, body: func(ev *alert.Event, _ []byte) ([]byte, error) {
		d := &snowData{ID: ev.ID, Name: ev.Data.Name, TaskName: ev.TaskName, Fields: eventFields(ev), Tags: eventTags(ev)}
		ai := ""
		if len(info) > 0 {
			m := make(map[string]string, len(info))
			for k, v := range info {
				if t := ts["additional_info."+k]; t != nil {
					m[k] = t.renderPartial(d)
				} else if _, isString := v.(string); isString {
					m[k] = ""
				} else {
					m[k] = fmt.Sprintf("%v", v)
				}
			}
			b, err := json.Marshal(m)
			if err != nil {
				return nil, err
			}
			ai = string(b)
		}
		key := ts["messageKey"].renderPartial(d)
		if key == "" {
			key = ev.ID
		}
		severity := map[alert.Level]int{alert.OK: 5, alert.Info: 5, alert.Warning: 4, alert.Critical: 1}[ev.Level]
		return encodeJSON(map[string][]record{"records": {{
			Source: cutoff(source, 100), Node: cutoff(ts["node"].renderPartial(d), 100), Type: cutoff(ts["type"].renderPartial(d), 100),
			Resource: cutoff(ts["resource"].renderPartial(d), 100), MetricName: cutoff(ts["metricName"].renderPartial(d), 100),
			MessageKey: cutoff(key, 1024), Severity: strconv.Itoa(severity), Description: cutoff(ev.Message, 4000), AdditionalInfo: ai,
		}}}, false)
	}}, nil
}
