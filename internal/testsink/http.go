package testsink

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// Request is what an HTTP recorder saw of one request.
type Request struct {
	Method, Path, ContentType, Token, Body string // Token: the X-Token header
}

// HTTP starts a real HTTP server on 127.0.0.1 that records every request
// and answers the n-th (from 0) with status(n) and the body "answer n".
// It returns the server and a function listing the requests so far.
func HTTP(tb testing.TB, status func(n int) int) (*httptest.Server, func() []Request) {
	var mu sync.Mutex
	var reqs []Request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		n := len(reqs)
		reqs = append(reqs, Request{r.Method, r.URL.Path, r.Header.Get("Content-Type"), r.Header.Get("X-Token"), string(b)})
		mu.Unlock()
		w.WriteHeader(status(n))
		fmt.Fprint(w, "answer ", n)
	}))
	tb.Cleanup(srv.Close)
	return srv, func() []Request { mu.Lock(); defer mu.Unlock(); return append([]Request(nil), reqs...) }
}
