package pipeline

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tickrun/tickrun/pipeline/kapconf"
)

// ec2Scaler sets the desired capacity of an AWS EC2 Auto Scaling group,
// as Kapacitor does with the AWS SDK (services/ec2/client): the Query API
// (version 2011-01-01) actions DescribeAutoScalingGroups and
// SetDesiredCapacity (HonorCooldown=false: the node keeps its own
// cooldowns), signed with Signature Version 4 with the keys of the [[ec2]]
// section of kapacitor.conf. The section's endpoint key (tickrun's; the
// default is https://autoscaling.REGION.amazonaws.com) points at another
// endpoint: a VPC endpoint, a local test server.
type ec2Scaler struct {
	cluster                                string
	groupName, groupNameTag, outputTag     string
	endpoint, region, accessKey, secretKey string
	client                                 *http.Client
	now                                    func() time.Time
}

func init() {
	kapconf.Register("ec2", kapconf.Schema{Multi: true, NameKey: "id", Keys: map[string]kapconf.Kind{
		"enabled": kapconf.Bool, "id": kapconf.String, "region": kapconf.String, "access-key": kapconf.String,
		"secret-key": kapconf.Secret, "endpoint": kapconf.String,
	}})
	str := func(name, doc string, set func(s *ec2Scaler, v string)) *Prop { return scalerString(name, doc, set) }
	autoscaleSpec("ec2Autoscale", "ec2_autoscale", "scales an AWS EC2 Auto Scaling group from a lambda and emits the changes",
		func() autoscaler { return &ec2Scaler{cluster: "default", now: time.Now} },
		str("cluster", "the id of an [[ec2]] section (default 'default')", func(s *ec2Scaler, v string) { s.cluster = v }),
		str("groupName", "name of the Auto Scaling group", func(s *ec2Scaler, v string) { s.groupName = v }),
		str("groupNameTag", "tag naming the Auto Scaling group", func(s *ec2Scaler, v string) { s.groupNameTag = v }),
		str("outputGroupNameTag", "tag of the event points for the group (default: groupNameTag)", func(s *ec2Scaler, v string) { s.outputTag = v }),
	)
}

func (s *ec2Scaler) validate() error {
	if (s.groupName != "") == (s.groupNameTag != "") {
		return errors.New("must specify exactly one of GroupName or GroupNameTag")
	}
	return nil
}

func (s *ec2Scaler) start(t *Task) error {
	c, err := clusterSection(t.opts.Config, "ec2", s.cluster)
	if err == nil && c.String("region") == "" {
		err = fmt.Errorf("ec2 %q requires a region", s.cluster)
	}
	if err != nil {
		return fmt.Errorf("cannot use the EC2Autoscale node, could not create ec2 client: %v", err)
	}
	s.region, s.accessKey, s.secretKey = c.String("region"), c.String("access-key"), c.String("secret-key")
	s.endpoint = c.String("endpoint")
	if s.endpoint == "" {
		s.endpoint = "https://autoscaling." + s.region + ".amazonaws.com"
	}
	s.client = &http.Client{Timeout: autoscaleTimeout}
	return nil
}

func (s *ec2Scaler) resource(tags []Tag) (resource, error) {
	name := s.groupName
	if name == "" {
		name = tagValue(tags, s.groupNameTag)
	}
	if name == "" {
		return resource{}, errors.New("could not determine the name of the resource")
	}
	return resource{id: name, name: name}, nil
}

// call makes one Query API call and decodes its answer into out.
func (s *ec2Scaler) call(params url.Values, out any) error {
	params.Set("Version", "2011-01-01")
	body := params.Encode()
	u, err := url.Parse(strings.TrimSuffix(s.endpoint, "/") + "/")
	if err != nil {
		return err
	}
	req, err := http.NewRequest(http.MethodPost, u.String(), strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	signV4(req, []byte(body), s.accessKey, s.secretKey, s.region, "autoscaling", s.now().UTC())
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data := readBody(resp)
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error struct {
				Code    string `xml:"Code"`
				Message string `xml:"Message"`
			} `xml:"Error"`
		}
		if err := xml.Unmarshal(data, &e); err != nil || e.Error.Code == "" {
			return fmt.Errorf("%s", resp.Status)
		}
		return fmt.Errorf("%s: %s", e.Error.Code, e.Error.Message)
	}
	if out != nil {
		return xml.Unmarshal(data, out)
	}
	return nil
}

func (s *ec2Scaler) replicas(r resource) (int64, error) {
	var out struct {
		Groups []struct {
			DesiredCapacity int64 `xml:"DesiredCapacity"`
		} `xml:"DescribeAutoScalingGroupsResult>AutoScalingGroups>member"`
	}
	p := url.Values{"Action": {"DescribeAutoScalingGroups"}, "AutoScalingGroupNames.member.1": {r.name}}
	if err := s.call(p, &out); err != nil {
		return 0, fmt.Errorf("failed to get ec2 autoscaleGroup for %q: failed to create GET request for %s", r.name, err)
	}
	var n int64
	for _, g := range out.Groups { // Kapacitor takes the last group's
		n = g.DesiredCapacity
	}
	return n, nil
}

func (s *ec2Scaler) setReplicas(r resource, n int64) error {
	p := url.Values{"Action": {"SetDesiredCapacity"}, "AutoScalingGroupName": {r.name},
		"DesiredCapacity": {strconv.FormatInt(n, 10)}, "HonorCooldown": {"false"}}
	if err := s.call(p, nil); err != nil {
		return fmt.Errorf("Failed to set desired capacity %s", err) //lint:ignore ST1005 Kapacitor's message
	}
	return nil
}

func (s *ec2Scaler) tag(r resource, q *Point) {
	tag := s.outputTag
	if tag == "" {
		tag = s.groupNameTag
	}
	if tag != "" {
		q.SetTag(tag, r.name)
	}
}

// signV4 signs req with AWS Signature Version 4 (the Authorization
// header), for the headers Content-Length (when there is a body),
// Content-Type, Host and X-Amz-Date, which it sets.
func signV4(req *http.Request, body []byte, accessKey, secretKey, region, service string, now time.Time) {
	date := now.Format("20060102T150405Z")
	req.Header.Set("X-Amz-Date", date)
	host := req.Host
	if host == "" {
		host = req.URL.Host
	}
	headers := map[string]string{"host": host, "x-amz-date": date}
	if ct := req.Header.Get("Content-Type"); ct != "" {
		headers["content-type"] = ct
	}
	if len(body) > 0 {
		headers["content-length"] = strconv.Itoa(len(body))
	}
	names := make([]string, 0, len(headers))
	for k := range headers {
		names = append(names, k)
	}
	sort.Strings(names)
	var canonHeaders strings.Builder
	for _, k := range names {
		canonHeaders.WriteString(k + ":" + strings.TrimSpace(headers[k]) + "\n")
	}
	signed := strings.Join(names, ";")
	path := req.URL.EscapedPath()
	if path == "" {
		path = "/"
	}
	query := req.URL.Query()
	keys := make([]string, 0, len(query))
	for k := range query {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var canonQuery []string
	for _, k := range keys {
		vals := append([]string(nil), query[k]...)
		sort.Strings(vals)
		for _, v := range vals {
			canonQuery = append(canonQuery, awsEscape(k)+"="+awsEscape(v))
		}
	}
	payload := sha256.Sum256(body)
	canonical := strings.Join([]string{req.Method, path, strings.Join(canonQuery, "&"), canonHeaders.String(), signed,
		hex.EncodeToString(payload[:])}, "\n")
	scope := now.Format("20060102") + "/" + region + "/" + service + "/aws4_request"
	hashed := sha256.Sum256([]byte(canonical))
	toSign := "AWS4-HMAC-SHA256\n" + date + "\n" + scope + "\n" + hex.EncodeToString(hashed[:])
	key := hmacSHA256([]byte("AWS4"+secretKey), now.Format("20060102"))
	key = hmacSHA256(key, region)
	key = hmacSHA256(key, service)
	key = hmacSHA256(key, "aws4_request")
	sig := hex.EncodeToString(hmacSHA256(key, toSign))
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+accessKey+"/"+scope+", SignedHeaders="+signed+", Signature="+sig)
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

// awsEscape percent-encodes as SigV4 wants: everything but A-Z a-z 0-9 - _ . ~.
func awsEscape(s string) string {
	var b bytes.Buffer
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

func (s *ec2Scaler) section() string { return "ec2" }

var _ autoscaler = (*ec2Scaler)(nil)
