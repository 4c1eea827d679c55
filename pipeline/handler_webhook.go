package pipeline

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/tickrun/tickrun/ast"
)

// webhook is what a webhook kind (slack, teams, telegram, victorops,
// pagerduty2) resolves its options and kapacitor.conf section to: where to
// POST and how each event becomes a request body. Every webhook kind rides
// on the same delivery machinery as the post kind: httpPost for one try,
// queueHandler for the queue, retries and counters.
type webhook struct {
	url     string // may hold a token: never printed
	target  string // printable form of url, for stats, logs and captures
	headers [][2]string
	// body builds the request body of one event; payload is the event's
	// alert JSON.
	body       func(ev *Event, payload []byte) ([]byte, error)
	skipVerify bool
	// route, if set, gives the URL of each event (OpsGenie posts
	// recoveries elsewhere); the queue then holds the URL, a NUL and the
	// body.
	route func(ev *Event) string
}

// newWebhookHandler resolves a webhook kind's options and starts its queue
// (or captures its bodies).
func newWebhookHandler(kind string, k *handlerKind, opts map[string]any, t *Task) (handler, error) {
	w, err := k.request(opts, t)
	if err != nil {
		return nil, err
	}
	if t.opts.Deliver.Capture != nil {
		return &captureHandler{kind: kind, target: w.target, capture: t.opts.Deliver.Capture, build: w.body}, nil
	}
	o := deliveryOptions(t, opts)
	p := &httpPost{url: w.url, headers: w.headers, capture: true}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if w.skipVerify {
		tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true}
	}
	p.client = &http.Client{Transport: tr, Timeout: o.WriteTimeout}
	try := func(ctx context.Context, body []byte) error {
		p := p
		if w.route != nil {
			u, b, _ := bytes.Cut(body, []byte{0})
			p = &httpPost{url: string(u), headers: w.headers, capture: true, client: p.client}
			body = b
		}
		err := p.try(ctx, body)
		// The client's errors quote the URL, which may hold a token.
		var ue *url.Error
		var perm *permanentError
		if !errors.As(err, &perm) && errors.As(err, &ue) {
			return fmt.Errorf("POST %s: %v", w.target, ue.Err)
		}
		return err
	}
	q := newQueueHandler(kind+" "+w.target, "", o, t, try).start()
	return &webhookHandler{queueHandler: q, body: w.body, route: w.route}, nil
}

// webhookHandler builds each event's request body as it is queued, so the
// queue holds exactly what is sent.
type webhookHandler struct {
	*queueHandler
	body  func(ev *Event, payload []byte) ([]byte, error)
	route func(ev *Event) string
}

func (h *webhookHandler) deliver(ev *Event, payload []byte) {
	b, err := h.body(ev, payload)
	if err != nil {
		h.dropped.Add(1)
		h.log("handler %s: dropped event %q: %v", h.name, ev.ID, err)
		return
	}
	if h.route != nil {
		b = append(append([]byte(h.route(ev)), 0), b...)
	}
	h.queueHandler.deliver(ev, b)
}

var _ handler = (*webhookHandler)(nil)

// redactURL shows only the scheme and host of a URL: webhook paths carry
// tokens (hooks.slack.com/services/T../B../SECRET).
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "(url not shown)"
	}
	return u.Scheme + "://" + u.Host + "/…"
}

// taskConfig returns the kapacitor.conf of a task (nil if none).
func taskConfig(t *Task) *KapacitorConfig {
	if t == nil {
		return nil
	}
	return t.opts.Config
}

// encodeJSON encodes v as Kapacitor's services do: with json.Encoder, so
// with a trailing newline when newline is set, and HTML characters escaped.
func encodeJSON(v any, newline bool) ([]byte, error) {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		return nil, err
	}
	b := buf.Bytes()
	if !newline {
		b = bytes.TrimSuffix(b, []byte("\n"))
	}
	return b, nil
}

// eventResult returns the "data" member of an event's alert JSON: the
// series, as Kapacitor's models.Result.
func eventResult(payload []byte) json.RawMessage {
	var x struct {
		Data json.RawMessage `json:"data"`
	}
	if json.Unmarshal(payload, &x) != nil || x.Data == nil {
		return json.RawMessage(`{}`)
	}
	return x.Data
}

func stringOpts(keys ...string) func(map[string]any) error {
	return func(opts map[string]any) error {
		for _, k := range keys {
			if _, err := optString(opts, k, false); err != nil {
				return err
			}
		}
		return nil
	}
}

func init() {
	registerHandler("slack", &handlerKind{
		options: []string{"workspace", "channel", "username", "icon-emoji"},
		check:   stringOpts("workspace", "channel", "username", "icon-emoji"),
		request: slackRequest,
	})
	registerHandler("teams", &handlerKind{
		options: []string{"channel-url"},
		check:   stringOpts("channel-url"),
		request: teamsRequest,
	})
	registerHandler("telegram", &handlerKind{
		options: []string{"chat-id", "parse-mode", "disable-web-page-preview", "disable-notification"},
		check: func(opts map[string]any) error {
			if err := stringOpts("chat-id")(opts); err != nil {
				return err
			}
			if m, err := optString(opts, "parse-mode", false); err != nil {
				return err
			} else if m != "" && m != "Markdown" && m != "HTML" {
				return fmt.Errorf("parse-mode: want Markdown or HTML, got %q", m)
			}
			if _, err := optBool(opts, "disable-web-page-preview"); err != nil {
				return err
			}
			_, err := optBool(opts, "disable-notification")
			return err
		},
		request: telegramRequest,
	})
	registerHandler("victorops", &handlerKind{
		options: []string{"routing-key"},
		check:   stringOpts("routing-key"),
		request: victorOpsRequest,
	})
	registerHandler("discord", &handlerKind{
		options: []string{"workspace", "username", "avatar-url", "embed-title"},
		check: func(opts map[string]any) error {
			if err := stringOpts("workspace", "username", "avatar-url", "embed-title")(opts); err != nil {
				return err
			}
			if t, _ := optString(opts, "embed-title", false); strings.Contains(t, "{{") {
				return fmt.Errorf("embed-title: templates are not supported by tickrun; give plain text")
			}
			return nil
		},
		request: discordRequest,
	})
	registerHandler("opsgenie2", &handlerKind{
		options: []string{"teams-list", "recipients-list"},
		check: func(opts map[string]any) error {
			if _, err := optStrings(opts, "teams-list"); err != nil {
				return err
			}
			_, err := optStrings(opts, "recipients-list")
			return err
		},
		request: opsGenie2Request,
	})
	registerHandler("pagerduty2", &handlerKind{
		options: []string{"routing-key"},
		check:   stringOpts("routing-key"),
		request: pagerDuty2Request,
	})
}

// slackRequest: Kapacitor's slack service posts to the workspace's webhook
// URL {as_user: false, attachments: [{fallback, color, text, mrkdwn_in}],
// channel, icon_emoji, text: "", username}, the color good, warning or
// danger by level, the attachment text the message.
func slackRequest(opts map[string]any, t *Task) (*webhook, error) {
	workspace, _ := optString(opts, "workspace", false)
	c, err := taskConfig(t).Service("slack", workspace)
	if err != nil {
		return nil, err
	}
	if c.String("url") == "" && !taskConfig(t).Lenient {
		return nil, fmt.Errorf("[slack] of kapacitor.conf has no url")
	}
	channel := or(opts, "channel", c.String("channel"))
	username := or(opts, "username", c.String("username"))
	emoji := or(opts, "icon-emoji", c.String("icon-emoji"))
	type attachment struct {
		Fallback string   `json:"fallback"`
		Color    string   `json:"color"`
		Text     string   `json:"text"`
		MrkdwnIn []string `json:"mrkdwn_in"`
	}
	return &webhook{
		url: c.String("url"), target: redactURL(c.String("url")), skipVerify: c.Bool("insecure-skip-verify"),
		body: func(ev *Event, _ []byte) ([]byte, error) {
			color := "good"
			switch ev.Level {
			case Warning:
				color = "warning"
			case Critical:
				color = "danger"
			}
			return encodeJSON(map[string]any{
				"as_user": false, "channel": channel, "text": "", "username": username, "icon_emoji": emoji,
				"attachments": []attachment{{Fallback: ev.Message, Color: color, Text: ev.Message, MrkdwnIn: []string{"text"}}},
			}, true)
		},
	}, nil
}

// or returns the string option key, or def when it is unset or empty.
func or(opts map[string]any, key, def string) string {
	if s, _ := optString(opts, key, false); s != "" {
		return s
	}
	return def
}

// teamsSummaryCutoff is where Kapacitor cuts a Teams card's summary (in
// bytes) before appending "...".
const teamsSummaryCutoff = 70

// teamsRequest: a MessageCard {@type, @context, title, text, summary,
// themeColor}; the title is "LEVEL: [id]", the summary the title and the
// message, cut, the color by level.
func teamsRequest(opts map[string]any, t *Task) (*webhook, error) {
	c, err := taskConfig(t).Service("teams", "")
	if err != nil {
		return nil, err
	}
	u := or(opts, "channel-url", c.String("channel-url"))
	if u == "" && !taskConfig(t).Lenient {
		return nil, fmt.Errorf("teams needs a channel-url: in [teams] of kapacitor.conf or the handler's options")
	}
	type card struct {
		Type       string `json:"@type"`
		Context    string `json:"@context"`
		Title      string `json:"title"`
		Text       string `json:"text"`
		Summary    string `json:"summary"`
		ThemeColor string `json:"themeColor"`
	}
	topic := ""
	if t != nil {
		topic = t.opts.KapacitorID + ":" + t.name
	}
	return &webhook{
		url: u, target: redactURL(u),
		body: func(ev *Event, _ []byte) ([]byte, error) {
			title, summary := ev.Level.String(), ""
			switch {
			case ev.ID == "" && topic == "":
				summary = title + ": " + ev.Message
			case ev.ID == "":
				title += ": [" + topic + ":" + ev.Node + "]"
				summary = title + " - " + ev.Message
			default:
				title += ": [" + ev.ID + "]"
				summary = title + " - " + ev.Message
			}
			summary = summary[:min(teamsSummaryCutoff, len(summary))] + "..."
			color := "34CC25"
			switch ev.Level {
			case Warning:
				color = "FFA533"
			case Critical:
				color = "CC4A31"
			}
			return encodeJSON(card{"MessageCard", "http://schema.org/extensions", title, ev.Message, summary, color}, false)
		},
	}, nil
}

// telegramRequest: {chat_id, text, parse_mode?, disable_web_page_preview?,
// disable_notification?} posted to URL + token + "/sendMessage".
func telegramRequest(opts map[string]any, t *Task) (*webhook, error) {
	c, err := taskConfig(t).Service("telegram", "")
	if err != nil {
		return nil, err
	}
	chat := or(opts, "chat-id", c.String("chat-id"))
	mode := or(opts, "parse-mode", c.String("parse-mode"))
	if mode != "" && mode != "Markdown" && mode != "HTML" {
		return nil, fmt.Errorf("[telegram] parse-mode: want Markdown or HTML, got %q", mode)
	}
	preview, _ := optBool(opts, "disable-web-page-preview")
	notify, _ := optBool(opts, "disable-notification")
	preview = preview || c.Bool("disable-web-page-preview")
	notify = notify || c.Bool("disable-notification")
	u, err := url.Parse(c.String("url"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("[telegram] url: want an http:// or https:// URL")
	}
	target := u.Scheme + "://" + u.Host + "/…"
	u.Path = path.Join(u.Path+c.String("token"), "sendMessage")
	return &webhook{
		url: u.String(), target: target,
		body: func(ev *Event, _ []byte) ([]byte, error) {
			m := map[string]any{"chat_id": chat, "text": ev.Message}
			if mode != "" {
				m["parse_mode"] = mode
			}
			if preview {
				m["disable_web_page_preview"] = true
			}
			if notify {
				m["disable_notification"] = true
			}
			return encodeJSON(m, true)
		},
	}, nil
}

// victorOpsRequest: {data, entity_id, message_type, monitoring_tool,
// state_message, timestamp} posted to URL/api-key/routing-key; data is the
// event's series as a JSON string, or as an object with json-data.
func victorOpsRequest(opts map[string]any, t *Task) (*webhook, error) {
	c, err := taskConfig(t).Service("victorops", "")
	if err != nil {
		return nil, err
	}
	key := or(opts, "routing-key", c.String("routing-key"))
	u, err := url.Parse(c.String("url"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("[victorops] url: want an http:// or https:// URL")
	}
	target := u.Scheme + "://" + u.Host + "/…"
	u.Path = path.Join(u.Path, c.String("api-key"), key)
	jsonData := c.Bool("json-data")
	return &webhook{
		url: u.String(), target: target,
		body: func(ev *Event, payload []byte) ([]byte, error) {
			typ := ev.Level.String()
			if ev.Level == OK {
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

// pagerDuty2Request: an Events API v2 trigger {routing_key, event_action,
// dedup_key, payload {summary, source, severity, timestamp, class,
// component, group, custom_details {result}}, images, links, client,
// client_url}, or for OK a resolve {routing_key, dedup_key, event_action}.
func pagerDuty2Request(opts map[string]any, t *Task) (*webhook, error) {
	c, err := taskConfig(t).Service("pagerduty2", "")
	if err != nil {
		return nil, err
	}
	key := or(opts, "routing-key", c.String("routing-key"))
	u := c.String("url")
	if p, err := url.Parse(u); err != nil || (p.Scheme != "http" && p.Scheme != "https") {
		return nil, fmt.Errorf("[pagerduty2] url: want an http:// or https:// URL")
	}
	clientURL := ""
	if t != nil {
		// Kapacitor sends its own HTTP API address; tickrun has none and
		// sends what Kapacitor would on this host.
		clientURL = "http://" + t.opts.Server.Hostname + ":9092"
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
		body: func(ev *Event, payload []byte) ([]byte, error) {
			var severity string
			switch ev.Level {
			case Warning:
				severity = "warning"
			case Critical:
				severity = "critical"
			case Info:
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

// discordRequest: {avatar_url, embeds: [{color, title, description,
// timestamp}], username} to the workspace's webhook URL; the color by
// level, the description the message, the timestamp (RFC 3339) only with
// timestamp = true in [discord].
func discordRequest(opts map[string]any, t *Task) (*webhook, error) {
	workspace, _ := optString(opts, "workspace", false)
	c, err := taskConfig(t).Service("discord", workspace)
	if err != nil {
		return nil, err
	}
	if c.String("url") == "" && !taskConfig(t).Lenient {
		return nil, fmt.Errorf("[discord] of kapacitor.conf has no url")
	}
	username := or(opts, "username", c.String("username"))
	avatar := or(opts, "avatar-url", c.String("avatar-url"))
	title, _ := optString(opts, "embed-title", false)
	stamp := c.Bool("timestamp")
	type embed struct {
		Color       int    `json:"color"`
		Title       string `json:"title"`
		Description string `json:"description"`
		Timestamp   string `json:"timestamp"`
	}
	return &webhook{
		url: c.String("url"), target: redactURL(c.String("url")), skipVerify: c.Bool("insecure-skip-verify"),
		body: func(ev *Event, _ []byte) ([]byte, error) {
			color := 0x7A65F2
			switch ev.Level {
			case Critical:
				color = 0xF95F53
			case Warning:
				color = 0xF48D38
			}
			ts := ""
			if stamp {
				ts = time.Unix(0, ev.Time).UTC().Format(time.RFC3339)
			}
			return encodeJSON(map[string]any{"username": username, "avatar_url": avatar,
				"embeds": []embed{{Color: color, Title: title, Description: ev.Message, Timestamp: ts}}}, true)
		},
	}, nil
}

// opsGenie2Request: an Alert API v2 create {alias (the id, base64url),
// description (the data as a JSON string), details, entity, message,
// note, priority, responders} to url with "Authorization: GenieKey
// <api-key>"; OK adds a note (or closes, by recovery_action) at
// url/<alias>/<action>?identifierType=alias.
func opsGenie2Request(opts map[string]any, t *Task) (*webhook, error) {
	c, err := taskConfig(t).Service("opsgenie2", "")
	if err != nil {
		return nil, err
	}
	base, err := url.Parse(c.String("url"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") {
		return nil, fmt.Errorf("[opsgenie2] url: want an http:// or https:// URL")
	}
	teams, _ := optStrings(opts, "teams-list")
	if len(teams) == 0 {
		teams = c.Strings("teams")
	}
	recipients, _ := optStrings(opts, "recipients-list")
	if len(recipients) == 0 {
		recipients = c.Strings("recipients")
	}
	alias := func(ev *Event) string { return base64.URLEncoding.EncodeToString([]byte(ev.ID)) }
	action := c.String("recovery_action")
	return &webhook{
		url: base.String(), target: redactURL(base.String()),
		headers: [][2]string{{"Authorization", "GenieKey " + c.String("api-key")}},
		route: func(ev *Event) string {
			if ev.Level != OK {
				return base.String()
			}
			u := *base
			u.Path = path.Join(u.Path, alias(ev), action)
			u.RawQuery = "identifierType=alias"
			return u.String()
		},
		body: func(ev *Event, payload []byte) ([]byte, error) {
			if ev.Level == OK {
				return encodeJSON(map[string]any{"note": ev.Message}, true)
			}
			priority := map[Level]string{Info: "P5", Warning: "P3", Critical: "P1"}[ev.Level]
			var desc bytes.Buffer
			if err := json.Compact(&desc, eventResult(payload)); err != nil {
				return nil, err
			}
			details := map[string]string{"Monitoring Tool": "Kapacitor", "Level": ev.Level.String()}
			if len(ev.Data.Columns) > 0 || ev.Data.Name != "" {
				for _, tag := range ev.Data.Tags {
					details[tag.Key] = tag.Value
				}
				details["Kapacitor Task Name"] = ev.Data.Name
			}
			m := map[string]any{"entity": ev.ID, "alias": alias(ev), "message": ev.Message, "note": "",
				"priority": priority, "description": desc.String(), "details": details}
			var responders []map[string]string
			for _, team := range teams {
				responders = append(responders, map[string]string{"name": team, "type": "team"})
			}
			for _, r := range recipients {
				responders = append(responders, map[string]string{"username": r, "type": "user"})
			}
			if len(responders) > 0 {
				m["responders"] = responders
			}
			return encodeJSON(m, true)
		},
	}, nil
}

// serviceProps are the alert properties of the kapacitor.conf handlers:
// .email(), .slack() and their sub-properties, .teams(), .telegram(),
// .victorOps(), .pagerDuty2().
func serviceProps() []*Prop {
	str := func(v value) any { return v.scalar.Str() }
	yes := func(value) any { return true }
	return append(emailProps(),
		serviceProp("slack", "slack", "send events to Slack ([slack] of kapacitor.conf)"),
		subProp("channel", "channel", "Slack channel of the last .slack()", argString, str, "slack"),
		subProp("username", "username", "user name of the last .slack() or .discord()", argString, str, "slack", "discord"),
		subProp("iconEmoji", "icon-emoji", "icon emoji of the last .slack()", argString, str, "slack"),
		subProp("workspace", "workspace", "workspace of the last .slack() or .discord()", argString, str, "slack", "discord"),
		teamsProp(),
		subProp("channelURL", "channel-url", "webhook URL of the last .teams()", argString, str, "teams"),
		serviceProp("telegram", "telegram", "send events to Telegram ([telegram] of kapacitor.conf)"),
		subProp("chatId", "chat-id", "chat of the last .telegram()", argString, str, "telegram"),
		subProp("parseMode", "parse-mode", "Markdown or HTML, for the last .telegram()", argString, str, "telegram"),
		subProp("disableWebPagePreview", "disable-web-page-preview", "no link previews for the last .telegram()", 0, yes, "telegram"),
		subProp("disableNotification", "disable-notification", "silent messages for the last .telegram()", 0, yes, "telegram"),
		serviceProp("victorOps", "victorops", "send events to VictorOps ([victorops] of kapacitor.conf)"),
		serviceProp("pagerDuty2", "pagerduty2", "send events to PagerDuty, Events API v2 ([pagerduty2] of kapacitor.conf)"),
		serviceProp("discord", "discord", "send events to Discord ([discord] of kapacitor.conf)"),
		subProp("avatarURL", "avatar-url", "avatar URL of the last .discord()", argString, str, "discord"),
		subProp("embedTitle", "embed-title", "embed title of the last .discord()", argString, str, "discord"),
		serviceProp("opsGenie2", "opsgenie2", "send events to OpsGenie, API v2 ([opsgenie2] of kapacitor.conf)"),
		&Prop{Name: "recipients", Doc: "OpsGenie users of the last .opsGenie2()", Variadic: argString,
			set: listSubProp("recipients", "recipients-list")},
		subProp("routingKey", "routing-key", "routing key of the last .victorOps() or .pagerDuty2()", argString, str, "victorops", "pagerduty2"),
	)
}

// serviceProp is a handler property without arguments, such as .slack():
// the handler takes its settings from kapacitor.conf and sub-properties.
func serviceProp(name, kind, doc string) *Prop {
	return &Prop{Name: name, Doc: doc,
		set: func(_ *binder, x node, _ *ast.Chain, _ []value) error {
			n := x.(*alertNode)
			n.handlers = append(n.handlers, &HandlerSpec{ID: n.name + " " + kind, Kind: kind, Options: map[string]any{}})
			return nil
		}}
}

// subProp sets an option of the node's last handler of one of kinds, as
// .channel() does for the last .slack().
func subProp(name, key, doc string, arg argKind, conv func(value) any, kinds ...string) *Prop {
	p := &Prop{Name: name, Doc: doc}
	if arg != 0 {
		p.Args = []argKind{arg}
	}
	p.set = func(_ *binder, x node, at *ast.Chain, a []value) error {
		n := x.(*alertNode)
		var s *HandlerSpec
		for i := len(n.handlers) - 1; i >= 0 && s == nil; i-- {
			for _, k := range kinds {
				if n.handlers[i].Kind == k {
					s = n.handlers[i]
				}
			}
		}
		if s == nil {
			return &ast.Error{Pos: at.Method.Pos, Msg: fmt.Sprintf(".%s() applies to the last %s; there is none before it", name, kindProps(kinds))}
		}
		var v value
		if len(a) > 0 {
			v = a[0]
		}
		s.Options[key] = conv(v)
		if err := handlerKinds[s.Kind].validate(s.Kind, s.Options); err != nil {
			pos := at.Method.Pos
			if len(a) > 0 {
				pos = a[0].pos
			}
			return &ast.Error{Pos: pos, Msg: "." + name + "(): " + err.Error()}
		}
		return nil
	}
	return p
}

var kindProp = map[string]string{"discord": ".discord()", "opsgenie2": ".opsGenie2()", "slack": ".slack()", "teams": ".teams()", "telegram": ".telegram()",
	"victorops": ".victorOps()", "pagerduty2": ".pagerDuty2()", "smtp": ".email()"}

func kindProps(kinds []string) string {
	s := ""
	for i, k := range kinds {
		if i > 0 {
			s += " or "
		}
		s += kindProp[k]
	}
	return s
}

// globalKinds are the kapacitor.conf sections whose global option sends
// every alert to them, with their handler kinds.
var globalKinds = []struct{ section, kind string }{
	{"slack", "slack"}, {"teams", "teams"}, {"telegram", "telegram"}, {"victorops", "victorops"}, {"pagerduty2", "pagerduty2"}, {"smtp", "smtp"},
	{"discord", "discord"}, {"opsgenie2", "opsgenie2"},
}

// addGlobalHandlers gives the node the handlers kapacitor.conf makes
// global, as if the script had them; with state-changes-only the node
// sends only level changes (Kapacitor's behaviour, alert.md §5).
func (n *alertNode) addGlobalHandlers(c *KapacitorConfig) {
	if c == nil || c.Lenient {
		return
	}
	for _, g := range globalKinds {
		if _, ok := handlerKinds[g.kind]; !ok {
			continue
		}
		for _, s := range c.Services[g.section] {
			if !s.Bool("enabled") || !s.Bool("global") {
				continue
			}
			if n.lastHandler(g.kind) == nil {
				opts := map[string]any{}
				if w := s.String("workspace"); w != "" {
					opts["workspace"] = w
				}
				n.handlers = append(n.handlers, &HandlerSpec{ID: n.name + " " + g.kind + " (global)", Kind: g.kind, Options: opts})
			}
			if s.Bool("state-changes-only") {
				n.cfg.stateChangesOnly = true
			}
		}
	}
}

// teamsProp is .teams(): without arguments a Microsoft Teams handler; with
// team names, the teams of the last .opsGenie2() (Kapacitor has both).
func teamsProp() *Prop {
	newTeams := serviceProp("teams", "teams", "").set
	list := listSubProp("teams", "teams-list")
	return &Prop{Name: "teams", Doc: "send events to Microsoft Teams ([teams] of kapacitor.conf); with names, the teams of the last .opsGenie2()",
		Variadic: argString, MinArgs: -1,
		set: func(b *binder, x node, at *ast.Chain, a []value) error {
			if len(a) == 0 {
				return newTeams(b, x, at, a)
			}
			return list(b, x, at, a)
		}}
}

// listSubProp sets a list option of the last .opsGenie2().
func listSubProp(name, key string) func(*binder, node, *ast.Chain, []value) error {
	return func(_ *binder, x node, at *ast.Chain, a []value) error {
		s := x.(*alertNode).lastHandler("opsgenie2")
		if s == nil {
			return &ast.Error{Pos: at.Method.Pos, Msg: "." + name + "() applies to the last .opsGenie2(); there is none before it"}
		}
		list, _ := s.Options[key].([]string)
		for _, v := range a {
			list = append(list, v.scalar.Str())
		}
		s.Options[key] = list
		return nil
	}
}
