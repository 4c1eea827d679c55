package eval

import (
	"errors"
	"math"
	"math/rand/v2"
	"sync/atomic"
	"time"
)

// Stateful functions (lambda.md §10, §11.6). Their state lives in the Expr
// and is keyed by function name: every count() call of one lambda shares
// one counter, every sigma() call one accumulator, every spread() call one
// min/max.

func init() {
	register(
		&builtin{name: "count", stateful: true, sigs: []signature{sig(Int)},
			call: func(e *Expr, _ Scope, _ []Value) (Value, error) {
				e.count++
				return IntValue(e.count), nil
			}},
		&builtin{name: "sigma", stateful: true, sigs: []signature{sig(Float, Float)},
			call: func(e *Expr, _ Scope, a []Value) (Value, error) { return FloatValue(e.sigma.add(a[0].Float())), nil }},
		&builtin{name: "spread", stateful: true, sigs: []signature{sig(Float, Float)},
			call: func(e *Expr, _ Scope, a []Value) (Value, error) { return FloatValue(e.spread.add(a[0].Float())), nil }},
		// rand is not in Kapacitor's documented list but in lambda.md; each
		// Expr has its own source, seedable with Expr.Seed.
		&builtin{name: "rand", sigs: []signature{sig(Int), sig(Int, Int)}, call: randCall},
	)
}

// sigmaState is Welford's running mean and variance.
type sigmaState struct {
	n, mean, m2 float64
}

// add accounts for x and returns how many sample standard deviations x is
// from the running mean (0 while fewer than 2 values or no variance).
func (s *sigmaState) add(x float64) float64 {
	s.n++
	delta := x - s.mean
	s.mean += delta / s.n
	s.m2 += delta * (x - s.mean)
	variance := s.m2 / (s.n - 1)
	if s.n < 2 || variance == 0 {
		return 0
	}
	return math.Abs(x-s.mean) / math.Sqrt(variance)
}

// spreadState is the running minimum and maximum.
type spreadState struct {
	min, max float64
}

func (s *spreadState) reset() { s.min, s.max = math.Inf(1), math.Inf(-1) }

func (s *spreadState) add(x float64) float64 {
	if x < s.min {
		s.min = x
	}
	if x > s.max {
		s.max = x
	}
	return s.max - s.min
}

// randState is the per-instance pseudo-random source of rand().
type randState struct {
	pcg rand.PCG
}

func (r *randState) seed(seed uint64) { r.pcg.Seed(seed, seed^0x9e3779b97f4a7c15) }

// seedCounter makes the default seeds of instances differ.
var seedCounter atomic.Uint64

func nextSeed() uint64 {
	return uint64(time.Now().UnixNano()) + seedCounter.Add(0x9e3779b97f4a7c15)
}

var errRandArg = errors.New("the argument of rand must be positive")

// randCall returns a non-negative int, below n when given an argument.
func randCall(e *Expr, _ Scope, a []Value) (Value, error) {
	if len(a) == 0 {
		return IntValue(int64(e.rng.pcg.Uint64() >> 1)), nil
	}
	n := a[0].Int()
	if n <= 0 {
		return Value{}, errRandArg
	}
	// Rejection sampling keeps the result unbiased.
	limit := math.MaxUint64 - math.MaxUint64%uint64(n)
	for {
		x := e.rng.pcg.Uint64()
		if x < limit {
			return IntValue(int64(x % uint64(n))), nil
		}
	}
}
