package eval

import "github.com/tickrun/tickrun/ast"

// CompileLooping is Compile with every run of binary operators evaluated
// by the loop that long runs use, so that tests can compare it with the
// nested closures of short runs.
func CompileLooping(body ast.Expr, env *Env, want Kind) (*Lambda, ast.ErrorList) {
	return compile(&compiler{env: env, loopAll: true}, body, want)
}
