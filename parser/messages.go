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
)
