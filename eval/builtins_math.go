package eval

import "math"

// Math functions (lambda.md §11.2): Go's math package on float arguments;
// an int argument does not satisfy a float parameter.

func init() {
	for name, f := range map[string]func(float64) float64{
		"abs": math.Abs, "acos": math.Acos, "acosh": math.Acosh, "asin": math.Asin,
		"asinh": math.Asinh, "atan": math.Atan, "atanh": math.Atanh, "cbrt": math.Cbrt,
		"ceil": math.Ceil, "cos": math.Cos, "cosh": math.Cosh, "erf": math.Erf,
		"erfc": math.Erfc, "exp": math.Exp, "exp2": math.Exp2, "expm1": math.Expm1,
		"floor": math.Floor, "gamma": math.Gamma, "j0": math.J0, "j1": math.J1,
		"log": math.Log, "log10": math.Log10, "log1p": math.Log1p, "log2": math.Log2,
		"logb": math.Logb, "sin": math.Sin, "sinh": math.Sinh, "sqrt": math.Sqrt,
		"tan": math.Tan, "tanh": math.Tanh, "trunc": math.Trunc, "y0": math.Y0, "y1": math.Y1,
	} {
		register(&builtin{name: name, pure: true, sigs: []signature{sig(Float, Float)},
			call: func(_ *Expr, _ Scope, a []Value) (Value, error) { return FloatValue(f(a[0].Float())), nil }})
	}
	for name, f := range map[string]func(float64, float64) float64{
		"atan2": math.Atan2, "hypot": math.Hypot, "max": math.Max, "min": math.Min,
		"mod": math.Mod, "pow": math.Pow,
	} {
		register(&builtin{name: name, pure: true, sigs: []signature{sig(Float, Float, Float)},
			call: func(_ *Expr, _ Scope, a []Value) (Value, error) {
				return FloatValue(f(a[0].Float(), a[1].Float())), nil
			}})
	}
	register(&builtin{name: "pow10", pure: true, sigs: []signature{sig(Float, Int)},
		call: func(_ *Expr, _ Scope, a []Value) (Value, error) { return FloatValue(math.Pow10(int(a[0].Int()))), nil }})
	for name, f := range map[string]func(int, float64) float64{"jn": math.Jn, "yn": math.Yn} {
		register(&builtin{name: name, pure: true, sigs: []signature{sig(Float, Int, Float)},
			call: func(_ *Expr, _ Scope, a []Value) (Value, error) {
				return FloatValue(f(int(a[0].Int()), a[1].Float())), nil
			}})
	}
}
