// Package ast holds the syntax tree of a TICKscript program: statements,
// expressions and lambdas, each carrying the source position it was parsed
// from, together with the positioned Error every later phase reports and the
// Source that renders it as "file:line:col: message" with a caret.
//
// ast is the bottom of tickrun's import graph: it imports only the standard
// library, so the parser, the lambda compiler and the pipeline can all speak
// about positions the same way.
package ast
