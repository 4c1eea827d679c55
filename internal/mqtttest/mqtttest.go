// Package mqtttest starts a real MQTT broker for a test: Debian's
// mosquitto, run by the test itself with a temporary config (a listener
// on a free 127.0.0.1 port, persistence off, optionally a password file),
// never the system service; and a subscriber that records what the
// broker delivers. When the mosquitto binary is missing the test is
// skipped with the reason (.ci/run installs it).
//
// It imports none of tickrun's packages, so any package's tests may use
// it.
package mqtttest

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	pahomqtt "github.com/eclipse/paho.mqtt.golang"
)

// Broker is a running mosquitto.
type Broker struct {
	Addr string // 127.0.0.1:PORT
	URL  string // tcp://127.0.0.1:PORT
	// Username and Password are the only credentials the broker accepts
	// when it was started with them; else it accepts anonymous clients.
	Username, Password string

	log string
}

// Options change how the broker starts.
type Options struct {
	// Username and Password, if set, make the broker refuse anonymous
	// clients and accept this user only.
	Username, Password string
}

// binary finds mosquitto, which Debian installs in /usr/sbin.
func binary() (string, error) {
	if p, err := exec.LookPath("mosquitto"); err == nil {
		return p, nil
	}
	if _, err := os.Stat("/usr/sbin/mosquitto"); err == nil {
		return "/usr/sbin/mosquitto", nil
	}
	return "", errors.New("mosquitto is not installed (apt-get install -y mosquitto)")
}

// Start starts a broker for t, stopped when t ends; it skips t when
// mosquitto is missing.
func Start(t testing.TB, o Options) *Broker {
	t.Helper()
	bin, err := binary()
	if err != nil {
		t.Skipf("no MQTT broker: %v", err)
	}
	dir := t.TempDir()
	port := freePort(t)
	b := &Broker{Addr: "127.0.0.1:" + strconv.Itoa(port), Username: o.Username, Password: o.Password, log: filepath.Join(dir, "mosquitto.log")}
	b.URL = "tcp://" + b.Addr
	conf := fmt.Sprintf("listener %d 127.0.0.1\npersistence false\nlog_dest file %s\nlog_type all\n", port, b.log)
	if os.Geteuid() == 0 {
		// Run as root, mosquitto would switch to the mosquitto user, who
		// cannot read the test's temp dir.
		conf += "user root\n"
	}
	if o.Username != "" {
		pw := filepath.Join(dir, "passwd")
		out, err := exec.Command(filepath.Join(filepath.Dir(bin), "..", "bin", "mosquitto_passwd"), "-b", "-c", pw, o.Username, o.Password).CombinedOutput()
		if err != nil {
			if out, err = exec.Command("mosquitto_passwd", "-b", "-c", pw, o.Username, o.Password).CombinedOutput(); err != nil {
				t.Fatalf("mosquitto_passwd: %v: %s", err, out)
			}
		}
		conf += "allow_anonymous false\npassword_file " + pw + "\n"
	} else {
		conf += "allow_anonymous true\n"
	}
	confPath := filepath.Join(dir, "mosquitto.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-c", confPath)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start mosquitto: %v", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", b.Addr, time.Second)
		if err == nil {
			c.Close()
			return b
		}
		select {
		case <-exited:
			log, _ := os.ReadFile(b.log)
			t.Fatalf("mosquitto exited: %s%s", stderr.String(), log)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("mosquitto did not listen on %s: %v", b.Addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func freePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Message is one message a subscriber received.
type Message struct {
	Topic    string
	QoS      byte
	Retained bool
	Payload  string
}

// String renders a message as golden files hold it.
func (m Message) String() string {
	return fmt.Sprintf("MQTT %s qos=%d retained=%v\n%s\n---\n", m.Topic, m.QoS, m.Retained, m.Payload)
}

// Subscriber is a client subscribed to every topic with QoS 2, so that
// it sees each message with the QoS it was published with.
type Subscriber struct {
	b    *Broker
	cl   pahomqtt.Client
	mu   sync.Mutex
	msgs []Message
	sync chan struct{}
	seq  int
}

// syncTopic is where Flush publishes its markers.
const syncTopic = "mqtttest/sync"

// Subscribe connects a subscriber; retained messages the broker holds
// arrive first, flagged retained.
func (b *Broker) Subscribe(t testing.TB) *Subscriber {
	t.Helper()
	s := &Subscriber{b: b, sync: make(chan struct{}, 1)}
	opts := pahomqtt.NewClientOptions().AddBroker(b.URL).SetClientID(fmt.Sprintf("mqtttest-%d", time.Now().UnixNano())).
		SetUsername(b.Username).SetPassword(b.Password).SetCleanSession(true).SetOrderMatters(true)
	s.cl = pahomqtt.NewClient(opts)
	if tok := s.cl.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscriber connect: %v", tok.Error())
	}
	t.Cleanup(func() { s.cl.Disconnect(100) })
	tok := s.cl.Subscribe("#", 2, func(_ pahomqtt.Client, m pahomqtt.Message) {
		if m.Topic() == syncTopic {
			s.sync <- struct{}{}
			return
		}
		s.mu.Lock()
		s.msgs = append(s.msgs, Message{Topic: m.Topic(), QoS: m.Qos(), Retained: m.Retained(), Payload: string(m.Payload())})
		s.mu.Unlock()
	})
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	return s
}

// Flush returns the messages received, once every message the broker
// accepted before the call has arrived: it publishes a marker on its own
// connection and waits for it to come back, which the broker forwards
// after what it queued for the subscriber before.
func (s *Subscriber) Flush(t testing.TB) []Message {
	t.Helper()
	if tok := s.cl.Publish(syncTopic, 1, false, "sync"); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("publish marker: %v", tok.Error())
	}
	select {
	case <-s.sync:
	case <-time.After(10 * time.Second):
		t.Fatal("the marker did not come back from the broker")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

// Wait returns the messages once there are n, failing t after timeout.
func (s *Subscriber) Wait(t testing.TB, n int, timeout time.Duration) []Message {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		s.mu.Lock()
		got := append([]Message(nil), s.msgs...)
		s.mu.Unlock()
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("got %d MQTT messages, want %d: %v", len(got), n, got)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
