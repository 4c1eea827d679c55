package handler

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/gosnmp/gosnmp"
	"github.com/tickrun/tickrun/pipeline/alert"
	"github.com/tickrun/tickrun/pipeline/deliver"
	"github.com/tickrun/tickrun/pipeline/kapconf"
)

// The snmptrap kind sends each event as an SNMPv2c trap as Kapacitor's
// snmptrap service does: to addr with community of [snmptrap], the
// variables sysUpTime.0 = 1000 (TimeTicks, a constant as in Kapacitor),
// snmpTrapOID.0 = trap-oid, then one per data record, its value a
// template over the event, its type c (Counter64), i (Integer), n (Null),
// s (OctetString) or t (TimeTicks); Kapacitor's a, d, o, u and x are
// refused, as there. A value that is not a number where one is wanted
// drops the event. A trap is one UDP datagram and has no answer: it
// counts as sent once written.
func init() {
	register(&Kind{
		Name: "snmptrap", Doc: "sends each event as an SNMPv2c trap with the data given",
		Property: &Property{Name: "snmpTrap", Args: []string{"trap-oid"}},
		Options: []Option{
			{Name: "trap-oid", Type: String, Doc: "the trap's OID"},
			{Name: "data-list", Type: Records, Fields: []string{"oid", "type", "value"}, Prop: "data",
				Doc: "the trap's variables: OID, type (c, i, n, s, t) and value (a template)"},
		},
		Section: "snmptrap",
		Config: kapconf.Schema{Keys: map[string]kapconf.Kind{"enabled": kapconf.Bool, "addr": kapconf.String, "community": kapconf.Secret, "retries": kapconf.Int},
			Defaults: map[string]any{"addr": "localhost:162", "community": "kapacitor", "retries": int64(1)}},
		check: func(o opts) error {
			_, err := snmpData(o)
			return err
		},
		open: openSNMPTrap,
	})
}

var oidText = regexp.MustCompile(`^\.?[0-9]+(\.[0-9]+)*$`)

// snmpVar is one data record with its value's template.
type snmpVar struct {
	oid, typ string
	value    *optTemplate
}

func snmpData(o opts) ([]snmpVar, error) {
	oid, err := o.string("trap-oid", true)
	if err != nil {
		return nil, err
	}
	if !oidText.MatchString(oid) {
		return nil, errorf("trap-oid", "invalid OID %q", oid)
	}
	recs, err := o.records("data-list", []string{"oid", "type", "value"})
	if err != nil {
		return nil, err
	}
	var out []snmpVar
	for i, r := range recs {
		if !oidText.MatchString(r["oid"]) {
			return nil, errorf("data-list", "item %d: invalid OID %q", i+1, r["oid"])
		}
		switch r["type"] {
		case "c", "i", "n", "s", "t":
		case "a", "d", "o", "u", "x":
			return nil, errorf("data-list", "item %d: type %s (%s) is not supported (nor by Kapacitor)", i+1, r["type"],
				map[string]string{"a": "IP address", "d": "decimal string", "o": "object ID", "u": "unsigned integer", "x": "hexadecimal string"}[r["type"]])
		default:
			return nil, errorf("data-list", "item %d: unknown type %q: want c, i, n, s or t", i+1, r["type"])
		}
		t, err := parseOptTemplate("data-list", r["value"], &eventData{})
		if err != nil {
			return nil, err
		}
		out = append(out, snmpVar{oid: r["oid"], typ: r["type"], value: t})
	}
	return out, nil
}

// snmpValue is a rendered record as the queue holds it.
type snmpValue struct {
	OID, Type, Value string
}

func openSNMPTrap(o opts, env *Env) (*endpoint, error) {
	c, err := env.Config.Section("snmptrap", "")
	if err != nil {
		return nil, err
	}
	host, port, err := net.SplitHostPort(c.String("addr"))
	if err != nil {
		return nil, fmt.Errorf("[snmptrap] addr: want host:port, got %q", c.String("addr"))
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return nil, fmt.Errorf("[snmptrap] addr: invalid port %q", port)
	}
	vars, _ := snmpData(o)
	trapOID, _ := o.string("trap-oid", true)
	d := deliveryOptions(env, o)
	s := &snmpSender{trapOID: trapOID, snmp: &gosnmp.GoSNMP{Target: host, Port: uint16(p), Community: c.String("community"),
		Version: gosnmp.Version2c, Retries: int(c.Int("retries")), Timeout: d.WriteTimeout, MaxOids: gosnmp.MaxOids}}
	return &endpoint{target: c.String("addr"), try: s.try, finish: s.finish, body: func(ev *alert.Event, _ []byte) ([]byte, error) {
		data := newEventData(ev)
		vals := make([]snmpValue, len(vars))
		for i, v := range vars {
			text, err := v.value.render(data)
			if err != nil {
				return nil, err
			}
			if _, err := snmpPDU(snmpValue{v.oid, v.typ, text}); err != nil {
				return nil, err
			}
			vals[i] = snmpValue{v.oid, v.typ, text}
		}
		return json.Marshal(vals)
	}}, nil
}

// snmpPDU is the variable of a rendered record.
func snmpPDU(v snmpValue) (gosnmp.SnmpPDU, error) {
	pdu := gosnmp.SnmpPDU{Name: v.OID}
	num := func(bits int) (int64, error) {
		n, err := strconv.ParseInt(v.Value, 10, bits)
		if err != nil {
			return 0, fmt.Errorf("data %s: value %q of type %s is not an integer", v.OID, v.Value, v.Type)
		}
		return n, nil
	}
	switch v.Type {
	case "c":
		n, err := num(64)
		if err != nil {
			return pdu, err
		}
		pdu.Type, pdu.Value = gosnmp.Counter64, uint64(n)
	case "i":
		n, err := num(64)
		if err != nil {
			return pdu, err
		}
		pdu.Type, pdu.Value = gosnmp.Integer, int(int32(n))
	case "n":
		pdu.Type = gosnmp.Null
	case "s":
		pdu.Type, pdu.Value = gosnmp.OctetString, []byte(v.Value)
	case "t":
		n, err := num(64)
		if err != nil {
			return pdu, err
		}
		pdu.Type, pdu.Value = gosnmp.TimeTicks, uint32(n)
	default:
		return pdu, fmt.Errorf("data %s: unknown type %q", v.OID, v.Type)
	}
	return pdu, nil
}

// snmpSender sends traps over one UDP socket, opened on first use and
// reopened after an error.
type snmpSender struct {
	trapOID string
	mu      sync.Mutex
	snmp    *gosnmp.GoSNMP
	open    bool
}

func (s *snmpSender) try(_ context.Context, payload []byte) error {
	var vals []snmpValue
	if err := json.Unmarshal(payload, &vals); err != nil {
		return deliver.Permanent(err)
	}
	pdus := []gosnmp.SnmpPDU{
		{Name: ".1.3.6.1.2.1.1.3.0", Type: gosnmp.TimeTicks, Value: uint32(1000)},
		{Name: ".1.3.6.1.6.3.1.1.4.1.0", Type: gosnmp.ObjectIdentifier, Value: s.trapOID},
	}
	for _, v := range vals {
		pdu, err := snmpPDU(v)
		if err != nil {
			return deliver.Permanent(err)
		}
		pdus = append(pdus, pdu)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.open {
		if err := s.snmp.Connect(); err != nil {
			return err
		}
		s.open = true
	}
	s.snmp.Conn.SetWriteDeadline(time.Now().Add(s.snmp.Timeout))
	if _, err := s.snmp.SendTrap(gosnmp.SnmpTrap{Variables: pdus}); err != nil {
		s.snmp.Conn.Close()
		s.open = false
		return fmt.Errorf("failed to send SNMP trap: %w", err)
	}
	return nil
}

func (s *snmpSender) finish(context.Context) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.open {
		s.snmp.Conn.Close()
		s.open = false
	}
}
