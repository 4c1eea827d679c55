package parser

// Lexer messages. Where Kapacitor's wording is known it is kept, so that
// people searching for Kapacitor's message find ours (language.md §3, §10).
const (
	// msgMultipleDecimals is Kapacitor's message for 1.2.3 (language.md §3.3).
	msgMultipleDecimals = "multiple decimals in number"
	// msgIllegalNumber is Kapacitor's message for 09 or an int64 overflow
	// (language.md §3.3); %q is the literal.
	msgIllegalNumber = "illegal number syntax: %q"
	// msgDurationRange reports a duration that overflows int64 nanoseconds.
	msgDurationRange = "duration out of range: %q"
	// msgUnterminatedString, msgUnterminatedReference and
	// msgUnterminatedRegex follow Kapacitor (language.md §10), which says
	// "field reference"; tickrun calls "..." a reference.
	msgUnterminatedString    = "unterminated string"
	msgUnterminatedReference = "unterminated reference"
	msgUnterminatedRegex     = "unterminated regex"
	// Kapacitor says "unknown state, last char: ':'" for any stray
	// character (language.md §2, §3.2); we name the character and, for the
	// common cases, the fix.
	msgUnexpectedChar = "unexpected character %q"
	msgUnderscore     = "unexpected character '_': identifiers must start with a letter"
	msgHash           = "unexpected character '#': comments start with //"
	msgLambdaSpace    = `unexpected character ':': write "lambda:" without a space before the colon`

	// Hints for what people bring from other languages (issue 16).
	msgAndAnd    = `unexpected "&&": use AND for a logical and`
	msgOrOr      = `unexpected "||": use OR for a logical or`
	msgLowerOp   = "unexpected identifier %s: use %s (operators are upper case)"
	msgAssign    = `unexpected "=": use == to compare`
	msgAssignVar = `unexpected "=": declare a variable with var %s = …`
	// msgBadDuration explains the duration units (language.md §3.4);
	// %s is the literal as written, e.g. 5mins.
	msgExponent    = "invalid number %s: TICKscript numbers have no exponent"
	msgBadDuration = "invalid duration %s: a duration is a whole number and one unit: u or µ (microseconds), ms, s, m, h, d or w"
)
