"""Differential sequences for sorted sets (ZSETs): every command with its options and errors,
score parsing and formatting (inf, -0, NaN), encodings, DUMP/RESTORE both ways, RESP3 replies and
the multi-key forms with keys on different cores.

Same harness as test_differential.py: each step goes to redis-server 7.0 and to slotcore and the
typed replies must be equal.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from test_differential import C, E, Gap, ScanAll, h  # noqa: E402,F401  (h is the pytest fixture)
from test_types import _core_keys, _crc64, _rdb_string, _ziplist, command_info_head  # noqa: E402


def _flat(r):
    """The elements of an array reply, RESP3 pairs flattened."""
    out = []
    for x in r[1]:
        out.extend(x[1] if x[0] == "*" else [x])
    return out


def random_members(members, withscores=False):
    """ZRANDMEMBER: reply type, element count, and every member one of `members` (with its
    right score when WITHSCORES)."""
    def rule(ra, rb, args, h):
        def f(r):
            if r[0] == "$":
                return ("member", r[1].decode() in members)
            if r[0] in ("*", "~"):
                flat = _flat(r)
                names = flat[::2] if withscores else flat
                ok = all(n[1].decode() in members for n in names)
                if withscores:
                    ok = ok and all(_score(s) == members[n[1].decode()] for n, s in zip(flat[::2], flat[1::2]))
                return ("elements", len(r[1]), [x[0] for x in r[1][:1]], ok)
            return r
        return f(ra), f(rb)
    return rule


def _score(reply):
    return reply[1] if reply[0] == "," else float(reply[1])


def zscan_rule(ra, rb, args, h):
    """ZSCAN of a one-page scan: compare the (member, score) pairs as a set."""
    def f(r):
        if r[0] != "*" or len(r[1]) != 2:
            return r
        items = r[1][1][1]
        return ("scan", r[1][0], sorted(zip(items[::2], items[1::2]), key=repr))
    return f(ra), f(rb)


BASICS = [
    ["ZADD", "z", "1", "a", "2", "b", "3", "c"], ["ZADD", "z", "1", "a"], ["ZCARD", "z"], ["TYPE", "z"],
    ["OBJECT", "ENCODING", "z"], ["ZSCORE", "z", "a"], ["ZSCORE", "z", "nope"], ["ZSCORE", "nokey", "a"],
    ["ZMSCORE", "z", "a", "nope", "c"], ["ZMSCORE", "nokey", "a", "b"], ["ZCARD", "nokey"],
    # options and their errors
    ["ZADD", "z", "NX", "10", "a", "4", "d"], ["ZSCORE", "z", "a"], ["ZADD", "z", "XX", "10", "a", "5", "e"],
    ["ZSCORE", "z", "e"], ["ZADD", "z", "CH", "11", "a", "3", "c", "6", "f"], ["ZADD", "z", "GT", "CH", "1", "a", "20", "b"],
    ["ZADD", "z", "LT", "CH", "1", "a", "30", "b"], ["ZADD", "z", "XX", "GT", "CH", "0", "c", "100", "c"],
    ["ZADD", "z", "NX", "XX", "1", "a"], ["ZADD", "z", "NX", "GT", "1", "a"], ["ZADD", "z", "GT", "LT", "1", "a"],
    ["ZADD", "z", "INCR", "1", "a", "2", "b"], ["ZADD", "z", "1"], ["ZADD", "z", "1", "a", "2"], ["ZADD", "z"],
    ["ZADD", "z", "NX"], ["ZADD", "z", "x", "a"], ["ZADD", "z", "nan", "a"], ["ZADD", "z", "1", "a", "bad", "b"],
    ["ZADD", "z", "1e400", "a"], ["ZADD", "z", " 1", "a"], ["ZADD", "z", "1 ", "a"], ["ZADD", "z", "", "a"],
    ["ZADD", "z", "INCR", "5", "a"], ["ZADD", "z", "INCR", "NX", "5", "a"], ["ZADD", "z", "INCR", "XX", "5", "new"],
    ["ZADD", "z", "INCR", "GT", "-5", "a"], ["ZADD", "z", "INCR", "LT", "-5", "a"], ["ZADD", "z", "INCR", "0", "a"],
    ["ZADD", "nokey", "XX", "1", "a"], ["ZADD", "nokey", "XX", "INCR", "1", "a"], ["EXISTS", "nokey"],
    ["ZADD", "z", "nx", "ch", "incr", "1", "brandnew"],
    ["ZINCRBY", "z", "2.5", "a"], ["ZINCRBY", "z", "1", "fresh"], ["ZINCRBY", "z", "x", "a"], ["ZINCRBY", "z", "NX", "a"],
    ["ZINCRBY", "z", "nan", "a"], ["ZINCRBY", "nokey2", "-3", "m"], ["ZSCORE", "nokey2", "m"],
    ["ZRANGE", "z", "0", "-1", "WITHSCORES"],
    # scores: infinities, signed zero, formatting
    ["ZADD", "s", "inf", "pinf", "-inf", "ninf", "+inf", "pinf2", "-0", "nzero", "0.1", "tenth", "1e20", "big",
     "3", "three", "-2.5e-7", "tiny", "4503599627370496", "two52", "1.5E3", "upper"],
    ["ZRANGE", "s", "0", "-1", "WITHSCORES"], ["ZSCORE", "s", "nzero"], ["ZSCORE", "s", "tiny"],
    ["ZSCORE", "s", "ninf"], ["DUMP", "s"], ["ZINCRBY", "s", "-inf", "pinf"], ["ZINCRBY", "s", "inf", "pinf"],
    ["ZADD", "s", "INCR", "-inf", "pinf"], ["ZINCRBY", "s", "1", "pinf"], ["ZSCORE", "s", "pinf"],
    ["ZADD", "s", "INFINITY", "w", "-Infinity", "w2"], ["ZSCORE", "s", "w"], ["ZSCORE", "s", "w2"],
    ["ZADD", "s", "0x10", "hex", "-0X1.8p1", "hex2", "1e-310", "denormal"], ["ZSCORE", "s", "hex"], ["ZSCORE", "s", "hex2"],
    ["ZSCORE", "s", "denormal"], ["ZADD", "s", "0x", "h"], ["ZADD", "s", "0xg", "h"], ["ZADD", "s", "1e308", "h", "1e309", "i"],
    ["ZCOUNT", "s", " 1", "(0x20"], ["ZCOUNT", "s", "1e999", "+inf"],
    # ZREM, ZRANK
    ["ZRANK", "z", "a"], ["ZRANK", "z", "nope"], ["ZRANK", "nokey", "a"], ["ZREVRANK", "z", "a"],
    ["ZREVRANK", "z", "nope"], ["ZRANK", "z"], ["ZRANK", "z", "a", "WITHSCORE"],
    ["ZREM", "z", "a", "nope", "b"], ["ZREM", "nokey", "a"], ["ZRANGE", "z", "0", "-1"],
    ["ZADD", "gone", "1", "x"], ["ZREM", "gone", "x"], ["EXISTS", "gone"],
    # wrong types
    ["SET", "str", "v"], ["ZADD", "str", "1", "a"], ["ZSCORE", "str", "a"], ["ZRANGE", "str", "0", "1"],
    ["ZCARD", "str"], ["ZREM", "str", "a"], ["ZINCRBY", "str", "1", "a"], ["ZMSCORE", "str", "a"],
    ["ZRANK", "str", "a"], ["ZCOUNT", "str", "0", "1"], ["ZPOPMIN", "str"], ["ZRANDMEMBER", "str"],
    ["ZSCAN", "str", "0"], ["ZREMRANGEBYRANK", "str", "0", "1"], ["ZLEXCOUNT", "str", "-", "+"],
    ["ZRANGESTORE", "dst", "str", "0", "-1"], ["ZADD", "str", "XX", "1", "a"], ["ZADD", "str", "bad", "a"],
    ["ZCOUNT", "str", "bad", "1"],
    ["DEBUG", "DIGEST-VALUE", "z"], ["DEBUG", "DIGEST-VALUE", "s"], ["DEBUG", "DIGEST"],
]


def test_zset_basics(h):
    h.run(BASICS)
    h.done()


RANGES = [
    ["ZADD", "r", "1", "a", "2", "b", "2", "bb", "3", "c", "4", "d", "5", "e", "-inf", "lo", "inf", "hi"],
    ["ZRANGE", "r", "0", "-1"], ["ZRANGE", "r", "0", "-1", "WITHSCORES"], ["ZRANGE", "r", "2", "4"],
    ["ZRANGE", "r", "-3", "-1"], ["ZRANGE", "r", "-100", "1"], ["ZRANGE", "r", "5", "2"], ["ZRANGE", "r", "20", "30"],
    ["ZRANGE", "r", "0", "-1", "REV"], ["ZRANGE", "r", "1", "2", "REV", "WITHSCORES"], ["ZREVRANGE", "r", "0", "2"],
    ["ZREVRANGE", "r", "-2", "-1", "WITHSCORES"], ["ZREVRANGE", "r", "0", "1", "LIMIT", "0", "1"],
    ["ZRANGE", "r", "a", "1"], ["ZRANGE", "r", "0", "1", "LIMIT", "0", "1"], ["ZRANGE", "r", "0", "1", "BOGUS"],
    ["ZRANGE", "r", "0", "1", "REV", "REV"], ["ZRANGE", "r", "0", "1", "BYSCORE", "BYLEX"],
    ["ZRANGE", "r", "(1", "3", "BYSCORE"], ["ZRANGE", "r", "(1", "(3", "BYSCORE", "WITHSCORES"],
    ["ZRANGE", "r", "-inf", "+inf", "BYSCORE", "LIMIT", "2", "3"], ["ZRANGE", "r", "-inf", "+inf", "BYSCORE", "LIMIT", "1", "-1"],
    ["ZRANGE", "r", "-inf", "+inf", "BYSCORE", "LIMIT", "-1", "2"], ["ZRANGE", "r", "-inf", "+inf", "BYSCORE", "LIMIT", "100", "2"],
    ["ZRANGE", "r", "-inf", "+inf", "BYSCORE", "LIMIT", "0", "0"], ["ZRANGE", "r", "5", "1", "BYSCORE", "REV"],
    ["ZRANGE", "r", "5", "(2", "BYSCORE", "REV", "LIMIT", "1", "2", "WITHSCORES"], ["ZRANGE", "r", "x", "1", "BYSCORE"],
    ["ZRANGE", "r", "1", "nan", "BYSCORE"], ["ZRANGE", "r", "(", "3", "BYSCORE"], ["ZRANGE", "r", "", "3", "BYSCORE"],
    ["ZRANGE", "r", "2", "2", "BYSCORE"], ["ZRANGE", "r", "(2", "2", "BYSCORE"], ["ZRANGE", "r", "3", "1", "BYSCORE"],
    ["ZRANGEBYSCORE", "r", "-inf", "+inf"], ["ZRANGEBYSCORE", "r", "2", "4", "WITHSCORES", "LIMIT", "1", "10"],
    ["ZRANGEBYSCORE", "r", "2", "4", "REV"], ["ZRANGEBYSCORE", "r", "2", "4", "BYSCORE"], ["ZRANGEBYSCORE", "r", "2"],
    ["ZREVRANGEBYSCORE", "r", "+inf", "-inf"], ["ZREVRANGEBYSCORE", "r", "4", "(2", "WITHSCORES"],
    ["ZREVRANGEBYSCORE", "r", "2", "4"], ["ZREVRANGEBYSCORE", "r", "+inf", "-inf", "LIMIT", "1", "2"],
    ["ZRANGEBYSCORE", "r", "1", "2", "LIMIT", "1"], ["ZRANGEBYSCORE", "r", "1", "2", "LIMIT", "x", "1"],
    ["ZCOUNT", "r", "-inf", "+inf"], ["ZCOUNT", "r", "(1", "3"], ["ZCOUNT", "r", "3", "1"], ["ZCOUNT", "r", "a", "1"],
    ["ZCOUNT", "nokey", "0", "1"], ["ZCOUNT", "nokey", "x", "1"],
    ["ZADD", "lex", "0", "a", "0", "b", "0", "c", "0", "d", "0", "e", "0", "f", "0", "ab", "0", ""],
    ["ZRANGE", "lex", "-", "+", "BYLEX"], ["ZRANGE", "lex", "[b", "(e", "BYLEX"], ["ZRANGE", "lex", "(a", "[c", "BYLEX"],
    ["ZRANGE", "lex", "+", "-", "BYLEX", "REV"], ["ZRANGE", "lex", "[e", "(b", "BYLEX", "REV", "LIMIT", "1", "2"],
    ["ZRANGE", "lex", "-", "+", "BYLEX", "WITHSCORES"], ["ZRANGE", "lex", "a", "c", "BYLEX"], ["ZRANGE", "lex", "[", "[c", "BYLEX"],
    ["ZRANGEBYLEX", "lex", "-", "+", "LIMIT", "2", "3"], ["ZRANGEBYLEX", "lex", "+", "-"], ["ZRANGEBYLEX", "lex", "[c", "[a"],
    ["ZRANGEBYLEX", "lex", "-", "+", "WITHSCORES"], ["ZREVRANGEBYLEX", "lex", "+", "-"], ["ZREVRANGEBYLEX", "lex", "[d", "(a"],
    ["ZREVRANGEBYLEX", "lex", "+", "-", "LIMIT", "0", "2"], ["ZREVRANGEBYLEX", "lex", "-", "+"],
    ["ZLEXCOUNT", "lex", "-", "+"], ["ZLEXCOUNT", "lex", "[b", "(d"], ["ZLEXCOUNT", "lex", "b", "d"], ["ZLEXCOUNT", "nokey", "-", "+"],
    ["ZRANGE", "nokey", "0", "-1"], ["ZRANGE", "nokey", "0", "-1", "WITHSCORES"], ["ZRANGE", "nokey", "x", "1"],
    # lex ranges over a listpack with mixed scores follow Redis's walk
    ["ZADD", "mixed", "1", "d", "2", "a", "3", "c", "4", "b", "5", "e"], ["ZRANGE", "mixed", "[b", "[d", "BYLEX"],
    ["ZRANGE", "mixed", "[d", "[b", "BYLEX", "REV"], ["ZLEXCOUNT", "mixed", "[a", "[c"], ["ZRANGE", "mixed", "(a", "+", "BYLEX"],
    ["ZRANGE", "mixed", "[a", "[a", "BYLEX"], ["ZRANGE", "mixed", "(a", "[a", "BYLEX"], ["ZRANGE", "mixed", "+", "+", "BYLEX"],
    ["ZREMRANGEBYLEX", "mixed", "[a", "[c"], ["ZRANGE", "mixed", "0", "-1"],
    # ZRANGESTORE
    ["ZRANGESTORE", "{r}d", "r", "0", "2"], ["ZRANGE", "{r}d", "0", "-1", "WITHSCORES"], ["OBJECT", "ENCODING", "{r}d"],
    ["ZRANGESTORE", "{r}d", "r", "5", "(2", "BYSCORE", "REV", "LIMIT", "0", "2"], ["ZRANGE", "{r}d", "0", "-1", "WITHSCORES"],
    ["ZRANGESTORE", "{r}d", "lex", "[b", "[d", "BYLEX"], ["ZRANGE", "{r}d", "0", "-1"],
    ["ZRANGESTORE", "{r}d", "r", "0", "1", "WITHSCORES"], ["ZRANGESTORE", "{r}d", "r", "10", "20"], ["EXISTS", "{r}d"],
    ["SET", "{r}d", "str"], ["EXPIRE", "{r}d", "100"], ["ZRANGESTORE", "{r}d", "r", "0", "0"], ["TTL", "{r}d"],
    ["ZRANGESTORE", "{r}d", "nokey", "0", "-1"], ["EXISTS", "{r}d"], ["ZRANGESTORE", "{r}d", "r", "0"],
    # removals by range
    ["ZREMRANGEBYRANK", "r", "0", "0"], ["ZREMRANGEBYRANK", "r", "-1", "-1"], ["ZREMRANGEBYRANK", "r", "5", "1"],
    ["ZREMRANGEBYRANK", "r", "x", "1"], ["ZREMRANGEBYRANK", "nokey", "0", "1"], ["ZRANGE", "r", "0", "-1"],
    ["ZREMRANGEBYSCORE", "r", "(2", "3"], ["ZREMRANGEBYSCORE", "r", "x", "3"], ["ZREMRANGEBYSCORE", "nokey", "x", "3"],
    ["ZRANGE", "r", "0", "-1", "WITHSCORES"], ["ZREMRANGEBYLEX", "lex", "[b", "(e"], ["ZREMRANGEBYLEX", "lex", "b", "e"],
    ["ZRANGE", "lex", "0", "-1"], ["ZREMRANGEBYSCORE", "r", "-inf", "+inf"], ["EXISTS", "r"],
    ["ZREMRANGEBYLEX", "lex", "-", "+"], ["EXISTS", "lex"],
]


def test_zset_ranges(h):
    h.run(RANGES)
    h.done()


MEMBERS = {"a": 1.0, "b": 2.0, "c": 3.0, "d": 4.0, "e": 5.0}

POPS = [
    ["ZADD", "p", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e"],
    ["ZPOPMIN", "p"], ["ZPOPMAX", "p"], ["ZPOPMIN", "p", "2"], ["ZPOPMAX", "p", "0"], ["ZPOPMAX", "p", "10"],
    ["EXISTS", "p"], ["ZPOPMIN", "p"], ["ZPOPMIN", "p", "2"], ["ZPOPMIN", "p", "-1"], ["ZPOPMIN", "p", "x"],
    ["ZPOPMIN", "p", "1", "2"], ["ZPOPMIN", "nokey", "0"],
    ["ZADD", "p", "1", "a", "2", "b", "3", "c"], ["ZADD", "{p}2", "9", "z"],
    ["ZMPOP", "2", "nokey", "p", "MIN"], ["ZMPOP", "2", "p", "{p}2", "MAX", "COUNT", "10"], ["ZMPOP", "1", "nokey", "MIN"],
    ["ZMPOP", "0", "p", "MIN"], ["ZMPOP", "x", "p", "MIN"], ["ZMPOP", "1", "p", "SIDEWAYS"], ["ZMPOP", "5", "p", "MIN"],
    ["ZMPOP", "1", "p", "MIN", "COUNT", "0"], ["ZMPOP", "1", "p", "MIN", "COUNT", "1", "COUNT", "1"],
    ["ZMPOP", "1", "p", "MIN", "COUNT"], ["ZMPOP", "1", "p", "max", "count", "2"], ["EXISTS", "p"],
    ["SET", "{p}s", "x"], ["ZMPOP", "2", "{p}s", "{p}2", "MIN"], ["ZMPOP", "2", "nokey", "{p}s", "MIN"],
    # ZRANDMEMBER: random picks, checked against the members
    ["ZADD", "q", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e"],
    ["ZRANDMEMBER", "nokey"], ["ZRANDMEMBER", "nokey", "3"], ["ZRANDMEMBER", "q", "0"], ["ZRANDMEMBER", "q", "x"],
    ["ZRANDMEMBER", "q", "1", "WITHSCORE"], ["ZRANDMEMBER", "q", "1", "WITHSCORES", "x"],
    ["ZRANDMEMBER", "q", "-9223372036854775808"], ["ZRANDMEMBER", "q", "9223372036854775807", "WITHSCORES"],
    C(["ZRANDMEMBER", "q"], rule=random_members(MEMBERS)),
    C(["ZRANDMEMBER", "q", "3"], rule=random_members(MEMBERS)),
    C(["ZRANDMEMBER", "q", "1"], rule=random_members(MEMBERS)),
    C(["ZRANDMEMBER", "q", "-8"], rule=random_members(MEMBERS)),
    ["ZRANDMEMBER", "q", "10"], ["ZRANDMEMBER", "q", "5", "WITHSCORES"],
    ["ZRANDMEMBER", "q", "-4611686018427387905", "WITHSCORES"], ["ZRANDMEMBER", "q", "4611686018427387904", "WITHSCORES"],
    C(["ZRANDMEMBER", "q", "3", "WITHSCORES"], rule=random_members(MEMBERS, True)),
    C(["ZRANDMEMBER", "q", "-7", "WITHSCORES"], rule=random_members(MEMBERS, True)),
    ["ZRANDMEMBER", "q", "9", "withscores"],
    # ZSCAN
    ["ZSCAN", "q", "0"], ["ZSCAN", "q", "0", "MATCH", "[a-c]"], ["ZSCAN", "q", "0", "COUNT", "100"],
    ["ZSCAN", "q", "x"], ["ZSCAN", "q", "0", "COUNT", "0"], ["ZSCAN", "q", "0", "MATCH"], ["ZSCAN", "nokey", "0"],
    ["ZADD", "q", "-0", "nz", "0.1", "f"], ["ZSCAN", "q", "0"],
]


def test_zset_pops_random_and_scan(h):
    h.run(POPS)
    h.done()


ALGEBRA = [
    ["ZADD", "{a}1", "1", "a", "2", "b", "3", "c"], ["ZADD", "{a}2", "10", "b", "20", "c", "30", "d"],
    ["SADD", "{a}s", "c", "d", "e"], ["SET", "{a}str", "x"],
    ["ZUNION", "2", "{a}1", "{a}2"], ["ZUNION", "2", "{a}1", "{a}2", "WITHSCORES"],
    ["ZUNION", "3", "{a}1", "{a}2", "{a}s", "WEIGHTS", "2", "0.5", "-1", "WITHSCORES"],
    ["ZUNION", "2", "{a}1", "{a}2", "AGGREGATE", "MIN", "WITHSCORES"], ["ZUNION", "2", "{a}1", "{a}2", "AGGREGATE", "max", "WITHSCORES"],
    ["ZINTER", "2", "{a}1", "{a}2", "WITHSCORES"], ["ZINTER", "3", "{a}1", "{a}2", "{a}s", "WITHSCORES"],
    ["ZINTER", "2", "{a}1", "{a}1", "WEIGHTS", "1", "2", "WITHSCORES"], ["ZINTER", "2", "{a}1", "{a}nokey"],
    ["ZDIFF", "2", "{a}1", "{a}2", "WITHSCORES"], ["ZDIFF", "1", "{a}1"], ["ZDIFF", "2", "{a}nokey", "{a}1"],
    ["ZDIFF", "2", "{a}1", "{a}2", "WEIGHTS", "1", "2"], ["ZDIFF", "2", "{a}1", "{a}2", "AGGREGATE", "SUM"],
    ["ZUNION", "0", "{a}1"], ["ZUNION", "-1", "{a}1"], ["ZUNION", "x", "{a}1"], ["ZUNION", "3", "{a}1", "{a}2"],
    ["ZUNION", "2", "{a}1", "{a}2", "WEIGHTS", "1"], ["ZUNION", "2", "{a}1", "{a}2", "WEIGHTS", "1", "x"],
    ["ZUNION", "2", "{a}1", "{a}2", "AGGREGATE", "AVG"], ["ZUNION", "2", "{a}1", "{a}2", "AGGREGATE"],
    ["ZUNION", "2", "{a}1", "{a}str"], ["ZUNION", "2", "{a}str", "{a}1", "BOGUS"], ["ZUNION", "2", "{a}1", "{a}2", "BOGUS"],
    ["ZUNION", "2", "{a}1", "{a}2", "WEIGHTS", "nan", "1"], ["ZUNION", "2", "{a}1", "{a}2", "WEIGHTS", "inf", "0", "WITHSCORES"],
    ["ZADD", "{a}i", "inf", "x", "-inf", "y"], ["ZADD", "{a}j", "-inf", "x", "inf", "y"],
    ["ZUNION", "2", "{a}i", "{a}j", "WITHSCORES"], ["ZINTER", "2", "{a}i", "{a}j", "WITHSCORES"],
    ["ZUNION", "1", "{a}i", "WEIGHTS", "0", "WITHSCORES"],
    ["ZUNIONSTORE", "{a}d", "2", "{a}1", "{a}2"], ["ZRANGE", "{a}d", "0", "-1", "WITHSCORES"], ["OBJECT", "ENCODING", "{a}d"],
    ["ZINTERSTORE", "{a}d", "2", "{a}1", "{a}2", "WEIGHTS", "1", "2", "AGGREGATE", "MAX"], ["ZRANGE", "{a}d", "0", "-1", "WITHSCORES"],
    ["ZDIFFSTORE", "{a}d", "2", "{a}1", "{a}2"], ["ZRANGE", "{a}d", "0", "-1", "WITHSCORES"],
    ["ZDIFFSTORE", "{a}d", "2", "{a}1", "{a}1"], ["EXISTS", "{a}d"], ["ZUNIONSTORE", "{a}d", "1", "{a}nokey"],
    ["ZUNIONSTORE", "{a}d", "2", "{a}1", "{a}2", "WITHSCORES"], ["ZUNIONSTORE", "{a}d", "0", "{a}1"],
    ["ZUNIONSTORE", "{a}d", "3", "{a}1"], ["ZINTERSTORE", "{a}d", "2", "{a}1", "{a}str"],
    ["ZUNIONSTORE", "{a}1", "2", "{a}1", "{a}s"], ["ZRANGE", "{a}1", "0", "-1", "WITHSCORES"],
    ["ZINTERCARD", "2", "{a}1", "{a}2"], ["ZINTERCARD", "2", "{a}1", "{a}2", "LIMIT", "1"],
    ["ZINTERCARD", "2", "{a}1", "{a}2", "LIMIT", "0"], ["ZINTERCARD", "2", "{a}1", "{a}2", "LIMIT", "-1"],
    ["ZINTERCARD", "2", "{a}1", "{a}2", "LIMIT", "x"], ["ZINTERCARD", "0", "{a}1"], ["ZINTERCARD", "3", "{a}1", "{a}2"],
    ["ZINTERCARD", "2", "{a}1", "{a}2", "WITHSCORES"], ["ZINTERCARD", "2", "{a}1", "{a}str"],
    ["ZINTERCARD", "1", "{a}s"], ["ZINTERCARD", "2", "{a}1", "{a}nokey"],
    ["DEBUG", "DIGEST"],
]


def test_zset_algebra(h):
    h.run(ALGEBRA)
    h.done()


A0, B0 = _core_keys("z0_", 2, 0)
A1, B1 = _core_keys("z1_", 2, 1)

ACROSS_CORES = [
    ["ZADD", A0, "1", "a", "2", "b", "3", "c"], ["ZADD", A1, "10", "b", "20", "c", "30", "d"],
    ["SADD", B1, "c", "x"], ["SET", B0, "str"],
    ["ZUNION", "2", A0, A1, "WITHSCORES"], ["ZINTER", "3", A0, A1, B1, "WITHSCORES"],
    ["ZDIFF", "2", A0, A1, "WITHSCORES"], ["ZINTERCARD", "2", A0, A1], ["ZINTERCARD", "2", A0, A1, "LIMIT", "1"],
    ["ZUNION", "2", A0, B0], ["ZUNION", "2", A0, A1, "BOGUS"], ["ZUNION", "3", A0, A1],
    ["ZUNIONSTORE", B1, "2", A0, A1, "WEIGHTS", "1", "3"], ["ZRANGE", B1, "0", "-1", "WITHSCORES"], ["TYPE", B1],
    ["ZINTERSTORE", A1, "2", A0, A1, "AGGREGATE", "MIN"], ["ZRANGE", A1, "0", "-1", "WITHSCORES"],
    ["ZDIFFSTORE", B0, "2", A0, A1], ["ZRANGE", B0, "0", "-1", "WITHSCORES"], ["OBJECT", "ENCODING", B0],
    ["ZDIFFSTORE", B0, "2", A0, A0], ["EXISTS", B0], ["ZINTERSTORE", B0, "2", A0, "nokey"], ["EXISTS", B0],
    ["SET", A1, "str"], ["ZINTERSTORE", B0, "2", A0, A1], ["ZINTERCARD", "2", A0, A1],
    ["ZRANGESTORE", A1, A0, "0", "1"], ["ZRANGE", A1, "0", "-1", "WITHSCORES"],
    ["ZRANGESTORE", B1, A0, "+inf", "(1", "BYSCORE", "REV", "LIMIT", "0", "5"], ["ZRANGE", B1, "0", "-1", "WITHSCORES"],
    ["ZRANGESTORE", B1, A0, "0", "1", "LIMIT", "0", "1"], ["ZRANGESTORE", B1, "nokey", "0", "-1"], ["EXISTS", B1],
    ["SADD", B1, "m"], ["ZRANGESTORE", A1, B1, "0", "-1"],
    ["ZADD", B1 + "z", "5", "q"],
    ["ZMPOP", "3", "nokey", A0, B0, "MAX", "COUNT", "2"], ["ZMPOP", "2", B0, A0, "MIN"], ["ZMPOP", "2", "nokey", B1, "MIN"],
    ["ZMPOP", "2", A0, A1, "MIN", "COUNT", "5"], ["ZMPOP", "2", A0, "nokey", "MIN"], ["EXISTS", A0],
    ["DEBUG", "DIGEST"],
]


def test_zsets_across_cores(h):
    h.run(ACROSS_CORES)
    h.done()


RESP3 = [
    C(["HELLO", "3"]), ["ZADD", "z", "1", "a", "2.5", "b", "inf", "c", "-0", "d"], ["ZSCORE", "z", "b"], ["ZSCORE", "z", "c"],
    ["ZSCORE", "z", "d"], ["ZSCORE", "z", "nope"], ["ZMSCORE", "z", "a", "nope"], ["ZINCRBY", "z", "1", "a"],
    ["ZADD", "z", "INCR", "1", "a"], ["ZADD", "z", "XX", "INCR", "1", "nope"], ["ZRANGE", "z", "0", "-1"],
    ["ZRANGE", "z", "0", "-1", "WITHSCORES"], ["ZRANGEBYSCORE", "z", "-inf", "+inf", "WITHSCORES"],
    ["ZREVRANGE", "z", "0", "1", "WITHSCORES"], ["ZRANGE", "nokey", "0", "-1", "WITHSCORES"],
    ["ZPOPMIN", "z"], ["ZPOPMIN", "z", "1"], ["ZPOPMAX", "z", "5"], ["ZPOPMIN", "nokey"], ["ZPOPMIN", "nokey", "2"],
    ["ZADD", "z", "1", "a", "2", "b"], ["ZADD", "{z}2", "3", "b"],
    ["ZMPOP", "1", "z", "MIN"], ["ZMPOP", "1", "nokey", "MIN"], ["ZRANDMEMBER", "nokey"], ["ZRANDMEMBER", "{z}2", "1", "WITHSCORES"],
    ["ZRANDMEMBER", "{z}2", "-2", "WITHSCORES"], ["ZRANDMEMBER", "{z}2", "5", "WITHSCORES"], ["ZRANDMEMBER", "{z}2", "5"],
    ["ZUNION", "2", "z", "{z}2", "WITHSCORES"], ["ZINTER", "2", "z", "{z}2", "WITHSCORES"], ["ZDIFF", "1", "z", "WITHSCORES"],
    ["ZUNION", "2", "z", "{z}2"], ["ZSCAN", "z", "0"], ["ZRANK", "z", "b"], ["ZRANK", "z", "nope"],
]


def test_zsets_resp3(h):
    h.run(RESP3)
    h.done()


ENCODINGS = [
    ["ZADD", "e", "1", "a"], ["OBJECT", "ENCODING", "e"], ["ZADD", "e", "2", "b" * 64], ["OBJECT", "ENCODING", "e"],
    ["ZADD", "e", "3", "c" * 65], ["OBJECT", "ENCODING", "e"], ["ZREM", "e", "c" * 65], ["OBJECT", "ENCODING", "e"],
    ["ZADD", "n", "0", "m0"] + sum([[str(i), "m%d" % i] for i in range(1, 128)], []), ["OBJECT", "ENCODING", "n"],
    ["ZCARD", "n"], ["ZADD", "n", "128", "m128"], ["OBJECT", "ENCODING", "n"], ["ZRANK", "n", "m100"],
    ["ZRANGE", "n", "120", "-1", "WITHSCORES"], ["ZREVRANK", "n", "m3"], ["ZRANGE", "n", "(125", "+inf", "BYSCORE"],
    ["ZRANDMEMBER", "n", "200"], ["ZRANDMEMBER", "n", "129", "WITHSCORES"],
    Gap(["ZSCAN", "n", "0"], "ZSCAN pages a skiplist in hash order, not redis's bucket order (docs/COMPATIBILITY.md)"),
    Gap(["ZRANGE", "n", "[m1", "[m2", "BYLEX"], "lex range over a skiplist with mixed scores (docs/COMPATIBILITY.md)"),
    # Over mixed scores Redis still answers nothing when the first member is above the range or
    # the last below it, whatever its skiplist's levels (a fuzzer find).
    ["ZADD", "sk", "0", "m182", "0", "x" * 65, "1", "aa"], ["OBJECT", "ENCODING", "sk"],
    ["ZRANGEBYLEX", "sk", "-", "(c"], ["ZREVRANGEBYLEX", "sk", "(c", "-"], ["ZLEXCOUNT", "sk", "-", "(c"],
    ["ZRANGE", "sk", "(zz", "+", "BYLEX"], ["ZLEXCOUNT", "sk", "(zz", "+"], ["ZRANGEBYLEX", "sk", "[m182", "[m182"],
    ["ZREMRANGEBYLEX", "sk", "-", "(c"], ["ZCARD", "sk"],
    ["CONFIG", "SET", "zset-max-listpack-entries", "2"], ["CONFIG", "GET", "zset-max-listpack-entries"],
    ["CONFIG", "GET", "zset-max-ziplist-entries"], ["ZADD", "t", "1", "a", "2", "b"], ["OBJECT", "ENCODING", "t"],
    ["ZADD", "t", "3", "c"], ["OBJECT", "ENCODING", "t"], ["ZUNIONSTORE", "{t}u", "1", "t"], ["OBJECT", "ENCODING", "{t}u"],
    ["ZRANGESTORE", "{t}u", "t", "0", "1"], ["OBJECT", "ENCODING", "{t}u"],
    ["CONFIG", "SET", "zset-max-listpack-entries", "0"], ["ZADD", "t0", "1", "a"], ["OBJECT", "ENCODING", "t0"],
    ["CONFIG", "SET", "zset-max-ziplist-entries", "128"], ["CONFIG", "SET", "zset-max-listpack-value", "3"],
    ["CONFIG", "GET", "zset-max-ziplist-value"], ["ZADD", "v", "1", "abc"], ["OBJECT", "ENCODING", "v"],
    ["ZADD", "v", "1", "abcd"], ["OBJECT", "ENCODING", "v"], ["ZUNIONSTORE", "{v}u", "1", "v"], ["OBJECT", "ENCODING", "{v}u"],
    ["CONFIG", "SET", "zset-max-ziplist-value", "64"], ["CONFIG", "SET", "zset-max-listpack-value", "x"],
    ["DEBUG", "DIGEST-VALUE", "n"], ["DEBUG", "DIGEST-VALUE", "e"], ["DEBUG", "DIGEST"],
    ["COPY", "n", "{x}n2"], ["ZRANGE", "{x}n2", "0", "2"], ["RENAME", "e", "{y}e2"], ["ZRANGE", "{y}e2", "0", "-1"],
    ["OBJECT", "ENCODING", "{y}e2"], ["ZREMRANGEBYRANK", "n", "1", "126"], ["ZRANGE", "n", "0", "-1"],
    ["OBJECT", "ENCODING", "n"], ["ZPOPMAX", "n", "2"], ["ZRANGE", "n", "0", "-1", "WITHSCORES"],
    ScanAll(["TYPE", "zset"]),
    C(["COMMAND", "INFO", "zadd", "zunionstore", "zrangestore", "zmpop", "zintercard", "zscan"], rule=command_info_head),
    ["COMMAND", "GETKEYS", "ZUNIONSTORE", "d", "2", "a", "b", "WEIGHTS", "1", "2"],
    ["COMMAND", "GETKEYS", "ZINTER", "2", "a", "b"], ["COMMAND", "GETKEYS", "ZRANGESTORE", "d", "s", "0", "1"],
    ["COMMAND", "GETKEYS", "ZMPOP", "2", "a", "b", "MIN"], ["COMMAND", "GETKEYS", "ZINTERCARD", "1", "a"],
    ["COMMAND", "GETKEYS", "ZDIFFSTORE", "d", "1", "a"], ["COMMAND", "GETKEYS", "ZUNIONSTORE", "d", "5", "a"],
]


def test_zset_encodings(h):
    h.run(ENCODINGS)
    h.done()


def test_zset_large_sets(h):
    """A skiplist-encoded set of a few thousand members: ranks and ranges by rank, score, lex."""
    p = h.pair()
    for start in range(0, 3000, 500):
        args = ["ZADD", "big"]
        for i in range(start, start + 500):
            args += [str((i * 7919) % 3000 / 4), "m%05d" % i]
        h.run([args], p)
    steps = [["ZCARD", "big"], ["OBJECT", "ENCODING", "big"]]
    for member in ["m00000", "m01234", "m02999", "nope"]:
        steps += [["ZRANK", "big", member], ["ZREVRANK", "big", member], ["ZSCORE", "big", member]]
    steps += [
        ["ZRANGE", "big", "1000", "1010", "WITHSCORES"], ["ZRANGE", "big", "-5", "-1"],
        ["ZRANGE", "big", "(100", "110", "BYSCORE", "WITHSCORES"], ["ZRANGE", "big", "600", "590", "BYSCORE", "REV", "LIMIT", "2", "4"],
        ["ZCOUNT", "big", "100", "(200"], ["ZREMRANGEBYSCORE", "big", "100", "(200"], ["ZCARD", "big"],
        ["ZREMRANGEBYRANK", "big", "10", "1500"], ["ZRANGE", "big", "5", "15"], ["ZPOPMIN", "big", "3"], ["ZPOPMAX", "big", "3"],
        ["ZINCRBY", "big", "-1000", "m02999"], ["ZRANK", "big", "m02999"], ["DEBUG", "DIGEST-VALUE", "big"],
        ["ZUNIONSTORE", "{big}u", "1", "big", "WEIGHTS", "2"], ["OBJECT", "ENCODING", "{big}u"], ["ZRANGE", "{big}u", "0", "4", "WITHSCORES"],
    ]
    h.run(steps, p)
    h.done()


def _payload(type_byte, body, version=10):
    data = bytes([type_byte]) + body + version.to_bytes(2, "little")
    return data + _crc64(data).to_bytes(8, "little")


def test_dump_restore_zsets(h):
    p = h.pair()
    cases = {
        "lp": ["1", "a", "2.5", "b", "-0", "c", "1e20", "d", "inf", "e", "-inf", "f", "0.1", "g",
               "-4097", "h", "9007199254740993", "i", "3", "x" * 30],
        "lpn": sum([[str(i * 1.5), "m%d" % i] for i in range(100)], []),
        "skip": sum([[str(i / 3), "member-%d" % i] for i in range(300)], []),
        "long": ["1", "y" * 100, "-0", "z", "2", "ab" * 40],
    }
    for key, items in cases.items():
        h.run([["ZADD", key] + items, ["OBJECT", "ENCODING", key], ["DUMP", key]], p)
        for conn in (p.r, p.s):
            payload = conn.call("DUMP", key)[1]
            h.run([["RESTORE", "copy", "0", payload, "REPLACE"], ["OBJECT", "ENCODING", "copy"],
                   ["ZRANGE", "copy", "0", "-1", "WITHSCORES"], ["DEBUG", "DIGEST-VALUE", "copy"], ["DUMP", "copy"]], p)
    # thresholds decide the restored encoding
    payload = p.r.call("DUMP", "lp")[1]
    skip_payload = p.r.call("DUMP", "long")[1]
    h.run([["CONFIG", "SET", "zset-max-listpack-entries", "2"], ["RESTORE", "c2", "0", payload],
           ["OBJECT", "ENCODING", "c2"], ["CONFIG", "SET", "zset-max-listpack-entries", "128"],
           ["CONFIG", "SET", "zset-max-listpack-value", "3"], ["RESTORE", "c3", "0", payload],
           ["OBJECT", "ENCODING", "c3"], ["CONFIG", "SET", "zset-max-listpack-value", "200"],
           ["RESTORE", "c4", "0", skip_payload], ["OBJECT", "ENCODING", "c4"], ["DUMP", "c4"],
           ["CONFIG", "SET", "zset-max-listpack-value", "64"], ["DEBUG", "DIGEST"]], p)
    # older payloads: RDB_TYPE_ZSET (text scores) and a Redis 6 ziplist
    text_scores = bytes([3]) + _rdb_string(b"a") + b"\x031.5" + _rdb_string(b"b") + b"\xfe" + \
        _rdb_string(b"c") + b"\xff"
    zset_zl = _ziplist([b"a", 1, b"b", b"2.5", b"c", 300])
    h.run([["RESTORE", "old", "0", _payload(3, text_scores, 9)], ["ZRANGE", "old", "0", "-1", "WITHSCORES"],
           ["OBJECT", "ENCODING", "old"], ["RESTORE", "zl", "0", _payload(12, _rdb_string(zset_zl), 9)],
           ["ZRANGE", "zl", "0", "-1", "WITHSCORES"], ["OBJECT", "ENCODING", "zl"], ["DUMP", "zl"],
           ["RESTORE", "bad", "0", _payload(3, bytes([3, 0]))],
           ["RESTORE", "bad", "0", _payload(5, bytes([2]) + _rdb_string(b"a") + b"\x00" * 8 + _rdb_string(b"a") + b"\x00" * 8)],
           ["RESTORE", "bad", "0", _payload(5, bytes([1]) + _rdb_string(b"a") + b"\x00\x00\x00\x00\x00\x00\xf8\x7f")],
           ["EXISTS", "bad"]], p)
    h.done()


def _random_steps(seed, count, keys=("{f}a", "{f}b", "{f}c")):
    """A seeded random mix of the deterministic sorted set commands over a few keys, with scores
    that include infinities, signed zero and fractions, so both encodings and their switches
    (the limits are lowered first) meet every command."""
    import random
    rnd = random.Random(seed)
    keys = list(keys)
    members = ["m%d" % i for i in range(12)] + ["", "x" * 20]
    scores = ["0", "-0", "1", "-1", "2.5", "1e-3", "inf", "-inf", "+inf", "3", "7", "100", "-2.25", "1e17"]

    def bound():
        return rnd.choice(["(", ""]) + rnd.choice(scores + ["-inf", "+inf"])

    def lex():
        return rnd.choice(["-", "+", "[" + rnd.choice(members), "(" + rnd.choice(members)])

    def pick(n):
        return [rnd.choice(members) for _ in range(n)]

    steps = [["CONFIG", "SET", "zset-max-listpack-entries", "6"], ["CONFIG", "SET", "zset-max-listpack-value", "10"]]
    for _ in range(count):
        k = rnd.choice(keys)
        r = rnd.random()
        if r < 0.25:
            flags = rnd.sample(["NX", "XX", "GT", "LT", "CH"], rnd.randint(0, 2))
            pairs = sum([[rnd.choice(scores), m] for m in pick(rnd.randint(1, 4))], [])
            steps.append(["ZADD", k] + flags + pairs)
        elif r < 0.32:
            steps.append(["ZINCRBY", k, rnd.choice(scores), rnd.choice(members)])
        elif r < 0.38:
            steps.append(["ZREM", k] + pick(rnd.randint(1, 3)))
        elif r < 0.50:
            extra = rnd.choice([[], ["WITHSCORES"], ["REV"], ["REV", "WITHSCORES"]])
            steps.append(["ZRANGE", k, str(rnd.randint(-8, 8)), str(rnd.randint(-8, 8))] + extra)
        elif r < 0.60:
            limit = rnd.choice([[], ["LIMIT", str(rnd.randint(-1, 4)), str(rnd.randint(-1, 4))]])
            rev = rnd.choice([[], ["REV"]])
            steps.append(["ZRANGE", k, bound(), bound(), "BYSCORE"] + rev + limit + rnd.choice([[], ["WITHSCORES"]]))
        elif r < 0.66:
            # Lex ranges over one score (a skiplist's walk over mixed scores depends on its
            # random levels): "{f}l" only ever gets score 0.
            steps.append(rnd.choice([["ZADD", "{f}l", "0"] + pick(1), ["ZADD", "{f}l", "0"] + pick(3)]))
            limit = rnd.choice([[], ["LIMIT", str(rnd.randint(-1, 3)), str(rnd.randint(-1, 3))]])
            steps.append(rnd.choice([["ZRANGE", "{f}l", lex(), lex(), "BYLEX"] + rnd.choice([[], ["REV"]]) + limit,
                                     ["ZLEXCOUNT", "{f}l", lex(), lex()], ["ZREMRANGEBYLEX", "{f}l", lex(), lex()]]))
        elif r < 0.72:
            steps.append(rnd.choice([["ZCOUNT", k, bound(), bound()],
                                     ["ZRANK", k, rnd.choice(members)], ["ZREVRANK", k, rnd.choice(members)],
                                     ["ZMSCORE", k] + pick(3), ["ZCARD", k], ["OBJECT", "ENCODING", k]]))
        elif r < 0.78:
            steps.append(rnd.choice([["ZREMRANGEBYRANK", k, str(rnd.randint(-5, 5)), str(rnd.randint(-5, 5))],
                                     ["ZREMRANGEBYSCORE", k, bound(), bound()]]))
        elif r < 0.84:
            steps.append(rnd.choice([["ZPOPMIN", k], ["ZPOPMAX", k, str(rnd.randint(0, 3))],
                                     ["ZMPOP", "2", k, rnd.choice(keys), rnd.choice(["MIN", "MAX"]), "COUNT", "2"]]))
        elif r < 0.94:
            op = rnd.choice(["ZUNION", "ZINTER", "ZDIFF"])
            srcs = rnd.sample(keys, rnd.randint(1, 3))
            opts = []
            if op != "ZDIFF" and rnd.random() < 0.5:
                opts += ["WEIGHTS"] + [rnd.choice(["1", "2", "-1", "0.5", "0", "inf"]) for _ in srcs]
            if op != "ZDIFF" and rnd.random() < 0.5:
                opts += ["AGGREGATE", rnd.choice(["SUM", "MIN", "MAX"])]
            if rnd.random() < 0.5:
                steps.append([op + "STORE", rnd.choice(keys), str(len(srcs))] + srcs + opts)
            else:
                steps.append([op, str(len(srcs))] + srcs + opts + ["WITHSCORES"])
        else:
            steps.append(["ZRANGESTORE", rnd.choice(keys), k, str(rnd.randint(-4, 4)), str(rnd.randint(-4, 8))])
    steps += [["DEBUG", "DIGEST"], ["CONFIG", "SET", "zset-max-listpack-entries", "128"],
              ["CONFIG", "SET", "zset-max-listpack-value", "64"]]
    return steps


def test_zset_random_sequences(h):
    """Odd seeds use keys on both cores, so the multi-key commands take the cross-core path."""
    for seed in range(int(os.environ.get("ZSET_SEEDS", "4"))):
        keys = (A0, A1, B1) if seed % 2 else ("{f}a", "{f}b", "{f}c")
        h.run(_random_steps(seed, 400, keys))
    h.done()
