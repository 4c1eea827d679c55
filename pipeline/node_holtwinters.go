package pipeline

import (
	"fmt"
	"math"
	"time"

	"github.com/tickrun/tickrun/ast"
	"github.com/tickrun/tickrun/eval"
)

// holtWintersNode forecasts a field with the Holt-Winters damped method,
// InfluxQL's holt_winters() as Kapacitor runs it (pipeline/influxql.go,
// influxdb query.FloatHoltWintersReducer): per batch (or, on a stream, per
// run of points sharing a time) the values are put on a grid of interval
// (times rounded to it, gaps left missing), the parameters fitted by
// Nelder-Mead from a grid of starting guesses, and h values forecast after
// the last point, interval apart (holtWintersWithFit also emits the fitted
// values from the first point on). m is the season length; below 2 the
// model has no season. The output is a batch of points with the one field
// holtWinters (or .as()). The arithmetic follows InfluxDB's step by step,
// so the numbers are Kapacitor's to the last bit.
type holtWintersNode struct {
	nodeBase
	field, as     string
	h, m          int
	interval      time.Duration
	withFit       bool
	usePointTimes bool
	pending       sameTime
}

func init() {
	for _, fit := range []bool{false, true} {
		fit := fit
		method, doc := "holtWinters", "InfluxQL holt_winters(): forecasts h values of a field, interval apart"
		if fit {
			method, doc = "holtWintersWithFit", "InfluxQL holt_winters_with_fit(): the forecast and the fitted values"
		}
		register(&Spec{
			Method: method, Kind: "holtWinters", Doc: doc,
			Args: []argKind{argString, argInt, argInt, argDuration}, Wants: anyEdge, Provides: batchEdge,
			New: func(_ *binder, _ *ast.Chain, a []value) (node, error) {
				n := &holtWintersNode{field: a[0].scalar.Str(), as: "holtWinters", h: int(a[1].scalar.Int()), m: int(a[2].scalar.Int()),
					interval: a[3].scalar.Duration(), withFit: fit, pending: sameTime{}}
				if n.interval <= 0 {
					return nil, fmt.Errorf("%s needs a positive interval, got %s", method, n.interval)
				}
				return n, nil
			},
			Props: []*Prop{
				propString("as", "name of the output field (default: holtWinters)", func(n *holtWintersNode, s string) error { n.as = s; return nil }),
				propNone("usePointTimes", "accepted as on every InfluxQL node; the forecast has its own times", func(n *holtWintersNode) { n.usePointTimes = true }),
			},
		})
	}
}

func (n *holtWintersNode) point(p *Point) { n.pending.add(p, n.batch) }

func (n *holtWintersNode) batch(b *Batch) {
	hw := &holtWinters{h: n.h, m: n.m, seasonal: n.m >= 2, includeFit: n.withFit,
		interval: int64(n.interval), halfInterval: int64(n.interval) / 2}
	if !fieldValues(&n.nodeBase, b, n.field, "holtWinters", false, func(_ int, p *Point, v eval.Value) {
		hw.times = append(hw.times, p.Timestamp)
		hw.values = append(hw.values, num(v))
	}) {
		return
	}
	times, values := hw.emit()
	if len(times) == 0 {
		return
	}
	out := &Batch{Name: b.Name, Group: b.Group, Dims: b.Dims, Tags: b.Tags, TMax: b.TMax}
	for i, t := range times {
		out.Points = append(out.Points, &Point{Name: b.Name, Group: b.Group, Dims: b.Dims, Tags: b.Tags, Timestamp: t,
			Fields: []Field{{Key: n.as, Value: eval.FloatValue(values[i])}}})
	}
	n.emitBatch(out)
}

// holtWinters is one forecast: the points of a batch and the model.
type holtWinters struct {
	h, m         int
	seasonal     bool
	includeFit   bool
	interval     int64
	halfInterval int64
	times        []int64
	values       []float64
	y            []float64 // the values on the interval grid, NaN where missing
}

// The fit's constants (InfluxDB query/functions.go).
const (
	hwWeight     = 0.5    // weight of the initial level and trend guesses
	hwEpsilon    = 1.0e-4 // convergence bound of the optimizer
	hwGuessLower = 0.3    // grid of starting guesses for alpha, beta, gamma, phi:
	hwGuessUpper = 1.0    // from lower while below upper, by step
	hwGuessStep  = 0.4
)

// roundTime rounds t to a multiple of the interval, halves down.
func (r *holtWinters) roundTime(t int64) int64 {
	if t%r.interval > r.halfInterval {
		return (t/r.interval + 1) * r.interval
	}
	return t / r.interval * r.interval
}

// emit fits the model and returns the times and values of the forecast
// (and, with includeFit, of the fit).
func (r *holtWinters) emit() ([]int64, []float64) {
	if l := len(r.times); l < 2 || r.seasonal && l < r.m || r.h <= 0 {
		return nil, nil
	}
	start, stop := r.roundTime(r.times[0]), r.roundTime(r.times[len(r.times)-1])
	if (stop-start)/r.interval <= 0 {
		return nil, nil
	}
	r.y = append(r.y[:0], r.values[0])
	t := start
	for i := 1; i < len(r.times); i++ {
		rounded := r.roundTime(r.times[i])
		if rounded <= t {
			continue // one value per interval: the first
		}
		t += r.interval
		for rounded != t {
			r.y = append(r.y, math.NaN())
			t += r.interval
		}
		r.y = append(r.y, r.values[i])
	}

	m := r.m
	l0 := 0.0
	if r.seasonal {
		for i := 0; i < m; i++ {
			if !math.IsNaN(r.y[i]) {
				l0 += (1 / float64(m)) * r.y[i]
			}
		}
	} else {
		l0 += hwWeight * r.y[0]
	}
	b0 := 0.0
	if r.seasonal {
		for i := 0; i < m && m+i < len(r.y); i++ {
			if !math.IsNaN(r.y[i]) && !math.IsNaN(r.y[m+i]) {
				b0 += 1 / float64(m*m) * (r.y[m+i] - r.y[i])
			}
		}
	} else if !math.IsNaN(r.y[1]) {
		b0 = hwWeight * (r.y[1] - r.y[0])
	}
	var s []float64
	if r.seasonal {
		s = make([]float64, m)
		for i := 0; i < m; i++ {
			if !math.IsNaN(r.y[i]) {
				s[i] = r.y[i] / l0
			}
		}
	}
	params := make([]float64, 6+len(s))
	params[4], params[5] = l0, b0
	copy(params[6:], s)

	minSSE := math.Inf(1)
	var best []float64
	for alpha := hwGuessLower; alpha < hwGuessUpper; alpha += hwGuessStep {
		for beta := hwGuessLower; beta < hwGuessUpper; beta += hwGuessStep {
			for gamma := hwGuessLower; gamma < hwGuessUpper; gamma += hwGuessStep {
				for phi := hwGuessLower; phi < hwGuessUpper; phi += hwGuessStep {
					params[0], params[1], params[2], params[3] = alpha, beta, gamma, phi
					sse, p := nelderMead(r.sse, params, hwEpsilon, 1)
					if sse < minSSE || best == nil {
						minSSE, best = sse, p
					}
				}
			}
		}
	}

	forecast := r.forecast(r.h, best)
	var times []int64
	var values []float64
	if r.includeFit {
		for i, v := range forecast {
			if !math.IsNaN(v) {
				times = append(times, r.times[0]+r.interval*int64(i))
				values = append(values, v)
			}
		}
	} else {
		last := r.times[len(r.times)-1]
		for i, v := range forecast[len(r.y):] {
			if !math.IsNaN(v) {
				times = append(times, last+r.interval*(int64(i)+1))
				values = append(values, v)
			}
		}
	}
	return times, values
}

// next is one step of the damped method's recursions.
func hwNext(alpha, beta, gamma, phi, phiH, yT, lTp, bTp, sTm, sTmh float64) (yTh, lT, bT, sT float64) {
	lT = alpha*(yT/sTm) + (1-alpha)*(lTp+phi*bTp)
	bT = beta*(lT-lTp) + (1-beta)*phi*bTp
	sT = gamma*(yT/(lTp+phi*bTp)) + (1-gamma)*sTm
	yTh = (lT + phiH*bT) * sTmh
	return
}

// forecast runs the model over the data and h steps past it. Like
// InfluxDB's, it constrains params in place and keeps its ring of seasonal
// factors in params[6:], so it changes the slice it is given (the
// optimizer's vertices): the fit depends on that.
func (r *holtWinters) forecast(h int, params []float64) []float64 {
	for i := 0; i < 4; i++ { // alpha, beta, gamma, phi in [0, 1]
		if params[i] > 1 {
			params[i] = 1
		}
		if params[i] < 0 {
			params[i] = 0
		}
	}
	yT := r.y[0]
	phi := params[3]
	phiH := phi
	lT, bT, sT := params[4], params[5], 0.0
	var seasonals []float64
	var m, so int
	if r.seasonal {
		seasonals = params[6:]
		m = len(seasonals)
		if m == 1 {
			seasonals[0] = 1
		}
		so = m - 1
	}
	out := make([]float64, len(r.y)+h)
	out[0] = yT
	stm, stmh := 1.0, 1.0
	for t := 1; t < len(r.y)+h; t++ {
		if r.seasonal {
			hm := t % m
			stm = seasonals[(t-m+so)%m]
			stmh = seasonals[(t-m+hm+so)%m]
		}
		yT, lT, bT, sT = hwNext(params[0], params[1], params[2], phi, phiH, yT, lT, bT, stm, stmh)
		phiH += math.Pow(phi, float64(t))
		if r.seasonal {
			seasonals[(t+so)%m] = sT
			so++
		}
		out[t] = yT
	}
	return out
}

// sse is the sum of squared errors of the fit with params (changed as
// forecast changes them); a NaN where a value is known is infinitely bad.
func (r *holtWinters) sse(params []float64) float64 {
	sse := 0.0
	for i, f := range r.forecast(0, params) {
		if math.IsNaN(r.y[i]) {
			continue
		}
		if math.IsNaN(f) {
			return math.Inf(1)
		}
		d := f - r.y[i]
		sse += d * d
	}
	return sse
}

// nelderMead minimises f from start with the Nelder-Mead simplex method as
// InfluxDB's query/neldermead package does (after M. F. Hutt): a regular
// simplex of size scale, reflection 1, contraction 0.5, expansion 2, at
// most 1000 iterations, until the standard deviation of the vertices'
// values is below epsilon. f may change the vector it is given; the
// vertices are handed to it directly, as InfluxDB does. It returns the
// minimum and its point.
func nelderMead(f func([]float64) float64, start []float64, epsilon, scale float64) (float64, []float64) {
	const (
		maxIterations = 1000
		reflect       = 1.0
		contract      = 0.5
		expand        = 2.0
	)
	n := len(start)
	v := make([][]float64, n+1)
	for i := range v {
		v[i] = make([]float64, n)
	}
	fv := make([]float64, n+1)
	vr, ve, vc, vm := make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)

	pn := scale * (math.Sqrt(float64(n+1)) - 1 + float64(n)) / (float64(n) * math.Sqrt(2))
	qn := scale * (math.Sqrt(float64(n+1)) - 1) / (float64(n) * math.Sqrt(2))
	copy(v[0], start)
	for i := 1; i <= n; i++ {
		for j := 0; j < n; j++ {
			if i-1 == j {
				v[i][j] = pn + start[j]
			} else {
				v[i][j] = qn + start[j]
			}
		}
	}
	for j := 0; j <= n; j++ {
		fv[j] = f(v[j])
	}

	for itr := 1; itr <= maxIterations; itr++ {
		vg, vs := 0, 0 // largest and smallest
		for i := 0; i <= n; i++ {
			if fv[i] > fv[vg] {
				vg = i
			}
			if fv[i] < fv[vs] {
				vs = i
			}
		}
		vh := vs // second largest
		for i := 0; i <= n; i++ {
			if fv[i] > fv[vh] && fv[i] < fv[vg] {
				vh = i
			}
		}
		for i := 0; i < n; i++ {
			cent := 0.0
			for k := 0; k <= n; k++ {
				if k != vg {
					cent += v[k][i]
				}
			}
			vm[i] = cent / float64(n)
		}
		for i := 0; i < n; i++ {
			vr[i] = vm[i] + reflect*(vm[i]-v[vg][i])
		}
		fr := f(vr)
		if fr < fv[vh] && fr >= fv[vs] {
			copy(v[vg], vr)
			fv[vg] = fr
		}
		if fr < fv[vs] {
			for i := 0; i < n; i++ {
				ve[i] = vm[i] + expand*(vr[i]-vm[i])
			}
			fe := f(ve)
			if fe < fr {
				copy(v[vg], ve)
				fv[vg] = fe
			} else {
				copy(v[vg], vr)
				fv[vg] = fr
			}
		}
		if fr >= fv[vh] {
			if fr < fv[vg] && fr >= fv[vh] {
				for i := 0; i < n; i++ {
					vc[i] = vm[i] + contract*(vr[i]-vm[i])
				}
			} else {
				for i := 0; i < n; i++ {
					vc[i] = vm[i] - contract*(vm[i]-v[vg][i])
				}
			}
			fc := f(vc)
			if fc < fv[vg] {
				copy(v[vg], vc)
				fv[vg] = fc
			} else {
				// The contraction failed: halve the distance from the
				// smallest to every other vertex.
				for row := 0; row <= n; row++ {
					if row != vs {
						for i := 0; i < n; i++ {
							v[row][i] = v[vs][i] + (v[row][i]-v[vs][i])/2.0
						}
					}
				}
				fv[vg] = f(v[vg])
				fv[vh] = f(v[vh])
			}
		}
		fsum := 0.0
		for i := 0; i <= n; i++ {
			fsum += fv[i]
		}
		favg := fsum / float64(n+1)
		s := 0.0
		for i := 0; i <= n; i++ {
			s += math.Pow(fv[i]-favg, 2.0) / float64(n)
		}
		if math.Sqrt(s) < epsilon {
			break
		}
	}
	vs := 0
	for i := 0; i <= n; i++ {
		if fv[i] < fv[vs] {
			vs = i
		}
	}
	best := append([]float64(nil), v[vs]...)
	return f(v[vs]), best
}

var _ batchNode = (*holtWintersNode)(nil)
