package server

// Kill stops the broker inputs of s as a crash would, for tests: nothing
// more is checkpointed, acked or committed, and the events the engine
// held back for the next checkpoint are lost.
func Kill(s *Server) { s.kill() }
