"""Differential sequences for DUMP/RESTORE and the collection types (hashes, sets, lists).

Same harness as test_differential.py: each step goes to redis-server 7.0 and to slotcore and the
typed replies must be equal.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from test_differential import C, E, h  # noqa: E402,F401  (h is the pytest fixture)


def command_info_head(ra, rb, args, h):
    """COMMAND INFO: name, arity, flags, key positions and ACL categories. Tips and per-key
    flags are not in slotcore's table (docs/COMPATIBILITY.md)."""
    def head(r):
        return [tuple(entry[1][:7]) if entry[0] == "*" else entry for entry in r[1]]
    return head(ra), head(rb)


def payload_steps(key, payload):
    """RESTORE one payload (made by either server) on both, then read the value back."""
    return [
        ["RESTORE", key, "0", payload], ["RESTORE", key, "0", payload, "REPLACE"],
        ["GET", key], ["OBJECT", "ENCODING", key], ["TYPE", key], ["DUMP", key],
    ]


STRING_VALUES = [b"0", b"1", b"-1", b"127", b"128", b"-129", b"32767", b"32768", b"-32768",
                 b"2147483647", b"2147483648", b"-2147483649", b"12345678901", b"0123", b"+5",
                 b"abc", b"", b"x" * 20, b"x" * 21, b"hello world " * 8, bytes(range(256)),
                 b"\x00\xff" * 40, b"ab" * 5000]


def test_dump_restore_strings(h):
    p = h.pair()
    for index, value in enumerate(STRING_VALUES):
        key = "s%d" % index
        h.run([["SET", key, value], ["DUMP", key]], p)
        for conn in (p.r, p.s):
            reply = conn.call("DUMP", key)
            assert reply[0] == "$", reply
            h.run(payload_steps("copy%d" % index, reply[1]) + [["DEL", "copy%d" % index]], p)
    h.done()


def test_restore_options_and_errors(h):
    p = h.pair()
    p.r.call("SET", "src", "value")
    payload = p.r.call("DUMP", "src")[1]
    broken = bytearray(payload)
    broken[1] ^= 0x01
    newer = bytearray(payload)
    newer[-10] = 11
    h.run([
        ["DUMP", "nosuchkey"], ["DUMP"], ["DUMP", "a", "b"], ["RESTORE", "k", "0"],
        ["SET", "src", "value"],
        ["RESTORE", "src", "0", payload], ["RESTORE", "k", "-1", payload],
        ["RESTORE", "k", "abc", payload], ["RESTORE", "k", "0", bytes(broken)],
        ["RESTORE", "k", "0", bytes(newer)], ["RESTORE", "k", "0", b"short"],
        ["RESTORE", "k", "0", payload, "BOGUS"], ["RESTORE", "k", "0", payload, "IDLETIME"],
        ["RESTORE", "k", "0", payload, "IDLETIME", "-1"], ["RESTORE", "k", "0", payload, "IDLETIME", "x"],
        ["RESTORE", "k", "0", payload, "FREQ", "256"], ["RESTORE", "k", "0", payload, "FREQ", "-1"],
        ["RESTORE", "k", "0", payload, "FREQ", "1", "IDLETIME", "5"],
        ["RESTORE", "k", "0", payload, "IDLETIME", "5", "FREQ", "1"],
        ["RESTORE", "src", "abc", payload], ["RESTORE", "src", "-5", payload, "REPLACE"],
        ["RESTORE", "k", "0", payload, "IDLETIME", "1000"], ["GET", "k"],
        C(["OBJECT", "IDLETIME", "k"], rule=lambda ra, rb, args, h: (ra, rb) if ra[0] != ":" else
          (("idle>=1000", ra[1] >= 1000), ("idle>=1000", rb[1] >= 1000))),
        ["RESTORE", "t", "100000", payload], ["PTTL", "t"], ["TTL", "t"],
        ["RESTORE", "t", "4102444800000", payload, "ABSTTL", "REPLACE"], ["PEXPIRETIME", "t"],
        ["RESTORE", "gone", "1", payload, "ABSTTL"], ["EXISTS", "gone"],
        ["SET", "gone", "x"], ["RESTORE", "gone", "1", payload, "ABSTTL", "REPLACE"], ["EXISTS", "gone"],
        ["RESTORE-ASKING", "ra", "0", payload], ["GET", "ra"], ["RESTORE-ASKING", "ra", "0", payload],
        ["RESTORE", "rep", "0", payload, "replace", "absttl"], ["GET", "rep"],
        C(["COMMAND", "INFO", "dump", "restore", "restore-asking"], rule=command_info_head),
    ], p)
    h.done()
