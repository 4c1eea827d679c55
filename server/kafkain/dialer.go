package kafkain

import (
	"context"
	"crypto/tls"
	"net"
	"sync"
	"time"
)

// dialer opens the connections of every client of an Input and severs
// them all at once on Kill, as a crash would: the brokers see the
// connections drop and hear nothing more, no LeaveGroup, no commit.
type dialer struct {
	tls *tls.Config // nil for plain TCP
	net net.Dialer

	// Seams for tests that cut the network for a while: called before
	// each dial, and wrapping each connection. Nil otherwise.
	beforeDial func(context.Context) error
	wrap       func(net.Conn) net.Conn

	mu      sync.Mutex
	severed bool
	conns   map[*conn]struct{}
}

func newDialer(tlsCfg *tls.Config) *dialer {
	return &dialer{
		tls:   tlsCfg,
		net:   net.Dialer{Timeout: 10 * time.Second, KeepAlive: 10 * time.Second},
		conns: make(map[*conn]struct{}),
	}
}

// DialContext has the signature kgo.Dialer wants.
func (d *dialer) DialContext(ctx context.Context, network, host string) (net.Conn, error) {
	if d.isSevered() {
		return nil, ErrKilled
	}
	if d.beforeDial != nil {
		if err := d.beforeDial(ctx); err != nil {
			return nil, err
		}
	}
	c, err := d.net.DialContext(ctx, network, host)
	if err != nil {
		return nil, err
	}
	if d.tls != nil {
		cfg := d.tls.Clone()
		if cfg.ServerName == "" {
			if h, _, err := net.SplitHostPort(host); err == nil {
				cfg.ServerName = h
			} else {
				cfg.ServerName = host
			}
		}
		tc := tls.Client(c, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			c.Close()
			return nil, err
		}
		c = tc
	}
	if d.wrap != nil {
		c = d.wrap(c)
	}
	tracked := &conn{Conn: c, d: d}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.severed {
		c.Close()
		return nil, ErrKilled
	}
	d.conns[tracked] = struct{}{}
	return tracked, nil
}

func (d *dialer) isSevered() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.severed
}

// sever closes every connection and refuses new ones.
func (d *dialer) sever() {
	d.mu.Lock()
	d.severed = true
	conns := d.conns
	d.conns = make(map[*conn]struct{})
	d.mu.Unlock()
	for c := range conns {
		c.Conn.Close()
	}
}

// conn forgets itself in its dialer when closed.
type conn struct {
	net.Conn
	d    *dialer
	once sync.Once
}

func (c *conn) Close() error {
	c.once.Do(func() {
		c.d.mu.Lock()
		delete(c.d.conns, c)
		c.d.mu.Unlock()
	})
	return c.Conn.Close()
}
