#!/usr/bin/env python3
"""A test UDF served on a Unix socket, in plain Python 3.

The machine has no protobuf module, so the few messages of Kapacitor's UDF
protocol this UDF needs are encoded and decoded here by hand: every message
is a protobuf preceded by its length as a uvarint.

Usage: scale.py SOCKET_PATH

Each connection is one use. The UDF wants and provides a stream; its options
are field (STRING) and factor (DOUBLE). Every point comes back with the field
multiplied by factor and a field `seen` counting the points of the
connection; the count is its snapshot.
"""

import socket
import struct
import sys
import threading

# Wire types.
VARINT, FIXED64, LEN = 0, 1, 2


def read_varint(buf, i):
    shift = result = 0
    while True:
        if i >= len(buf):
            raise ValueError("varint cut short")
        b = buf[i]
        i += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, i
        shift += 7
        if shift >= 64:
            raise ValueError("varint too long")


def signed64(v):
    return v - (1 << 64) if v >= 1 << 63 else v


def fields(buf):
    """Yields (number, wire type, value) for each field of a message."""
    i = 0
    while i < len(buf):
        key, i = read_varint(buf, i)
        num, wt = key >> 3, key & 7
        if wt == VARINT:
            v, i = read_varint(buf, i)
        elif wt == FIXED64:
            v, i = buf[i:i + 8], i + 8
        elif wt == LEN:
            n, i = read_varint(buf, i)
            v, i = buf[i:i + n], i + n
        elif wt == 5:
            v, i = buf[i:i + 4], i + 4
        else:
            raise ValueError("wire type %d" % wt)
        yield num, wt, v


def varint(v):
    if v < 0:
        v += 1 << 64
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def key(num, wt):
    return varint(num << 3 | wt)


def f_varint(num, v):
    return key(num, VARINT) + varint(v)


def f_bytes(num, b):
    if isinstance(b, str):
        b = b.encode()
    return key(num, LEN) + varint(len(b)) + b


def f_double(num, x):
    return key(num, FIXED64) + struct.pack("<d", x)


def map_entry(k, value_field):
    return f_bytes(1, k) + value_field


class Point:
    """The fields of an agent.Point this UDF reads and writes."""

    def __init__(self):
        self.time = 0
        self.strs = {}  # name, database, rp, group
        self.dims = []
        self.tags = {}
        self.doubles = {}
        self.ints = {}
        self.strings = {}
        self.bools = {}
        self.by_name = False

    @classmethod
    def decode(cls, buf):
        p = cls()
        for num, wt, v in fields(buf):
            if num == 1:
                p.time = signed64(v)
            elif num in (2, 3, 4, 5):
                p.strs[num] = v.decode()
            elif num == 6:
                p.dims.append(v.decode())
            elif num in (7, 8, 9, 10, 12):
                k, val = None, None
                for en, ewt, ev in fields(v):
                    if en == 1:
                        k = ev.decode()
                    elif en == 2:
                        val = ev
                target = {7: p.tags, 8: p.doubles, 9: p.ints, 10: p.strings, 12: p.bools}[num]
                if num in (7, 10):
                    val = val.decode() if val is not None else ""
                elif num == 8:
                    val = struct.unpack("<d", val)[0] if val is not None else 0.0
                elif num == 9:
                    val = signed64(val) if val is not None else 0
                else:
                    val = bool(val)
                target[k] = val
            elif num == 11:
                p.by_name = bool(v)
        return p

    def encode(self):
        out = f_varint(1, self.time) if self.time else b""
        for num in sorted(self.strs):
            out += f_bytes(num, self.strs[num])
        for d in self.dims:
            out += f_bytes(6, d)
        for k, v in self.tags.items():
            out += f_bytes(7, map_entry(k, f_bytes(2, v)))
        for k, v in self.doubles.items():
            out += f_bytes(8, map_entry(k, f_double(2, v)))
        for k, v in self.ints.items():
            out += f_bytes(9, map_entry(k, f_varint(2, v)))
        for k, v in self.strings.items():
            out += f_bytes(10, map_entry(k, f_bytes(2, v)))
        if self.by_name:
            out += f_varint(11, 1)
        for k, v in self.bools.items():
            out += f_bytes(12, map_entry(k, f_varint(2, int(v))))
        return out


def info_response():
    # InfoResponse{wants: STREAM, provides: STREAM,
    #   options: {field: [STRING], factor: [DOUBLE]}}; valueTypes packed.
    opts = b""
    for name, types in (("field", [3]), ("factor", [2])):
        packed = b"".join(varint(t) for t in types)
        info = f_bytes(1, packed)
        opts += f_bytes(3, map_entry(name, f_bytes(2, info)))
    return opts


class Conn:
    def __init__(self, sock):
        self.sock = sock
        self.rfile = sock.makefile("rb")
        self.field = None
        self.factor = 1.0
        self.seen = 0

    def send(self, response_body):
        self.sock.sendall(varint(len(response_body)) + response_body)

    def read_message(self):
        shift = size = 0
        while True:
            c = self.rfile.read(1)
            if not c:
                if shift:
                    raise ValueError("length cut short")
                return None
            b = c[0]
            size |= (b & 0x7F) << shift
            if not b & 0x80:
                break
            shift += 7
        data = self.rfile.read(size)
        if len(data) != size:
            raise ValueError("message cut short")
        return data

    def init(self, body):
        for num, wt, v in fields(body):
            if num != 1:
                continue  # taskID, nodeID
            name, values = None, []
            for on, owt, ov in fields(v):
                if on == 1:
                    name = ov.decode()
                elif on == 2:
                    values.append(dict((n, x) for n, _, x in fields(ov)))
            if name == "field":
                self.field = values[0].get(5, b"").decode()
            elif name == "factor":
                self.factor = struct.unpack("<d", values[0][4])[0] if 4 in values[0] else 0.0
        if not self.field:
            return f_bytes(2, f_varint(1, 0) + f_bytes(2, "scale needs a field"))
        return f_bytes(2, f_varint(1, 1))

    def point(self, body):
        p = Point.decode(body)
        if self.field in p.doubles:
            p.doubles[self.field] *= self.factor
        elif self.field in p.ints:
            p.doubles[self.field] = p.ints.pop(self.field) * self.factor
        else:
            # ErrorResponse: the host stops this use.
            return f_bytes(6, f_bytes(1, "point has no field %s" % self.field))
        self.seen += 1
        p.ints["seen"] = self.seen
        return f_bytes(17, p.encode())

    def serve(self):
        try:
            while True:
                msg = self.read_message()
                if msg is None:
                    return
                for num, wt, body in fields(msg):
                    if num == 1:  # info
                        self.send(f_bytes(1, info_response()))
                    elif num == 2:  # init
                        self.send(self.init(body))
                    elif num == 3:  # keepalive: echo the time
                        t = 0
                        for n, _, v in fields(body):
                            if n == 1:
                                t = v
                        self.send(f_bytes(3, f_varint(1, t) if t else b""))
                    elif num == 4:  # snapshot
                        self.send(f_bytes(4, f_bytes(1, str(self.seen))))
                    elif num == 5:  # restore
                        snap = b""
                        for n, _, v in fields(body):
                            if n == 1:
                                snap = v
                        try:
                            self.seen = int(snap.decode() or "0")
                            self.send(f_bytes(5, f_varint(1, 1)))
                        except ValueError:
                            self.send(f_bytes(5, f_bytes(2, "bad snapshot %r" % snap)))
                    elif num == 17:  # point
                        self.send(self.point(body))
        finally:
            self.rfile.close()
            self.sock.close()


def main():
    path = sys.argv[1]
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(8)
    print("listening on", path, file=sys.stderr, flush=True)
    while True:
        sock, _ = srv.accept()
        threading.Thread(target=Conn(sock).serve, daemon=True).start()


if __name__ == "__main__":
    main()
