package handler

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/tickrun/tickrun/ast"
	"github.com/tickrun/tickrun/pipeline/alert"
	"github.com/tickrun/tickrun/pipeline/deliver"
	"github.com/tickrun/tickrun/pipeline/kapconf"
)

// Kind is one handler kind (tcp, log, slack, ...). Its options are
// declared once, as rows, and everything else is derived from them: the
// alert-node properties that add and configure the handler (pipeline
// builds them from Property and Option.Prop), the checks of handler
// files, the schema of its kapacitor.conf section and docs/handlers.md.
// A kind is added in one file that calls register.
type Kind struct {
	Name string // the kind, as handler files name it
	Doc  string // one line: what it sends where
	// Property is the alert-node property that adds a handler of the
	// kind (.tcp('host:port')); nil when only handler files can.
	Property *Property
	// Options are the keys of the handler's options, besides the
	// options every kind takes (queue-size).
	Options []Option
	// Section is the kapacitor.conf section the kind reads ("slack"), ""
	// for none; Config is its schema.
	Section string
	Config  kapconf.Schema
	// Global: the section's global = true gives every alert node a
	// handler of the kind, and its state-changes-only = true makes those
	// nodes send only level changes (Kapacitor's behaviour, alert.md §5).
	Global bool

	// check validates option values beyond their types; an error starts
	// with the option's name ("path: log path must be absolute").
	check func(o opts) error
	// open builds the handler's sink and, where events become something
	// else than their JSON (a webhook's body, a mail), the body builder.
	open func(o opts, env *Env) (*endpoint, error)
}

// Property is the alert-node property that adds a handler.
type Property struct {
	Name string // the property, e.g. "tcp" for .tcp()
	// Args are the options the property's arguments set, in order.
	Args []string
	// Optional: the arguments may be left out (.post() followed by
	// .endpoint()).
	Optional bool
	// Variadic is the list option further arguments fill (exec's args,
	// email's to); it is set, possibly empty, whenever the property is.
	Variadic string
}

// OptType is the type of an option's value.
type OptType int

// The option types. Handler files give YAML or JSON values; script
// properties give TICKscript values of the matching type.
const (
	String   OptType = iota // a string
	Int                     // an integer
	Bool                    // true or false; the property takes no argument and sets true
	Duration                // a duration such as 10s (or nanoseconds)
	Strings                 // a list of strings; the property appends its arguments
	Map                     // a map of strings; the property takes a key and a value
	// Values is a map of scalars (string, number or bool, as Alerta's
	// attributes or Sensu's metadata); the property takes a key and a
	// value of any of those types.
	Values
	// Records is a list of records with the string fields Option.Fields
	// (SNMP trap data: oid, type, value); handler files give a list of
	// mappings, and the property takes one argument per field and
	// appends a record.
	Records
)

// String names the type for docs.
func (t OptType) String() string {
	return [...]string{"string", "integer", "bool", "duration", "list of strings", "map of strings", "map of values", "list of records"}[t]
}

// Option is one option of a kind.
type Option struct {
	Name    string  // key in handler files, e.g. "address"
	Type    OptType // type of the value
	Doc     string  // what it does
	Default string  // the default as docs show it ("" for none)
	// Prop is the alert-node property that sets the option on the
	// node's last handler of the kind (.mode() of .log()); "" for none.
	// Several kinds may share a property (.username() of .slack() and
	// .discord()): it applies to the handler the property is chained to,
	// else to the last handler of any of them. A Bool option's property
	// takes no argument (true) or a boolean.
	Prop string
	// Also are other spellings of Prop that Kapacitor accepts, as its
	// binder capitalizes the first letter to find a field: .URL() for
	// .uRL().
	Also []string
	// Fields are the fields of a Records option's records, in the order
	// of the property's arguments.
	Fields []string
}

// commonOptions are accepted by every kind.
var commonOptions = []Option{
	{Name: "queue-size", Type: Int, Doc: "events queued for the handler; when full, new events are dropped", Default: "10000 (--queue-size)"},
}

var kinds = map[string]*Kind{}

// register adds a kind, and the schema of its kapacitor.conf section;
// registering a kind twice panics.
func register(k *Kind) {
	if _, dup := kinds[k.Name]; dup {
		panic("handler: kind " + k.Name + " registered twice")
	}
	kinds[k.Name] = k
	if k.Section != "" {
		kapconf.Register(k.Section, k.Config)
	}
}

// Kinds returns every kind, sorted by name.
func Kinds() []*Kind {
	out := make([]*Kind, 0, len(kinds))
	for _, k := range kinds {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Lookup returns the kind called name.
func Lookup(name string) (*Kind, bool) {
	k, ok := kinds[name]
	return k, ok
}

// Option returns the option called name, common options included.
func (k *Kind) Option(name string) (Option, bool) {
	for _, o := range append(k.Options, commonOptions...) {
		if o.Name == name {
			return o, true
		}
	}
	return Option{}, false
}

// Validate checks option keys strictly, then the values' types, then what
// the kind checks of them. An error names the option.
func (k *Kind) Validate(options map[string]any) error {
	var bad, names []string
	for key := range options {
		if _, ok := k.Option(key); !ok {
			bad = append(bad, key)
		}
	}
	if len(bad) > 0 {
		for _, o := range append(k.Options, commonOptions...) {
			names = append(names, o.Name)
		}
		sort.Strings(bad)
		hint := ""
		if len(bad) == 1 {
			hint = ast.Suggest(bad[0], names)
		}
		return fmt.Errorf("%s handler has invalid keys: %s%s", k.Name, strings.Join(bad, ", "), hint)
	}
	o := opts(options)
	for _, opt := range append(k.Options, commonOptions...) {
		if err := o.check(opt); err != nil {
			return err
		}
	}
	if k.check != nil {
		return k.check(o)
	}
	return nil
}

// ValidateOption checks the type of one option's value, for a script
// property that sets it on a handler whose other options may still come
// (.kafka().cluster('c') before .kafkaTopic('t')); the whole handler is
// checked by Validate when the task starts.
func (k *Kind) ValidateOption(name string, value any) error {
	opt, ok := k.Option(name)
	if !ok {
		return fmt.Errorf("%s handler has no option %s", k.Name, name)
	}
	return opts{name: value}.check(opt)
}

// UnknownKind is the error for a kind tickrun does not have.
func UnknownKind(kind string) error {
	var names []string
	for name := range kinds {
		names = append(names, name)
	}
	sort.Strings(names)
	return fmt.Errorf("handler kind %q is not supported by tickrun (supported: %v)%s", kind, names, ast.Suggest(kind, names))
}

// Env is what a handler is built with: the configuration, the server
// identity and delivery options of the task or server that runs it, and
// where it logs.
type Env struct {
	Config  *kapconf.Config  // kapacitor.conf; nil without one
	Server  alert.ServerInfo // identity (PagerDuty's client URL)
	Deliver deliver.Options  // delivery options (and Capture)
	// Log receives a line per dropped event or failed try; nil discards.
	Log func(format string, args ...any)
	// Topic is the name of the topic the handler serves, for kinds that
	// show it (Teams' card title of an event without id).
	Topic string
	// Alerts is the registry of topics the handler's events come from,
	// for the kinds that publish events into topics (publish,
	// aggregate); nil where there is none, and those kinds are errors.
	Alerts *alert.Registry
}

// New checks options strictly and creates a handler of kind, delivering
// from a queue of its own (or to Env.Deliver.Capture).
func New(kind string, options map[string]any, env *Env) (alert.Handler, error) {
	k, ok := kinds[kind]
	if !ok {
		return nil, UnknownKind(kind)
	}
	if err := k.Validate(options); err != nil {
		return nil, err
	}
	if env == nil {
		env = &Env{}
	}
	o := opts(options)
	ep, err := k.open(o, env)
	if err != nil {
		return nil, err
	}
	if ep.event != nil {
		return newEventHandler(kind, ep, env, o), nil
	}
	h := &sinkHandler{body: ep.body}
	if env.Deliver.Capture != nil {
		h.sink = &deliver.Capture{Kind: kind, Target: ep.target, Fn: env.Deliver.Capture}
		return h, nil
	}
	h.frame = ep.frame
	q := deliver.NewQueue(kind+" "+ep.target, ep.suffix, deliveryOptions(env, o), env.Log, ep.try)
	q.Begin, q.Finish = ep.begin, ep.finish
	h.sink = q.Start()
	return h, nil
}

// endpoint is what a kind opens: where payloads go and how.
type endpoint struct {
	target string          // printable: "127.0.0.1:7777", "https://hooks.slack.com/…"
	suffix string          // appended to each payload ("\n\n" for tcp)
	try    deliver.TryFunc // one attempt
	// begin and finish are the queue's optional hooks (deliver.Queue).
	begin  func(ctx context.Context, payload []byte) (end func() error, err error)
	finish func(ctx context.Context)
	// body, if set, turns an event into what is sent (a webhook's
	// request body); events it fails on are dropped and counted.
	body func(ev *alert.Event, payload []byte) ([]byte, error)
	// frame, if set, wraps the body of an event for the queue with what
	// try needs besides it (OpsGenie's URL per event); captures see the
	// body alone.
	frame func(ev *alert.Event, body []byte) []byte
	// event, if set, makes the kind one that takes events rather than
	// payloads (publish, aggregate: they hand events on to topics): each
	// event is queued and handed to event in the queue's goroutine; try
	// and body are unused, finish still runs at the end.
	event func(ev *alert.Event) error
}

// deliveryOptions are the env's delivery options with the handler's own
// queue-size and in-flight, if it has them.
func deliveryOptions(env *Env, o opts) deliver.Options {
	d := env.Deliver
	if n, _ := o.int("queue-size", 0); n > 0 {
		d.QueueSize = int(n)
	}
	if n, _ := o.int("in-flight", 0); n > 0 {
		d.InFlight = int(n)
	}
	return d.WithDefaults()
}

// sinkHandler is every kind's alert.Handler: it builds the payload of an
// event (its JSON, or the kind's body) and hands it to the sink.
type sinkHandler struct {
	sink  deliver.Sink
	body  func(ev *alert.Event, payload []byte) ([]byte, error)
	frame func(ev *alert.Event, body []byte) []byte
}

func (h *sinkHandler) Deliver(ev *alert.Event, payload []byte) {
	if h.body != nil {
		b, err := h.body(ev, payload)
		if err != nil {
			if q, ok := h.sink.(*deliver.Queue); ok {
				q.Drop(ev.ID, ev.Time, err)
			}
			return
		}
		payload = b
	}
	if h.frame != nil {
		payload = h.frame(ev, payload)
	}
	h.sink.Deliver(ev.ID, ev.Time, payload)
}

func (h *sinkHandler) Close(ctx context.Context) error { return h.sink.Close(ctx) }
func (h *sinkHandler) Stats() deliver.Stats            { return h.sink.Stats() }

var _ alert.Handler = (*sinkHandler)(nil)

// log writes a line to the env's log, if it has one.
func (e *Env) log(format string, args ...any) {
	if e.Log != nil {
		e.Log(format, args...)
	}
}
