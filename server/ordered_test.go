package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
)

// jnode is JSON with the order of object keys kept, so that tests can
// compare field order as well as values.
type jnode struct {
	obj    []jkv // object
	arr    []*jnode
	isObj  bool
	isArr  bool
	scalar any // json.Number, string, bool or nil
}

type jkv struct {
	key string
	val *jnode
}

func parseOrdered(data string) (*jnode, error) {
	dec := json.NewDecoder(bytes.NewReader([]byte(data)))
	dec.UseNumber()
	n, err := readNode(dec)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("trailing data after JSON")
	}
	return n, nil
}

func readNode(dec *json.Decoder) (*jnode, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch tok {
	case json.Delim('{'):
		n := &jnode{isObj: true}
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				return nil, err
			}
			v, err := readNode(dec)
			if err != nil {
				return nil, err
			}
			n.obj = append(n.obj, jkv{k.(string), v})
		}
		_, err := dec.Token()
		return n, err
	case json.Delim('['):
		n := &jnode{isArr: true, arr: []*jnode{}}
		for dec.More() {
			v, err := readNode(dec)
			if err != nil {
				return nil, err
			}
			n.arr = append(n.arr, v)
		}
		_, err := dec.Token()
		return n, err
	}
	return &jnode{scalar: tok}, nil
}

// get returns the value of key in an object, or nil.
func (n *jnode) get(key string) *jnode {
	if n == nil || !n.isObj {
		return nil
	}
	for _, kv := range n.obj {
		if kv.key == key {
			return kv.val
		}
	}
	return nil
}

// set replaces the value of key in an object.
func (n *jnode) set(key string, v *jnode) {
	for i := range n.obj {
		if n.obj[i].key == key {
			n.obj[i].val = v
		}
	}
}

// String renders the node as compact JSON, keys in their order.
func (n *jnode) String() string {
	var b bytes.Buffer
	n.write(&b)
	return b.String()
}

func (n *jnode) write(b *bytes.Buffer) {
	switch {
	case n.isObj:
		b.WriteByte('{')
		for i, kv := range n.obj {
			if i > 0 {
				b.WriteByte(',')
			}
			k, _ := json.Marshal(kv.key)
			b.Write(k)
			b.WriteByte(':')
			kv.val.write(b)
		}
		b.WriteByte('}')
	case n.isArr:
		b.WriteByte('[')
		for i, v := range n.arr {
			if i > 0 {
				b.WriteByte(',')
			}
			v.write(b)
		}
		b.WriteByte(']')
	default:
		v, _ := json.Marshal(n.scalar)
		b.Write(v)
	}
}

// walk calls fn for every object in the tree.
func (n *jnode) walk(fn func(*jnode)) {
	if n == nil {
		return
	}
	if n.isObj {
		fn(n)
		for _, kv := range n.obj {
			kv.val.walk(fn)
		}
	}
	for _, v := range n.arr {
		v.walk(fn)
	}
}

func str(s string) *jnode { return &jnode{scalar: s} }
