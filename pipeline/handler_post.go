package pipeline

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
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
				return fmt.Errorf("endpoint: tickrun has no kapacitor.conf [[httppost]] endpoints; give the url")
			}
			raw, err := optString(opts, "url", true)
			if err != nil {
				return err
			}
			if u, err := url.Parse(raw); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return fmt.Errorf("url: want an http:// or https:// URL, got %q", raw)
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
			timeout, _ := optDuration(opts, "timeout", 10*time.Second)
			p.capture, _ = optBool(opts, "capture-response")
			skip, _ := optBool(opts, "skip-ssl-verification")
			tr := http.DefaultTransport.(*http.Transport).Clone()
			if skip {
				tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true}
			}
			p.client = &http.Client{Transport: tr, Timeout: timeout}
			return newQueueHandler("post "+p.url, "", deliveryOptions(t, opts), t, p.try).start(), nil
		},
		target: func(opts map[string]any) string { s, _ := opts["url"].(string); return s },
	})
}

type httpPost struct {
	url     string
	headers [][2]string
	capture bool
	client  *http.Client
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
