"""Request header lines, byte for byte against redis-server.

The decoder reads the usual `*<n>` and `$<n>` line in one pass and leaves every other spelling
(signs, leading zeros, spaces, long numbers, lines cut short) to its general path. This sends
each spelling on a raw socket to both servers and compares what comes back: the replies, and
whether the server then closes the connection or waits for more.
"""

import socket

import pytest

QUIET_S = 0.25

NUMBERS = [
    b"1", b"4", b"01", b"04", b"0", b"00", b"-0", b"-1", b"-2", b"+1", b"+4", b" 4", b"4 ", b"",
    b"a", b"4a", b"\t4", b"999999999999999999", b"1000000000000000000", b"2147483647",
    b"2147483648", b"9223372036854775807", b"9223372036854775808", b"-9223372036854775808",
    b"-9223372036854775809",
]


def exchange(port, data):
    """What the server sends after `data`, and whether it closed the connection."""
    s = socket.create_connection(("127.0.0.1", port), timeout=2.0)
    try:
        s.sendall(data)
        s.settimeout(QUIET_S)
        received = b""
        while True:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                return received, "open"
            except ConnectionResetError:
                return received, "closed"
            if not chunk:
                return received, "closed"
            received += chunk
    finally:
        s.close()


def cases():
    for number in NUMBERS:
        yield b"*" + number + b"\r\n$4\r\nPING\r\n"
        yield b"*1\r\n$" + number + b"\r\nPING\r\n"
        yield b"*2\r\n$4\r\nECHO\r\n$" + number + b"\r\nabcd\r\n"
    # Lines cut short at the \r, and a \n with no \r.
    yield b"*1\r"
    yield b"*1\r\n$4\r"
    yield b"*1\r\n$4\r\nPING\r\n*1\r\n$4\r"
    yield b"*1\n$4\r\nPING\r\n"
    yield b"*1\r\n$4\nPING\r\n"
    # A pipeline where a later header is bad: the good ones are answered first.
    yield b"*1\r\n$4\r\nPING\r\n*1\r\n$04\r\nPING\r\n"
    yield b"*1\r\n$4\r\nPING\r\n*01\r\n$4\r\nPING\r\n"


@pytest.mark.parametrize("data", list(cases()), ids=lambda d: repr(d)[2:-1][:60])
def test_header_spelling(srv, data):
    redis = exchange(srv.redis.port, data)
    slotcore = exchange(srv.slotcore.port, data)
    assert slotcore == redis
    # Whatever the header did to that connection, the server goes on.
    assert exchange(srv.slotcore.port, b"*1\r\n$4\r\nPING\r\n") == (b"+PONG\r\n", "open")
