"""Differential sequences for DUMP/RESTORE and the collection types (hashes, sets, lists).

Same harness as test_differential.py: each step goes to redis-server 7.0 and to slotcore and the
typed replies must be equal.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from test_differential import C, E, ScanAll, h  # noqa: E402,F401  (h is the pytest fixture)


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


def sorted_pairs(ra, rb, args, h):
    """A hash-table-encoded hash's fields come in table order: compare the pairs as a set."""
    def f(r):
        if r[0] == "*" and all(x[0] != "*" for x in r[1]):
            items = r[1]
            return ("pairs", sorted(zip(items[::2], items[1::2]), key=repr))
        if r[0] == "%":
            return ("pairs", sorted(r[1], key=repr))
        if r[0] == "*":
            return ("pairs", sorted((tuple(x[1]) for x in r[1]), key=repr))
        return r
    return f(ra), f(rb)


def sorted_items(ra, rb, args, h):
    f = lambda r: (r[0], sorted(r[1], key=repr)) if r[0] in ("*", "~") else r  # noqa: E731
    return f(ra), f(rb)


def hscan_rule(ra, rb, args, h):
    """HSCAN/SSCAN page: the cursor of a one-page scan is 0 on both; compare elements as a set
    (pairs for HSCAN)."""
    def f(r):
        if r[0] != "*" or len(r[1]) != 2:
            return r
        items = r[1][1][1]
        if _s(args[0]).upper() == "HSCAN":
            items = list(zip(items[::2], items[1::2]))
        return ("scan", r[1][0], sorted(items, key=repr))
    return f(ra), f(rb)


def _s(x):
    return x.decode("latin-1") if isinstance(x, bytes) else str(x)


def random_fields(members):
    """HRANDFIELD/SRANDMEMBER: every returned element is one of `members`; the count matches."""
    allowed = {m.encode() if isinstance(m, str) else m for m in members}

    def rule(ra, rb, args, h):
        def f(r):
            if r[0] == "$":
                return ("member", r[1] in allowed)
            if r[0] in ("*", "~"):
                flat = []
                for x in r[1]:
                    flat.extend(x[1] if x[0] == "*" else [x])
                names = [x[1] for x in flat if x[0] == "$"]
                with_values = len(args) > 3
                fields = names[::2] if with_values else names
                return ("elements", r[0], len(r[1]), all(n in allowed for n in fields))
            return r
        return f(ra), f(rb)
    return rule


LONG = "v" * 65

HASHES = [
    ["HSET", "h", "a", "1", "b", "hello", "c", "-5"], ["HSET", "h", "a", "2", "d", "x"],
    ["HGETALL", "h"], ["HKEYS", "h"], ["HVALS", "h"], ["HLEN", "h"], ["OBJECT", "ENCODING", "h"],
    ["TYPE", "h"], ["HGET", "h", "a"], ["HGET", "h", "zz"], ["HGET", "nokey", "a"],
    ["HMGET", "h", "a", "zz", "b"], ["HMGET", "nokey", "a", "b"], ["HEXISTS", "h", "a"],
    ["HEXISTS", "h", "zz"], ["HEXISTS", "nokey", "a"], ["HSTRLEN", "h", "b"], ["HSTRLEN", "h", "zz"],
    ["HSTRLEN", "nokey", "a"], ["HSETNX", "h", "a", "9"], ["HSETNX", "h", "e", "9"], ["HSETNX", "new", "f", "v"],
    ["HMSET", "h", "f", "1", "g", "2"], ["HMSET", "h", "f"], ["HSET", "h", "f"], ["HSET", "h"],
    ["HSET", "h", "a", "1", "b"], ["HGETALL", "h"], ["HDEL", "h", "a", "zz", "b"], ["HDEL", "nokey", "a"],
    ["HGETALL", "h"], ["HGETALL", "nokey"], ["HKEYS", "nokey"], ["HVALS", "nokey"], ["HLEN", "nokey"],
    ["HDEL", "new", "f"], ["EXISTS", "new"],
    # increments
    ["HINCRBY", "h", "c", "10"], ["HINCRBY", "h", "n", "-3"], ["HINCRBY", "h", "d", "1"],
    ["HINCRBY", "h", "c", "x"], ["HINCRBY", "h", "c", "1.5"], ["HSET", "h", "big", "9223372036854775807"],
    ["HINCRBY", "h", "big", "1"], ["HINCRBY", "h", "c", "-9223372036854775808"],
    ["HINCRBY", "h", "c", "-9223372036854775808"], ["HINCRBY", "fresh", "x", "5"], ["HGETALL", "fresh"],
    ["HINCRBYFLOAT", "h", "fl", "1.5"], ["HINCRBYFLOAT", "h", "fl", "0.1"], ["HINCRBYFLOAT", "h", "fl", "-1.6"],
    ["HINCRBYFLOAT", "h", "d", "1"], ["HINCRBYFLOAT", "h", "fl", "abc"], ["HINCRBYFLOAT", "h", "fl", "inf"],
    ["HINCRBYFLOAT", "h", "fl", "1e308"], ["HINCRBYFLOAT", "h", "fl", "1e308"], ["HGET", "h", "fl"],
    ["HINCRBYFLOAT", "h", "c", "2.5e3"], ["HINCRBYFLOAT", "fresh2", "x", "3"], ["OBJECT", "ENCODING", "h"],
    C(["HGETALL", "h"], rule=sorted_pairs),
    ["HINCRBYFLOAT", "nokey2", "x", "abc"], ["EXISTS", "nokey2"], ["HINCRBY", "nokey3", "x", "abc"],
    ["EXISTS", "nokey3"],
    # wrong types
    ["SET", "s", "v"], ["HSET", "s", "a", "1"], ["HGET", "s", "a"], ["HMGET", "s", "a"], ["HGETALL", "s"],
    ["HDEL", "s", "a"], ["HLEN", "s"], ["HEXISTS", "s", "a"], ["HSTRLEN", "s", "a"], ["HKEYS", "s"],
    ["HVALS", "s"], ["HINCRBY", "s", "a", "1"], ["HINCRBYFLOAT", "s", "a", "1"], ["HSETNX", "s", "a", "1"],
    ["HMSET", "s", "a", "1"], ["HRANDFIELD", "s"], ["HRANDFIELD", "s", "2"], ["HSCAN", "s", "0"],
    ["GET", "h"], ["APPEND", "h", "x"], ["INCR", "h"],
    # encodings
    ["HSET", "lp", "f", LONG], ["OBJECT", "ENCODING", "lp"], ["HSET", "lp2", "f", "v" * 64],
    ["OBJECT", "ENCODING", "lp2"], ["HSET", "lp2", LONG, "v"], ["OBJECT", "ENCODING", "lp2"],
    ["HSETNX", "lp3", "a", "1"], ["HSETNX", "lp3", "a", LONG], ["OBJECT", "ENCODING", "lp3"],
    ["HINCRBY", "lp4", "f" * 65, "1"], ["OBJECT", "ENCODING", "lp4"],
    ["HINCRBYFLOAT", "lp5", "x", "1e100"], ["OBJECT", "ENCODING", "lp5"],
    ["CONFIG", "SET", "hash-max-listpack-entries", "4"], ["CONFIG", "GET", "hash-max-listpack-entries"],
    ["CONFIG", "GET", "hash-max-ziplist-entries"], ["CONFIG", "GET", "hash-max-listpack-value"],
    ["HSET", "small", "a", "1", "b", "2", "c", "3", "d", "4"], ["OBJECT", "ENCODING", "small"],
    ["HSET", "small", "e", "5"], ["OBJECT", "ENCODING", "small"], ["HDEL", "small", "a", "b", "c"],
    ["OBJECT", "ENCODING", "small"], C(["HGETALL", "small"], rule=sorted_pairs),
    ["CONFIG", "SET", "hash-max-listpack-entries", "512"],
    ["CONFIG", "SET", "hash-max-listpack-value", "3"], ["HSET", "val", "abcd", "1"], ["OBJECT", "ENCODING", "val"],
    ["CONFIG", "SET", "hash-max-listpack-value", "64"], ["CONFIG", "SET", "hash-max-listpack-entries", "-1"],
    ["CONFIG", "SET", "hash-max-listpack-entries", "x"],
    # HRANDFIELD and HSCAN
    ["DEL", "r"], ["HSET", "r", "a", "1", "b", "2", "c", "3"], C(["HRANDFIELD", "r"], rule=random_fields("abc")),
    ["HRANDFIELD", "r", "0"], ["HRANDFIELD", "r", "3"], ["HRANDFIELD", "r", "10"], ["HRANDFIELD", "r", "5", "WITHVALUES"],
    C(["HRANDFIELD", "r", "2"], rule=random_fields("abc")), C(["HRANDFIELD", "r", "-5"], rule=random_fields("abc")),
    C(["HRANDFIELD", "r", "-5", "WITHVALUES"], rule=random_fields("abc")),
    ["HRANDFIELD", "nokey"], ["HRANDFIELD", "nokey", "5"], ["HRANDFIELD", "nokey", "-5", "WITHVALUES"],
    ["HRANDFIELD", "r", "1", "WITHVALUE"], ["HRANDFIELD", "r", "1", "WITHVALUES", "x"], ["HRANDFIELD", "r", "x"],
    ["HRANDFIELD", "r", "-9223372036854775808"], ["HRANDFIELD", "r", "-4611686018427387904", "WITHVALUES"],
    ["HRANDFIELD", "r", "4611686018427387904", "WITHVALUES"],
    ["HSCAN", "r", "0"], ["HSCAN", "r", "0", "MATCH", "a*"], ["HSCAN", "r", "0", "COUNT", "1"],
    ["HSCAN", "r", "x"], ["HSCAN", "r", "-1"], ["HSCAN", "r", ""], ["HSCAN", "r", "+0"], ["HSCAN", "r", " 0"],
    ["HSCAN", "r", "-"], ["HSCAN", "r", "99999999999999999999"], ["HSCAN", "r", "18446744073709551615"], ["HSCAN", "r", "0", "COUNT", "0"], ["HSCAN", "r", "0", "COUNT", "x"],
    ["HSCAN", "r", "0", "MATCH"], ["HSCAN", "r", "0", "TYPE", "hash"], ["HSCAN", "nokey", "0"],
    ["HSCAN", "nokey", "0", "BOGUS"],
    # hash-table-encoded: order differs, compare as sets
    ["HSET", "big", "f" * 70, "1", "b", "2", "c", "3"], C(["HGETALL", "big"], rule=sorted_pairs),
    C(["HKEYS", "big"], rule=sorted_items), C(["HVALS", "big"], rule=sorted_items),
    C(["HSCAN", "big", "0"], rule=hscan_rule), C(["HSCAN", "big", "0", "MATCH", "[bc]"], rule=hscan_rule),
    C(["HRANDFIELD", "big", "10", "WITHVALUES"], rule=sorted_pairs),
    ["DEBUG", "DIGEST-VALUE", "h"], ["DEBUG", "DIGEST-VALUE", "big"], ["DEBUG", "DIGEST-VALUE", "small"],
    ["DEBUG", "DIGEST"],
]


def test_hashes(h):
    h.run(HASHES)
    h.done()


def test_hashes_resp3(h):
    h.run([
        C(["HELLO", "3"]), ["HSET", "h", "a", "1", "b", "2"], ["HGETALL", "h"], ["HGETALL", "nokey"],
        ["HRANDFIELD", "h", "2", "WITHVALUES"], ["HRANDFIELD", "h", "5"], ["HMGET", "h", "a", "x"],
        ["HSCAN", "h", "0"], ["HRANDFIELD", "nokey"], ["HGET", "h", "x"], ["HKEYS", "h"],
        ["HRANDFIELD", "nokey", "2", "WITHVALUES"],
    ])
    h.done()


def test_dump_restore_hashes(h):
    p = h.pair()
    cases = {
        "lp": ["a", "1", "b", "hello", "n", "-4097", "big", "9223372036854775807", "e", ""],
        "lpz": ["field%d" % i for i in range(60)],
        "table": ["f%d" % i for i in range(1200)],
        "longval": ["a", "x" * 100, "b", "y" * 5000],
    }
    for key, items in cases.items():
        h.run([["HSET", key] + items, ["OBJECT", "ENCODING", key]], p)
        if key.startswith("lp"):
            h.run([["DUMP", key]], p)  # listpacks: identical bytes
        for conn in (p.r, p.s):
            payload = conn.call("DUMP", key)[1]
            h.run([["RESTORE", "copy", "0", payload, "REPLACE"], ["OBJECT", "ENCODING", "copy"],
                   C(["HGETALL", "copy"], rule=sorted_pairs), ["HLEN", "copy"],
                   ["DEBUG", "DIGEST-VALUE", "copy"]], p)
    # thresholds decide the restored encoding
    payload = p.r.call("DUMP", "lp")[1]
    h.run([["CONFIG", "SET", "hash-max-listpack-entries", "2"], ["RESTORE", "c2", "0", payload],
           ["OBJECT", "ENCODING", "c2"], ["CONFIG", "SET", "hash-max-listpack-entries", "512"],
           ["CONFIG", "SET", "hash-max-listpack-value", "3"], ["RESTORE", "c3", "0", payload],
           ["OBJECT", "ENCODING", "c3"], ["CONFIG", "SET", "hash-max-listpack-value", "64"],
           ["RENAME", "lp", "{x}moved"], ["HGETALL", "{x}moved"], ["COPY", "{x}moved", "lp"], ["HGETALL", "lp"],
           ["OBJECT", "ENCODING", "lp"], ["DEBUG", "DIGEST"]], p)
    h.done()


SETS = [
    ["SADD", "{s}i", "3", "1", "2", "-7", "100000"], ["SADD", "{s}i", "1", "4"], ["SMEMBERS", "{s}i"],
    ["OBJECT", "ENCODING", "{s}i"], ["TYPE", "{s}i"], ["SCARD", "{s}i"], ["SISMEMBER", "{s}i", "3"],
    ["SISMEMBER", "{s}i", "9"], ["SISMEMBER", "{s}i", "x"], ["SMISMEMBER", "{s}i", "1", "x", "4"],
    ["SMISMEMBER", "nokey", "1", "2"], ["SISMEMBER", "nokey", "1"], ["SCARD", "nokey"], ["SMEMBERS", "nokey"],
    ["SREM", "{s}i", "1", "x", "100000"], ["SMEMBERS", "{s}i"], ["SREM", "nokey", "a"],
    ["SADD", "{s}m", "a", "1", "b"], ["OBJECT", "ENCODING", "{s}m"], C(["SMEMBERS", "{s}m"], rule=sorted_items),
    ["SADD", "{s}i2", "2", "3", "9"], ["SADD", "{s}i2", "01"], ["OBJECT", "ENCODING", "{s}i2"],
    ["SADD", "{s}e", "x"], ["SREM", "{s}e", "x"], ["EXISTS", "{s}e"],
    ["SADD", "{s}a"], ["SREM", "{s}a"], ["SPOP"], ["SPOP", "{s}i", "1", "2"], ["SPOP", "{s}i", "-1"],
    ["SPOP", "{s}i", "x"], ["SPOP", "nokey"], ["SPOP", "nokey", "3"], ["SPOP", "{s}i", "0"],
    ["SRANDMEMBER", "nokey"], ["SRANDMEMBER", "nokey", "3"], ["SRANDMEMBER", "{s}i", "0"],
    ["SRANDMEMBER", "{s}i", "x"], ["SRANDMEMBER", "{s}i", "1", "2"],
    ["SRANDMEMBER", "{s}i", "-9223372036854775808"], ["SRANDMEMBER", "{s}i", "100"],
    C(["SRANDMEMBER", "{s}i"], rule=random_fields(["2", "3", "-7", "4"])),
    C(["SRANDMEMBER", "{s}i", "2"], rule=random_fields(["2", "3", "-7", "4"])),
    C(["SRANDMEMBER", "{s}i", "-6"], rule=random_fields(["2", "3", "-7", "4"])),
    ["SADD", "{s}p", "a", "b", "c"], C(["SPOP", "{s}p"], rule=random_fields("abc")), ["SCARD", "{s}p"],
    C(["SPOP", "{s}p", "1"], rule=random_fields("abc")), ["SCARD", "{s}p"],
    C(["SPOP", "{s}p", "5"], rule=random_fields("abc")), ["EXISTS", "{s}p"],
    # wrong types
    ["SET", "{s}str", "v"], ["SADD", "{s}str", "a"], ["SREM", "{s}str", "a"], ["SMEMBERS", "{s}str"],
    ["SISMEMBER", "{s}str", "a"], ["SMISMEMBER", "{s}str", "a"], ["SCARD", "{s}str"], ["SPOP", "{s}str"],
    ["SPOP", "{s}str", "2"], ["SRANDMEMBER", "{s}str"], ["SRANDMEMBER", "{s}str", "2"], ["SSCAN", "{s}str", "0"],
    ["SINTER", "{s}i", "{s}str"], ["SUNION", "{s}str", "{s}i"], ["SDIFF", "{s}i", "{s}str"],
    ["SINTER", "nokey{s}", "{s}str"], ["SINTERSTORE", "{s}d", "{s}str"], ["HSET", "{s}h", "a", "1"],
    ["SADD", "{s}h", "a"], ["GET", "{s}i"],
    # SMOVE
    ["SADD", "{s}src", "a", "b", "1"], ["SMOVE", "{s}src", "{s}dst", "a"], ["SMOVE", "{s}src", "{s}dst", "zz"],
    ["SMOVE", "{s}src", "{s}src", "b"], ["SMOVE", "{s}src", "{s}src", "zz"], ["SMOVE", "nokey{s}", "{s}dst", "a"],
    ["SMOVE", "{s}src", "{s}str", "b"], ["SMOVE", "nokey{s}", "{s}str", "b"], ["SMOVE", "{s}str", "{s}dst", "b"],
    ["SMOVE", "{s}src", "{s}dst", "1"], ["SMOVE", "{s}src", "{s}dst", "b"], ["EXISTS", "{s}src"],
    C(["SMEMBERS", "{s}dst"], rule=sorted_items), ["SADD", "{s}ints", "5"], ["SMOVE", "{s}dst", "{s}ints", "1"],
    ["SMEMBERS", "{s}ints"], ["OBJECT", "ENCODING", "{s}ints"], ["SMOVE", "{s}dst", "{s}ints", "a"],
    ["OBJECT", "ENCODING", "{s}ints"], ["SMOVE", "{s}dst", "{s}newint", "b"], ["OBJECT", "ENCODING", "{s}newint"],
    # algebra
    ["DEL", "{s}x", "{s}y", "{s}z"], ["SADD", "{s}x", "1", "2", "3", "4", "5"], ["SADD", "{s}y", "4", "5", "6"],
    ["SADD", "{s}z", "5", "a"], ["SINTER", "{s}x", "{s}y"], ["SINTER", "{s}x", "{s}y", "{s}z"],
    ["SINTER", "{s}x", "nokey{s}"], ["SINTER", "{s}x"], ["SUNION", "{s}x", "{s}y"],
    C(["SUNION", "{s}x", "{s}z"], rule=sorted_items), ["SUNION", "nokey{s}"], ["SDIFF", "{s}x", "{s}y"],
    ["SDIFF", "{s}x", "{s}y", "{s}z"], ["SDIFF", "nokey{s}", "{s}x"], ["SDIFF", "{s}x", "nokey{s}"],
    ["SINTERSTORE", "{s}d", "{s}x", "{s}y"], ["SMEMBERS", "{s}d"], ["OBJECT", "ENCODING", "{s}d"],
    ["SUNIONSTORE", "{s}d", "{s}x", "{s}z"], C(["SMEMBERS", "{s}d"], rule=sorted_items),
    ["OBJECT", "ENCODING", "{s}d"], ["SDIFFSTORE", "{s}d", "{s}x", "{s}y"], ["SMEMBERS", "{s}d"],
    ["SINTERSTORE", "{s}d", "{s}x", "nokey{s}"], ["EXISTS", "{s}d"], ["SET", "{s}d", "str"],
    ["SUNIONSTORE", "{s}d", "{s}x"], ["TYPE", "{s}d"], ["SDIFFSTORE", "{s}x", "{s}x", "{s}y"], ["SMEMBERS", "{s}x"],
    ["SINTERSTORE", "{s}d"], ["SUNION"],
    ["SADD", "{s}x", "1", "2", "3", "4", "5"], ["SINTERCARD", "2", "{s}x", "{s}y"],
    ["SINTERCARD", "1", "{s}x"], ["SINTERCARD", "2", "{s}x", "{s}y", "LIMIT", "1"],
    ["SINTERCARD", "2", "{s}x", "{s}y", "LIMIT", "0"], ["SINTERCARD", "2", "{s}x", "nokey{s}"],
    ["SINTERCARD", "0", "{s}x"], ["SINTERCARD", "x", "{s}x"], ["SINTERCARD", "3", "{s}x", "{s}y"],
    ["SINTERCARD", "2", "{s}x", "{s}y", "LIMIT", "-1"], ["SINTERCARD", "2", "{s}x", "{s}y", "LIMIT", "x"],
    ["SINTERCARD", "2", "{s}x", "{s}y", "LIMIT"], ["SINTERCARD", "2", "{s}x", "{s}y", "BOGUS", "1"],
    ["SINTERCARD", "2", "{s}x", "{s}str"], ["SINTERCARD", "1"], ["COMMAND", "GETKEYS", "SINTERCARD", "2", "a", "b", "LIMIT", "1"],
    # thresholds and scans
    ["CONFIG", "SET", "set-max-intset-entries", "3"], ["CONFIG", "GET", "set-max-intset-entries"],
    ["SADD", "{s}t", "1", "2", "3"], ["OBJECT", "ENCODING", "{s}t"], ["SADD", "{s}t", "4"],
    ["OBJECT", "ENCODING", "{s}t"], ["SUNIONSTORE", "{s}u", "{s}y"], ["OBJECT", "ENCODING", "{s}u"],
    ["CONFIG", "SET", "set-max-intset-entries", "512"],
    ["SADD", "{s}big", "9223372036854775807", "-9223372036854775808", "0"], ["SMEMBERS", "{s}big"],
    ["SSCAN", "{s}big", "0"], ["SSCAN", "{s}big", "0", "MATCH", "-*"], ["SSCAN", "nokey", "0"],
    ["SSCAN", "{s}big", "x"], ["SSCAN", "{s}big", "0", "COUNT", "0"], C(["SSCAN", "{s}z", "0"], rule=hscan_rule),
    ["DEBUG", "DIGEST-VALUE", "{s}big"], ["DEBUG", "DIGEST-VALUE", "{s}z"], ["DEBUG", "DIGEST"],
]


def test_sets(h):
    h.run(SETS)
    h.done()


def test_sets_resp3(h):
    h.run([
        C(["HELLO", "3"]), ["SADD", "s", "1", "2"], ["SMEMBERS", "s"], ["SMEMBERS", "nokey"], ["SINTER", "s", "s"],
        ["SPOP", "nokey", "2"], ["SRANDMEMBER", "s", "5"], ["SRANDMEMBER", "nokey", "5"], ["SMISMEMBER", "s", "1"],
        ["SUNION", "s"], ["SDIFF", "s"], ["SSCAN", "s", "0"],
    ])
    h.done()


def test_dump_restore_sets(h):
    p = h.pair()
    cases = {
        "i16": ["1", "-5", "300"], "i32": ["1", "70000"], "i64": ["1", "9223372036854775807"],
        "many": [str(i * 3) for i in range(400)], "table": ["a", "b", "1"],
        "bigtable": ["m%d" % i for i in range(700)],
    }
    for key, members in cases.items():
        h.run([["SADD", key] + members, ["OBJECT", "ENCODING", key]], p)
        if key.startswith("i") or key == "many":
            h.run([["DUMP", key]], p)  # intsets: identical bytes
        for conn in (p.r, p.s):
            payload = conn.call("DUMP", key)[1]
            h.run([["RESTORE", "copy", "0", payload, "REPLACE"], ["OBJECT", "ENCODING", "copy"],
                   C(["SMEMBERS", "copy"], rule=sorted_items), ["SCARD", "copy"],
                   ["DEBUG", "DIGEST-VALUE", "copy"]], p)
    # an intset keeps its width after the wide member leaves
    h.run([["SREM", "i32", "70000"], ["DUMP", "i32"]], p)
    payload = p.r.call("DUMP", "i16")[1]
    h.run([["CONFIG", "SET", "set-max-intset-entries", "2"], ["RESTORE", "c2", "0", payload],
           ["OBJECT", "ENCODING", "c2"], ["CONFIG", "SET", "set-max-intset-entries", "512"],
           ["RENAME", "i16", "{x}moved"], ["SMEMBERS", "{x}moved"], ["DEBUG", "DIGEST"]], p)
    h.done()


LISTS = [
    ["RPUSH", "{l}a", "a", "b", "c"], ["LPUSH", "{l}a", "x", "y"], ["LRANGE", "{l}a", "0", "-1"], ["LLEN", "{l}a"],
    ["TYPE", "{l}a"], ["OBJECT", "ENCODING", "{l}a"], ["LPUSHX", "nokey", "a"], ["RPUSHX", "nokey", "a"],
    ["EXISTS", "nokey"], ["LPUSHX", "{l}a", "p", "q"], ["RPUSHX", "{l}a", "z"], ["LRANGE", "{l}a", "0", "-1"],
    ["LRANGE", "{l}a", "-3", "-2"], ["LRANGE", "{l}a", "5", "2"], ["LRANGE", "{l}a", "-100", "100"],
    ["LRANGE", "{l}a", "20", "30"], ["LRANGE", "{l}a", "x", "1"], ["LRANGE", "nokey", "0", "-1"],
    ["LINDEX", "{l}a", "0"], ["LINDEX", "{l}a", "-1"], ["LINDEX", "{l}a", "100"], ["LINDEX", "{l}a", "x"],
    ["LINDEX", "nokey", "0"], ["LSET", "{l}a", "1", "SET"], ["LSET", "{l}a", "-1", "END"], ["LSET", "{l}a", "50", "v"],
    ["LSET", "nokey", "0", "v"], ["LSET", "{l}a", "x", "v"], ["LRANGE", "{l}a", "0", "-1"],
    # found by the fuzzer: the key is looked up before the index is parsed
    ["LINDEX", "nokey", "x"], ["LSET", "nokey", "1.5", "v"], ["SET", "{l}s2", "v"], ["LINDEX", "{l}s2", "x"],
    ["LSET", "{l}s2", "x", "v"], ["DEL", "{l}s2"],
    ["LINSERT", "{l}a", "BEFORE", "a", "before-a"], ["LINSERT", "{l}a", "after", "a", "after-a"],
    ["LINSERT", "{l}a", "AFTER", "zzz", "v"], ["LINSERT", "nokey", "AFTER", "a", "v"],
    ["LINSERT", "{l}a", "MIDDLE", "a", "v"], ["LRANGE", "{l}a", "0", "-1"],
    ["LPOP", "{l}a"], ["RPOP", "{l}a"], ["LPOP", "{l}a", "2"], ["RPOP", "{l}a", "0"], ["LPOP", "{l}a", "-1"],
    ["LPOP", "{l}a", "x"], ["LPOP", "{l}a", "1", "2"], ["LPOP", "nokey"], ["LPOP", "nokey", "2"],
    ["RPOP", "{l}a", "100"], ["EXISTS", "{l}a"],
    # LREM / LTRIM / LPOS
    ["RPUSH", "{l}r", "a", "b", "a", "c", "a", "b", "a"], ["LREM", "{l}r", "2", "a"], ["LRANGE", "{l}r", "0", "-1"],
    ["LREM", "{l}r", "-1", "a"], ["LRANGE", "{l}r", "0", "-1"], ["LREM", "{l}r", "0", "b"], ["LRANGE", "{l}r", "0", "-1"],
    ["LREM", "{l}r", "x", "a"], ["LREM", "nokey", "0", "a"], ["LREM", "{l}r", "0", "a"], ["LREM", "{l}r", "0", "c"],
    ["EXISTS", "{l}r"],
    ["RPUSH", "{l}t", "1", "2", "3", "4", "5", "6"], ["LTRIM", "{l}t", "1", "-2"], ["LRANGE", "{l}t", "0", "-1"],
    ["LTRIM", "{l}t", "-100", "100"], ["LRANGE", "{l}t", "0", "-1"], ["LTRIM", "{l}t", "x", "1"],
    ["LTRIM", "nokey", "0", "1"], ["LTRIM", "{l}t", "3", "1"], ["EXISTS", "{l}t"],
    ["RPUSH", "{l}p", "a", "b", "c", "1", "2", "3", "c", "c"], ["LPOS", "{l}p", "c"], ["LPOS", "{l}p", "c", "RANK", "2"],
    ["LPOS", "{l}p", "c", "RANK", "-1"], ["LPOS", "{l}p", "c", "COUNT", "0"], ["LPOS", "{l}p", "c", "COUNT", "2"],
    ["LPOS", "{l}p", "c", "RANK", "-1", "COUNT", "2"], ["LPOS", "{l}p", "c", "MAXLEN", "3"],
    ["LPOS", "{l}p", "c", "COUNT", "x"], ["LPOS", "{l}p", "c", "MAXLEN", "1.5"],  # fuzzer finds
    ["LPOS", "{l}p", "c", "COUNT", "99999999999999999999"], ["LPOS", "{l}p", "c", "RANK", "x"],
    ["LPOS", "{l}p", "c", "MAXLEN", "3", "RANK", "-1"], ["LPOS", "{l}p", "c", "RANK", "-1", "MAXLEN", "1", "COUNT", "0"],
    ["LPOS", "{l}p", "zz"], ["LPOS", "{l}p", "zz", "COUNT", "1"], ["LPOS", "{l}p", "c", "RANK", "0"],
    ["LPOS", "{l}p", "c", "RANK", "x"], ["LPOS", "{l}p", "c", "COUNT", "-1"], ["LPOS", "{l}p", "c", "MAXLEN", "-1"],
    ["LPOS", "{l}p", "c", "BOGUS", "1"], ["LPOS", "{l}p", "c", "RANK"], ["LPOS", "nokey", "c"],
    ["LPOS", "nokey", "c", "COUNT", "0"], ["LPOS", "{l}p", "c", "RANK", "-9223372036854775808"],
    ["LPOS", "{l}p", "3"], ["LPOS", "{l}p", "c", "RANK", "9"],
    # LMOVE / RPOPLPUSH
    ["RPUSH", "{l}src", "1", "2", "3"], ["LMOVE", "{l}src", "{l}dst", "LEFT", "RIGHT"],
    ["LMOVE", "{l}src", "{l}dst", "right", "left"], ["LRANGE", "{l}dst", "0", "-1"], ["RPOPLPUSH", "{l}src", "{l}dst"],
    ["EXISTS", "{l}src"], ["LRANGE", "{l}dst", "0", "-1"], ["LMOVE", "{l}dst", "{l}dst", "LEFT", "RIGHT"],
    ["LRANGE", "{l}dst", "0", "-1"], ["LMOVE", "nokey{l}", "{l}dst", "LEFT", "LEFT"], ["RPOPLPUSH", "nokey{l}", "{l}dst"],
    ["LMOVE", "{l}dst", "{l}dst", "UP", "LEFT"], ["SET", "{l}str", "v"], ["LMOVE", "{l}dst", "{l}str", "LEFT", "LEFT"],
    ["LMOVE", "nokey{l}", "{l}str", "LEFT", "LEFT"], ["LMOVE", "{l}str", "{l}dst", "LEFT", "LEFT"],
    ["RPOPLPUSH", "{l}dst", "{l}new"], ["LRANGE", "{l}new", "0", "-1"],
    # wrong types
    ["LPUSH", "{l}str", "a"], ["RPUSH", "{l}str", "a"], ["LPUSHX", "{l}str", "a"], ["LPOP", "{l}str"],
    ["RPOP", "{l}str", "2"], ["LLEN", "{l}str"], ["LRANGE", "{l}str", "0", "1"], ["LINDEX", "{l}str", "0"],
    ["LSET", "{l}str", "0", "v"], ["LINSERT", "{l}str", "BEFORE", "a", "b"], ["LREM", "{l}str", "0", "a"],
    ["LTRIM", "{l}str", "0", "1"], ["LPOS", "{l}str", "a"], ["GET", "{l}new"], ["HSET", "{l}new", "a", "1"],
    ["LPUSH"], ["LPUSH", "k"], ["LINSERT", "k", "BEFORE", "a"],
    # LMPOP
    ["RPUSH", "{l}m1", "a", "b", "c"], ["RPUSH", "{l}m2", "x"], ["LMPOP", "2", "nokey{l}", "{l}m1", "LEFT"],
    ["LMPOP", "2", "{l}m1", "{l}m2", "RIGHT", "COUNT", "5"], ["LMPOP", "2", "{l}m1", "{l}m2", "LEFT", "COUNT", "5"],
    ["LMPOP", "2", "{l}m1", "{l}m2", "LEFT"], ["EXISTS", "{l}m1", "{l}m2"], ["LMPOP", "1", "{l}str", "LEFT"],
    ["LMPOP", "0", "{l}m1", "LEFT"], ["LMPOP", "x", "{l}m1", "LEFT"], ["LMPOP", "1", "{l}m1", "UP"],
    ["LMPOP", "3", "{l}m1", "LEFT"], ["LMPOP", "1", "{l}m1", "LEFT", "COUNT", "0"],
    ["LMPOP", "1", "{l}m1", "LEFT", "COUNT", "x"], ["LMPOP", "1", "{l}m1", "LEFT", "COUNT", "1", "COUNT", "2"],
    ["LMPOP", "1", "{l}m1", "LEFT", "BOGUS"], ["LMPOP", "1", "{l}m1"],
    ["COMMAND", "GETKEYS", "LMPOP", "2", "a", "b", "LEFT", "COUNT", "2"],
    ["DEBUG", "DIGEST-VALUE", "{l}dst"], ["DEBUG", "DIGEST"],
]


def test_lists(h):
    h.run(LISTS)
    h.done()


def test_lists_resp3(h):
    h.run([
        C(["HELLO", "3"]), ["RPUSH", "l", "a", "b"], ["RPUSH", "{l}", "x"],
        ["RPOPLPUSH", "{l}", "nokey{l}"], ["LRANGE", "nokey{l}", "0", "-1"], ["LPOP", "nokey"], ["LPOP", "nokey", "2"], ["LPOP", "l", "0"],
        ["LRANGE", "l", "0", "-1"], ["LPOS", "nokey", "a"], ["LINDEX", "l", "9"], ["LMOVE", "nokey{l}", "l", "LEFT", "LEFT"],
        ["LMPOP", "1", "l", "LEFT"], ["LMPOP", "1", "nokey", "LEFT"],
    ])
    h.done()


def test_dump_restore_lists(h):
    p = h.pair()
    cases = {
        "small": ["a", "1", "-4097", "9223372036854775807", "", "hello"],
        "nodes": ["element-%d" % i for i in range(2000)],
        "bigitems": ["x" * 3000, "y" * 5000, "z" * 100],
    }
    for key, items in cases.items():
        h.run([["RPUSH", key] + items, ["OBJECT", "ENCODING", key], ["DUMP", key]], p)
        for conn in (p.r, p.s):
            payload = conn.call("DUMP", key)[1]
            h.run([["RESTORE", "copy", "0", payload, "REPLACE"], ["OBJECT", "ENCODING", "copy"],
                   ["LRANGE", "copy", "0", "-1"], ["DEBUG", "DIGEST-VALUE", "copy"]], p)
    h.run([["RENAME", "small", "{x}moved"], ["LRANGE", "{x}moved", "0", "-1"], ["DEBUG", "DIGEST"]], p)
    h.done()


def _core_keys(prefix, count, core, cores=2):
    """Keys whose slot lands on `core` of `cores` (slot % cores), for cross-core sequences."""
    import binascii
    found, i = [], 0
    while len(found) < count:
        key = "%s%d" % (prefix, i)
        if binascii.crc_hqx(key.encode(), 0) % 16384 % cores == core:
            found.append(key)
        i += 1
    return found


A0, B0 = _core_keys("c0_", 2, 0)
A1, B1 = _core_keys("c1_", 2, 1)

ACROSS_CORES = [
    ["SADD", A0, "1", "2", "3", "x"], ["SADD", A1, "2", "3", "4"], ["SADD", B1, "3", "x", "9"],
    C(["SINTER", A0, A1], rule=sorted_items), C(["SINTER", A0, A1, B1], rule=sorted_items),
    C(["SUNION", A0, A1], rule=sorted_items), C(["SDIFF", A0, A1, B1], rule=sorted_items),
    ["SINTER", A0, "nokey"], ["SINTERCARD", "2", A0, A1], ["SINTERCARD", "3", A0, A1, B1, "LIMIT", "1"],
    ["SINTERSTORE", B0, A0, A1], C(["SMEMBERS", B0], rule=sorted_items), ["OBJECT", "ENCODING", B0],
    ["SUNIONSTORE", B0, A0, B1], C(["SMEMBERS", B0], rule=sorted_items), ["OBJECT", "ENCODING", B0],
    ["SDIFFSTORE", B0, A0, A0], ["EXISTS", B0], ["SUNIONSTORE", A0, A0, A1], C(["SMEMBERS", A0], rule=sorted_items),
    ["SET", B0, "str"], ["SINTER", A1, B0], ["SUNIONSTORE", A1, B0], ["SINTERCARD", "2", A1, B0],
    ["SMOVE", A1, A0, "4"], ["SMOVE", A1, A0, "nope"], ["SMOVE", "nokey", A0, "1"], ["SMOVE", A1, B0, "2"],
    ["SMOVE", B0, A1, "2"], C(["SMEMBERS", A1], rule=sorted_items), ["SMOVE", A1, "fresh", "2"],
    ["DEL", B0],
    ["RPUSH", B0, "a", "b", "c"], ["LMOVE", B0, A1, "LEFT", "RIGHT"], ["RPUSH", B1, "q"],
    ["LMOVE", B0, B1, "LEFT", "RIGHT"], ["RPOPLPUSH", B0, B1], ["LRANGE", B1, "0", "-1"], ["EXISTS", B0],
    ["RPOPLPUSH", B0, B1], ["LMOVE", B1, B0, "RIGHT", "UP"], ["LMOVE", B1, B0, "RIGHT", "LEFT"],
    ["LRANGE", B0, "0", "-1"], ["LMPOP", "3", "nokey", A0, B0, "LEFT"], ["LMPOP", "2", "nokey", B1, "RIGHT", "COUNT", "9"],
    ["LMPOP", "2", "nokey", B1, "LEFT"], ["LMPOP", "2", B0, B1, "LEFT", "COUNT", "0"],
    ["DEBUG", "DIGEST"],
]


def test_collections_across_cores(h):
    h.run(ACROSS_CORES)
    h.done()


GENERIC_ON_COLLECTIONS = [
    ["HSET", "h", "a", "1"], ["SADD", "s", "1", "x"], ["RPUSH", "l", "a"], ["SET", "str", "v"],
    ["SADD", "si", "1", "2"],
    ["DEBUG", "OBJECT", "h"], ["DEBUG", "OBJECT", "s"], ["DEBUG", "OBJECT", "l"], ["DEBUG", "OBJECT", "si"],
    ["MEMORY", "USAGE", "h"], ["MEMORY", "USAGE", "s"], ["MEMORY", "USAGE", "l"],
    ["OBJECT", "REFCOUNT", "h"], ["OBJECT", "REFCOUNT", "si"],
    ScanAll(["TYPE", "hash"]), ScanAll(["TYPE", "set"]), ScanAll(["TYPE", "list"]), ScanAll(["TYPE", "string"]),
    ["EXPIRE", "h", "100"], ["TTL", "h"], ["COPY", "h", "h2"], ["TTL", "h2"], ["HGETALL", "h2"],
    ["RENAME", "s", "s2"], C(["SMEMBERS", "s2"], rule=sorted_items), ["TYPE", "s2"],
    ["DEL", "h", "l"], ["EXISTS", "h", "l", "s2", "h2"], ["DBSIZE"], ["DEBUG", "DIGEST"],
    ["SET", "s2", "now a string"], ["TYPE", "s2"], ["HSET", "str", "a", "1"], ["GETDEL", "si"],
    ["INCR", "si"], ["GETRANGE", "si", "0", "1"], ["STRLEN", "si"], ["LCS", "si", "str"],
]


def test_generic_commands_on_collections(h):
    h.run(GENERIC_ON_COLLECTIONS)
    h.done()


def _crc64(data):
    """Redis's CRC64 (Jones polynomial, reflected, init 0), for hand-made payloads."""
    poly, crc = 0x95AC9329AC4BC9B5, 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ poly if crc & 1 else crc >> 1
    return crc


def _payload(type_byte, body):
    data = bytes([type_byte]) + body + (9).to_bytes(2, "little")  # RDB 9: Redis 6.x
    return data + _crc64(data).to_bytes(8, "little")


def _rdb_string(blob):
    assert len(blob) < 16384
    head = bytes([len(blob)]) if len(blob) < 64 else bytes([0x40 | (len(blob) >> 8), len(blob) & 0xFF])
    return head + blob


def _ziplist(entries):
    """A ziplist as Redis 6 wrote it, for str/int entries."""
    body, prev = b"", 0
    for e in entries:
        prevlen = bytes([prev]) if prev < 254 else b"\xfe" + prev.to_bytes(4, "little")
        if isinstance(e, int):
            if 0 <= e <= 12:
                enc = bytes([0xF1 + e])
            elif -128 <= e <= 127:
                enc = b"\xfe" + e.to_bytes(1, "little", signed=True)
            elif -32768 <= e <= 32767:
                enc = b"\xc0" + e.to_bytes(2, "little", signed=True)
            else:
                enc = b"\xe0" + e.to_bytes(8, "little", signed=True)
        elif len(e) < 64:
            enc = bytes([len(e)]) + e
        else:
            enc = bytes([0x40 | (len(e) >> 8), len(e) & 0xFF]) + e
        entry = prevlen + enc
        body += entry
        prev = len(entry)
    total = 10 + len(body) + 1
    return total.to_bytes(4, "little") + (total - prev - 1).to_bytes(4, "little") + \
        len(entries).to_bytes(2, "little") + body + b"\xff"


def test_restore_redis6_ziplist_payloads(h):
    hash_zl = _ziplist([b"a", 1, b"b", b"hello", b"n", -300, b"big", 2 ** 40, b"s", 7])
    list_zl = _ziplist([b"x", 5, b"y" * 70, -1])
    quicklist = bytes([2]) + _rdb_string(_ziplist([b"p", 1])) + _rdb_string(_ziplist([b"q", 200]))
    payloads = {
        "zhash": _payload(13, _rdb_string(hash_zl)),
        "zlist": _payload(10, _rdb_string(list_zl)),
        "qlist": _payload(14, quicklist),
    }
    p = h.pair()
    for key, payload in payloads.items():
        h.run([["RESTORE", key, "0", payload], ["TYPE", key], ["OBJECT", "ENCODING", key],
               ["DEBUG", "DIGEST-VALUE", key]], p)
    h.run([["HGETALL", "zhash"], ["LRANGE", "zlist", "0", "-1"], ["LRANGE", "qlist", "0", "-1"],
           ["RESTORE", "bad", "0", _payload(13, _rdb_string(hash_zl[:-3] + b"\xff"))]], p)
    h.done()


def _scan_all(conn, command, key, count):
    """Drives HSCAN/SSCAN/ZSCAN to cursor 0: every element returned (pairs flattened), the calls."""
    cursor, elements, calls = b"0", [], 0
    while True:
        reply = conn.call(command, key, cursor, "COUNT", str(count))
        assert reply[0] == "*", reply
        cursor, page = reply[1][0][1], [item[1] for item in reply[1][1][1]]
        elements.extend(page)
        calls += 1
        if cursor == b"0" or calls > 100000:
            return elements, calls


def test_scans_of_large_collections_page(h):
    """HSCAN, SSCAN and ZSCAN of table-encoded collections (2000 elements) page with a cursor:
    driven to cursor 0 they return exactly the elements redis's do, each once, in more than one
    call; small encodings answer in one call, as redis's do."""
    p = h.pair()
    n = 2000
    h.run([
        ["HSET", "{p}h"] + sum([["f%d" % i, "v%d" % i] for i in range(n)], []),
        ["SADD", "{p}s"] + ["m%d" % i for i in range(n)],
        ["ZADD", "{p}z"] + sum([[str(i % 7), "m%d" % i] for i in range(n)], []),
        ["HSET", "{p}small", "a", "1"], ["SADD", "{p}ints", "1", "2"], ["ZADD", "{p}zsmall", "1", "a"],
        ["OBJECT", "ENCODING", "{p}h"], ["OBJECT", "ENCODING", "{p}s"], ["OBJECT", "ENCODING", "{p}z"],
    ], p)
    for command, key, pairs in (("HSCAN", "{p}h", True), ("SSCAN", "{p}s", False), ("ZSCAN", "{p}z", True),
                                ("HSCAN", "{p}small", True), ("SSCAN", "{p}ints", False),
                                ("ZSCAN", "{p}zsmall", True)):
        got = []
        for conn in (p.r, p.s):
            elements, calls = _scan_all(conn, command, key, 10)
            if pairs:
                elements = list(zip(elements[::2], elements[1::2]))
            got.append((elements, calls))
        (r_elements, r_calls), (s_elements, s_calls) = got
        big = not key.endswith(("small", "ints"))
        h.compare([command, key, "... to cursor 0"], ("set", sorted(set(r_elements))),
                  ("set", sorted(set(s_elements))))
        h.compare([command, key, "... each element once"], ("once", True),
                  ("once", len(s_elements) == len(set(s_elements))))
        h.compare([command, key, "... pages"], ("paged", r_calls > 1 if big else r_calls == 1),
                  ("paged", s_calls > 1 if big else s_calls == 1))
    h.done()
