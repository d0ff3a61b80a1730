#!/usr/bin/env python3
"""Differential fuzzer: random command sequences, the same on redis-server 7.0 and on slotcore.

Every sequence is generated from a seed (random.Random(seed)) over a small key pool (so commands
keep hitting existing keys of every type, WRONGTYPE included), small value pools (integers at the
encoding limits, floats with inf/nan, binary and empty strings, long strings, and now and then a
bulk insert that crosses an encoding threshold), random options, and some invalid arguments
(a dropped or extra argument, a bad number) so that error replies are compared as well.

Each sequence starts with FLUSHALL on both servers, on fresh connections (a quarter of them switch
to RESP3 with HELLO 3 first). Every reply is compared; on a divergence the sequence is cut after
the first diverging step and minimised by delta debugging (steps are dropped while the last step
still diverges, replaying on freshly flushed servers), and a redis-cli-ready reproducer is printed.

Only the commands slotcore lists in COMMAND LIST are generated, so new families (sorted sets,
bitmaps, HyperLogLog, MULTI/EXEC/WATCH) are fuzzed as soon as they land.

Known, intentional normalisations (everything else, and EVERY error reply, is compared exactly):
  - Unordered replies are compared sorted: SMEMBERS, SINTER, SUNION, SDIFF, HKEYS, HVALS, KEYS,
    HGETALL (as a sorted list of field/value pairs), SPOP with a count larger than the set.
  - Random replies: SRANDMEMBER / HRANDFIELD / ZRANDMEMBER compare only the reply type and the
    number of elements; RANDOMKEY only the reply type. SPOP is only generated with a count that
    takes the whole set (a random pop would make the two data sets drift apart).
  - SCAN / HSCAN / SSCAN / ZSCAN are driven to cursor 0 (with the generated MATCH/COUNT/TYPE) and
    the SET of returned elements (pairs for HSCAN/ZSCAN) is compared; cursors are not.
  - TTL / EXPIRETIME within 1 s, PTTL / PEXPIRETIME within 250 ms (the rules of
    test_differential.NORMALIZE). Only long TTLs or already-past expiry times are generated, so
    that no key expires while a sequence runs. SET ... EXAT/PXAT with a past time is not
    generated: both servers keep such a key until active expiry reclaims it, so DBSIZE would
    depend on timing (GETEX EXAT 1 and EXPIREAT 1 delete at once, and are generated).
  - OBJECT IDLETIME / OBJECT FREQ: reply type only. DUMP: reply type only (the payloads may
    differ, docs/COMPATIBILITY.md); a DUMP payload is never fed back to RESTORE by the fuzzer.
  - Inside MULTI, EXEC's array is compared element by element with each queued command's rule.
  - By default all keys share one hash tag ({t}), so all keys live in one slot on one core;
    --cross-core adds untagged keys that spread across slotcore's shard cores (the cross-core
    RENAME/COPY encoding gap of docs/COMPATIBILITY.md may then show as OBJECT ENCODING diffs).
  - Lex ranges (ZRANGEBYLEX, ZLEXCOUNT, ZREMRANGEBYLEX, ZRANGE BYLEX) go only to the key {t}lex,
    whose members all have score 0: on mixed scores Redis's answer depends on its skiplist's
    random levels (undefined behaviour), so two redis-servers disagree now and then.
  - Streams (fam_stream): ids are explicit, from a per-sequence clock; `*` only on {t}xfut, whose
    last id lies far after now (so `*` is the last id + 1 on both servers). XPENDING's idle
    times, XINFO CONSUMERS' idle and XINFO STREAM FULL's seen/delivery times are compared
    within 1 s, XINFO STREAM's radix-tree-nodes not at all (test_streams.clock_walk). XCLAIM /
    XAUTOCLAIM / XPENDING IDLE use a min-idle-time of 0 or one hour, and IDLE / TIME far from
    it, so that what they select does not depend on timing. A sequence may CONFIG SET
    stream-node-max-entries (small nodes for `~` trimming); each sequence starts from 100.
Each sequence ends with DEBUG DIGEST-VALUE of every key (when both servers allow DEBUG), so
that a state that differs without showing in a reply is caught too.
Not generated: INFO, other DEBUG subcommands, blocking commands, CONFIG (but for
stream-node-max-entries), CLIENT, pub/sub, scripting.
A quick check of the fuzzer itself: point both --redis-port and --slotcore-port at two
redis-servers; it must find nothing (3000 sequences of every family pass that way).

CLI:
    python3 tests/differential/fuzz.py --seed 1 --sequences 50 --length 60
    python3 tests/differential/fuzz.py --minutes 10          # random seeds for 10 minutes
    python3 tests/differential/fuzz.py --redis-port 6379 --slotcore-port 7000 --seed 3
    python3 tests/differential/fuzz.py --seed 7 --sequences 1 --show   # print the sequence
Exit status 1 when any divergence was found (each is printed with its minimal reproducer).
"""

import argparse
import os
import random
import socket
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from resp import Conn, ConnectionClosed, encode  # noqa: E402
from test_differential import (  # noqa: E402
    _s, explain, int_type, is_error, random_key_rule, short, sorted_array, tolerance)

CONN_TIMEOUT = 5.0

# --------------------------------------------------------------------------------------------
# Comparison rules: rule(redis_reply, slotcore_reply, args) -> (a, b) compared with ==
# --------------------------------------------------------------------------------------------


def r_exact(ra, rb, args):
    return ra, rb


def r_sorted(ra, rb, args):
    return sorted_array(ra, rb, args, None)


def _pairs_sorted(r):
    if r[0] == "%":
        return ("%", sorted(r[1], key=repr))
    if r[0] == "*" and len(r[1]) % 2 == 0:
        it = r[1]
        return ("*", sorted(zip(it[0::2], it[1::2]), key=repr))
    return r


def r_pairs(ra, rb, args):
    """HGETALL: a map (RESP3) or flat array of field/value pairs, order free."""
    return _pairs_sorted(ra), _pairs_sorted(rb)


def r_type_only(ra, rb, args):
    return (ra[0],), (rb[0],)


def r_int_type(ra, rb, args):
    return int_type(ra, rb, args, None)


def r_count(ra, rb, args):
    """A random selection: reply type and number of elements (for a positive count also that
    the elements are distinct)."""
    with_values = any(_s(a).upper() in ("WITHVALUES", "WITHSCORES") for a in args[3:])

    def f(r):
        if r[0] in ("*", "~"):
            items = r[1]
            if with_values and items and items[0][0] not in ("*", "%"):  # RESP2: flat pairs
                items = list(zip(items[0::2], items[1::2]))
            return (r[0], len(items), len(set(map(repr, items))) if _positive_count(args) else None)
        if r[0] in ("$", ","):
            return (r[0],)
        return r
    return f(ra), f(rb)


def _positive_count(args):
    try:
        return int(_s(args[2])) > 0
    except (IndexError, ValueError):
        return False


def r_random_key(ra, rb, args):
    return random_key_rule(ra, rb, args, None)


TTL_RULE = tolerance(1)
PTTL_RULE = tolerance(250)


def r_ttl(ra, rb, args):
    return TTL_RULE(ra, rb, args, None)


def r_pttl(ra, rb, args):
    return PTTL_RULE(ra, rb, args, None)


def r_scan_page(ra, rb, args):
    """One SCAN-like page with an arbitrary cursor: only its shape (cursors are opaque)."""
    def f(r):
        if r[0] == "*" and len(r[1]) == 2 and r[1][0][0] == "$" and r[1][1][0] == "*":
            return ("scan page",)
        return r
    return f(ra), f(rb)


# A script whose commands touch keys of two cores: slotcore's documented difference
# (docs/COMPATIBILITY.md, Scripting), where Redis outside a cluster runs it. The fuzzer's
# mutations put random words where keys go, so it meets this; it is not compared.
SCRIPT_CORE_ERRORS = ("do not hash to the same core", "a script's keys must be on one core")


def script_core_difference(args, slotcore_reply):
    return (args[:1] == [b"EVAL"] and is_error(slotcore_reply)
            and any(text in str(slotcore_reply[1]) for text in SCRIPT_CORE_ERRORS))


def compare(rule, args, ra, rb):
    """True when the replies agree. Errors and lost connections are always compared exactly,
    but for `script_core_difference`."""
    if script_core_difference(args, rb):
        return True, ra, ra
    if is_error(ra) or is_error(rb) or ra[0].startswith("<") or rb[0].startswith("<"):
        return ra == rb, ra, rb
    na, nb = rule(ra, rb, args)
    return na == nb, na, nb


# --------------------------------------------------------------------------------------------
# Steps
# --------------------------------------------------------------------------------------------

class Step:
    """One command. conn: which of the two client connections sends it. scan: drive a SCAN-like
    command to cursor 0 (args hold the command with cursor placeholder at scan_pos)."""

    def __init__(self, args, rule=r_exact, conn=0, scan=None, payload_from=None):
        self.args = [a if isinstance(a, bytes) else str(a).encode() for a in args]
        self.rule = rule
        self.conn = conn
        self.scan = scan  # None or ("pairs"|"keys", cursor_index)
        # "redis"|"slotcore": a RESTORE whose payload (args[3]) is that server's DUMP of the
        # key named in args[3] at the time; both servers get that same payload.
        self.payload_from = payload_from

    @property
    def name(self):
        return self.args[0].decode("latin-1").upper()

    def cli(self):
        line = " ".join(cli_quote(a) for a in self.args)
        if self.scan is not None:
            line += "      # driven to cursor 0, set of elements compared"
        if self.payload_from:
            args = list(self.args)
            args[3] = b"<DUMP %s on %s>" % (args[3], self.payload_from.encode())
            line = " ".join(cli_quote(a) if i != 3 else a.decode("latin-1") for i, a in enumerate(args))
        if self.conn:
            line = "[second connection] " + line
        return line


def cli_quote(b):
    if b and all(c in b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-+.:{}*|[]" for c in b):
        if len(b) > 200 and len(set(b)) == 1:
            pass  # still printed in full: the reproducer must be exact
        return b.decode()
    out = ['"']
    for c in b:
        ch = chr(c)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif 32 <= c < 127:
            out.append(ch)
        else:
            out.append("\\x%02x" % c)
    out.append('"')
    return "".join(out)


# --------------------------------------------------------------------------------------------
# Value pools
# --------------------------------------------------------------------------------------------

INTS = ["0", "1", "-1", "2", "3", "5", "10", "-10", "100", "127", "128", "255", "256", "1000",
        "65535", "2147483647", "-2147483648", "4294967296", "9223372036854775807",
        "-9223372036854775808", "12345678901"]
BAD_INTS = ["abc", "1.5", "", " 1", "1 ", "9223372036854775808", "-9223372036854775809",
            "0x10", "+1", "01", "1e3"]
FLOATS = ["0", "1", "-1", "1.5", "-2.25", "0.1", "3.0e2", "1e-5", "inf", "-inf", "+inf", "10",
          "123456789.123", "5e300", "-0", "1.7976931348623157e308"]
BAD_FLOATS = ["nan", "abc", "", "1.5.5", "inf1", "1e", " 1"]
MEMBERS = ["a", "b", "c", "d", "e", "1", "2", "3", "-1", "10", "100", "1.5", "", "A", "aa",
           "ab", "b\x00c", "\xff\xfe", "x" * 65, "12345678901", "hello world"]
STRINGS = MEMBERS + ["ohmytext", "mynewtext", "x" * 21, "y" * 100, "\x00\x01\x02\xff", "z" * 3000,
                     "-5", "3.5e2", "9223372036854775807", "inf"]
MATCH = ["*", "a*", "*b*", "?", "[a-c]*", "x*", "*1*", "\\*", "{t}*", "[^a]*", "h*llo"]


def enc(s):
    return s.encode("latin-1") if isinstance(s, str) else s


class Gen:
    """Generates one sequence of Steps from an rng."""

    def __init__(self, rng, commands, cross_core=False, invalid_rate=0.08):
        self.rng = rng
        self.commands = commands  # set of lower-case command names slotcore implements
        base = ["{t}%s" % c for c in "abcdefghijkl"]
        self.keys = base + (["k1", "k2", "k3"] if cross_core else [])
        self.invalid_rate = invalid_rate
        self.families = [(w, f) for (w, f, need) in FAMILIES if need in commands]
        self.in_multi = False
        # Each family mostly uses its own two "home" keys (drawn per sequence, so they overlap
        # now and then): most commands then find a value of their type, some find WRONGTYPE.
        self.home = {f: self.rng.sample(self.keys, 2) for _, f in self.families}
        self.cur_home = None
        self.stream_ms = 0  # fam_stream's clock: the millisecond of the next explicit ids

    # -- small helpers --
    def key(self):
        if self.cur_home and self.rng.random() < 0.85:
            return self.rng.choice(self.cur_home)
        return self.rng.choice(self.keys)

    def keys_n(self, lo=1, hi=4):
        return [self.key() for _ in range(self.rng.randint(lo, hi))]

    def member(self):
        return self.rng.choice(MEMBERS)

    def members(self, lo=1, hi=5):
        return [self.member() for _ in range(self.rng.randint(lo, hi))]

    def string(self):
        return self.rng.choice(STRINGS)

    def int(self, lo=None, hi=None):
        if lo is not None:
            return str(self.rng.randint(lo, hi))
        return self.rng.choice(INTS)

    def small(self, lo=-5, hi=10):
        return str(self.rng.randint(lo, hi))

    def float(self):
        return self.rng.choice(FLOATS)

    def maybe(self, p=0.5):
        return self.rng.random() < p

    def pick(self, *xs):
        return self.rng.choice(xs)

    def opt_case(self, word):
        return word if self.maybe(0.8) else word.lower()

    def ok(self, name):
        return name.lower() in self.commands

    # -- sequence --
    def sequence(self, length):
        steps = []
        if self.maybe(0.25):
            steps.append(Step(["HELLO", "3"], rule=r_hello))
            steps.append(Step(["HELLO", "3"], rule=r_hello, conn=1))
        while len(steps) < length:
            steps.extend(self.one())
        if "debug" in self.commands:
            # the final state of every key, as content digests (order-free for sets and hashes)
            extra = [XFUT] if "xadd" in self.commands else []
            steps.append(S("DEBUG", "DIGEST-VALUE", *(self.keys + [LEX] + extra)))
        return steps

    def one(self):
        total = sum(w for w, _ in self.families)
        x = self.rng.uniform(0, total)
        for w, fam in self.families:
            x -= w
            if x <= 0:
                break
        self.cur_home = self.home.get(fam)
        out = fam(self)
        out = [s for s in out if s.args[0].decode().lower() in self.commands or s.args[0] in (b"HELLO",)]
        if out and self.maybe(self.invalid_rate):
            out[-1] = self.mutate(out[-1])
        return out

    def mutate(self, step):
        """An invalid variant: a dropped argument, an extra argument, or a bad number."""
        args = list(step.args)
        how = self.rng.randint(0, 3)
        if how == 0 and len(args) > 1:
            del args[self.rng.randrange(1, len(args))]
        elif how == 1:
            args.insert(self.rng.randint(1, len(args)), self.pick(b"BOGUS", b"1", b"WITHSCORES", b"NX"))
        elif how == 2:
            idx = [i for i, a in enumerate(args) if i > 0 and a.lstrip(b"-").isdigit()]
            if idx:
                args[self.rng.choice(idx)] = enc(self.rng.choice(BAD_INTS))
            else:
                args.append(b"EXTRA")
        else:
            args = args[:1]
        if args[:1] == [b"SPOP"] and len(args) == 2:
            return step  # SPOP key pops a random member: the data sets would drift apart
        if step.scan is not None:
            return Step(args, r_scan_page, step.conn)  # sent once: errors exact, pages by shape
        return Step(args, step.rule, step.conn)


def S(*args, rule=r_exact):
    return Step([enc(a) for a in args], rule=rule)


def r_hello(ra, rb, args):
    def f(r):
        if r[0] not in ("*", "%"):
            return r
        items = r[1] if r[0] == "%" else list(zip(r[1][0::2], r[1][1::2]))
        return [(k, v) for k, v in items if _s(k[1]) in ("server", "version", "proto", "role")]
    return f(ra), f(rb)


# --------------------------------------------------------------------------------------------
# Families: functions Gen -> [Step]
# --------------------------------------------------------------------------------------------

def expire_opts(g):
    return [g.pick("NX", "XX", "GT", "LT")] if g.maybe(0.3) else []


def long_secs(g):
    return g.pick(str(g.rng.randint(1000, 100000)), "0", "-1", "-100")


def fam_strings(g):
    k = g.key()
    c = g.rng.randint(0, 24)
    if c == 0:
        opts = []
        if g.maybe(0.3):
            opts += [g.pick("NX", "XX")]
        if g.maybe(0.3):
            opts += g.pick(["EX", long_secs(g)], ["PX", str(g.rng.randint(100000, 10**7))],
                           ["EXAT", "4102444800"], ["PXAT", "4102444800000"],
                           ["KEEPTTL"])
        if g.maybe(0.2):
            opts += ["GET"]
        g.rng.shuffle(opts)
        return [S("SET", k, g.string(), *opts)]
    if c == 1:
        return [S("GET", k)]
    if c == 2:
        return [S("GETSET", k, g.string())]
    if c == 3:
        return [S("GETDEL", k)]
    if c == 4:
        opt = g.pick([], ["EX", long_secs(g)], ["PX", "1000000"], ["EXAT", "4102444800"],
                     ["PXAT", "4102444800000"], ["PERSIST"], ["EXAT", "1"])
        return [S("GETEX", k, *opt)]
    if c == 5:
        return [S("SETNX", k, g.string())]
    if c == 6:
        return [S(g.pick("SETEX", "PSETEX"), k, g.pick("100000", "0", "-5", "99999999"), g.string())]
    if c == 7:
        kv = []
        for _ in range(g.rng.randint(1, 3)):
            kv += [g.key(), g.string()]
        return [S(g.pick("MSET", "MSETNX"), *kv)]
    if c == 8:
        return [S("MGET", *g.keys_n())]
    if c == 9:
        return [S("APPEND", k, g.string())]
    if c == 10:
        return [S("STRLEN", k)]
    if c in (11, 12):
        return [S(g.pick("INCR", "DECR"), k)]
    if c == 13:
        return [S(g.pick("INCRBY", "DECRBY"), k, g.int())]
    if c == 14:
        return [S("INCRBYFLOAT", k, g.float())]
    if c == 15:
        return [S(g.pick("GETRANGE", "SUBSTR"), k, g.small(-20, 20), g.small(-20, 20))]
    if c == 16:
        return [S("SETRANGE", k, g.pick("0", "1", "5", "100", "-1", "536870912"), g.string())]
    if c == 17:
        k2 = g.key()
        opt = g.pick([], ["LEN"], ["IDX"], ["IDX", "WITHMATCHLEN"], ["IDX", "MINMATCHLEN", g.small(0, 4)],
                     ["IDX", "MINMATCHLEN", "2", "WITHMATCHLEN"])
        return [S("LCS", k, k2, *opt)]
    if c == 18:
        return [S("SET", k, g.int())]
    if c == 19:
        return [S("SET", k, g.float())]
    return [S(g.pick("GET", "STRLEN", "TYPE", "EXISTS"), k)]


def fam_keys(g):
    k = g.key()
    c = g.rng.randint(0, 22)
    if c == 0:
        return [S(g.pick("DEL", "UNLINK"), *g.keys_n())]
    if c == 1:
        return [S(g.pick("EXISTS", "TOUCH"), *g.keys_n())]
    if c == 2:
        return [S("TYPE", k)]
    if c == 3:
        return [S("EXPIRE", k, long_secs(g), *expire_opts(g))]
    if c == 4:
        return [S("PEXPIRE", k, g.pick("0", "-1", str(g.rng.randint(10**6, 10**8))), *expire_opts(g))]
    if c == 5:
        return [S(g.pick("EXPIREAT", "PEXPIREAT"), k, g.pick("1", "0", "4102444800", "4102444800000", "-5"),
                  *expire_opts(g))]
    if c == 6:
        return [S("PERSIST", k)]
    if c == 7:
        return [S("TTL", k, rule=r_ttl)]
    if c == 8:
        return [S("PTTL", k, rule=r_pttl)]
    if c == 9:
        return [S("EXPIRETIME", k, rule=r_ttl)]
    if c == 10:
        return [S("PEXPIRETIME", k, rule=r_pttl)]
    if c == 11:
        return [S(g.pick("RENAME", "RENAMENX"), k, g.key())]
    if c == 12:
        return [S("COPY", k, g.key(), *(["REPLACE"] if g.maybe() else []))]
    if c == 13:
        return [S("KEYS", g.pick(*MATCH), rule=r_sorted)]
    if c == 14:
        opts = []
        if g.maybe(0.5):
            opts += ["MATCH", g.pick(*MATCH)]
        if g.maybe(0.5):
            opts += ["COUNT", g.pick("1", "2", "10", "1000")]
        if g.maybe(0.3):
            opts += ["TYPE", g.pick("string", "list", "set", "zset", "hash", "none", "stream")]
        return [Step([b"SCAN", b"0"] + [enc(o) for o in opts], scan=("keys", 1))]
    if c == 15:
        return [S("RANDOMKEY", rule=r_random_key)]
    if c == 16:
        return [S("DBSIZE")]
    if c == 17:
        return [S("OBJECT", "ENCODING", k)]
    if c == 18:
        return [S("OBJECT", g.pick("IDLETIME", "FREQ"), k, rule=r_int_type)]
    if c == 19:
        if g.maybe(0.6) and g.ok("restore") and not g.in_multi:
            # a round trip: one server's payload restored on both, then read back
            dst = g.key()
            opts = g.pick(["REPLACE"], ["REPLACE"], [], ["REPLACE", "ABSTTL"], ["REPLACE", "IDLETIME", "10"])
            return [Step([b"RESTORE", enc(dst), b"0", enc(k)] + [enc(o) for o in opts],
                         payload_from=g.pick("redis", "slotcore")),
                    S("TYPE", dst), S("OBJECT", "ENCODING", dst)]
        return [S("DUMP", k, rule=r_type_only)]
    if c == 20:
        return [S("TYPE", k), S("OBJECT", "ENCODING", k)]
    return [S("EXISTS", k)]


def fam_hashes(g):
    k = g.key()
    c = g.rng.randint(0, 20)
    if c in (0, 1):
        fv = []
        for _ in range(g.rng.randint(1, 4)):
            fv += [g.member(), g.string()]
        return [S(g.pick("HSET", "HSET", "HMSET"), k, *fv)]
    if c == 2:
        return [S("HSETNX", k, g.member(), g.string())]
    if c == 3:
        return [S("HGET", k, g.member())]
    if c == 4:
        return [S("HMGET", k, *g.members())]
    if c == 5:
        return [S("HDEL", k, *g.members())]
    if c == 6:
        return [S("HLEN", k)]
    if c == 7:
        return [S("HSTRLEN", k, g.member())]
    if c == 8:
        return [S("HEXISTS", k, g.member())]
    if c == 9:
        return [S("HINCRBY", k, g.member(), g.int())]
    if c == 10:
        return [S("HINCRBYFLOAT", k, g.member(), g.float())]
    if c == 11:
        return [S(g.pick("HKEYS", "HVALS"), k, rule=r_sorted)]
    if c == 12:
        return [S("HGETALL", k, rule=r_pairs)]
    if c == 13:
        opt = g.pick([], [g.small(-5, 5)], [g.small(-5, 5), "WITHVALUES"])
        return [S("HRANDFIELD", k, *opt, rule=r_count)]
    if c == 14:
        opts = []
        if g.maybe():
            opts += ["MATCH", g.pick(*MATCH)]
        if g.maybe():
            opts += ["COUNT", g.pick("1", "5", "100")]
        return [Step([b"HSCAN", enc(k), b"0"] + [enc(o) for o in opts], scan=("pairs", 2))]
    if c == 15:
        # crosses hash-max-listpack-entries (128) / -value (64)
        n = g.pick(5, 130, 200)
        fv = []
        for i in range(n):
            fv += ["f%d" % i, str(i)]
        return [S("HSET", k, *fv), S("OBJECT", "ENCODING", k)]
    if c == 16:
        return [S("HSET", k, g.member(), "v" * g.pick(10, 64, 65, 300)), S("OBJECT", "ENCODING", k)]
    return [S("HGETALL", k, rule=r_pairs)]


def fam_sets(g):
    k = g.key()
    c = g.rng.randint(0, 22)
    if c in (0, 1):
        return [S("SADD", k, *g.members())]
    if c == 2:
        return [S("SADD", k, *[g.int() for _ in range(g.rng.randint(1, 4))])]
    if c == 3:
        return [S("SREM", k, *g.members())]
    if c == 4:
        return [S("SCARD", k)]
    if c == 5:
        return [S("SISMEMBER", k, g.member())]
    if c == 6:
        return [S("SMISMEMBER", k, *g.members())]
    if c == 7:
        return [S("SMEMBERS", k, rule=r_sorted)]
    if c == 8:
        return [S("SPOP", k, g.pick("100000", "0"), rule=r_sorted)]
    if c == 9:
        opt = g.pick([], [g.small(-5, 5)], ["100"])
        return [S("SRANDMEMBER", k, *opt, rule=r_count)]
    if c == 10:
        return [S("SMOVE", k, g.key(), g.member())]
    if c in (11, 12):
        return [S(g.pick("SINTER", "SUNION", "SDIFF"), *g.keys_n(), rule=r_sorted)]
    if c == 13:
        return [S(g.pick("SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE"), g.key(), *g.keys_n())]
    if c == 14:
        ks = g.keys_n()
        opt = ["LIMIT", g.pick("0", "1", "2", "-1")] if g.maybe() else []
        return [S("SINTERCARD", str(len(ks)) if g.maybe(0.9) else g.pick("0", "5", "-1"), *ks, *opt)]
    if c == 15:
        opts = []
        if g.maybe():
            opts += ["MATCH", g.pick(*MATCH)]
        if g.maybe():
            opts += ["COUNT", g.pick("1", "5", "100")]
        return [Step([b"SSCAN", enc(k), b"0"] + [enc(o) for o in opts], scan=("keys", 2))]
    if c == 16:
        # crosses set-max-intset-entries (512) or turns an intset into a hashtable
        n = g.pick(10, 513, 600)
        return [S("SADD", k, *[str(i) for i in range(n)]), S("OBJECT", "ENCODING", k)]
    if c == 17:
        return [S("SADD", k, *g.members()), S("OBJECT", "ENCODING", k)]
    return [S("SMEMBERS", k, rule=r_sorted)]


def fam_lists(g):
    k = g.key()
    c = g.rng.randint(0, 24)
    if c in (0, 1):
        return [S(g.pick("LPUSH", "RPUSH"), k, *g.members())]
    if c == 2:
        return [S(g.pick("LPUSHX", "RPUSHX"), k, *g.members())]
    if c == 3:
        return [S(g.pick("LPOP", "RPOP"), k, *g.pick([], [g.small(-1, 5)]))]
    if c == 4:
        return [S("LLEN", k)]
    if c == 5:
        return [S("LINDEX", k, g.small(-6, 6))]
    if c in (6, 7):
        return [S("LRANGE", k, g.small(-8, 8), g.pick(g.small(-8, 8), "-1", "100"))]
    if c == 8:
        return [S("LSET", k, g.small(-5, 5), g.string())]
    if c == 9:
        return [S("LINSERT", k, g.pick("BEFORE", "AFTER", "before", "MIDDLE"), g.member(), g.string())]
    if c == 10:
        return [S("LREM", k, g.small(-3, 3), g.member())]
    if c == 11:
        return [S("LTRIM", k, g.small(-6, 6), g.small(-6, 6))]
    if c == 12:
        opts = []
        if g.maybe(0.4):
            opts += ["RANK", g.pick("1", "-1", "2", "-2", "0")]
        if g.maybe(0.4):
            opts += ["COUNT", g.pick("0", "1", "2", "-1")]
        if g.maybe(0.3):
            opts += ["MAXLEN", g.pick("0", "1", "3", "-1")]
        return [S("LPOS", k, g.member(), *opts)]
    if c == 13:
        return [S("LMOVE", k, g.key(), g.pick("LEFT", "RIGHT"), g.pick("LEFT", "RIGHT"))]
    if c == 14:
        return [S("RPOPLPUSH", k, g.key())]
    if c == 15:
        ks = g.keys_n(1, 3)
        opt = ["COUNT", g.pick("1", "2", "10", "0")] if g.maybe() else []
        return [S("LMPOP", str(len(ks)), *ks, g.pick("LEFT", "RIGHT"), *opt)]
    if c == 16:
        n = g.pick(10, 129, 1000)
        return [S("RPUSH", k, *[("e%d" % i) * g.pick(1, 1, 20) for i in range(n)]), S("OBJECT", "ENCODING", k)]
    if c == 17:
        return [S("LPUSH", k, "L" * g.pick(100, 5000, 9000)), S("OBJECT", "ENCODING", k)]
    return [S("LRANGE", k, "0", "-1")]


def score(g):
    return g.pick(g.float(), g.small(-3, 5), g.small(-3, 5), "1", "2")


def score_range(g):
    def one():
        s = g.pick("-inf", "+inf", "0", "1", "2", "1.5", "-1", "5", "(1", "(2", "(0", "(-inf", "inf", "abc")
        return s
    return one(), one()


def lex_range(g):
    def one():
        return g.pick("-", "+", "[a", "(a", "[b", "(c", "[", "(", "a", "[1", "(10")
    return one(), one()


def zstore_opts(g, nkeys, with_agg=True):
    opts = []
    if g.maybe(0.3):
        opts += ["WEIGHTS"] + [g.pick("1", "2", "0", "-1", "1.5", "inf") for _ in range(nkeys)]
    if with_agg and g.maybe(0.3):
        opts += ["AGGREGATE", g.pick("SUM", "MIN", "MAX", "sum", "BAD")]
    return opts


# Lex ranges are only defined on a sorted set whose members all have the same score (Redis
# walks its skiplist's random levels otherwise): they go to this key only, where every score is 0.
LEX = "{t}lex"


def fam_zsets(g):
    k = g.key()
    c = g.rng.randint(0, 34)
    if c in (0, 1, 2):
        opts = []
        if g.maybe(0.2):
            opts.append(g.pick("NX", "XX"))
        if g.maybe(0.2):
            opts.append(g.pick("GT", "LT"))
        if g.maybe(0.2):
            opts.append("CH")
        sm = []
        if g.maybe(0.15):
            opts.append("INCR")
            sm = [score(g), g.member()]
        else:
            for _ in range(g.rng.randint(1, 4)):
                sm += [score(g), g.member()]
        return [S("ZADD", k, *opts, *sm)]
    if c == 3:
        return [S("ZINCRBY", k, score(g), g.member())]
    if c == 4:
        return [S("ZREM", k, *g.members())]
    if c == 5:
        return [S("ZCARD", k)]
    if c == 6:
        return [S("ZSCORE", k, g.member())]
    if c == 7:
        return [S("ZMSCORE", k, *g.members())]
    if c == 8:
        return [S(g.pick("ZRANK", "ZREVRANK"), k, g.member())]
    if c == 9:
        return [S("ZCOUNT", k, *score_range(g))]
    if c == 10:
        return [S("ZLEXCOUNT", LEX, *lex_range(g))]
    if c in (11, 12, 13):
        mode = g.pick("rank", "score", "lex")
        if mode == "rank":
            a, b, opts = g.small(-5, 5), g.small(-5, 5), []
        elif mode == "score":
            (a, b), opts = score_range(g), ["BYSCORE"]
        else:
            (a, b), opts, k = lex_range(g), ["BYLEX"], LEX
        if g.maybe(0.3):
            opts.append("REV")
        if g.maybe(0.3):
            opts += ["LIMIT", g.small(-1, 3), g.small(-1, 3)]
        if g.maybe(0.4):
            opts.append("WITHSCORES")
        return [S("ZRANGE", k, a, b, *opts)]
    if c == 14:
        ws = ["WITHSCORES"] if g.maybe() else []
        return [S(g.pick("ZRANGE", "ZREVRANGE"), k, g.small(-5, 5), g.small(-5, 5), *ws)]
    if c == 15:
        a, b = score_range(g)
        opts = (["WITHSCORES"] if g.maybe() else []) + (["LIMIT", g.small(-1, 3), g.small(-1, 3)] if g.maybe(0.3) else [])
        return [S(g.pick("ZRANGEBYSCORE", "ZREVRANGEBYSCORE"), k, a, b, *opts)]
    if c == 16:
        a, b = lex_range(g)
        opts = ["LIMIT", g.small(-1, 3), g.small(-1, 3)] if g.maybe(0.3) else []
        return [S(g.pick("ZRANGEBYLEX", "ZREVRANGEBYLEX"), LEX, a, b, *opts)]
    if c == 17:
        mode = g.pick("rank", "score", "lex")
        if mode == "rank":
            a, b, opts = g.small(-5, 5), g.small(-5, 5), []
        elif mode == "score":
            (a, b), opts = score_range(g), ["BYSCORE"]
        else:
            (a, b), opts, k = lex_range(g), ["BYLEX"], LEX
        if g.maybe(0.3):
            opts.append("REV")
        if g.maybe(0.3):
            opts += ["LIMIT", g.small(-1, 3), g.small(-1, 3)]
        return [S("ZRANGESTORE", g.key(), k, a, b, *opts)]
    if c == 18:
        return [S("ZREMRANGEBYRANK", k, g.small(-5, 5), g.small(-5, 5))]
    if c == 19:
        return [S("ZREMRANGEBYSCORE", k, *score_range(g))]
    if c == 20:
        return [S("ZREMRANGEBYLEX", LEX, *lex_range(g))]
    if c == 21:
        return [S(g.pick("ZPOPMIN", "ZPOPMAX"), k, *g.pick([], [g.small(-1, 4)]))]
    if c == 22:
        ks = g.keys_n(1, 3)
        opt = ["COUNT", g.pick("1", "2", "10", "0")] if g.maybe() else []
        return [S("ZMPOP", str(len(ks)), *ks, g.pick("MIN", "MAX"), *opt)]
    if c == 23:
        opt = g.pick([], [g.small(-5, 5)], [g.small(-5, 5), "WITHSCORES"])
        return [S("ZRANDMEMBER", k, *opt, rule=r_count)]
    if c in (24, 25):
        ks = g.keys_n(1, 3)
        cmd = g.pick("ZUNION", "ZINTER", "ZDIFF")
        opts = zstore_opts(g, len(ks), cmd != "ZDIFF") if cmd != "ZDIFF" else []
        if g.maybe(0.5):
            opts.append("WITHSCORES")
        return [S(cmd, str(len(ks)), *ks, *opts)]
    if c == 26:
        ks = g.keys_n(1, 3)
        cmd = g.pick("ZUNIONSTORE", "ZINTERSTORE", "ZDIFFSTORE")
        opts = zstore_opts(g, len(ks)) if cmd != "ZDIFFSTORE" else []
        return [S(cmd, g.key(), str(len(ks)), *ks, *opts)]
    if c == 27:
        ks = g.keys_n(1, 3)
        opt = ["LIMIT", g.pick("0", "1", "2")] if g.maybe() else []
        return [S("ZINTERCARD", str(len(ks)), *ks, *opt)]
    if c == 28:
        opts = []
        if g.maybe():
            opts += ["MATCH", g.pick(*MATCH)]
        if g.maybe():
            opts += ["COUNT", g.pick("1", "5", "100")]
        return [Step([b"ZSCAN", enc(k), b"0"] + [enc(o) for o in opts], scan=("pairs", 2))]
    if c == 29:
        n = g.pick(10, 129, 200)
        sm = []
        for i in range(n):
            sm += [str(i % 17), "m%d" % i]
        return [S("ZADD", k, *sm), S("OBJECT", "ENCODING", k)]
    if c == 30:
        return [S("ZADD", k, "1", "z" * g.pick(10, 64, 65, 200)), S("OBJECT", "ENCODING", k)]
    if c in (31, 32):
        opts = [g.pick("NX", "XX", "CH")] if g.maybe(0.2) else []
        sm = []
        for _ in range(g.pick(1, 3, 5, 140) if c == 32 else g.rng.randint(1, 4)):
            sm += ["0", g.member() if g.maybe(0.7) else "m%d" % g.rng.randint(0, 200)]
        return [S("ZADD", LEX, *opts, *sm)]
    if c == 33:
        return [S("ZREM", LEX, *g.members())]
    return [S("ZRANGE", k, "0", "-1", "WITHSCORES")]


def fam_bitmaps(g):
    k = g.key()
    c = g.rng.randint(0, 14)
    if c in (0, 1, 2):
        return [S("SETBIT", k, g.pick(g.small(0, 40), "100", "1000", "-1", "4294967296", "8388607"),
                  g.pick("0", "1", "1", "2"))]
    if c == 3:
        return [S("GETBIT", k, g.pick(g.small(0, 40), "100", "-1", "99999"))]
    if c in (4, 5):
        opt = g.pick([], [g.small(-5, 5), g.small(-5, 5)],
                     [g.small(-5, 5), g.small(-5, 5), g.pick("BYTE", "BIT", "bit")], [g.small(-3, 3)])
        return [S("BITCOUNT", k, *opt)]
    if c in (6, 7):
        opt = g.pick([], [g.small(-5, 5)], [g.small(-5, 5), g.small(-5, 5)],
                     [g.small(-5, 5), g.small(-20, 20), g.pick("BYTE", "BIT")])
        return [S("BITPOS", k, g.pick("0", "1", "2"), *opt)]
    if c == 8:
        op = g.pick("AND", "OR", "XOR", "NOT", "and", "BAD")
        srcs = g.keys_n(1, 1 if op == "NOT" and g.maybe(0.8) else 3)
        return [S("BITOP", op, g.key(), *srcs)]
    if c in (9, 10, 11):
        cmd = "BITFIELD_RO" if g.maybe(0.2) else "BITFIELD"
        ops = []
        for _ in range(g.rng.randint(1, 3)):
            t = g.pick("u8", "i8", "u1", "i5", "u16", "i64", "u63", "u64", "i0", "x8")
            off = g.pick(g.small(0, 20), "#1", "#0", "-1")
            which = g.pick("GET", "GET", "SET", "INCRBY", "OVERFLOW") if cmd == "BITFIELD" else "GET"
            if which == "GET":
                ops += ["GET", t, off]
            elif which == "SET":
                ops += ["SET", t, off, g.pick(g.int(), "-5", "300")]
            elif which == "INCRBY":
                ops += ["INCRBY", t, off, g.pick("1", "-1", "100", "200", "9223372036854775807")]
            else:
                ops += ["OVERFLOW", g.pick("WRAP", "SAT", "FAIL", "bad")]
        return [S(cmd, k, *ops)]
    if c == 12:
        return [S("SET", k, g.pick("\xff\xf0\x00", "foobar", "\x00\x00\x01", "", "abc"))]
    return [S("GET", k)]


def fam_hll(g):
    k = g.key()
    c = g.rng.randint(0, 8)
    if c in (0, 1, 2):
        return [S("PFADD", k, *g.members(0, 5))]
    if c == 3:
        n = g.pick(50, 300, 3000)
        base = g.rng.randint(0, 10**6)
        return [S("PFADD", k, *["e%d" % (base + i) for i in range(n)])]
    if c in (4, 5):
        return [S("PFCOUNT", *g.keys_n(1, 3))]
    if c == 6:
        return [S("PFMERGE", g.key(), *g.keys_n(0, 3))]
    if c == 7:
        return [S("GET", k)]
    return [S("PFCOUNT", k)]


def fam_multi(g):
    """MULTI ... EXEC/DISCARD, WATCH with a write from a second connection."""
    if g.in_multi:
        return []
    out = []
    watched = []
    if g.ok("watch") and g.maybe(0.5):
        watched = g.keys_n(1, 2)
        out.append(S("WATCH", *watched))
        if g.maybe(0.5):
            # another client touches (or not) a key
            other = g.pick(*watched) if g.maybe(0.7) else g.key()
            st = g.pick(S("SET", other, "w"), S("DEL", other), S("EXPIRE", other, "100000"),
                        S("GET", other), S("SADD", other, "w"))
            st.conn = 1
            out.append(st)
    out.append(S("MULTI"))
    g.in_multi = True
    try:
        for _ in range(g.rng.randint(0, 4)):
            fam = g.rng.choice([f for _, f in g.families if f is not fam_multi])
            g.cur_home = g.home.get(fam)
            inner = [s for s in fam(g) if s.scan is None and s.args[0].decode().lower() in g.commands]
            if inner and g.maybe(0.05):
                inner[-1] = g.mutate(inner[-1])
            out.extend(inner)
    finally:
        g.in_multi = False
    if g.maybe(0.05):
        out.append(S("MULTI"))  # nested: an error, the transaction goes on
    if g.maybe(0.05) and g.ok("watch"):
        out.append(S("WATCH", g.key()))  # inside MULTI: an error
    out.append(S(g.pick("EXEC", "EXEC", "EXEC", "DISCARD")))
    if g.maybe(0.1):
        out.append(S(g.pick("EXEC", "DISCARD", "UNWATCH")))
    return out


def geo_place(g):
    """A longitude and latitude: mostly around a few spots (so searches find members, and
    some members share a position), sometimes anywhere, now and then out of range."""
    if g.maybe(0.03):
        return g.pick("181", "-180.5", "x", "inf"), g.pick("0", "85.06", "-86")
    spot = g.pick((13.36, 38.11), (15.08, 37.5), (-0.12, 51.5), (179.9, -85.0), (0.0, 0.0))
    if g.maybe(0.15):
        return "%.6f" % spot[0], "%.6f" % spot[1]
    spread = g.pick(0.01, 0.5, 3.0, 60.0)
    lon = min(180.0, max(-180.0, spot[0] + g.rng.uniform(-spread, spread)))
    lat = min(85.05, max(-85.05, spot[1] + g.rng.uniform(-spread, spread)))
    return "%.6f" % lon, "%.6f" % lat


def geo_shape(g):
    unit = g.opt_case(g.pick("M", "KM", "MI", "FT"))
    size = g.pick("0", "1", "50", "300", "2000", "20000", "-1", "abc")
    if g.maybe(0.5):
        return ["BYRADIUS", size, unit]
    return ["BYBOX", size, g.pick("10", "400", "5000", "0"), unit]


def geo_options(g, store=False):
    opts = []
    if not store:
        opts += g.rng.sample(["WITHDIST", "WITHCOORD", "WITHHASH"], g.rng.randint(0, 2))
    if g.maybe(0.5):
        opts += ["COUNT", g.pick("1", "2", "5", "0", "-1")]
        if g.maybe(0.3):
            opts.append("ANY")
    if g.maybe(0.5):
        opts.append(g.pick("ASC", "DESC"))
    return opts


def fam_geo(g):
    k = g.key()
    c = g.rng.randint(0, 9)
    if c in (0, 1, 2):
        opts = [] if g.maybe(0.7) else [g.pick("NX", "XX", "CH")]
        triples = []
        for _ in range(g.rng.randint(1, 4)):
            triples += [*geo_place(g), g.member()]
        return [S("GEOADD", k, *opts, *triples)]
    if c == 3:
        return [S("GEOPOS", k, *g.members(1, 3))]
    if c == 4:
        return [S("GEOHASH", k, *g.members(1, 3))]
    if c == 5:
        unit = [] if g.maybe(0.5) else [g.pick("m", "km", "mi", "ft", "yd")]
        return [S("GEODIST", k, g.member(), g.member(), *unit)]
    origin = (["FROMMEMBER", g.member()] if g.maybe(0.4) else ["FROMLONLAT", *geo_place(g)])
    if c in (6, 7):
        return [S("GEOSEARCH", k, *origin, *geo_shape(g), *geo_options(g))]
    if c == 8:
        dst = g.key()
        extra = ["STOREDIST"] if g.maybe(0.4) else []
        return [S("GEOSEARCHSTORE", dst, k, *origin, *geo_shape(g), *geo_options(g, True), *extra),
                S("ZRANGE", dst, "0", "-1", "WITHSCORES")]
    lon, lat = geo_place(g)
    radius = [g.pick("1", "100", "5000"), g.pick("km", "m")]
    if g.maybe(0.5):
        return [S(g.pick("GEORADIUS", "GEORADIUS_RO"), k, lon, lat, *radius, *geo_options(g))]
    return [S(g.pick("GEORADIUSBYMEMBER", "GEORADIUSBYMEMBER_RO"), k, g.member(), *radius,
              *geo_options(g))]


# Streams. Ids are explicit and mostly increasing (a per-sequence clock, Gen.stream_ms), so that
# most XADDs succeed and every reply is deterministic; `*` goes only to the key XFUT, whose ids
# lie far after now (each `*` there follows an XADD of a future id), so that it is the last id + 1
# on both servers and DEBUG DIGEST-VALUE, which digests the entries and their ids, still agrees.
XFUT = "{t}xfut"
STREAM_GROUPS = ["g1", "g2"]
STREAM_CONSUMERS = ["alice", "bob", "c"]


def stream_rule(ra, rb, args):
    """Stream replies: clock values (XPENDING's idle time, XINFO CONSUMERS' idle, XINFO STREAM
    FULL's seen and delivery times) within a tolerance, and XINFO STREAM's radix-tree-nodes not
    compared (the rules of test_streams.py)."""
    from test_streams import clock_walk
    return clock_walk(ra, rb)


def stream_id(g, kind=None):
    """An id: mostly the next one of the sequence's clock, sometimes an old, equal, partial,
    `ms-*`, extreme or invalid one."""
    ms = getattr(g, "stream_ms", 0)
    kind = kind or g.rng.choices(["next", "same-ms", "old", "star-seq", "ms-only", "odd"],
                                 [60, 10, 8, 8, 6, 4])[0]
    if kind == "next":
        ms += g.rng.randint(1, 3)
        g.stream_ms = ms
        return "%d-%d" % (ms, g.rng.choice([0, 0, 0, 1, 5]))
    if kind == "same-ms":
        return "%d-%d" % (ms, g.rng.randint(0, 9))
    if kind == "old":
        return "%d-%d" % (g.rng.randint(0, max(0, ms)), g.rng.randint(0, 3))
    if kind == "star-seq":
        g.stream_ms = ms + g.pick(0, 1)
        return "%d-*" % g.stream_ms
    if kind == "ms-only":
        g.stream_ms = ms + 1
        return str(g.stream_ms)
    return g.pick("0-0", "0-1", "18446744073709551615-18446744073709551615", "abc", "1-", "-1",
                  "18446744073709551616-0", "*-1", "", "+", "-", "$", ">")


def stream_range_id(g, end=False):
    ms = max(1, getattr(g, "stream_ms", 1))
    x = g.rng.randint(0, ms + 2)
    if g.maybe(0.06):
        return g.pick("bad", "(-", "(+", "(18446744073709551615-18446744073709551615", "(0-0", "*")
    return g.pick("+" if end else "-", "+" if end else "-", str(x), "%d-%d" % (x, g.rng.randint(0, 5)),
                  "(%d-%d" % (x, g.rng.randint(0, 5)), "(%d" % x, "0", "18446744073709551615")


def stream_ids(g, lo=1, hi=4):
    ms = max(1, getattr(g, "stream_ms", 1))
    out = []
    for _ in range(g.rng.randint(lo, hi)):
        if g.maybe(0.95):
            out.append("%d-%d" % (g.rng.randint(1, ms), g.pick(0, 0, 0, 1, 5)))
        else:
            out.append(g.pick("bad", "0-0", "5"))
    return out


def stream_fields(g):
    fv = []
    for _ in range(g.rng.randint(1, 3)):
        fv += [g.member(), g.string() if g.maybe(0.8) else g.pick("v" * 500, "w" * 2000)]
    if g.maybe(0.03):
        fv.pop()  # an odd number of fields and values
    return fv


def stream_trim(g):
    """MAXLEN / MINID with = or ~ and LIMIT (sometimes where Redis refuses it)."""
    strategy = g.pick("MAXLEN", "MAXLEN", "MINID")
    opts = [g.opt_case(strategy)]
    approx = g.pick(None, "=", "~", "~")
    if approx:
        opts.append(approx)
    if strategy == "MAXLEN":
        opts.append(g.pick("0", "1", "2", "3", "5", "10", "20", "-1"))
    else:
        opts.append("%d" % g.rng.randint(0, getattr(g, "stream_ms", 0) + 2) if g.maybe(0.9) else g.pick("bad", "5-*"))
    if g.maybe(0.3 if approx == "~" else 0.05):
        opts += ["LIMIT", g.pick("0", "1", "3", "10", "100", "-1")]
    return opts


def fam_stream(g):
    k = g.key()
    grp = g.pick(*STREAM_GROUPS) if g.maybe(0.95) else "nogroup"
    who = g.pick(*STREAM_CONSUMERS)
    out = stream_command(g, k, grp, who)
    group_commands = ([b"XREADGROUP"], [b"XACK"], [b"XPENDING"], [b"XCLAIM"], [b"XAUTOCLAIM"])
    if out and out[0].args[:1] in group_commands and g.maybe(0.6):
        # the group, made on the spot (or BUSYGROUP): group commands then mostly find one
        out.insert(0, S("XGROUP", "CREATE", k, grp, g.pick("0", "0", "$"), *(["MKSTREAM"] if g.maybe(0.5) else [])))
    return out


def stream_command(g, k, grp, who):
    c = g.rng.randint(0, 36)
    if c <= 7:
        opts = []
        if g.maybe(0.1):
            opts.append("NOMKSTREAM")
        if g.maybe(0.2):
            opts += stream_trim(g)
        if g.maybe(0.1):
            g.rng.shuffle(opts)
        return [S("XADD", k, *opts, stream_id(g), *stream_fields(g))]
    if c == 8:
        # a burst of entries, then an approximate trim: whole nodes go (sizes: 100 entries or
        # 4096 bytes by default, and what stream-node-max-entries says)
        out = []
        for _ in range(g.rng.randint(3, 25)):
            out.append(S("XADD", k, stream_id(g, "next"), "f", g.pick("1", "x" * 300, "y" * 1200)))
        limit = ["LIMIT", g.pick("0", "5", "20")] if g.maybe(0.3) else []
        out.append(S("XTRIM", k, "MAXLEN", "~", g.pick("0", "1", "3", "10"), *limit))
        out.append(S("XLEN", k))
        return out
    if c == 9:
        if g.ok("config") and g.maybe(0.5):
            return [S("CONFIG", "SET", "stream-node-max-entries", g.pick("1", "2", "3", "5", "10", "100"))]
        return [S("XTRIM", k, *stream_trim(g))]
    if c == 10:
        # `*` on the key of future ids: deterministic
        return [S("XADD", XFUT, "99999999999999-0", "f", "v"),
                S("XADD", XFUT, *(stream_trim(g) if g.maybe(0.2) else []), "*", *stream_fields(g))]
    if c == 11:
        return [S("XLEN", k)]
    if c in (12, 13):
        cmd = g.pick("XRANGE", "XREVRANGE")
        a, b = stream_range_id(g), stream_range_id(g, True)
        if cmd == "XREVRANGE":
            a, b = b, a
        opt = ["COUNT", g.pick("0", "1", "2", "5", "-1")] if g.maybe(0.4) else []
        return [S(cmd, k, a, b, *opt)]
    if c == 14:
        return [S("XDEL", k, *stream_ids(g))]
    if c == 15:
        opts = []
        if g.maybe(0.3):
            opts += ["ENTRIESADDED", g.pick("0", "5", "100", "-1")]
        if g.maybe(0.3):
            opts += ["MAXDELETEDID", stream_id(g, g.pick("old", "same-ms"))]
        return [S("XSETID", k, stream_id(g, g.pick("old", "same-ms", "next")), *opts)]
    if c in (16, 17):
        ks = [k] + ([g.key()] if g.maybe(0.3) else [])
        ids = [g.pick("0", "$", stream_range_id(g)) for _ in ks]
        opt = ["COUNT", g.pick("0", "1", "2", "10")] if g.maybe(0.5) else []
        return [S("XREAD", *opt, "STREAMS", *ks, *ids)]
    if c in (18, 19):
        sub = g.pick("CREATE", "CREATE", "SETID", "DESTROY", "CREATECONSUMER", "DELCONSUMER")
        if sub == "CREATE":
            opts = ["MKSTREAM"] if g.maybe(0.4) else []
            if g.maybe(0.2):
                opts += ["ENTRIESREAD", g.pick("0", "3", "-1")]
            return [S("XGROUP", "CREATE", k, grp, g.pick("0", "$", stream_range_id(g)), *opts)]
        if sub == "SETID":
            opts = ["ENTRIESREAD", g.pick("0", "3", "-1")] if g.maybe(0.3) else []
            return [S("XGROUP", "SETID", k, grp, g.pick("0", "$", stream_range_id(g)), *opts)]
        if sub == "DESTROY":
            return [S("XGROUP", "DESTROY", k, grp)]
        return [S("XGROUP", sub, k, grp, who)]
    if c in (20, 21, 22):
        ks = [k] + ([g.key()] if g.maybe(0.2) else [])
        ids = [g.pick(">", ">", ">", "0", stream_range_id(g)) for _ in ks]
        opts = []
        if g.maybe(0.4):
            opts += ["COUNT", g.pick("1", "2", "5", "0")]
        if g.maybe(0.15):
            opts.append("NOACK")
        return [S("XREADGROUP", "GROUP", grp, who, *opts, "STREAMS", *ks, *ids)]
    if c == 23:
        return [S("XACK", k, grp, *stream_ids(g))]
    if c in (24, 25):
        if g.maybe(0.4):
            return [S("XPENDING", k, grp, rule=stream_rule)]
        idle = ["IDLE", g.pick("0", "3600000")] if g.maybe(0.3) else []
        who_opt = [who] if g.maybe(0.3) else []
        return [S("XPENDING", k, grp, *idle, stream_range_id(g), stream_range_id(g, True),
                  g.pick("1", "3", "10", "0", "-1"), *who_opt, rule=stream_rule)]
    if c in (26, 27):
        opts = []
        if g.maybe(0.3):
            opts += g.pick(["IDLE", "0"], ["IDLE", "100000000"], ["TIME", "1000"])
        if g.maybe(0.2):
            opts += ["RETRYCOUNT", g.pick("0", "3")]
        if g.maybe(0.2):
            opts.append("FORCE")
        if g.maybe(0.4):
            opts.append("JUSTID")
        if g.maybe(0.1):
            opts += ["LASTID", stream_range_id(g)]
        return [S("XCLAIM", k, grp, who, g.pick("0", "0", "3600000"), *stream_ids(g), *opts)]
    if c in (28, 29):
        opts = ["COUNT", g.pick("1", "2", "10", "0")] if g.maybe(0.5) else []
        if g.maybe(0.4):
            opts.append("JUSTID")
        return [S("XAUTOCLAIM", k, grp, who, g.pick("0", "0", "3600000"), g.pick("0", "0-0", stream_range_id(g)),
                  *opts)]
    if c == 30:
        opt = g.pick([], ["FULL"], ["FULL", "COUNT", g.pick("0", "1", "3")])
        return [S("XINFO", "STREAM", k, *opt, rule=stream_rule)]
    if c == 31:
        return [S("XINFO", "GROUPS", k, rule=stream_rule)]
    if c == 32:
        return [S("XINFO", "CONSUMERS", k, grp, rule=stream_rule)]
    if c == 33:
        return [S("TYPE", k), S("OBJECT", "ENCODING", k)]
    if c == 34:
        return [S("XINFO", "STREAM", XFUT, rule=stream_rule), S("XRANGE", XFUT, "-", "+", "COUNT", "3")]
    return [S("XRANGE", k, "-", "+")]


# Commands a script runs differently on slotcore on purpose (docs/COMPATIBILITY.md, Scripting):
# those that need every core, and SORT (its BY/GET patterns may name another core's keys).
SCRIPT_EXCLUDED = {b"keys", b"scan", b"dbsize", b"randomkey", b"flushall", b"flushdb", b"info",
                   b"memory", b"sort", b"sort_ro", b"pubsub", b"debug", b"select", b"config"}


def fam_script(g):
    """Another family's commands, each run by a script: redis.call or redis.pcall with the command
    in ARGV and its keys declared. Every reply then goes through both conversions (reply to Lua,
    Lua to reply), and errors through Redis's error tables and texts."""
    if g.in_multi:
        return []
    fam = g.rng.choice([f for _, f in g.families if f not in (fam_multi, fam_script)])
    g.cur_home = g.home.get(fam)
    out = []
    for st in fam(g):
        keys = list(dict.fromkeys(a for a in st.args[1:] if a.startswith(b"{t}") or a in (b"k1", b"k2", b"k3")))
        untagged = [k for k in keys if not k.startswith(b"{t}")]
        if (st.scan is not None or st.payload_from or st.rule is not r_exact or st.conn
                or st.args[0].lower() in SCRIPT_EXCLUDED or (untagged and len(keys) > 1)):
            out.append(st)
            continue
        body = g.pick("return redis.call(unpack(ARGV))", "return redis.pcall(unpack(ARGV))")
        # Declared, or not: a script without keys moves to its first key's core.
        declared = keys if g.maybe(0.2) else []
        out.append(Step([b"EVAL", body.encode(), str(len(declared)).encode(), *declared, *st.args]))
    return out


FAMILIES = [  # (weight, generator, command that must exist)
    (3, fam_strings, "set"),
    (3, fam_keys, "del"),
    (3, fam_hashes, "hset"),
    (3, fam_sets, "sadd"),
    (3, fam_lists, "lpush"),
    (4, fam_zsets, "zadd"),
    (2, fam_geo, "geoadd"),
    (2, fam_bitmaps, "setbit"),
    (2, fam_hll, "pfadd"),
    (1.5, fam_multi, "multi"),
    (1.5, fam_script, "eval"),
    (3, fam_stream, "xadd"),
]


# --------------------------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------------------------

class Divergence(Exception):
    pass


class Side:
    """Two connections to one server."""

    def __init__(self, port):
        self.port = port
        self.conns = [None, None]

    def conn(self, i):
        if self.conns[i] is None:
            self.conns[i] = Conn(self.port, timeout=CONN_TIMEOUT)
        return self.conns[i]

    def close(self):
        for c in self.conns:
            if c is not None:
                c.close()
        self.conns = [None, None]

    def call(self, i, args):
        c = None
        try:
            c = self.conn(i)
            c.send_raw(encode(args))
            return c.read()
        except ConnectionClosed:
            self.conns[i] = None
            return ("<closed>",)
        except socket.timeout:
            if c is not None:
                c.close()
            self.conns[i] = None
            return ("<timeout>",)
        except OSError as e:
            if c is not None:
                c.close()
            self.conns[i] = None
            return ("<error %s>" % e,)

    def scan_all(self, i, step):
        """Loop a SCAN-like command to cursor 0; returns ('scan', sorted elements) or an error."""
        kind, pos = step.scan
        args = list(step.args)
        seen = set()
        for _ in range(100000):
            r = self.call(i, args)
            if is_error(r) or r[0].startswith("<"):
                return r
            if not (r[0] == "*" and len(r[1]) == 2 and r[1][0][0] == "$" and r[1][1][0] == "*"):
                return ("bad SCAN page", r)
            items = r[1][1][1]
            if kind == "pairs":
                if len(items) % 2:
                    return ("odd SCAN page", r)
                seen.update(zip(items[0::2], items[1::2]))
            else:
                seen.update(items)
            cursor = r[1][0][1]
            if cursor == b"0":
                return ("scan", sorted(seen, key=repr))
            args[pos] = cursor
        return ("SCAN did not end",)


class Runner:
    def __init__(self, redis_port, slotcore_port, alive=None, stats=None):
        self.redis_port = redis_port
        self.slotcore_port = slotcore_port
        self.alive = alive or (lambda: True)  # callable: is slotcore still running?
        self.replays = 0
        self.stats = {} if stats is None else stats  # command -> [replies, error replies] (first runs only, not replays)
        self.recording = False
        self.stream_config = False  # whether sequences may CONFIG SET stream-node-max-entries

    def commands(self):
        c = Conn(self.slotcore_port, timeout=CONN_TIMEOUT)
        try:
            r = c.call("COMMAND", "LIST")
        finally:
            c.close()
        names = {_s(x[1]).lower() for x in r[1] if x[0] == "$" and b"|" not in x[1]}
        # DEBUG DIGEST-VALUE closes each sequence when both servers allow DEBUG
        for port in (self.redis_port, self.slotcore_port):
            c = Conn(port, timeout=CONN_TIMEOUT)
            try:
                if c.call("DEBUG", "DIGEST-VALUE", "x")[0] != "*":
                    names.discard("debug")
            finally:
                c.close()
        self.stream_config = "xadd" in names and "config" in names
        return names

    def execute(self, steps, stop_at_first=True):
        """Runs steps on freshly flushed servers. Returns the list of (index, ra, rb, na, nb)
        divergences (only the first one when stop_at_first)."""
        self.replays += 1
        rs, ss = Side(self.redis_port), Side(self.slotcore_port)
        diffs = []
        try:
            ra, rb = rs.call(0, [b"FLUSHALL"]), ss.call(0, [b"FLUSHALL"])
            if ra != ("+", "OK"):
                raise RuntimeError("FLUSHALL on redis :%d: %r" % (rs.port, ra))
            if rb != ("+", "OK"):  # e.g. slotcore is down
                return [(0, ra, rb, ra, rb)]
            if self.stream_config:
                # fam_stream sets stream-node-max-entries: every sequence starts from the default
                for side in (rs, ss):
                    side.call(0, [b"CONFIG", b"SET", b"stream-node-max-entries", b"100"])
            queued = [None, None]  # per connection: the [(rule, args)] queued in MULTI, or None
            for i, st in enumerate(steps):
                if st.scan is not None and queued[st.conn] is None:
                    ra, rb = rs.scan_all(st.conn, st), ss.scan_all(st.conn, st)
                    ok, na, nb = (ra == rb), ra, rb
                elif st.payload_from:
                    src = rs if st.payload_from == "redis" else ss
                    dump = src.call(st.conn, [b"DUMP", st.args[3]])
                    if dump[0] != "$":
                        continue  # no such key (or in MULTI): nothing to restore
                    args = st.args[:3] + [dump[1]] + st.args[4:]
                    ra, rb = rs.call(st.conn, args), ss.call(st.conn, args)
                    ok, na, nb = compare(r_exact, args, ra, rb)
                else:
                    ra, rb = rs.call(st.conn, st.args), ss.call(st.conn, st.args)
                    ok, na, nb = self.compare_step(st, ra, rb, queued)
                if self.recording:
                    c = self.stats.setdefault(st.name, [0, 0])
                    c[0] += 1
                    c[1] += is_error(ra)
                if not ok:
                    diffs.append((i, ra, rb, na, nb))
                    if stop_at_first:
                        break
                if script_core_difference(st.args, rb):
                    break  # Redis ran what slotcore refused: the data differ from here on
                if ra[0].startswith("<") or rb[0].startswith("<"):
                    if not self.alive():
                        diffs.append((i, ra, ("slotcore EXITED",), na, ("slotcore EXITED",)))
                    break
        finally:
            rs.close()
            ss.close()
        return diffs

    def compare_step(self, st, ra, rb, queued):
        name = st.name
        q = queued[st.conn]
        if q is not None and name not in ("EXEC", "DISCARD", "MULTI", "WATCH", "RESET", "QUIT"):
            if ra == ("+", "QUEUED"):
                q.append((st.rule, st.args))
            return compare(r_exact, st.args, ra, rb)
        if name == "MULTI" and q is None and ra == ("+", "OK"):
            queued[st.conn] = []
        elif name in ("EXEC", "DISCARD") and q is not None:
            queued[st.conn] = None
            if name == "EXEC" and ra[0] == "*" and rb[0] == "*" and len(ra[1]) == len(rb[1]) == len(q):
                na, nb, ok = [], [], True
                for (rule, args), xa, xb in zip(q, ra[1], rb[1]):
                    same, ya, yb = compare(rule, args, xa, xb)
                    ok = ok and same
                    na.append(ya)
                    nb.append(yb)
                return ok, ("*", na), ("*", nb)
        return compare(st.rule, st.args, ra, rb)

    # -- minimisation --
    def diverges_at_end(self, steps):
        if not steps:
            return False
        d = self.execute(steps)
        return bool(d) and d[0][0] == len(steps) - 1

    def minimise(self, steps, index, budget=600):
        """Delta debugging (ddmin) on steps[:index], keeping the diverging step last. It starts
        from the slice of steps that touch (transitively) the diverging step's keys, when that
        slice alone reproduces."""
        last = steps[index]
        cur = steps[:index]
        if not self.diverges_at_end(cur + [last]):
            return None  # flaky: does not reproduce
        sliced = key_slice(cur, last)
        if sliced is not None and len(sliced) < len(cur) and self.diverges_at_end(sliced + [last]):
            cur = sliced
        n = 2
        while len(cur) >= 1 and self.replays < budget + self._start:
            chunk = max(1, len(cur) // n)
            reduced = False
            for start in range(0, len(cur), chunk):
                cand = cur[:start] + cur[start + chunk:]
                if self.diverges_at_end(cand + [last]):
                    cur = cand
                    n = max(n - 1, 2)
                    reduced = True
                    break
            if not reduced:
                if chunk == 1:
                    break
                n = min(len(cur), n * 2)
        return cur + [last]

    def check(self, steps, minimise=True):
        """Runs one sequence; returns None or a report dict for its first divergence."""
        self.recording = True
        try:
            d = self.execute(steps)
        finally:
            self.recording = False
        if not d:
            return None
        index, ra, rb, na, nb = d[0]
        rep = {"steps": steps, "index": index, "ra": ra, "rb": rb, "na": na, "nb": nb, "minimal": None}
        if minimise:
            self.minimise_report(rep)
        return rep

    def minimise_report(self, rep):
        self._start = self.replays
        m = self.minimise(rep["steps"], rep["index"])
        if m is not None:
            d2 = self.execute(m)
            if d2 and d2[0][0] == len(m) - 1:
                rep["minimal"] = m
                rep["ra"], rep["rb"], rep["na"], rep["nb"] = d2[0][1:]
        return rep


def step_keys(step):
    return {a for a in step.args[1:] if a.startswith(b"{t}") or a in (b"k1", b"k2", b"k3")}


def key_slice(steps, last):
    """The steps that touch the keys of `last`, or of an earlier kept step that shares a key
    with them (walking backwards), plus every HELLO. None when `last` names no key."""
    keys = step_keys(last)
    if not keys or last.name in ("EXEC", "DISCARD"):
        return None
    out = []
    for st in reversed(steps):
        ks = step_keys(st)
        if st.name in ("HELLO", "CONFIG") or (ks & keys) or (st.payload_from and st.args[3] in keys):
            out.append(st)
            keys |= ks
            if st.payload_from:
                keys.add(st.args[3])
    return out[::-1]


def format_report(rep, seed=None):
    steps = rep["minimal"] or rep["steps"][:rep["index"] + 1]
    last = steps[-1]
    lines = []
    head = "DIVERGENCE"
    if seed is not None:
        head += " (seed %s)" % seed
    head += " at: %s" % last.cli()
    lines.append(head)
    lines.append("  minimal reproducer (%d of %d steps%s), on an empty server:" % (
        len(steps), rep["index"] + 1, "" if rep["minimal"] else ", NOT minimised: did not reproduce"))
    for st in steps:
        lines.append("    " + st.cli())
    lines.append("  redis:    %s" % short(rep["ra"], 1000))
    lines.append("  slotcore: %s" % short(rep["rb"], 1000))
    if (rep["na"], rep["nb"]) != (rep["ra"], rep["rb"]):
        lines.append("  compared after normalisation: %s" % explain(rep["na"], rep["nb"]))
    return "\n".join(lines)


def signature(rep):
    """What makes two divergences 'the same' (only the first of each is minimised and printed):
    the command (and OBJECT subcommand), and each side's reply type or error text."""
    last = rep["steps"][rep["index"]]
    sub = last.args[1].decode("latin-1").upper() if last.name in ("OBJECT",) and len(last.args) > 1 else ""

    def kind(r):
        if is_error(r):
            return "error " + " ".join(_s(r[1]).split()[:4])
        return "reply " + r[0]
    return (last.name, sub, kind(rep["ra"]), kind(rep["rb"]))


def generate(seed, length, commands, cross_core=False, invalid_rate=0.08):
    rng = random.Random(seed)
    return Gen(rng, commands, cross_core=cross_core, invalid_rate=invalid_rate).sequence(length)


# --------------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------------

def start_servers():
    import conftest  # ServerProc / argv helpers (imports pytest, which the test setup installs)
    s = conftest.Servers()
    s.start()
    return s


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=None, help="first seed (default: random)")
    ap.add_argument("--sequences", type=int, default=20, help="sequences to run (seed, seed+1, ...)")
    ap.add_argument("--length", type=int, default=60, help="steps per sequence")
    ap.add_argument("--minutes", type=float, default=None,
                    help="run consecutive seeds for this long instead of --sequences")
    ap.add_argument("--redis-port", type=int, default=None)
    ap.add_argument("--slotcore-port", type=int, default=None)
    ap.add_argument("--cross-core", action="store_true", help="also use untagged keys (several cores)")
    ap.add_argument("--show", action="store_true", help="print each generated sequence")
    ap.add_argument("--invalid-rate", type=float, default=0.08,
                    help="share of commands made invalid (a dropped/extra argument, a bad number)")
    ap.add_argument("--no-minimise", action="store_true")
    ap.add_argument("--stats", action="store_true", help="print per-command reply counts at the end")
    ap.add_argument("--max-reports", type=int, default=20,
                    help="stop after this many distinct divergences")
    args = ap.parse_args(argv)

    servers = None
    if (args.redis_port is None) != (args.slotcore_port is None):
        ap.error("give both --redis-port and --slotcore-port, or neither")
    if args.redis_port is None:
        servers = start_servers()
        redis_port, slotcore_port = servers.redis.port, servers.slotcore.port
        alive = servers.slotcore.alive
    else:
        redis_port, slotcore_port, alive = args.redis_port, args.slotcore_port, None
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(10**9)
    found = {}
    count = 0
    steps_run = 0
    t0 = last_progress = time.time()
    runner = None
    try:
        runner = Runner(redis_port, slotcore_port, alive)
        commands = runner.commands()
        fams = [f.__name__[4:] for _, f, need in FAMILIES if need in commands]
        print("fuzz: redis :%d, slotcore :%d; families: %s; first seed %d"
              % (redis_port, slotcore_port, ", ".join(fams), seed), flush=True)
        while True:
            if args.minutes is not None:
                if time.time() - t0 > args.minutes * 60:
                    break
            elif count >= args.sequences:
                break
            steps = generate(seed, args.length, commands, args.cross_core, args.invalid_rate)
            if args.show:
                print("# seed %d" % seed)
                for st in steps:
                    print(st.cli())
            rep = runner.check(steps, minimise=False)
            count += 1
            steps_run += len(steps)
            if args.minutes is not None and time.time() - last_progress > 60:
                last_progress = time.time()
                print("fuzz: %d sequences, %d divergence(s) so far, at seed %d"
                      % (count, len(found), seed), flush=True)
            if rep is not None:
                if servers is not None and not servers.slotcore.alive():
                    # a crash: report its log, restart, and minimise on the fresh servers
                    print("slotcore exited (rc=%s) during seed %d; log tail:\n%s" % (
                        servers.slotcore.proc.returncode, seed, servers.slotcore.log_tail()),
                        flush=True)
                    servers.ensure_alive()
                    runner = Runner(servers.redis.port, servers.slotcore.port, servers.slotcore.alive,
                                    stats=runner.stats)
                    runner.commands()
                sig = signature(rep)
                if sig not in found:
                    if not args.no_minimise:
                        runner.minimise_report(rep)
                        if servers is not None and not servers.slotcore.alive():
                            servers.ensure_alive()
                            runner = Runner(servers.redis.port, servers.slotcore.port,
                                            servers.slotcore.alive, stats=runner.stats)
                            runner.commands()
                    found[sig] = (seed, rep)
                    print(format_report(rep, seed), flush=True)
                    print(flush=True)
                else:
                    print("seed %d: another divergence like seed %d's (%s)"
                          % (seed, found[sig][0], " / ".join(sig)), flush=True)
                if len(found) >= args.max_reports:
                    print("stopping: %d distinct divergences" % len(found))
                    break
            seed += 1
    finally:
        if servers is not None:
            servers.stop()
    if args.stats and runner is not None:
        for name, (n, e) in sorted(runner.stats.items(), key=lambda kv: -kv[1][0]):
            print("  %-18s %6d replies, %5.1f%% errors (redis)" % (name, n, 100.0 * e / n))
    print("fuzz: %d sequences (%d steps) in %.0fs, %d distinct divergence(s)"
          % (count, steps_run, time.time() - t0, len(found)), flush=True)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
