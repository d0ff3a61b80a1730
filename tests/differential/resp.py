"""A tiny RESP2/RESP3 encoder and decoder for the differential test (stdlib only).

Replies are decoded into a tree of tuples that keeps the wire type, so that a simple
string "+OK" never compares equal to a bulk string "$2 OK":

    ('+', 'OK')                simple string (str, latin-1 decoded: byte-exact)
    ('-', 'ERR ...')           error          (str, latin-1 decoded: byte-exact)
    (':', 42)                  integer
    ('$', b'bytes')            bulk string
    ('nil',)                   RESP2 null bulk   ($-1)
    ('*', [..])                array
    ('*nil',)                  RESP2 null array  (*-1)
  RESP3 only:
    ('_',)                     null
    (',', '1.5')               double (kept as text)
    ('#', True)                boolean
    ('(', '1234')              big number (kept as text)
    ('=', 'txt', b'..')        verbatim string (format, payload)
    ('!', b'..')               blob error
    ('%', [(k, v), ..])        map (order kept)
    ('~', [..])                set
    ('>', [..])                push
    ('|', [(k, v), ..], reply) attribute map followed by the reply it decorates
"""

import socket
import time


class ProtocolError(Exception):
    pass


class ConnectionClosed(Exception):
    pass


def _arg(a):
    if isinstance(a, bytes):
        return a
    if isinstance(a, (int, float)):
        return str(a).encode()
    return str(a).encode("utf-8")


def encode(args):
    """Encode one command (list of str/bytes/int) as a RESP array of bulk strings."""
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        b = _arg(a)
        out.append(b"$%d\r\n%s\r\n" % (len(b), b))
    return b"".join(out)


class Parser:
    """Incremental parser: feed() bytes, then get() returns a reply or None if incomplete."""

    def __init__(self):
        self.buf = bytearray()

    def feed(self, data):
        self.buf += data

    def get(self):
        try:
            reply, pos = self._parse(0)
        except _Incomplete:
            return None
        del self.buf[:pos]
        return reply

    def _line(self, pos):
        end = self.buf.find(b"\r\n", pos)
        if end < 0:
            raise _Incomplete()
        return bytes(self.buf[pos:end]), end + 2

    def _bulk(self, pos, n):
        if len(self.buf) < pos + n + 2:
            raise _Incomplete()
        data = bytes(self.buf[pos:pos + n])
        if self.buf[pos + n:pos + n + 2] != b"\r\n":
            raise ProtocolError("bulk not terminated by CRLF")
        return data, pos + n + 2

    def _agg(self, pos, n):
        items = []
        for _ in range(n):
            item, pos = self._parse(pos)
            items.append(item)
        return items, pos

    def _parse(self, pos):
        if pos >= len(self.buf):
            raise _Incomplete()
        t = chr(self.buf[pos])
        line, pos = self._line(pos + 1)
        if t == "+":
            return ("+", line.decode("latin-1")), pos
        if t == "-":
            return ("-", line.decode("latin-1")), pos
        if t == ":":
            return (":", int(line)), pos
        if t == "$":
            n = int(line)
            if n < 0:
                return ("nil",), pos
            data, pos = self._bulk(pos, n)
            return ("$", data), pos
        if t == "*":
            n = int(line)
            if n < 0:
                return ("*nil",), pos
            items, pos = self._agg(pos, n)
            return ("*", items), pos
        if t == "_":
            return ("_",), pos
        if t == ",":
            return (",", line.decode("latin-1")), pos
        if t == "#":
            return ("#", line == b"t"), pos
        if t == "(":
            return ("(", line.decode("latin-1")), pos
        if t == "=":
            data, pos = self._bulk(pos, int(line))
            return ("=", data[:3].decode("latin-1"), data[4:]), pos
        if t == "!":
            data, pos = self._bulk(pos, int(line))
            return ("!", data), pos
        if t in "~>":
            items, pos = self._agg(pos, int(line))
            return (t, items), pos
        if t in "%|":
            items, pos = self._agg(pos, 2 * int(line))
            pairs = list(zip(items[0::2], items[1::2]))
            if t == "%":
                return ("%", pairs), pos
            reply, pos = self._parse(pos)
            return ("|", pairs, reply), pos
        raise ProtocolError("unknown RESP type byte %r" % t)


class _Incomplete(Exception):
    pass


class Conn:
    """A blocking client connection with its own parser."""

    def __init__(self, port, host="127.0.0.1", timeout=5.0):
        self.port = port
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.parser = Parser()
        self.closed = False

    def send_raw(self, data):
        self.sock.sendall(data)

    def send(self, *args):
        self.sock.sendall(encode(args))

    def read(self):
        while True:
            r = self.parser.get()
            if r is not None:
                return r
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionClosed("connection closed by server")
            self.parser.feed(data)

    def call(self, *args):
        self.send(*args)
        return self.read()

    def is_closed_by_peer(self, timeout=2.0):
        """True once the server has closed the connection (EOF) with no unread reply pending."""
        if self.parser.buf:
            return False
        deadline = time.time() + timeout
        self.sock.settimeout(0.1)
        try:
            while time.time() < deadline:
                try:
                    data = self.sock.recv(65536)
                except socket.timeout:
                    continue
                except ConnectionResetError:
                    return True
                if not data:
                    return True
                self.parser.feed(data)
                return False
            return False
        finally:
            self.sock.settimeout(5.0)

    def close(self):
        if not self.closed:
            self.closed = True
            try:
                self.sock.close()
            except OSError:
                pass


def to_text(reply):
    """Payload of a bulk / verbatim / simple string reply as str (for INFO-like texts)."""
    if reply[0] == "$":
        return reply[1].decode("latin-1")
    if reply[0] == "=":
        return reply[2].decode("latin-1")
    if reply[0] == "+":
        return reply[1]
    raise ValueError("not a string reply: %r" % (reply,))


def pairs_of(reply):
    """Key/value pairs of a RESP3 map or of a RESP2 flat array of alternating keys and values."""
    if reply[0] == "%":
        return list(reply[1])
    if reply[0] == "*":
        items = reply[1]
        return list(zip(items[0::2], items[1::2]))
    raise ValueError("not a map-like reply: %r" % (reply,))
