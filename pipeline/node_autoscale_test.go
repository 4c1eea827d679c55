package pipeline_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickrun/tickrun/pipeline"
	"github.com/tickrun/tickrun/pipeline/kapconf"
)

// apiServer records every request and answers with the handler's body.
type apiServer struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []string // "METHOD PATH?QUERY header=value... body"
}

func newAPIServer(t *testing.T, headers []string, answer func(r *http.Request, body string) (int, string)) *apiServer {
	s := &apiServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		line := r.Method + " " + r.URL.RequestURI()
		for _, h := range headers {
			line += fmt.Sprintf(" %s=%q", h, r.Header.Get(h))
		}
		line += " " + string(b)
		s.mu.Lock()
		s.reqs = append(s.reqs, strings.TrimSpace(line))
		s.mu.Unlock()
		code, out := answer(r, string(b))
		w.WriteHeader(code)
		io.WriteString(w, out)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *apiServer) requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.reqs...)
}

// runAutoscale runs script over lines with conf and returns the messages.
func runAutoscale(t *testing.T, script, conf string, lines ...string) ([]string, string) {
	t.Helper()
	c, err := kapconf.Parse("kapacitor.conf", []byte(conf))
	require.NoError(t, err)
	ev, log := &events{}, &syncBuffer{}
	task, err := pipeline.Compile("script", "script.tick", script, pipeline.Options{Config: c, OnEvent: ev.on, Log: log})
	require.NoError(t, err, "%s", task.ErrorText(err))
	writeLines(t, task, lines...)
	require.NoError(t, task.Close(context.Background()))
	return ev.messages(), log.String()
}

const autoscaleAlert = `
    |alert()
        .crit(lambda: TRUE)
        .message('{{ .Time.Unix }} {{ range $k, $v := .Tags }}{{ $k }}={{ $v }} {{ end }}{{ index .Fields "old" }} to {{ index .Fields "new" }}')
`

// scaleInput: 3 (an increase), 4 within the increase cooldown (dropped),
// 9 bounded by max 5, 0 bounded by min 1 (a decrease), then a decrease
// within its cooldown.
var scaleInput = []string{
	"req,deployment=web n=3i 1000000000",
	"req,deployment=web n=4i 2000000000",
	"req,deployment=web n=9i 20000000000",
	"req,deployment=web n=0i 21000000000",
	"req,deployment=web n=3i 40000000000",
	"req,deployment=web n=2i 41000000000",
}

// k8sAutoscale against a Kubernetes API server's scale subresource: the
// requests Kapacitor's client makes, with the bearer token.
func TestK8sAutoscale(t *testing.T) {
	replicas := 2
	const scalePath = "/apis/extensions/v1beta1/namespaces/prod/deployments/web/scale"
	srv := newAPIServer(t, []string{"Authorization", "Content-Type"}, func(r *http.Request, body string) (int, string) {
		if r.URL.Path != scalePath {
			return http.StatusNotFound, `{"kind":"Status","status":"Failure","message":"deployments.extensions \"x\" not found","code":404}`
		}
		if r.Method == http.MethodPatch {
			fmt.Sscanf(body, `[{"op":"replace","path":"/spec/replicas","value":%d}]`, &replicas)
		}
		return http.StatusOK, fmt.Sprintf(`{"kind":"Scale","metadata":{"name":"web","namespace":"prod","selfLink":%q},"spec":{"replicas":%d}}`, scalePath, replicas)
	})
	msgs, log := runAutoscale(t, `stream
    |from()
        .measurement('req')
        .groupBy('deployment')
    |k8sAutoscale()
        .namespace('prod')
        .resourceNameTag('deployment')
        .max(5)
        .replicas(lambda: "n")
        .increaseCooldown(10s)
        .decreaseCooldown(30s)`+autoscaleAlert,
		fmt.Sprintf("[kubernetes]\nenabled = true\napi-servers = [%q]\ntoken = 's3cret'\n", srv.URL), scaleInput...)
	assert.Equal(t, []string{
		"1 deployment=web kind=deployments namespace=prod resource=web 2 to 3",
		"20 deployment=web kind=deployments namespace=prod resource=web 3 to 5",
		"21 deployment=web kind=deployments namespace=prod resource=web 5 to 1",
		"40 deployment=web kind=deployments namespace=prod resource=web 1 to 3",
	}, msgs)
	assert.Empty(t, log)
	get := `GET ` + scalePath + ` Authorization="Bearer s3cret" Content-Type=""`
	patch := func(n int) string {
		return fmt.Sprintf(`PATCH %s Authorization="Bearer s3cret" Content-Type="application/json-patch+json" [{"op":"replace","path":"/spec/replicas","value":%d}]`, scalePath, n)
	}
	assert.Equal(t, []string{get, get, patch(3), get, patch(5), get, patch(1), get, patch(3)}, srv.requests())
	assert.Equal(t, 3, replicas)

	// An API error is logged on the node; the point is dropped.
	msgs, log = runAutoscale(t, `stream|from().measurement('req')|k8sAutoscale().resourceName('x').replicas(lambda: 2)`+autoscaleAlert,
		fmt.Sprintf("[kubernetes]\nenabled = true\napi-servers = [%q]\n", srv.URL), scaleInput[0])
	assert.Empty(t, msgs)
	assert.Contains(t, log, `k8s_autoscale2: error handling point: could not determine initial scale for "default/deployments/x": failed to get scale default/deployments/x: deployments.extensions "x" not found`)
}

// swarmAutoscale against the Docker Engine API: the spec goes back whole
// with the new replica count, at the service's version.
func TestSwarmAutoscale(t *testing.T) {
	replicas, version := 2, 7
	var updates []string
	srv := newAPIServer(t, []string{"Content-Type"}, func(r *http.Request, body string) (int, string) {
		switch {
		case r.Method == http.MethodGet && r.URL.Path == "/v1.30/services/web":
			return http.StatusOK, fmt.Sprintf(`{"ID":"abc123","Version":{"Index":%d},"Spec":{"Name":"web","Labels":{"team":"x"},"TaskTemplate":{"ContainerSpec":{"Image":"nginx:1"}},"Mode":{"Replicated":{"Replicas":%d}}}}`, version, replicas)
		case r.Method == http.MethodPost && r.URL.Path == "/v1.30/services/abc123/update":
			updates = append(updates, body)
			fmt.Sscanf(body[strings.Index(body, `"Replicas":`)+11:], "%d", &replicas)
			version++
			return http.StatusOK, `{"Warnings":null}`
		}
		return http.StatusNotFound, `{"message":"service x not found"}`
	})
	msgs, log := runAutoscale(t, `stream
    |from()
        .measurement('req')
    |swarmAutoscale()
        .serviceNameTag('deployment')
        .outputServiceNameTag('service')
        .max(5)
        .replicas(lambda: "n")
        .increaseCooldown(10s)
        .decreaseCooldown(30s)`+autoscaleAlert,
		fmt.Sprintf("[[swarm]]\nenabled = true\nservers = [%q]\n", srv.URL), scaleInput...)
	assert.Equal(t, []string{"1 service=web 2 to 3", "20 service=web 3 to 5", "21 service=web 5 to 1", "40 service=web 1 to 3"}, msgs)
	assert.Empty(t, log)
	reqs := srv.requests()
	require.Len(t, reqs, 9)
	assert.Equal(t, `GET /v1.30/services/web Content-Type=""`, reqs[0])
	assert.Equal(t, `POST /v1.30/services/abc123/update?version=7 Content-Type="" {"Labels":{"team":"x"},"Mode":{"Replicated":{"Replicas":3}},"Name":"web","TaskTemplate":{"ContainerSpec":{"Image":"nginx:1"}}}`, reqs[2])
	assert.Contains(t, reqs[4], "update?version=8 ")

	msgs, log = runAutoscale(t, `stream|from().measurement('req')|swarmAutoscale().serviceName('nope').replicas(lambda: 2)`+autoscaleAlert,
		fmt.Sprintf("[[swarm]]\nenabled = true\nservers = [%q]\n", srv.URL), scaleInput[0])
	assert.Empty(t, msgs)
	assert.Contains(t, log, `could not determine initial scale for "nope": failed to get swarm service for "nope": service x not found`)
}

// ec2Autoscale against the Auto Scaling Query API, signed with SigV4.
func TestEC2Autoscale(t *testing.T) {
	capacity := 2
	srv := newAPIServer(t, []string{"Content-Type"}, func(r *http.Request, body string) (int, string) {
		auth := r.Header.Get("Authorization")
		if !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential=AKID/") || !strings.Contains(auth, "/eu-west-1/autoscaling/aws4_request, SignedHeaders=content-length;content-type;host;x-amz-date, Signature=") {
			return http.StatusForbidden, `<ErrorResponse><Error><Code>SignatureDoesNotMatch</Code><Message>bad</Message></Error></ErrorResponse>`
		}
		switch {
		case strings.HasPrefix(body, "Action=DescribeAutoScalingGroups&"):
			if strings.Contains(body, "member.1=nope") {
				return http.StatusOK, `<DescribeAutoScalingGroupsResponse><DescribeAutoScalingGroupsResult><AutoScalingGroups/></DescribeAutoScalingGroupsResult></DescribeAutoScalingGroupsResponse>`
			}
			return http.StatusOK, fmt.Sprintf(`<DescribeAutoScalingGroupsResponse xmlns="http://autoscaling.amazonaws.com/doc/2011-01-01/"><DescribeAutoScalingGroupsResult><AutoScalingGroups><member><AutoScalingGroupName>web</AutoScalingGroupName><DesiredCapacity>%d</DesiredCapacity><MinSize>1</MinSize></member></AutoScalingGroups></DescribeAutoScalingGroupsResult></DescribeAutoScalingGroupsResponse>`, capacity)
		case strings.HasPrefix(body, "Action=SetDesiredCapacity&"):
			if capacity == 5 {
				return http.StatusBadRequest, `<ErrorResponse><Error><Type>Sender</Type><Code>ScalingActivityInProgress</Code><Message>busy</Message></Error></ErrorResponse>`
			}
			fmt.Sscanf(body[strings.Index(body, "DesiredCapacity=")+16:], "%d", &capacity)
			return http.StatusOK, `<SetDesiredCapacityResponse/>`
		}
		return http.StatusBadRequest, ""
	})
	msgs, log := runAutoscale(t, `stream
    |from()
        .measurement('req')
        .groupBy('deployment')
    |ec2Autoscale()
        .groupNameTag('deployment')
        .max(5)
        .replicas(lambda: "n")
        .increaseCooldown(10s)
        .decreaseCooldown(30s)`+autoscaleAlert,
		fmt.Sprintf("[[ec2]]\nenabled = true\nregion = 'eu-west-1'\naccess-key = 'AKID'\nsecret-key = 'SECRET'\nendpoint = %q\n", srv.URL), scaleInput...)
	// The decrease from 5 fails (the API is busy): the count stays 5.
	assert.Equal(t, []string{"1 deployment=web 2 to 3", "20 deployment=web 3 to 5"}, msgs)
	assert.Contains(t, log, `failed to apply scaling event: failed to set new replica count for "web": Failed to set desired capacity ScalingActivityInProgress: busy`)
	reqs := srv.requests()
	form := `Content-Type="application/x-www-form-urlencoded; charset=utf-8"`
	assert.Equal(t, "POST / "+form+" Action=DescribeAutoScalingGroups&AutoScalingGroupNames.member.1=web&Version=2011-01-01", reqs[0])
	assert.Equal(t, "POST / "+form+" Action=SetDesiredCapacity&AutoScalingGroupName=web&DesiredCapacity=3&HonorCooldown=false&Version=2011-01-01", reqs[1])
}

// The autoscale nodes' checks, as Kapacitor's.
func TestAutoscaleErrors(t *testing.T) {
	for src, want := range map[string]string{
		`stream|from()|k8sAutoscale().replicas(lambda: 1)`:                                  "must specify exactly one of ResourceName or ResourceNameTag",
		`stream|from()|k8sAutoscale().resourceName('a').kind('pods').replicas(lambda: 1)`:   "invalid Kind, must be 'deployments', 'replicasets' or 'replicationcontrollers', got pods",
		`stream|from()|k8sAutoscale().resourceName('a').min(0).replicas(lambda: 1)`:         "min must be >= 1, got 0",
		`stream|from()|k8sAutoscale().resourceName('a')`:                                    "must provide a replicas lambda expression",
		`stream|from()|swarmAutoscale().replicas(lambda: 1)`:                                "must specify exactly one of ServiceName or ServiceNameTag",
		`stream|from()|ec2Autoscale().groupName('a').groupNameTag('b').replicas(lambda: 1)`: "must specify exactly one of GroupName or GroupNameTag",
		`stream|from()|k8sAutoscale().resourceName('a').replicas(lambda: 1)`:                `cannot use the k8sAutoscale node, could not create kubernetes client: no [kubernetes] section with id "default" in kapacitor.conf`,
		`stream|from()|ec2Autoscale().groupName('a').cluster('other').replicas(lambda: 1)`:  `cannot use the EC2Autoscale node, could not create ec2 client: no [ec2] section with id "other"`,
		`stream|from()|swarmAutoscale().serviceName('a').replicas(lambda: 1)`:               `cannot use the swarmAutoscale node, could not create swarm client: no [swarm] section with id "default"`,
	} {
		_, err := pipeline.Compile("t", "t.tick", src, pipeline.Options{Config: &kapconf.Config{File: "kapacitor.conf"}})
		require.Error(t, err, src)
		assert.Contains(t, err.Error(), want, src)
	}
}
