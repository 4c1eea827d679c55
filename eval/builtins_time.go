package eval

import "time"

// Time functions (lambda.md §11.4), on UTC times.

func init() {
	for name, f := range map[string]func(t time.Time) int64{
		"unixNano": func(t time.Time) int64 { return t.UnixNano() },
		"minute":   func(t time.Time) int64 { return int64(t.Minute()) },
		"hour":     func(t time.Time) int64 { return int64(t.Hour()) },
		"weekday":  func(t time.Time) int64 { return int64(t.Weekday()) },
		"day":      func(t time.Time) int64 { return int64(t.Day()) },
		"month":    func(t time.Time) int64 { return int64(t.Month()) },
		"year":     func(t time.Time) int64 { return int64(t.Year()) },
	} {
		register(&builtin{name: name, pure: true, sigs: []signature{sig(Int, Time)},
			call: func(_ *Expr, _ Scope, a []Value) (Value, error) { return IntValue(f(a[0].Time())), nil }})
	}
	// now() is the wall clock at evaluation, so it never folds.
	register(&builtin{name: "now", sigs: []signature{sig(Time)},
		call: func(*Expr, Scope, []Value) (Value, error) { return TimeValue(time.Now().UnixNano()), nil }})
}
