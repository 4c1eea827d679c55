// Package parser turns TICKscript source into the syntax tree of package
// ast. It is the only place that knows TICKscript's surface syntax
// (language.md §3–§4, §7, §10): a hand-written lexer that decides from the
// previous token whether "/" starts a regex or divides and whether "*" is
// the star literal or multiplies, a participle grammar for statements and
// chains, a recursive-descent parser for operator expressions that
// participle calls (expr.go), and a lowering step that folds operator
// expressions by precedence into ast nodes.
//
// Parse reads a whole script and ParseExpr a bare lambda body (a topic
// handler's match expression). Both report the first lexical or syntax
// error as a single *ast.Error positioned in the input, worded in
// TICKscript terms ("unexpected identifier x, expected \")\""), with a hint
// where another language's habit shows (&& for AND, = for ==, 5mins).
// Input nested more than ast.MaxNesting levels deep is rejected before any
// recursion goes that deep; long operator runs and chains have no limit
// and cost time and memory in proportion to their length.
//
// The parser imports only ast and participle. It knows no node, property
// or function names: |window() and .period(10s) are generic chain links;
// the pipeline binder decides what they mean.
package parser
