//go:build !race

package natsin

// raceEnabled slows everything down: timing targets get slack.
const raceEnabled = false
