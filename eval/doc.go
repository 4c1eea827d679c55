// Package eval type-checks and runs TICKscript lambda expressions.
//
// Compile checks a lambda body (an ast.Expr) once: identifiers are replaced
// by their variables' values, every node gets the set of kinds it may
// produce, constant sub-expressions are folded, and the tree is turned into
// closures specialised by the kinds known at compile time. Problems Kapacitor
// reports before any data arrives (type errors between constants, undefined
// variables) are errors; problems Kapacitor only meets per point (unknown
// functions, impossible operator or argument kinds, a result that can never
// be a boolean) are warnings, and the compiled lambda then fails per point
// with Kapacitor's exact runtime message.
//
// A compiled Lambda is immutable and shared; each Expr from Lambda.New keeps
// the state of the stateful functions count(), sigma() and spread(), keyed by
// function name as Kapacitor does. Evaluating an Expr over a Scope does not
// allocate on the success path.
//
// The binary operators live in one table (binary.go) and the built-in
// functions in one table of overloads and implementations (builtins_*.go);
// the checker and the runtime read the same entries.
//
// eval imports only ast among tickrun's packages, and nothing outside the
// standard library.
package eval
