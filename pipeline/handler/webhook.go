package handler

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"

	"github.com/tickrun/tickrun/pipeline/alert"
	"github.com/tickrun/tickrun/pipeline/deliver"
)

// webhook is what a webhook kind (slack, teams, telegram, victorops,
// pagerduty2) resolves its options and kapacitor.conf section to: where to
// POST and how each event becomes a request body. Every webhook kind rides
// on the same delivery machinery as the post kind: a Poster for one try,
// a deliver.Queue for the queue, retries and counters.
type webhook struct {
	url     string // may hold a token: never printed
	target  string // printable form of url, for stats, logs and captures
	headers [][2]string
	// body builds the request body of one event; payload is the event's
	// alert JSON.
	body       func(ev *alert.Event, payload []byte) ([]byte, error)
	skipVerify bool
	// route, if set, gives the URL of each event (OpsGenie posts
	// recoveries elsewhere); the queue then holds the URL, a NUL and the
	// body.
	route func(ev *alert.Event) string
}

// webhookKind opens a webhook kind: resolve its options and section into
// the webhook, then post from a queue with retries.
func webhookKind(request func(o opts, env *Env) (*webhook, error)) func(o opts, env *Env) (*endpoint, error) {
	return func(o opts, env *Env) (*endpoint, error) {
		w, err := request(o, env)
		if err != nil {
			return nil, err
		}
		d := deliveryOptions(env, o)
		client := httpClient(d.WriteTimeout, w.skipVerify)
		try := func(ctx context.Context, body []byte) error {
			u := w.url
			if w.route != nil {
				route, b, _ := bytes.Cut(body, []byte{0})
				u, body = string(route), b
			}
			err := (&Poster{URL: u, Headers: w.headers, CaptureResponse: true, Client: client}).Try(ctx, body)
			// The client's errors quote the URL, which may hold a token.
			var ue *url.Error
			if !deliver.IsPermanent(err) && errors.As(err, &ue) {
				return fmt.Errorf("POST %s: %v", w.target, ue.Err)
			}
			return err
		}
		ep := &endpoint{target: w.target, try: try, body: w.body}
		if w.route != nil {
			// The queue holds the URL, a NUL and the body.
			ep.frame = func(ev *alert.Event, body []byte) []byte {
				return append(append([]byte(w.route(ev)), 0), body...)
			}
		}
		return ep, nil
	}
}

// redactURL shows only the scheme and host of a URL: webhook paths carry
// tokens (hooks.slack.com/services/T../B../SECRET).
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "(url not shown)"
	}
	return u.Scheme + "://" + u.Host + "/…"
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
