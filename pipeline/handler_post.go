package pipeline

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/tickrun/tickrun/ast"
)

// The post kind sends each event's JSON in an HTTP POST with content type
// application/json (alert.md §13.4) and any headers given. A 2xx answer
// is success; a network error, a timeout (default 10s), 429 or 5xx is
// retried; any other status is not, as sending the same body again would
// get the same answer. With capture-response the body of a failed
// answer is logged.
func init() {
	registerHandler("post", &handlerKind{
		options: []string{"url", "endpoint", "headers", "timeout", "capture-response", "skip-ssl-verification"},
		check: func(opts map[string]any) error {
			if _, ok := opts["endpoint"]; ok {
				if _, err := optString(opts, "endpoint", true); err != nil {
					return err
				}
				if _, ok := opts["url"]; ok {
					return fmt.Errorf("url: give the url or an endpoint of kapacitor.conf, not both")
				}
			} else {
				raw, err := optString(opts, "url", true)
				if err != nil {
					return fmt.Errorf("%v (give the url, or the endpoint of an [[httppost]] section of kapacitor.conf)", err)
				}
				if u, err := url.Parse(raw); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
					return fmt.Errorf("url: want an http:// or https:// URL, got %q", raw)
				}
			}
			if _, err := optHeaders(opts, "headers"); err != nil {
				return err
			}
			d, err := optDuration(opts, "timeout", 10*time.Second)
			if err == nil && d <= 0 {
				err = fmt.Errorf("timeout: must be positive, got %v", d)
			}
			if err != nil {
				return err
			}
			if _, err := optBool(opts, "capture-response"); err != nil {
				return err
			}
			_, err = optBool(opts, "skip-ssl-verification")
			return err
		},
		new: func(opts map[string]any, t *Task, id string) (handler, error) {
			p := &httpPost{}
			p.url, _ = optString(opts, "url", true)
			p.headers, _ = optHeaders(opts, "headers")
			name := "post " + p.url
			if ep, _ := optString(opts, "endpoint", false); ep != "" {
				c, err := taskConfig(t).Service("httppost", ep)
				if err != nil {
					return nil, err
				}
				p.url, p.headers, name = c.String("url"), endpointHeaders(c, p.headers), "post endpoint "+ep
				p.redact = "endpoint " + ep
			}
			timeout, _ := optDuration(opts, "timeout", 10*time.Second)
			p.capture, _ = optBool(opts, "capture-response")
			skip, _ := optBool(opts, "skip-ssl-verification")
			tr := http.DefaultTransport.(*http.Transport).Clone()
			if skip {
				tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true}
			}
			p.client = &http.Client{Transport: tr, Timeout: timeout}
			return newQueueHandler(name, "", deliveryOptions(t, opts), t, p.try).start(), nil
		},
		target: func(opts map[string]any) string {
			if ep, _ := opts["endpoint"].(string); ep != "" {
				return "endpoint " + ep
			}
			s, _ := opts["url"].(string)
			return s
		},
	})
}

type httpPost struct {
	url     string
	headers [][2]string
	capture bool
	client  *http.Client
	// redact, if set, replaces the URL in errors: URLs from kapacitor.conf
	// may hold tokens.
	redact string
}

// endpointHeaders are the headers of an [[httppost]] endpoint (with its
// basic-auth as an Authorization header), overridden by the handler's own.
func endpointHeaders(c *ServiceConfig, own [][2]string) [][2]string {
	out := c.Headers("headers")
	if ba, ok := c.values["basic-auth"].(map[string]any); ok {
		u, _ := ba["username"].(string)
		pw, _ := ba["password"].(string)
		out = append(out, [2]string{"Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte(u+":"+pw))})
	}
	// http.Header.Set in try applies them in order: the handler's win.
	return append(out, own...)
}

func (p *httpPost) try(ctx context.Context, payload []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url, bytes.NewReader(payload))
	if err != nil {
		return permanent(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for _, h := range p.headers {
		req.Header.Set(h[0], h[1])
	}
	resp, err := p.client.Do(req)
	if err != nil {
		var ue *url.Error
		if p.redact != "" && errors.As(err, &ue) {
			return fmt.Errorf("POST %s: %v", p.redact, ue.Err)
		}
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	err = fmt.Errorf("HTTP %s", resp.Status)
	if p.capture {
		err = fmt.Errorf("%w: %s", err, strings.TrimSpace(string(body)))
	}
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 {
		return err
	}
	return permanent(err)
}

// postProp is .post(url), or .post() followed by .endpoint(name) for an
// [[httppost]] endpoint of kapacitor.conf.
func postProp() *Prop {
	p := handlerProp("post", "send events in an HTTP POST to this URL (or to the .endpoint() that follows)", []argKind{argString}, 0, func(a []value) map[string]any {
		return map[string]any{"url": a[0].scalar.Str()}
	})
	withURL := p.set
	p.MinArgs = -1
	p.set = func(b *binder, x node, at *ast.Chain, a []value) error {
		if len(a) > 0 {
			return withURL(b, x, at, a)
		}
		// Checked by .endpoint(), or when the task starts.
		n := x.(*alertNode)
		n.handlers = append(n.handlers, &HandlerSpec{ID: n.name + " post", Kind: "post", Options: map[string]any{}})
		return nil
	}
	return p
}
