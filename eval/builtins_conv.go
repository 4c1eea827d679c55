package eval

import (
	"fmt"
	"strconv"
	"time"
)

// Type conversion functions (lambda.md §11.1).

func init() {
	register(
		&builtin{name: "bool", pure: true, call: convBool,
			sigs: []signature{sig(Bool, Bool), sig(Bool, String), sig(Bool, Int), sig(Bool, Float)}},
		// int(duration) is rejected by the signature check, as in Kapacitor.
		&builtin{name: "int", pure: true, call: convInt,
			sigs: []signature{sig(Int, Bool), sig(Int, String), sig(Int, Int), sig(Int, Float)}},
		&builtin{name: "float", pure: true, call: convFloat,
			sigs: []signature{sig(Float, Bool), sig(Float, String), sig(Float, Int), sig(Float, Float)}},
		&builtin{name: "string", pure: true, call: convString,
			sigs: []signature{sig(String, Bool), sig(String, String), sig(String, Int), sig(String, Float), sig(String, Duration)}},
		// duration('5m') needs a (dummy) unit: the one-argument form takes
		// only a duration.
		&builtin{name: "duration", pure: true, call: convDuration,
			sigs: []signature{sig(Duration, Duration), sig(Duration, Int, Duration), sig(Duration, Float, Duration), sig(Duration, String, Duration)}},
	)
}

func convBool(_ *Expr, _ Scope, a []Value) (Value, error) {
	v := a[0]
	switch v.Kind {
	case String:
		b, err := strconv.ParseBool(v.Str())
		if err != nil {
			return Value{}, err
		}
		return boolVal(b), nil
	case Int:
		switch v.Int() {
		case 0:
			return valFalse, nil
		case 1:
			return valTrue, nil
		}
		return Value{}, fmt.Errorf("cannot convert %v to boolean", v.Int())
	case Float:
		switch v.Float() {
		case 0:
			return valFalse, nil
		case 1:
			return valTrue, nil
		}
		return Value{}, fmt.Errorf("cannot convert %v to boolean", v.Float())
	}
	return v, nil
}

func convInt(_ *Expr, _ Scope, a []Value) (Value, error) {
	v := a[0]
	switch v.Kind {
	case Float:
		return IntValue(int64(v.Float())), nil
	case String:
		i, err := strconv.ParseInt(v.Str(), 10, 64)
		if err != nil {
			return Value{}, err
		}
		return IntValue(i), nil
	case Bool:
		if v.Bool() {
			return IntValue(1), nil
		}
		return IntValue(0), nil
	}
	return v, nil
}

func convFloat(_ *Expr, _ Scope, a []Value) (Value, error) {
	v := a[0]
	switch v.Kind {
	case Int:
		return FloatValue(float64(v.Int())), nil
	case String:
		f, err := strconv.ParseFloat(v.Str(), 64)
		if err != nil {
			return Value{}, err
		}
		return FloatValue(f), nil
	case Bool:
		if v.Bool() {
			return FloatValue(1), nil
		}
		return FloatValue(0), nil
	}
	return v, nil
}

func convString(_ *Expr, _ Scope, a []Value) (Value, error) {
	v := a[0]
	switch v.Kind {
	case Int:
		return StringValue(strconv.FormatInt(v.Int(), 10)), nil
	case Float:
		return StringValue(FormatFloat(v.Float())), nil
	case Bool:
		return StringValue(strconv.FormatBool(v.Bool())), nil
	case Duration:
		return StringValue(FormatDuration(v.Duration())), nil
	}
	return v, nil
}

func convDuration(_ *Expr, _ Scope, a []Value) (Value, error) {
	v := a[0]
	switch v.Kind {
	case Int:
		return DurationValue(time.Duration(v.Int()) * a[1].Duration()), nil
	case Float:
		return DurationValue(time.Duration(v.Float() * float64(a[1].Duration()))), nil
	case String:
		d, err := ParseDuration(v.Str())
		if err != nil {
			return Value{}, fmt.Errorf("invalid duration string %q", v.Str())
		}
		return DurationValue(d), nil
	}
	return v, nil
}
