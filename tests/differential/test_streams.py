"""Differential sequences for the STREAM commands (XADD, XLEN, XRANGE, XREVRANGE, XDEL, XTRIM,
XSETID, XREAD, XGROUP and its subcommands, XREADGROUP, XACK, XPENDING, XCLAIM, XAUTOCLAIM, XINFO):
every option and error in Redis's order of checks, WRONGTYPE, TYPE / OBJECT ENCODING, RESP3
replies, MULTI/EXEC, keys on both shard cores, the node (listpack) layout that `~` trimming
depends on (stream-node-max-entries / -bytes), and, in the last section, XREAD BLOCK and
XREADGROUP BLOCK (timeouts, clients served by XADD from another connection, `$`, BLOCK 0, keys of
two cores, the group destroyed or the key deleted while blocked, CLIENT UNBLOCK, XADD in MULTI).

Same harness as test_differential.py: each step goes to redis-server 7.0 and to slotcore and the
typed replies must be equal. Every stream command (and EXEC) is compared with `stream_rule`:
  - an id made by `*` carries the current millisecond: any id `<ms>-<seq>` whose ms lies within
    two days of now is compared as `<time-id>` (shape only). Explicit ids are small numbers, or
    far in the future (then `*` is deterministic: the last id + 1), and are compared exactly;
  - clock values are compared within CLOCK_TOLERANCE_MS: `idle` (XINFO CONSUMERS), `seen-time`
    and the delivery times of XINFO STREAM FULL, and the idle time of XPENDING's extended form;
  - XINFO STREAM's `radix-tree-nodes` is not compared (slotcore's rax may differ in shape);
    `radix-tree-keys` (one per listpack node) is compared like every other field.
Each test starts from flushed servers (the `srv` fixture); the stream node sizes, which that
fixture does not reset, are reset by this file's `stream_node_defaults` fixture around each test.
"""

import os
import re
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from resp import encode  # noqa: E402
from test_differential import C, E, Inline, Pipeline, ScanAll, Sleep, h  # noqa: E402,F401  (h is the pytest fixture)
from test_types import _core_keys  # noqa: E402

# --------------------------------------------------------------------------------------------
# Comparison rule for stream replies
# --------------------------------------------------------------------------------------------

CLOCK_TOLERANCE_MS = 1000
TIME_ID_WINDOW_MS = 2 * 86400 * 1000
ID_RE = re.compile(rb"^(\d+)-(\d+)$")
CLOCK_FIELDS = {b"idle", b"seen-time", b"active-time", b"inactive", b"delivery-time"}
APPROXIMATE_FIELDS = {b"radix-tree-nodes"}


def _text(x):
    """The bytes of a bulk or simple string reply, else None."""
    if x[0] == "$":
        return x[1]
    if x[0] == "+":
        return x[1].encode("latin-1")
    return None


def _is_id(x):
    t = _text(x)
    return t is not None and (ID_RE.match(t) is not None or t == b"<time-id>")


def time_ids(r, now=None):
    """Replaces every id whose millisecond part is close to now (made by `*`) by `<time-id>`."""
    now = now if now is not None else int(time.time() * 1000)
    t = r[0]
    if t in ("$", "+"):
        m = ID_RE.match(_text(r))
        if m and abs(int(m.group(1)) - now) < TIME_ID_WINDOW_MS:
            return (t, b"<time-id>" if t == "$" else "<time-id>")
        return r
    if t in ("*", "~", ">"):
        return (t, [time_ids(x, now) for x in r[1]])
    if t == "%":
        return (t, [(time_ids(k, now), time_ids(v, now)) for k, v in r[1]])
    return r


def _clock_pair(x, y, tol):
    if x[0] == y[0] == ":" and abs(x[1] - y[1]) <= tol:
        return (":", "<clock>"), (":", "<clock>")
    return x, y


def _approximate_pair(x, y):
    if x[0] == y[0] == ":":
        return (":", "<approximate>"), (":", "<approximate>")
    return x, y


def _field_rule(name):
    if name in CLOCK_FIELDS:
        return "clock"
    if name in APPROXIMATE_FIELDS:
        return "approximate"
    return None


def clock_walk(a, b, tol=CLOCK_TOLERANCE_MS):
    """Walks two reply trees side by side; clock values at the same place that are within `tol`
    of each other, and the approximate fields, become placeholders on both sides."""
    if a[0] != b[0]:
        return a, b
    if a[0] == "%" and len(a[1]) == len(b[1]):
        pa, pb = [], []
        for (ka, va), (kb, vb) in zip(a[1], b[1]):
            how = _field_rule(_text(ka)) if ka == kb and _text(ka) is not None else None
            if how == "clock":
                va, vb = _clock_pair(va, vb, tol)
            elif how == "approximate":
                va, vb = _approximate_pair(va, vb)
            else:
                va, vb = clock_walk(va, vb, tol)
            pa.append((ka, va))
            pb.append((kb, vb))
        return ("%", pa), ("%", pb)
    if a[0] in ("*", "~") and len(a[1]) == len(b[1]):
        xa, xb = list(a[1]), list(b[1])
        special = {}
        # RESP2 maps: a field name followed by its value
        for i in range(len(xa) - 1):
            if xa[i] == xb[i] and _text(xa[i]) is not None:
                how = _field_rule(_text(xa[i]))
                if how:
                    special[i + 1] = how
        # pending entries: XPENDING's [id, consumer, idle, deliveries], XINFO STREAM FULL's
        # group [id, consumer, delivery-time, deliveries] and consumer [id, delivery-time, deliveries]
        types = [x[0] for x in xa]
        if types == ["$", "$", ":", ":"] and _is_id(xa[0]):
            special[2] = "clock"
        elif types == ["$", ":", ":"] and _is_id(xa[0]):
            special[1] = "clock"
        outa, outb = [], []
        for i, (x, y) in enumerate(zip(xa, xb)):
            how = special.get(i)
            if how == "clock":
                x, y = _clock_pair(x, y, tol)
            elif how == "approximate":
                x, y = _approximate_pair(x, y)
            else:
                x, y = clock_walk(x, y, tol)
            outa.append(x)
            outb.append(y)
        return (a[0], outa), (b[0], outb)
    return a, b


def stream_rule(ra, rb, args, h):
    """Time-made ids by shape, clock values within a tolerance, radix-tree-nodes not compared."""
    now = int(time.time() * 1000)
    return clock_walk(time_ids(ra, now), time_ids(rb, now))


stream_rule.__name__ = "stream_rule"


STREAM_COMMANDS = {"XADD", "XLEN", "XRANGE", "XREVRANGE", "XDEL", "XTRIM", "XSETID", "XREAD",
                   "XGROUP", "XREADGROUP", "XACK", "XPENDING", "XCLAIM", "XAUTOCLAIM", "XINFO", "EXEC"}


def streams(seq):
    """List steps naming a stream command (or EXEC) get stream_rule; the rest stays as given."""
    out = []
    for step in seq:
        if isinstance(step, (list, tuple)) and str(step[0]).upper() in STREAM_COMMANDS:
            step = C(step, rule=stream_rule)
        out.append(step)
    return out


def run(h, seq, p=None):
    return h.run(streams(seq), p)


@pytest.fixture(autouse=True)
def stream_node_defaults(srv):
    """stream-node-max-entries / -bytes (and notify-keyspace-events) back to their defaults
    before and after each test."""
    def reset():
        for server in (srv.redis, srv.slotcore):
            for name, value in (("stream-node-max-entries", "100"), ("stream-node-max-bytes", "4096"),
                                ("notify-keyspace-events", "")):
                try:
                    server.control.call("CONFIG", "SET", name, value)
                except Exception:  # noqa: BLE001  (a dead server is the next test's problem)
                    pass
    reset()
    yield
    reset()


# Keys on each core of a two-core slotcore.
S0, T0 = _core_keys("xs0_", 2, 0)
S1, T1 = _core_keys("xs1_", 2, 1)

MAX = "18446744073709551615"
FUTURE = "99999999999999"  # a millisecond far after now: `*` after it is deterministic


def entries(key, first, last, field="f", step=1):
    return [["XADD", key, "%d-0" % i, field, str(i)] for i in range(first, last + 1, step)]


# --------------------------------------------------------------------------------------------
# XADD
# --------------------------------------------------------------------------------------------

XADD_IDS = [
    E(["XADD", "s", "1-1", "a", "1"], ("$", b"1-1")),
    ["XADD", "s", "1-1", "a", "1"], ["XADD", "s", "1-0", "a", "1"], ["XADD", "s", "0-5", "a", "1"],
    ["XADD", "s", "0-0", "a", "1"], ["XADD", "fresh", "0-0", "a", "1"], ["EXISTS", "fresh"],
    ["XADD", "fresh", "0-1", "a", "1"], ["XADD", "s", "1-2", "b", "2"], ["XADD", "s", "2", "c", "3"],
    ["XADD", "s", "2-*", "d", "4"], ["XADD", "s", "2-*", "d", "5"], ["XADD", "s", "1-*", "d", "6"],
    ["XADD", "s", "3-*", "e", "7"], ["XADD", "s", "3-" + MAX, "e", "8"], ["XADD", "s", "3-*", "e", "9"],
    ["XADD", "s", "4-0", "f", "10"], ["XADD", "s", "00005-00001", "g", "11"], ["XADD", "s", "5", "g", "x"],
    ["XADD", "star0", "0-*", "a", "1"], ["XADD", "star5", "5-*", "a", "1"], ["XADD", "star5", "5-*", "a", "2"],
    ["XADD", "s", "abc", "a", "1"], ["XADD", "s", "10-", "a", "1"], ["XADD", "s", "-10", "a", "1"],
    ["XADD", "s", "10-1-1", "a", "1"], ["XADD", "s", "18446744073709551616-0", "a", "1"],
    ["XADD", "s", "10-18446744073709551616", "a", "1"], ["XADD", "s", "-", "a", "1"],
    ["XADD", "s", "+", "a", "1"], ["XADD", "s", "$", "a", "1"], ["XADD", "s", ">", "a", "1"],
    ["XADD", "s", "*-1", "a", "1"], ["XADD", "s", "*-*", "a", "1"], ["XADD", "s", "10-**", "a", "1"],
    ["XADD", "s", " 10-1", "a", "1"], ["XADD", "s", "10-1 ", "a", "1"], ["XADD", "s", "+10-1", "a", "1"],
    ["XADD", "s", "-10-1", "a", "1"], ["XADD", "s", "10.5-1", "a", "1"], ["XADD", "s", "", "a", "1"],
    ["XADD", "s", "(10-1", "a", "1"], ["XADD", "s", "0x10-1", "a", "1"],
    ["XADD", "big", MAX + "-" + MAX, "a", "1"], ["XADD", "big", "*", "a", "1"],
    ["XADD", "big", MAX + "-*", "a", "1"], ["XLEN", "big"],
    ["XADD", "big2", MAX + "-" + str(2 ** 64 - 2), "a", "1"], ["XADD", "big2", "*", "a", "2"],
    ["XADD", "big2", "*", "a", "3"], ["XADD", "big2", MAX + "-*", "a", "4"], ["XRANGE", "big2", "-", "+"],
    ["XADD", "fut", FUTURE + "-5", "a", "1"], E(["XADD", "fut", "*", "b", "2"], ("$", b"99999999999999-6")),
    ["XADD", "fut", FUTURE + "-*", "c", "3"], ["XADD", "fut", "*", "d", "4"], ["XRANGE", "fut", "-", "+"],
    ["XLEN", "s"], ["XRANGE", "s", "-", "+"], ["XINFO", "STREAM", "s"],
]

XADD_FIELDS = [
    ["XADD", "s", "1-0", "a"], ["XADD", "s", "1-0"], ["XADD", "s", "1-0", "a", "1", "b"], ["XADD", "s"],
    ["XADD"], ["XADD", "s", "*"], ["XADD", "s", "*", "a"], ["EXISTS", "s"],
    ["XADD", "s", "1-0", "a", "1", "a", "2", "a", "3"], ["XADD", "s", "2-0", "", ""],
    ["XADD", "s", "3-0", "bin\x00\xff", "v\r\nal"],
    ["XADD", "s", "4-0", "n", "12345", "m", "-7", "big", "9223372036854775808"],
    ["XADD", "s", "5-0", "a", "1", "b", "2"], ["XADD", "s", "6-0", "b", "2", "a", "1"],
    ["XADD", "s", "7-0", "a", "x" * 100, "b", "y" * 5000], ["XADD", "s", "8-0", "f" * 70, "v"],
    ["XADD", "s", "9-0", "a", "1", "b", "2"], ["XADD", "s", "10-0", "MAXLEN", "1"],
    ["XADD", "s", "11-0", "NOMKSTREAM", "x"],
    ["XRANGE", "s", "-", "+"], ["XLEN", "s"], ["OBJECT", "ENCODING", "s"], ["TYPE", "s"],
    ["xadd", "s", "12-0", "a", "1"], ["XaDd", "s", "nomkstream", "13-0", "a", "1"],
]

XADD_OPTIONS = [
    ["XADD", "nokey", "NOMKSTREAM", "*", "a", "1"], ["XADD", "nokey", "NOMKSTREAM", "1-1", "a", "1"],
    ["XADD", "nokey", "NOMKSTREAM", "bad", "a", "1"], ["XADD", "nokey", "NOMKSTREAM", "1-1", "a"],
    ["EXISTS", "nokey"], ["XADD", "s", "NOMKSTREAM", "1-0", "a", "1"], ["XADD", "s", "1-0", "a", "1"],
    ["XADD", "s", "NOMKSTREAM", "2-0", "a", "1"], ["XADD", "s", "NOMKSTREAM", "NOMKSTREAM", "3-0", "a", "1"],
    *entries("s", 4, 12),
    ["XADD", "s", "MAXLEN", "3", "13-0", "f", "13"], ["XLEN", "s"], ["XRANGE", "s", "-", "+"],
    ["XADD", "s", "MAXLEN", "=", "2", "14-0", "f", "14"], ["XRANGE", "s", "-", "+"],
    ["XADD", "s", "MAXLEN", "~", "1", "15-0", "f", "15"], ["XLEN", "s"],
    ["XADD", "s", "maxlen", "~", "1", "LIMIT", "10", "16-0", "f", "16"], ["XLEN", "s"],
    ["XADD", "s", "MAXLEN", "1", "LIMIT", "10", "17-0", "f", "17"],
    ["XADD", "s", "MAXLEN", "=", "1", "LIMIT", "10", "17-0", "f", "17"],
    ["XADD", "s", "MAXLEN", "-1", "17-0", "f", "17"], ["XADD", "s", "MAXLEN", "abc", "17-0", "f", "17"],
    ["XADD", "s", "MAXLEN", "1.5", "17-0", "f", "17"], ["XADD", "s", "MAXLEN", "~", "-1", "17-0", "f", "17"],
    ["XADD", "s", "MAXLEN", "9223372036854775808", "17-0", "f", "17"],
    ["XADD", "s", "MAXLEN", "~", "1", "LIMIT", "-1", "17-0", "f", "17"],
    ["XADD", "s", "MAXLEN", "~", "1", "LIMIT", "x", "17-0", "f", "17"],
    ["XADD", "s", "MAXLEN", "~", "1", "LIMIT", "0", "17-0", "f", "17"], ["XLEN", "s"],
    ["XADD", "s", "MAXLEN", "~", "1", "LIMIT", "99999999999", "18-0", "f", "18"],
    ["XADD", "s", "MAXLEN", "1", "MINID", "5", "19-0", "f", "19"],
    ["XADD", "s", "MINID", "5", "MAXLEN", "1", "19-0", "f", "19"],
    ["XADD", "s", "MAXLEN", "1", "MAXLEN", "2", "19-0", "f", "19"], ["XLEN", "s"],
    ["XADD", "s", "LIMIT", "10", "19-0", "f", "19"], ["XADD", "s", "MAXLEN", "19-0", "f", "19"],
    ["XADD", "s", "MAXLEN"], ["XADD", "s", "MAXLEN", "~"], ["XADD", "s", "MAXLEN", "~", "5"],
    ["XADD", "s", "MAXLEN", "5", "*"], ["XADD", "s", "MINID", "bad", "20-0", "f", "20"],
    ["XADD", "s", "MINID", "-1", "20-0", "f", "20"], ["XADD", "s", "MINID", "*", "20-0", "f", "20"],
    ["XADD", "s", "MINID", "(5", "20-0", "f", "20"], ["XADD", "s", "MINID", "-", "20-0", "f", "20"],
    ["XADD", "s", "MINID", "+", "20-0", "f", "20"],
    *entries("m", 1, 10),
    ["XADD", "m", "MINID", "5", "11-0", "f", "11"], ["XRANGE", "m", "-", "+"],
    ["XADD", "m", "MINID", "=", "7-1", "12-0", "f", "12"], ["XRANGE", "m", "-", "+"],
    ["XADD", "m", "MINID", "~", "10", "13-0", "f", "13"], ["XLEN", "m"],
    ["XADD", "m", "MINID", "100", "14-0", "f", "14"], ["XLEN", "m"], ["XRANGE", "m", "-", "+"],
    ["XADD", "m", "MINID", "1000", "MAXLEN", "0"], ["XADD", "m", "MAXLEN", "0", "15-0", "f", "15"],
    ["XLEN", "m"], ["EXISTS", "m"], ["XINFO", "STREAM", "m"],
    ["XADD", "z", "MAXLEN", "0", "1-0", "f", "1"], ["EXISTS", "z"], ["XLEN", "z"], ["XINFO", "STREAM", "z"],
    ["XADD", "z", "1-0", "f", "1"], ["XADD", "z", "MINID", "5", "2-0", "f", "2"], ["XLEN", "z"],
    ["XADD", "z", "NOMKSTREAM", "MAXLEN", "~", "0", "3-0", "f", "3"],
    ["XADD", "z", "MAXLEN", "1", "NOMKSTREAM", "4-0", "f", "4"],
    ["XADD", "nokey2", "NOMKSTREAM", "MAXLEN", "0", "1-0", "a", "1"], ["EXISTS", "nokey2"],
    ["XADD", "z", "nomkstream", "maxlen", "=", "5", "limit", "3", "5-0", "f", "5"],
    ["XADD", "z", "MAXLEN", "~", "0", "BOGUS", "6-0", "f", "6"],
]

XADD_WRONGTYPE = [
    ["SET", "str", "x"], ["HSET", "hash", "f", "v"], ["RPUSH", "list", "a"], ["SADD", "set", "a"],
    ["ZADD", "zset", "1", "a"],
    ["XADD", "str", "1-1", "a", "1"], ["XADD", "str", "*", "a", "1"], ["XADD", "str", "NOMKSTREAM", "1-1", "a", "1"],
    ["XADD", "str", "bad", "a", "1"], ["XADD", "str", "1-1", "a"], ["XADD", "str", "MAXLEN", "-1", "1-1", "a", "1"],
    ["XADD", "hash", "1-1", "a", "1"], ["XADD", "list", "MAXLEN", "1", "1-1", "a", "1"],
    ["XADD", "set", "1-1", "a", "1"], ["XADD", "zset", "1-1", "a", "1"],
    ["XLEN", "str"], ["XRANGE", "str", "-", "+"], ["XRANGE", "str", "bad", "+"], ["XREVRANGE", "list", "+", "-"],
    ["XDEL", "str", "1-1"], ["XDEL", "str", "bad"], ["XTRIM", "str", "MAXLEN", "1"], ["XTRIM", "str", "MAXLEN", "-1"],
    ["XSETID", "str", "1-1"], ["XREAD", "STREAMS", "str", "0"], ["XREAD", "STREAMS", "nokey", "str", "0", "0"],
    ["XGROUP", "CREATE", "str", "g", "0"], ["XGROUP", "CREATE", "str", "g", "0", "MKSTREAM"],
    ["XGROUP", "SETID", "str", "g", "0"], ["XGROUP", "DESTROY", "str", "g"],
    ["XGROUP", "CREATECONSUMER", "str", "g", "c"], ["XGROUP", "DELCONSUMER", "str", "g", "c"],
    ["XREADGROUP", "GROUP", "g", "c", "STREAMS", "str", ">"], ["XACK", "str", "g", "1-1"],
    ["XPENDING", "str", "g"], ["XPENDING", "str", "g", "-", "+", "10"],
    ["XCLAIM", "str", "g", "c", "0", "1-1"], ["XAUTOCLAIM", "str", "g", "c", "0", "0"],
    ["XINFO", "STREAM", "str"], ["XINFO", "GROUPS", "str"], ["XINFO", "CONSUMERS", "str", "g"],
    ["XADD", "s", "1-1", "a", "1"], ["TYPE", "s"], ["OBJECT", "ENCODING", "s"],
    ["GET", "s"], ["HGET", "s", "a"], ["LPUSH", "s", "x"], ["SADD", "s", "x"], ["ZADD", "s", "1", "x"],
    ["APPEND", "s", "x"], ["INCR", "s"], ["LLEN", "s"], ["SCARD", "s"], ["ZCARD", "s"], ["HLEN", "s"],
    ["PFADD", "s", "x"], ["SETBIT", "s", "1", "1"], ["GEOADD", "s", "1", "2", "m"], ["STRLEN", "s"],
    ["TYPE", "s"], ["XLEN", "s"], ["SET", "s", "now a string"], ["TYPE", "s"], ["XLEN", "s"],
    ["XADD", "e", "MAXLEN", "0", "1-1", "a", "1"], ["TYPE", "e"], ["OBJECT", "ENCODING", "e"], ["DBSIZE"],
    ScanAll(["TYPE", "stream"]), ScanAll(["TYPE", "STREAM"]), ["DEL", "e"], ["EXISTS", "e"],
]


def test_xadd_ids(h):
    run(h, XADD_IDS)
    h.done()


def test_xadd_fields(h):
    run(h, XADD_FIELDS)
    h.done()


def test_xadd_trimming_options(h):
    run(h, XADD_OPTIONS)
    h.done()


def test_wrongtype_and_type(h):
    run(h, XADD_WRONGTYPE)
    h.done()


def test_xadd_time_ids(h):
    """`*` makes an id from the clock: compared by shape; what follows is deterministic."""
    run(h, [
        ["XADD", "t", "*", "a", "1"], ["XADD", "t", "*", "a", "2"], ["XADD", "t", "MAXLEN", "5", "*", "a", "3"],
        ["XLEN", "t"], ["XRANGE", "t", "-", "+"], ["XREVRANGE", "t", "+", "-", "COUNT", "1"],
        ["XADD", "t", "1-1", "a", "old"], ["XADD", "t", FUTURE + "-0", "a", "4"], ["XADD", "t", "*", "a", "5"],
        ["XRANGE", "t", FUTURE, "+"], ["XINFO", "STREAM", "t"], ["XREAD", "COUNT", "1", "STREAMS", "t", "0"],
        ["XADD", "t2", "NOMKSTREAM", "*", "a", "1"], ["XADD", "t2", "MINID", "0", "*", "a", "1"],
        ["XLEN", "t2"], ["XGROUP", "CREATE", "t2", "g", "$"], ["XADD", "t2", "*", "b", "2"],
        ["XREADGROUP", "GROUP", "g", "c", "STREAMS", "t2", ">"], ["XINFO", "GROUPS", "t2"],
        ["XPENDING", "t2", "g"], ["XINFO", "STREAM", "t2", "FULL"],
    ])
    h.done()


# --------------------------------------------------------------------------------------------
# XLEN, XRANGE, XREVRANGE, XDEL, XTRIM, XSETID
# --------------------------------------------------------------------------------------------

RANGE_DATA = [
    ["XADD", "r", "1-1", "a", "1"], ["XADD", "r", "1-2", "b", "2"], ["XADD", "r", "2-0", "c", "3"],
    ["XADD", "r", "3-5", "d", "4"], ["XADD", "r", "5-0", "e", "5"], ["XADD", "r", "5-1", "f", "6"],
    ["XADD", "r", "5-" + MAX, "g", "7"], ["XADD", "r", "6-0", "h", "8"], ["XADD", "r", "10-0", "i", "9"],
]

RANGES = RANGE_DATA + [
    ["XLEN", "r"], ["XLEN", "nokey"], ["XLEN"], ["XLEN", "r", "extra"],
    ["XRANGE", "r", "-", "+"], ["XRANGE", "r", "+", "-"], ["XRANGE", "r", "2", "5"], ["XRANGE", "r", "5", "5"],
    ["XRANGE", "r", "5-1", "5-1"], ["XRANGE", "r", "1", "1"], ["XRANGE", "r", "0", "0"], ["XRANGE", "r", "6", "2"],
    ["XRANGE", "r", "(1-1", "+"], ["XRANGE", "r", "-", "(5-0"], ["XRANGE", "r", "(5", "+"],
    ["XRANGE", "r", "-", "(5"],
    ["XRANGE", "r", "(5-1", "(6-0"], ["XRANGE", "r", "(5-" + MAX, "+"], ["XRANGE", "r", "(1", "(2"],
    ["XRANGE", "r", "(", "+"], ["XRANGE", "r", "(-", "+"], ["XRANGE", "r", "-", "(+"], ["XRANGE", "r", "(+", "+"],
    ["XRANGE", "r", "-", "(-"], ["XRANGE", "r", "(" + MAX + "-" + MAX, "+"], ["XRANGE", "r", "-", "(0-0"],
    ["XRANGE", "r", "(0-0", "+", "COUNT", "2"], ["XRANGE", "r", "-", "(" + MAX + "-" + MAX],
    ["XRANGE", "r", "((1-1", "+"], ["XRANGE", "r", "-", "+", "COUNT", "0"], ["XRANGE", "r", "-", "+", "COUNT", "-1"],
    ["XRANGE", "r", "-", "+", "COUNT", "1"], ["XRANGE", "r", "-", "+", "COUNT", "3"],
    ["XRANGE", "r", "-", "+", "count", "100"],
    ["XRANGE", "r", "-", "+", "COUNT", "abc"], ["XRANGE", "r", "-", "+", "COUNT"],
    ["XRANGE", "r", "-", "+", "LIMIT", "1"],
    ["XRANGE", "r", "-", "+", "COUNT", "1", "COUNT", "2"], ["XRANGE", "r", "-", "+", "COUNT", "9223372036854775808"],
    ["XRANGE", "r", "-", "+", "COUNT", "9223372036854775807"], ["XRANGE", "r", "-", "+", "COUNT", "1", "extra"],
    ["XRANGE", "r", "abc", "+"], ["XRANGE", "r", "-", "abc"], ["XRANGE", "r", "1-", "+"], ["XRANGE", "r", "-1", "+"],
    ["XRANGE", "r", "*", "+"], ["XRANGE", "r", "-", "*"], ["XRANGE", "r", "1-*", "+"], ["XRANGE", "r", "$", "+"],
    ["XRANGE", "r", "18446744073709551616", "+"], ["XRANGE", "r", "0", MAX],
    ["XRANGE", "r", "5-18446744073709551616", "+"],
    ["XRANGE", "r", "-", "5-0"], ["XRANGE", "r", "3-5", "3-5"], ["XRANGE", "r", "3-4", "3-6"],
    ["XRANGE", "nokey", "-", "+"], ["XRANGE", "nokey", "bad", "+"], ["XRANGE", "nokey", "-", "+", "COUNT", "x"],
    ["XRANGE", "r", "-"], ["XRANGE", "r"],
    ["XREVRANGE", "r", "+", "-"], ["XREVRANGE", "r", "-", "+"], ["XREVRANGE", "r", "5", "2"],
    ["XREVRANGE", "r", "5", "5"],
    ["XREVRANGE", "r", "(5-1", "-"], ["XREVRANGE", "r", "+", "(5"], ["XREVRANGE", "r", "(5", "(2"],
    ["XREVRANGE", "r", "(6", "-"],
    ["XREVRANGE", "r", "+", "-", "COUNT", "2"], ["XREVRANGE", "r", "+", "-", "COUNT", "0"],
    ["XREVRANGE", "r", "+", "-", "COUNT", "-5"],
    ["XREVRANGE", "r", "(-", "-"], ["XREVRANGE", "r", "+", "(+"], ["XREVRANGE", "r", "(0-0", "-"],
    ["XREVRANGE", "r", "+", "(" + MAX + "-" + MAX], ["XREVRANGE", "r", "2", "5"], ["XREVRANGE", "nokey", "+", "-"],
    ["XREVRANGE", "r", "+", "-", "COUNT"], ["XREVRANGE", "r", "bad", "-"],
    ["xrange", "r", "-", "+", "CoUnT", "2"],
]

XDEL_SEQ = RANGE_DATA + [
    ["XDEL", "r", "1-1"], ["XDEL", "r", "1-1"], ["XDEL", "r", "1-2", "2-0", "99-0", "2-0"], ["XLEN", "r"],
    ["XRANGE", "r", "-", "+"], ["XDEL", "r", "5"], ["XDEL", "r", "bad"], ["XDEL", "r", "3-5", "bad"], ["XLEN", "r"],
    ["XDEL", "r", "3-5", "*"], ["XDEL", "r", "-", "+"], ["XDEL", "r"], ["XDEL"], ["XDEL", "nokey", "1-1"],
    ["XDEL", "nokey", "bad"], ["XINFO", "STREAM", "r"], ["XDEL", "r", "10-0"], ["XINFO", "STREAM", "r"],
    ["XADD", "r", "10-0", "x", "1"], ["XADD", "r", "11-0", "x", "1"],
    ["XDEL", "r", "3-5", "5-0", "5-1", "5-" + MAX, "6-0", "11-0"],
    ["XLEN", "r"], ["EXISTS", "r"], ["XRANGE", "r", "-", "+"], ["XINFO", "STREAM", "r"],
    ["XADD", "r", "11-0", "x", "1"],
    ["XADD", "r", "11-1", "x", "1"], ["XINFO", "STREAM", "r"], ["XDEL", "r", MAX + "-" + MAX],
    ["XINFO", "STREAM", "r"],
]

XTRIM_SEQ = [
    *entries("t", 1, 20),
    ["XTRIM", "t", "MAXLEN", "15"], ["XLEN", "t"], ["XTRIM", "t", "MAXLEN", "=", "14"],
    ["XTRIM", "t", "maxlen", "~", "2"],
    ["XLEN", "t"], ["XTRIM", "t", "MAXLEN", "~", "2", "LIMIT", "5"], ["XTRIM", "t", "MAXLEN", "2", "LIMIT", "5"],
    ["XTRIM", "t", "MAXLEN", "=", "2", "LIMIT", "5"], ["XTRIM", "t", "MINID", "2", "LIMIT", "5"],
    ["XTRIM", "t", "MAXLEN", "-1"], ["XTRIM", "t", "MAXLEN", "x"], ["XTRIM", "t", "MAXLEN"], ["XTRIM", "t"],
    ["XTRIM", "t", "FOO", "1"], ["XTRIM", "t", "MAXLEN", "1", "MINID", "1"], ["XTRIM", "t", "MINID", "bad"],
    ["XTRIM", "t", "MINID", "-"], ["XTRIM", "t", "MINID", "+"], ["XTRIM", "t", "MINID", "*"],
    ["XTRIM", "t", "MINID", "(5"],
    ["XTRIM", "t", "MAXLEN", "~", "1", "LIMIT", "-1"], ["XTRIM", "t", "MAXLEN", "~", "1", "LIMIT", "x"],
    ["XTRIM", "t", "MAXLEN", "~", "1", "LIMIT"], ["XTRIM", "t", "LIMIT", "5", "MAXLEN", "~", "1"],
    ["XTRIM", "t", "MAXLEN", "~", "~", "1"], ["XTRIM", "t", "MAXLEN", "=", "~", "1"],
    ["XTRIM", "t", "~", "MAXLEN", "1"],
    ["XTRIM", "t", "MAXLEN", "1", "extra"], ["XTRIM", "t", "MAXLEN", "5", "MAXLEN", "6"], ["XLEN", "t"],
    ["XTRIM", "t", "MINID", "10"], ["XRANGE", "t", "-", "+"], ["XTRIM", "t", "MINID", "=", "12-1"],
    ["XRANGE", "t", "-", "+", "COUNT", "1"], ["XTRIM", "t", "MINID", "~", "100"], ["XLEN", "t"],
    ["XTRIM", "t", "MINID", "~", "100", "LIMIT", "0"], ["XLEN", "t"], ["XTRIM", "t", "MINID", "100"], ["XLEN", "t"],
    ["EXISTS", "t"], ["XINFO", "STREAM", "t"], ["XTRIM", "t", "MAXLEN", "0"], ["XTRIM", "nokey", "MAXLEN", "0"],
    ["XTRIM", "nokey", "MAXLEN", "-1"], ["XTRIM", "nokey", "FOO"], ["EXISTS", "nokey"],
    *entries("t", 30, 40), ["XTRIM", "t", "MAXLEN", "0"], ["XLEN", "t"], ["XINFO", "STREAM", "t"],
    *entries("t", 41, 45), ["XTRIM", "t", "MAXLEN", "9223372036854775807"],
    ["XTRIM", "t", "MAXLEN", "9223372036854775808"],
    ["XTRIM", "t", "MINID", "0"], ["XTRIM", "t", "MINID", MAX + "-" + MAX], ["XLEN", "t"],
]

XSETID_SEQ = [
    ["XSETID", "nokey", "1-1"], ["XSETID", "nokey", "bad"], ["XSETID", "nokey", "1-1", "ENTRIESADDED", "-1"],
    ["XADD", "x", "5-0", "a", "1"], ["XADD", "x", "6-0", "a", "1"], ["XINFO", "STREAM", "x"],
    ["XSETID", "x", "10-0"], ["XINFO", "STREAM", "x"], ["XADD", "x", "7-0", "a", "1"],
    ["XADD", "x", "10-*", "a", "1"],
    ["XSETID", "x", "10-0"],
    ["XSETID", "x", "5-0"], ["XSETID", "x", "11-0"], ["XSETID", "x", "11"], ["XSETID", "x", "bad"],
    ["XSETID", "x", "*"],
    ["XSETID", "x", "$"], ["XSETID", "x", "12-*"], ["XSETID", "x", "-"], ["XSETID", "x", "+"],
    ["XSETID", "x", "20-0", "ENTRIESADDED", "100"], ["XINFO", "STREAM", "x"],
    ["XSETID", "x", "20-0", "ENTRIESADDED", "1"], ["XSETID", "x", "20-0", "ENTRIESADDED", "-1"],
    ["XSETID", "x", "20-0", "ENTRIESADDED", "x"], ["XSETID", "x", "20-0", "ENTRIESADDED"],
    ["XSETID", "x", "20-0", "MAXDELETEDID", "15-0"], ["XINFO", "STREAM", "x"],
    ["XSETID", "x", "20-0", "MAXDELETEDID", "25-0"], ["XSETID", "x", "20-0", "MAXDELETEDID", "bad"],
    ["XSETID", "x", "20-0", "MAXDELETEDID"], ["XSETID", "x", "20-0", "ENTRIESADDED", "5", "MAXDELETEDID", "19"],
    ["XSETID", "x", "20-0", "MAXDELETEDID", "19", "ENTRIESADDED", "5"], ["XINFO", "STREAM", "x"],
    ["XSETID", "x", "20-0", "FOO", "1"], ["XSETID", "x", "20-0", "ENTRIESADDED", "1", "MAXDELETEDID", "25-0"],
    ["XSETID", "x", "1-0", "ENTRIESADDED", "1", "MAXDELETEDID", "25-0"],
    ["XSETID", "x", "1-0", "ENTRIESADDED", "100"],
    ["XSETID", "x", "20-0", "ENTRIESADDED", "9223372036854775807"], ["XINFO", "STREAM", "x"],
    ["XSETID", "x"], ["XSETID"], ["XADD", "x", "20-0", "a", "1"], ["XADD", "x", "20-*", "a", "1"],
    ["XTRIM", "x", "MAXLEN", "0"], ["XSETID", "x", "1-0"], ["XSETID", "x", "0-0"], ["XINFO", "STREAM", "x"],
    ["XADD", "x", "0-1", "a", "1"], ["XADD", "x", "1-1", "a", "1"], ["XLEN", "x"],
    ["XADD", "e", "MAXLEN", "0", "5-5", "a", "1"], ["XSETID", "e", "0-0"], ["XSETID", "e", "5-4"],
    ["XSETID", "e", "5-5", "MAXDELETEDID", "5-5"], ["XSETID", "e", "5-6", "ENTRIESADDED", "0"],
    ["XINFO", "STREAM", "e"],
    ["XSETID", "x", MAX + "-" + MAX], ["XADD", "x", "*", "a", "1"], ["XINFO", "STREAM", "x"],
]


def test_xlen_xrange_xrevrange(h):
    run(h, RANGES)
    h.done()


def test_xdel(h):
    run(h, XDEL_SEQ)
    h.done()


def test_xtrim(h):
    run(h, XTRIM_SEQ)
    h.done()


def test_xsetid(h):
    run(h, XSETID_SEQ)
    h.done()


# --------------------------------------------------------------------------------------------
# XREAD (non-blocking)
# --------------------------------------------------------------------------------------------

XREAD_SEQ = RANGE_DATA + [
    ["XADD", "r2", "3-0", "z", "1"], ["XADD", "r2", "4-0", "z", "2"],
    ["XREAD", "STREAMS", "r", "0"], ["XREAD", "STREAMS", "r", "0-0"], ["XREAD", "STREAMS", "r", "5"],
    ["XREAD", "STREAMS", "r", "5-1"], ["XREAD", "STREAMS", "r", "10-0"], ["XREAD", "STREAMS", "r", "$"],
    ["XREAD", "COUNT", "2", "STREAMS", "r", "r2", "0", "0"], ["XREAD", "COUNT", "1", "STREAMS", "r", "r2", "5", "3"],
    ["XREAD", "STREAMS", "r", "r2", "$", "0"], ["XREAD", "STREAMS", "r", "r2", "$", "$"],
    ["XREAD", "STREAMS", "nokey", "r2", "0", "0"], ["XREAD", "STREAMS", "nokey", "0"],
    ["XREAD", "STREAMS", "nokey", "$"],
    ["XREAD", "STREAMS", "r", "r", "0", "5"], ["XREAD", "COUNT", "0", "STREAMS", "r", "0"],
    ["XREAD", "COUNT", "-1", "STREAMS", "r", "0"], ["XREAD", "COUNT", "abc", "STREAMS", "r", "0"],
    ["XREAD", "COUNT", "1", "COUNT", "2", "STREAMS", "r", "0"], ["XREAD", "count", "1", "streams", "r", "0"],
    ["XREAD", "STREAMS", "r"], ["XREAD", "STREAMS", "r", "r2", "0"], ["XREAD", "STREAMS"], ["XREAD", "COUNT", "1"],
    ["XREAD", "r", "0"], ["XREAD"], ["XREAD", "COUNT"], ["XREAD", "FOO", "STREAMS", "r", "0"],
    ["XREAD", "STREAMS", "r", "bad"], ["XREAD", "STREAMS", "r", ">"], ["XREAD", "STREAMS", "r", "+"],
    ["XREAD", "STREAMS", "r", "-"], ["XREAD", "STREAMS", "r", "(1-1"], ["XREAD", "STREAMS", "r", "*"],
    ["XREAD", "STREAMS", "r", "5-*"], ["XREAD", "STREAMS", "r", MAX + "-" + MAX], ["XREAD", "STREAMS", "r", MAX],
    ["XREAD", "NOACK", "STREAMS", "r", "0"], ["XREAD", "GROUP", "g", "c", "STREAMS", "r", "0"],
    ["XREAD", "BLOCK", "-1", "STREAMS", "r", "0"], ["XREAD", "BLOCK", "abc", "STREAMS", "r", "0"],
    ["XREAD", "BLOCK", "0", "STREAMS", "r", "0"],
    ["XREAD", "BLOCK", "10", "COUNT", "1", "STREAMS", "r", "r2", "0", "0"],
    ["XREAD", "STREAMS", "nokey", "bad"], ["XREAD", "STREAMS", "r", "STREAMS", "0"],
    ["XREAD", "STREAMS", "STREAMS", "0"], ["XREAD", "STREAMS", "r", "COUNT", "0", "1"],
    ["XDEL", "r", "5-1", "6-0"], ["XREAD", "STREAMS", "r", "5-0"], ["XREAD", "COUNT", "1", "STREAMS", "r", "5-0"],
    ["COMMAND", "GETKEYS", "XREAD", "COUNT", "1", "STREAMS", "r", "r2", "0", "0"],
    ["COMMAND", "GETKEYS", "XREADGROUP", "GROUP", "g", "c", "STREAMS", "r", ">"],
]


def test_xread(h):
    run(h, XREAD_SEQ)
    h.done()


# --------------------------------------------------------------------------------------------
# Consumer groups
# --------------------------------------------------------------------------------------------

XGROUP_SEQ = [
    ["XGROUP", "CREATE", "nokey", "g", "0"], ["XGROUP", "CREATE", "nokey", "g", "$", "MKSTREAM"],
    ["EXISTS", "nokey"], ["XLEN", "nokey"], ["XINFO", "GROUPS", "nokey"], ["XINFO", "STREAM", "nokey"],
    ["XGROUP", "CREATE", "nokey", "g", "$", "MKSTREAM"], ["XGROUP", "CREATE", "nk2", "g", "bad", "MKSTREAM"],
    ["EXISTS", "nk2"],
    ["XGROUP", "CREATE", "nk3", "g", "5-0", "MKSTREAM", "ENTRIESREAD", "3"], ["XINFO", "GROUPS", "nk3"],
    *entries("s", 1, 5),
    ["XGROUP", "CREATE", "s", "g1", "0"], ["XGROUP", "CREATE", "s", "g1", "0"], ["XGROUP", "CREATE", "s", "g2", "$"],
    ["XGROUP", "CREATE", "s", "g3", "3"], ["XGROUP", "CREATE", "s", "g4", "3-0", "ENTRIESREAD", "2"],
    ["XGROUP", "CREATE", "s", "g5", "0", "ENTRIESREAD", "-1"],
    ["XGROUP", "CREATE", "s", "g6", "0", "ENTRIESREAD", "-2"],
    ["XGROUP", "CREATE", "s", "g7", "0", "ENTRIESREAD", "x"], ["XGROUP", "CREATE", "s", "g7", "0", "ENTRIESREAD"],
    ["XGROUP", "CREATE", "s", "g8", "0", "ENTRIESREAD", "100"], ["XGROUP", "CREATE", "s", "g9", "0", "FOO"],
    ["XGROUP", "CREATE", "s", "g10", "bad"], ["XGROUP", "CREATE", "s", "g10", ">"],
    ["XGROUP", "CREATE", "s", "g10", "*"],
    ["XGROUP", "CREATE", "s", "g10", "-"], ["XGROUP", "CREATE", "s", "g10", "+"],
    ["XGROUP", "CREATE", "s", "g10", "(1"],
    ["XGROUP", "CREATE", "s", "g11", "99-0"], ["XGROUP", "CREATE", "s", "g12", "0", "MKSTREAM"],
    ["XGROUP", "CREATE", "s", "g13", "$", "MKSTREAM", "MKSTREAM"], ["XGROUP", "create", "s", "g14", "0", "mkstream"],
    ["XGROUP", "CREATE", "s", "", "0"], ["XGROUP", "CREATE", "s", "g1"], ["XGROUP", "CREATE", "s"],
    ["XGROUP", "CREATE", "s", "g15", "0", "ENTRIESREAD", "1", "MKSTREAM", "extra"],
    ["XINFO", "GROUPS", "s"],
    ["XGROUP", "SETID", "s", "g1", "3"], ["XGROUP", "SETID", "s", "g1", "$"],
    ["XGROUP", "SETID", "s", "g1", "0", "ENTRIESREAD", "0"],
    ["XGROUP", "SETID", "s", "g2", "2-0", "ENTRIESREAD", "2"],
    ["XGROUP", "SETID", "s", "g2", "2-0", "ENTRIESREAD", "-5"],
    ["XGROUP", "SETID", "s", "g2", "2-0", "ENTRIESREAD", "x"], ["XGROUP", "SETID", "s", "g2", "bad"],
    ["XGROUP", "SETID", "s", "nog", "0"], ["XGROUP", "SETID", "nokey2", "g", "0"],
    ["XGROUP", "SETID", "s", "g2", "0", "FOO"],
    ["XGROUP", "SETID", "s", "g2", "0", "MKSTREAM"], ["XGROUP", "SETID", "s", "g2"],
    ["XGROUP", "SETID", "s", "g3", "99-0"],
    ["XINFO", "GROUPS", "s"],
    ["XGROUP", "CREATECONSUMER", "s", "g1", "alice"], ["XGROUP", "CREATECONSUMER", "s", "g1", "alice"],
    ["XGROUP", "CREATECONSUMER", "s", "g1", "bob"], ["XGROUP", "CREATECONSUMER", "s", "nog", "alice"],
    ["XGROUP", "CREATECONSUMER", "nokey3", "g1", "alice"], ["XGROUP", "CREATECONSUMER", "s", "g1"],
    ["XGROUP", "CREATECONSUMER", "s", "g1", "c", "extra"], ["XINFO", "CONSUMERS", "s", "g1"],
    ["XREADGROUP", "GROUP", "g1", "alice", "COUNT", "2", "STREAMS", "s", ">"],
    ["XGROUP", "DELCONSUMER", "s", "g1", "alice"], ["XGROUP", "DELCONSUMER", "s", "g1", "alice"],
    ["XGROUP", "DELCONSUMER", "s", "g1", "nobody"], ["XGROUP", "DELCONSUMER", "s", "nog", "bob"],
    ["XGROUP", "DELCONSUMER", "nokey3", "g1", "bob"], ["XGROUP", "DELCONSUMER", "s", "g1"],
    ["XINFO", "CONSUMERS", "s", "g1"], ["XPENDING", "s", "g1"], ["XINFO", "GROUPS", "s"],
    ["XGROUP", "DESTROY", "s", "g1"], ["XGROUP", "DESTROY", "s", "g1"], ["XGROUP", "DESTROY", "nokey3", "g1"],
    ["XGROUP", "DESTROY", "s"], ["XGROUP", "DESTROY", "s", "g2", "g3"], ["XINFO", "GROUPS", "s"],
    ["XGROUP", "HELP"], ["XGROUP", "help"], ["XGROUP", "HELP", "extra"], ["XGROUP", "FOO"],
    ["XGROUP", "FOO", "s", "g"],
    ["XGROUP"], ["XINFO", "HELP"], ["XINFO", "HELP", "x"], ["XINFO", "FOO"], ["XINFO"], ["XINFO", "STREAM"],
    ["XINFO", "GROUPS"], ["XINFO", "CONSUMERS", "s"], ["XINFO", "STREAM", "s", "BAD"], ["XINFO", "GROUPS", "s", "x"],
    ["XINFO", "CONSUMERS", "s", "nog"], ["XINFO", "CONSUMERS", "nokey3", "g"], ["XINFO", "STREAM", "nokey3"],
    ["XINFO", "STREAM", "s", "FULL", "COUNT"], ["XINFO", "STREAM", "s", "FULL", "COUNT", "x"],
    ["XINFO", "STREAM", "s", "FULL", "x"], ["XINFO", "STREAM", "s", "COUNT", "1"],
    ["DEL", "s"], ["XINFO", "GROUPS", "s"], ["XGROUP", "CREATE", "s", "g", "0"],
]

XREADGROUP_SEQ = [
    *entries("s", 1, 6),
    ["XGROUP", "CREATE", "s", "g", "0"],
    ["XREADGROUP", "GROUP", "g", "alice", "COUNT", "2", "STREAMS", "s", ">"],
    ["XREADGROUP", "GROUP", "g", "bob", "COUNT", "1", "STREAMS", "s", ">"],
    ["XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", "0"],
    ["XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", "1-0"],
    ["XREADGROUP", "GROUP", "g", "alice", "COUNT", "1", "STREAMS", "s", "0"],
    ["XREADGROUP", "GROUP", "g", "bob", "STREAMS", "s", "0"],
    ["XREADGROUP", "GROUP", "g", "carol", "STREAMS", "s", "0"], ["XINFO", "CONSUMERS", "s", "g"],
    ["XREADGROUP", "GROUP", "g", "alice", "NOACK", "COUNT", "1", "STREAMS", "s", ">"], ["XPENDING", "s", "g"],
    ["XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", ">"],
    ["XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", ">"],
    ["XPENDING", "s", "g"], ["XINFO", "GROUPS", "s"],
    ["XDEL", "s", "2-0"], ["XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", "0"],
    ["XREADGROUP", "GROUP", "g", "alice", "COUNT", "1", "STREAMS", "s", "0"], ["XINFO", "GROUPS", "s"],
    ["XACK", "s", "g", "1-0", "2-0"], ["XACK", "s", "g", "1-0"], ["XACK", "s", "g", "99-0", "3-0", "3-0"],
    ["XACK", "s", "g", "bad"], ["XACK", "s", "g", "4-0", "bad"], ["XACK", "s", "nog", "4-0"],
    ["XACK", "nokey", "g", "1-0"],
    ["XACK", "nokey", "g", "bad"], ["XACK", "s", "g"], ["XACK", "s", "g", "4"], ["XPENDING", "s", "g"],
    ["XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", "0"],
    ["XREADGROUP", "GROUP", "nog", "alice", "STREAMS", "s", ">"],
    ["XREADGROUP", "GROUP", "g", "alice", "STREAMS", "nokey", ">"],
    ["XREADGROUP", "GROUP", "g", "alice", "STREAMS", "nokey", "0"],
    ["XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", "$"],
    ["XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", "bad"],
    ["XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s"],
    ["XREADGROUP", "GROUP", "g", "STREAMS", "s", ">"], ["XREADGROUP", "GROUP", "g"],
    ["XREADGROUP", "STREAMS", "s", ">"],
    ["XREADGROUP", "COUNT", "1", "STREAMS", "s", ">"],
    ["XREADGROUP", "GROUP", "g", "alice", "COUNT", "x", "STREAMS", "s", ">"],
    ["XREADGROUP", "GROUP", "g", "alice", "COUNT", "-1", "STREAMS", "s", "0"],
    ["XREADGROUP", "GROUP", "g", "alice", "COUNT", "0", "STREAMS", "s", "0"],
    ["XREADGROUP", "GROUP", "g", "alice", "BLOCK", "-1", "STREAMS", "s", ">"],
    ["XREADGROUP", "GROUP", "g", "alice", "FOO", "STREAMS", "s", ">"],
    ["XREADGROUP", "GROUP", "g", "alice", "GROUP", "g", "bob", "STREAMS", "s", ">"],
    ["XREADGROUP", "group", "g", "alice", "noack", "streams", "s", ">"],
    ["XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", "+"],
    ["XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", "-"],
    ["XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", "99-0"],
    ["XGROUP", "SETID", "s", "g", "0"], ["XREADGROUP", "GROUP", "g", "dave", "COUNT", "2", "STREAMS", "s", ">"],
    ["XPENDING", "s", "g"], ["XINFO", "CONSUMERS", "s", "g"],
    ["XADD", "s2", "1-0", "x", "1"], ["XGROUP", "CREATE", "s2", "g", "$"], ["XGROUP", "CREATE", "s2", "h", "0"],
    ["XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", "s2", ">", ">"],
    ["XREADGROUP", "GROUP", "h", "alice", "STREAMS", "s", "s2", ">", ">"],
    ["XREADGROUP", "GROUP", "h", "alice", "STREAMS", "s2", "s", ">", ">"],
    ["XADD", "s", "7-0", "f", "7"], ["XADD", "s2", "2-0", "x", "2"],
    ["XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", "s2", ">", ">"],
    ["XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", "s2", "0", ">"],
    ["XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", "s2", "0", "0"],
    ["XINFO", "STREAM", "s", "FULL"], ["XINFO", "STREAM", "s2", "FULL"],
    ["XTRIM", "s", "MAXLEN", "0"], ["XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", "0"], ["XPENDING", "s", "g"],
    ["XINFO", "GROUPS", "s"], ["XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", ">"],
]

XPENDING_SEQ = [
    *entries("s", 1, 8),
    ["XGROUP", "CREATE", "s", "g", "0"], ["XGROUP", "CREATE", "s", "empty", "0"],
    ["XPENDING", "s", "empty"], ["XPENDING", "s", "empty", "-", "+", "10"],
    ["XREADGROUP", "GROUP", "g", "alice", "COUNT", "3", "STREAMS", "s", ">"],
    ["XREADGROUP", "GROUP", "g", "bob", "COUNT", "2", "STREAMS", "s", ">"],
    ["XREADGROUP", "GROUP", "g", "alice", "COUNT", "1", "STREAMS", "s", ">"],
    ["XPENDING", "s", "g"], ["XPENDING", "s", "g", "-", "+", "10"], ["XPENDING", "s", "g", "-", "+", "2"],
    ["XPENDING", "s", "g", "-", "+", "10", "alice"], ["XPENDING", "s", "g", "-", "+", "10", "bob"],
    ["XPENDING", "s", "g", "-", "+", "10", "nobody"], ["XPENDING", "s", "g", "2", "5", "10"],
    ["XPENDING", "s", "g", "(2", "(5", "10"], ["XPENDING", "s", "g", "(2-0", "+", "1"],
    ["XPENDING", "s", "g", "5", "2", "10"],
    ["XPENDING", "s", "g", "-", "+", "0"], ["XPENDING", "s", "g", "-", "+", "-1"],
    ["XPENDING", "s", "g", "-", "+", "x"],
    ["XPENDING", "s", "g", "-", "+"], ["XPENDING", "s", "g", "-"], ["XPENDING", "s", "g", "bad", "+", "10"],
    ["XPENDING", "s", "g", "-", "bad", "10"], ["XPENDING", "s", "g", "(-", "+", "10"],
    ["XPENDING", "s", "g", "-", "(+", "10"],
    ["XPENDING", "s", "g", "IDLE", "0", "-", "+", "10"], ["XPENDING", "s", "g", "IDLE", "3600000", "-", "+", "10"],
    ["XPENDING", "s", "g", "IDLE", "0", "-", "+", "10", "alice"],
    ["XPENDING", "s", "g", "IDLE", "-1", "-", "+", "10"],
    ["XPENDING", "s", "g", "IDLE", "x", "-", "+", "10"], ["XPENDING", "s", "g", "IDLE", "0"],
    ["XPENDING", "s", "g", "IDLE"],
    ["XPENDING", "s", "g", "IDLE", "0", "-", "+"],
    ["XPENDING", "s", "g", "idle", "0", "-", "+", "10", "bob", "extra"],
    ["XPENDING", "s", "g", "-", "+", "10", "alice", "extra"], ["XPENDING", "s", "g", "FOO", "0", "-", "+", "10"],
    ["XPENDING", "s", "nog"], ["XPENDING", "s", "nog", "-", "+", "10"], ["XPENDING", "nokey", "g"],
    ["XPENDING", "nokey", "g", "-", "+", "10"], ["XPENDING", "s"], ["XPENDING", "nokey", "g", "bad", "+", "10"],
    ["XCLAIM", "s", "g", "bob", "0", "1-0", "IDLE", "7200000"],
    ["XPENDING", "s", "g", "IDLE", "3600000", "-", "+", "10"],
    ["XPENDING", "s", "g", "-", "+", "10"], ["XINFO", "CONSUMERS", "s", "g"], ["XINFO", "STREAM", "s", "FULL"],
    ["XACK", "s", "g", "1-0", "2-0", "3-0", "4-0", "5-0", "6-0"], ["XPENDING", "s", "g"],
    ["XPENDING", "s", "g", "-", "+", "10"],
]

XCLAIM_SEQ = [
    *entries("s", 1, 8),
    ["XGROUP", "CREATE", "s", "g", "0"], ["XREADGROUP", "GROUP", "g", "alice", "COUNT", "5", "STREAMS", "s", ">"],
    ["XCLAIM", "s", "g", "bob", "0", "1-0"], ["XPENDING", "s", "g", "-", "+", "10"],
    ["XCLAIM", "s", "g", "bob", "0", "2-0", "3-0", "JUSTID"], ["XPENDING", "s", "g", "-", "+", "10"],
    ["XCLAIM", "s", "g", "bob", "3600000", "4-0"], ["XCLAIM", "s", "g", "bob", "-1", "4-0", "JUSTID"],
    ["XCLAIM", "s", "g", "carol", "0", "4-0", "IDLE", "5000000"], ["XPENDING", "s", "g", "-", "+", "10"],
    ["XCLAIM", "s", "g", "carol", "4000000", "4-0", "JUSTID"],
    ["XCLAIM", "s", "g", "carol", "6000000", "4-0", "JUSTID"],
    ["XCLAIM", "s", "g", "carol", "0", "5-0", "TIME", "1000"], ["XPENDING", "s", "g", "-", "+", "10"],
    ["XCLAIM", "s", "g", "carol", "0", "5-0", "TIME", "99999999999999", "JUSTID"],
    ["XCLAIM", "s", "g", "carol", "0", "5-0", "RETRYCOUNT", "7", "JUSTID"], ["XPENDING", "s", "g", "-", "+", "10"],
    ["XCLAIM", "s", "g", "carol", "0", "5-0", "RETRYCOUNT", "-1"],
    ["XCLAIM", "s", "g", "carol", "0", "5-0", "RETRYCOUNT", "x"],
    ["XCLAIM", "s", "g", "carol", "0", "5-0", "IDLE", "-5", "JUSTID"],
    ["XPENDING", "s", "g", "-", "+", "10", "carol"],
    ["XCLAIM", "s", "g", "carol", "0", "6-0"], ["XCLAIM", "s", "g", "carol", "0", "6-0", "FORCE"],
    ["XPENDING", "s", "g", "-", "+", "10"], ["XCLAIM", "s", "g", "carol", "0", "99-0", "FORCE"],
    ["XCLAIM", "s", "g", "carol", "0", "7-0", "FORCE", "JUSTID", "RETRYCOUNT", "3"],
    ["XPENDING", "s", "g", "-", "+", "10"],
    ["XCLAIM", "s", "g", "dave", "0", "1-0", "LASTID", "8-0"], ["XINFO", "GROUPS", "s"],
    ["XCLAIM", "s", "g", "dave", "0", "1-0", "LASTID", "2-0", "JUSTID"], ["XINFO", "GROUPS", "s"],
    ["XCLAIM", "s", "g", "dave", "0", "1-0", "LASTID", "bad"], ["XCLAIM", "s", "g", "dave", "0", "1-0", "LASTID"],
    ["XCLAIM", "s", "g", "dave", "0", "1-0", "IDLE"], ["XCLAIM", "s", "g", "dave", "0", "1-0", "IDLE", "x"],
    ["XCLAIM", "s", "g", "dave", "0", "1-0", "TIME", "x"], ["XCLAIM", "s", "g", "dave", "0", "1-0", "TIME"],
    ["XCLAIM", "s", "g", "dave", "0", "1-0", "BOGUS"], ["XCLAIM", "s", "g", "dave", "0", "1-0", "bad-id"],
    ["XCLAIM", "s", "g", "dave", "0", "bad"], ["XCLAIM", "s", "g", "dave", "x", "1-0"],
    ["XCLAIM", "s", "g", "dave", "x", "bad"],
    ["XCLAIM", "s", "nog", "dave", "x", "1-0"], ["XCLAIM", "nokey", "g", "dave", "0", "1-0"],
    ["XCLAIM", "nokey", "g", "dave", "x", "bad"], ["XCLAIM", "s", "g", "dave", "0"], ["XCLAIM", "s", "g", "dave"],
    ["XCLAIM", "s", "g", "dave", "0", "1-0", "2-0", "IDLE", "1", "TIME", "2"],
    ["XCLAIM", "s", "g", "dave", "0", "1-0", "JUSTID", "justid", "FORCE", "force"],
    ["XCLAIM", "s", "g", "dave", "0", "1-0", "IDLE", "9223372036854775807", "JUSTID"],
    ["XCLAIM", "s", "g", "dave", "0", "1-0", "TIME", "-1", "JUSTID"],
    ["XPENDING", "s", "g"], ["XDEL", "s", "2-0", "3-0"], ["XCLAIM", "s", "g", "erin", "0", "2-0", "3-0", "4-0"],
    ["XPENDING", "s", "g"], ["XPENDING", "s", "g", "-", "+", "10"], ["XINFO", "CONSUMERS", "s", "g"],
    ["XCLAIM", "s", "g", "erin", "0", "1-0", "4-0", "1-0"], ["XPENDING", "s", "g", "-", "+", "10", "erin"],
    ["XINFO", "STREAM", "s", "FULL"],
]

XAUTOCLAIM_SEQ = [
    *entries("s", 1, 10),
    ["XGROUP", "CREATE", "s", "g", "0"], ["XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", ">"],
    ["XAUTOCLAIM", "s", "g", "bob", "0", "0", "COUNT", "2"],
    ["XAUTOCLAIM", "s", "g", "bob", "0", "3-0", "COUNT", "2", "JUSTID"],
    ["XAUTOCLAIM", "s", "g", "bob", "3600000", "0"], ["XAUTOCLAIM", "s", "g", "bob", "0", "9-0"],
    ["XAUTOCLAIM", "s", "g", "bob", "0", "11-0"], ["XPENDING", "s", "g", "-", "+", "20"],
    ["XDEL", "s", "2-0", "4-0", "5-0"], ["XAUTOCLAIM", "s", "g", "carol", "0", "0", "COUNT", "3"],
    ["XPENDING", "s", "g", "-", "+", "20"], ["XAUTOCLAIM", "s", "g", "carol", "0", "0", "COUNT", "3", "JUSTID"],
    ["XAUTOCLAIM", "s", "g", "carol", "0", "-"], ["XAUTOCLAIM", "s", "g", "carol", "0", "(1-0"],
    ["XAUTOCLAIM", "s", "g", "carol", "0", "+"], ["XAUTOCLAIM", "s", "g", "carol", "0", "bad"],
    ["XAUTOCLAIM", "s", "g", "carol", "x", "0"], ["XAUTOCLAIM", "s", "g", "carol", "-5", "0", "COUNT", "1"],
    ["XAUTOCLAIM", "s", "g", "carol", "0", "0", "COUNT", "0"],
    ["XAUTOCLAIM", "s", "g", "carol", "0", "0", "COUNT", "-1"],
    ["XAUTOCLAIM", "s", "g", "carol", "0", "0", "COUNT", "x"], ["XAUTOCLAIM", "s", "g", "carol", "0", "0", "COUNT"],
    ["XAUTOCLAIM", "s", "g", "carol", "0", "0", "COUNT", "1000000000000000000"],
    ["XAUTOCLAIM", "s", "g", "carol", "0", "0", "COUNT", "922337203685477580"],
    ["XAUTOCLAIM", "s", "g", "carol", "0", "0", "FOO"],
    ["XAUTOCLAIM", "s", "g", "carol", "0", "0", "JUSTID", "COUNT", "1"],
    ["XAUTOCLAIM", "s", "nog", "carol", "0", "0"], ["XAUTOCLAIM", "s", "nog", "carol", "x", "0"],
    ["XAUTOCLAIM", "s", "nog", "carol", "0", "bad"], ["XAUTOCLAIM", "s", "nog", "carol", "0", "0", "COUNT", "0"],
    ["XAUTOCLAIM", "nokey", "g", "carol", "0", "0"], ["XAUTOCLAIM", "nokey", "g", "carol", "x", "0"],
    ["XAUTOCLAIM", "s", "g", "carol", "0"], ["XAUTOCLAIM", "s", "g"],
    ["XPENDING", "s", "g"], ["XINFO", "CONSUMERS", "s", "g"],
    ["XDEL", "s", "1-0", "3-0", "6-0", "7-0", "8-0", "9-0", "10-0"],
    ["XAUTOCLAIM", "s", "g", "dave", "0", "0", "COUNT", "1"], ["XAUTOCLAIM", "s", "g", "dave", "0", "0", "JUSTID"],
    ["XPENDING", "s", "g"], ["XLEN", "s"], ["XINFO", "GROUPS", "s"],
]


def test_xgroup_and_xinfo_errors(h):
    run(h, XGROUP_SEQ)
    h.done()


def test_xreadgroup_and_xack(h):
    run(h, XREADGROUP_SEQ)
    h.done()


def test_xpending(h):
    run(h, XPENDING_SEQ)
    h.done()


def test_xclaim(h):
    run(h, XCLAIM_SEQ)
    h.done()


def test_xautoclaim(h):
    run(h, XAUTOCLAIM_SEQ)
    h.done()


def test_xinfo_stream_full(h):
    run(h, [
        *entries("s", 1, 12), ["XGROUP", "CREATE", "s", "g1", "0"], ["XGROUP", "CREATE", "s", "g2", "5"],
        ["XGROUP", "CREATECONSUMER", "s", "g2", "idle-one"],
        ["XREADGROUP", "GROUP", "g1", "alice", "COUNT", "3", "STREAMS", "s", ">"],
        ["XREADGROUP", "GROUP", "g1", "bob", "COUNT", "2", "STREAMS", "s", ">"],
        ["XREADGROUP", "GROUP", "g2", "carol", "COUNT", "20", "STREAMS", "s", ">"],
        ["XCLAIM", "s", "g1", "bob", "0", "1-0", "IDLE", "100000", "RETRYCOUNT", "4"],
        ["XINFO", "STREAM", "s"], ["XINFO", "STREAM", "s", "FULL"], ["XINFO", "STREAM", "s", "FULL", "COUNT", "1"],
        ["XINFO", "STREAM", "s", "FULL", "COUNT", "0"], ["XINFO", "STREAM", "s", "FULL", "COUNT", "-1"],
        ["XINFO", "STREAM", "s", "FULL", "COUNT", "3"], ["XINFO", "STREAM", "s", "full", "count", "2"],
        ["XINFO", "GROUPS", "s"], ["XINFO", "CONSUMERS", "s", "g1"], ["XINFO", "CONSUMERS", "s", "g2"],
        ["XDEL", "s", "1-0", "12-0"], ["XINFO", "STREAM", "s"], ["XINFO", "GROUPS", "s"],
        ["XADD", "s", "13-0", "f", "13"], ["XINFO", "GROUPS", "s"], ["XGROUP", "SETID", "s", "g2", "0"],
        ["XINFO", "GROUPS", "s"], ["XGROUP", "SETID", "s", "g2", "5-0", "ENTRIESREAD", "5"], ["XINFO", "GROUPS", "s"],
        ["XTRIM", "s", "MAXLEN", "3"], ["XINFO", "GROUPS", "s"], ["XINFO", "STREAM", "s", "FULL"],
        ["XADD", "e", "MAXLEN", "0", "1-0", "f", "v"], ["XINFO", "STREAM", "e"], ["XINFO", "STREAM", "e", "FULL"],
        ["XGROUP", "CREATE", "e", "g", "$"], ["XINFO", "GROUPS", "e"], ["XINFO", "STREAM", "e", "FULL"],
    ])
    h.done()


def test_group_lag_and_entries_read(h):
    """entries-read and lag (XINFO GROUPS) through reads, deletions, trims, SETID and XSETID."""
    run(h, [
        *entries("s", 1, 5), ["XGROUP", "CREATE", "s", "g", "0"], ["XGROUP", "CREATE", "s", "h", "$"],
        ["XGROUP", "CREATE", "s", "i", "3-0"], ["XINFO", "GROUPS", "s"],
        ["XREADGROUP", "GROUP", "g", "c", "COUNT", "2", "STREAMS", "s", ">"], ["XINFO", "GROUPS", "s"],
        ["XDEL", "s", "4-0"], ["XINFO", "GROUPS", "s"], ["XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", ">"],
        ["XINFO", "GROUPS", "s"], ["XDEL", "s", "1-0"], ["XINFO", "GROUPS", "s"], ["XADD", "s", "6-0", "f", "6"],
        ["XINFO", "GROUPS", "s"], ["XREADGROUP", "GROUP", "i", "c", "COUNT", "1", "STREAMS", "s", ">"],
        ["XINFO", "GROUPS", "s"], ["XSETID", "s", "6-0", "ENTRIESADDED", "20", "MAXDELETEDID", "5-0"],
        ["XINFO", "GROUPS", "s"], ["XTRIM", "s", "MAXLEN", "1"], ["XINFO", "GROUPS", "s"],
        ["XREADGROUP", "GROUP", "h", "c", "STREAMS", "s", ">"], ["XINFO", "GROUPS", "s"],
        ["XADD", "s", "7-0", "f", "7"], ["XREADGROUP", "GROUP", "h", "c", "STREAMS", "s", ">"],
        ["XINFO", "GROUPS", "s"],
        ["XINFO", "STREAM", "s"],
    ])
    h.done()


# --------------------------------------------------------------------------------------------
# Keys: RENAME, COPY, DEL, EXPIRE of streams; MULTI/EXEC; RESP3; keys on two cores
# --------------------------------------------------------------------------------------------

def test_stream_keys_rename_copy(h):
    run(h, [
        *entries("{s}a", 1, 4), ["XGROUP", "CREATE", "{s}a", "g", "0"],
        ["XREADGROUP", "GROUP", "g", "c", "COUNT", "2", "STREAMS", "{s}a", ">"],
        ["COPY", "{s}a", "{s}b"], ["XINFO", "GROUPS", "{s}b"], ["XPENDING", "{s}b", "g", "-", "+", "10"],
        ["XREADGROUP", "GROUP", "g", "c", "STREAMS", "{s}b", ">"], ["XINFO", "GROUPS", "{s}a"],
        ["XINFO", "GROUPS", "{s}b"],
        ["XADD", "{s}a", "5-0", "f", "5"], ["XLEN", "{s}b"], ["XINFO", "STREAM", "{s}b", "FULL"],
        ["RENAME", "{s}b", "{s}c"], ["EXISTS", "{s}b"], ["XINFO", "STREAM", "{s}c"], ["TYPE", "{s}c"],
        ["COPY", "{s}a", "{s}c"], ["COPY", "{s}a", "{s}c", "REPLACE"], ["XLEN", "{s}c"],
        ["EXPIRE", "{s}c", "1000"], ["TTL", "{s}c"], ["XADD", "{s}c", "9-0", "f", "9"], ["TTL", "{s}c"],
        ["PERSIST", "{s}c"], ["UNLINK", "{s}c"], ["EXISTS", "{s}c"],
        *entries(S0, 1, 3), ["XGROUP", "CREATE", S0, "g", "0"], ["XREADGROUP", "GROUP", "g", "c", "STREAMS", S0, ">"],
        ["COPY", S0, S1], ["XINFO", "STREAM", S1, "FULL"], ["RENAME", S1, T0], ["XINFO", "STREAM", T0, "FULL"],
        ["XPENDING", T0, "g"], ["OBJECT", "ENCODING", T0], ["DEL", S0, T0], ["DBSIZE"],
    ])
    h.done()


def test_streams_in_multi_exec(h):
    run(h, [
        ["MULTI"], ["XADD", "s", "1-0", "a", "1"], ["XADD", "s", "2-0", "b", "2"], ["XLEN", "s"],
        ["XRANGE", "s", "-", "+"],
        ["XGROUP", "CREATE", "s", "g", "0"], ["XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", ">"],
        ["XPENDING", "s", "g"], ["XACK", "s", "g", "1-0"], ["XADD", "s", "1-0", "dup", "1"],
        ["XREAD", "STREAMS", "s", "0"],
        ["XINFO", "GROUPS", "s"], ["XINFO", "CONSUMERS", "s", "g"], ["XTRIM", "s", "MAXLEN", "1"],
        ["XDEL", "s", "2-0"],
        ["XAUTOCLAIM", "s", "g", "d", "0", "0"], ["EXEC"],
        ["MULTI"], ["XADD", "s", "3-0", "a"], ["XLEN", "s"], ["EXEC"], ["XLEN", "s"],
        ["MULTI"], ["XADD", "s", "bad", "a", "1"], ["XLEN", "s"], ["EXEC"],
        ["MULTI"], ["XREAD", "BLOCK", "0", "STREAMS", "s", "$"],
        ["XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "s", ">"],
        ["EXEC"],
        ["MULTI"], ["XADD", S0, "1-0", "a", "1"], ["XADD", S1, "1-0", "b", "1"],
        ["XREAD", "STREAMS", S0, S1, "0", "0"], ["EXEC"],
        ["WATCH", "s"], ["XADD", "s", "4-0", "a", "1"], ["MULTI"], ["XLEN", "s"], ["EXEC"],
    ])
    h.done()


def test_streams_resp3(h):
    run(h, [
        ["HELLO", "3"], *entries("s", 1, 4), ["XADD", "s2", "1-0", "x", "1"],
        ["XRANGE", "s", "-", "+"], ["XREVRANGE", "s", "+", "-", "COUNT", "2"], ["XRANGE", "nokey", "-", "+"],
        ["XREAD", "STREAMS", "s", "s2", "0", "0"], ["XREAD", "COUNT", "1", "STREAMS", "s", "nokey", "0", "0"],
        ["XREAD", "STREAMS", "nokey", "0"], ["XREAD", "STREAMS", "s", "$"],
        ["XGROUP", "CREATE", "s", "g", "0"], ["XGROUP", "CREATECONSUMER", "s", "g", "idle"],
        ["XREADGROUP", "GROUP", "g", "alice", "COUNT", "2", "STREAMS", "s", ">"],
        ["XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", "0"],
        ["XREADGROUP", "GROUP", "g", "bob", "STREAMS", "s", "0"],
        ["XREADGROUP", "GROUP", "g", "bob", "STREAMS", "s", ">"],
        ["XREADGROUP", "GROUP", "g", "bob", "STREAMS", "s", ">"],
        ["XPENDING", "s", "g"], ["XPENDING", "s", "g", "-", "+", "10"], ["XGROUP", "CREATE", "s", "e", "$"],
        ["XPENDING", "s", "e"], ["XINFO", "STREAM", "s"], ["XINFO", "STREAM", "s", "FULL"],
        ["XINFO", "STREAM", "s", "FULL", "COUNT", "1"], ["XINFO", "GROUPS", "s"], ["XINFO", "CONSUMERS", "s", "g"],
        ["XINFO", "HELP"], ["XGROUP", "HELP"], ["XCLAIM", "s", "g", "carol", "0", "1-0", "2-0"],
        ["XCLAIM", "s", "g", "carol", "0", "3-0", "JUSTID"], ["XDEL", "s", "4-0"],
        ["XAUTOCLAIM", "s", "g", "dave", "0", "0"], ["XAUTOCLAIM", "s", "g", "dave", "0", "0", "JUSTID"],
        ["XADD", "e", "MAXLEN", "0", "1-0", "f", "v"], ["XINFO", "STREAM", "e"], ["XINFO", "STREAM", "e", "FULL"],
        ["XADD", "nokey", "NOMKSTREAM", "1-0", "a", "1"], ["XREADGROUP", "GROUP", "nog", "c", "STREAMS", "s", ">"],
        ["MULTI"], ["XREAD", "STREAMS", "s", "0"], ["XINFO", "GROUPS", "s"], ["XREAD", "STREAMS", "nokey", "0"],
        ["EXEC"],
    ])
    h.done()


def test_xread_keys_on_two_cores(h):
    run(h, [
        *entries(S0, 1, 3), *entries(S1, 2, 5), ["XREAD", "STREAMS", S0, S1, "0", "0"],
        ["XREAD", "COUNT", "2", "STREAMS", S1, S0, "0", "2"], ["XREAD", "STREAMS", S0, S1, "3", "5"],
        ["XREAD", "STREAMS", S0, S1, "$", "$"], ["XREAD", "STREAMS", S0, T1, S1, "0", "0", "4"],
        ["XREAD", "STREAMS", T0, T1, "0", "0"], ["SET", T1, "x"], ["XREAD", "STREAMS", S0, T1, "0", "0"],
        ["XREAD", "STREAMS", T1, S0, "bad", "0"], ["XREAD", "STREAMS", S0, T1, "0"],
        ["XGROUP", "CREATE", S0, "g", "0"], ["XREADGROUP", "GROUP", "g", "c", "STREAMS", S0, S1, ">", ">"],
        ["XGROUP", "CREATE", S1, "g", "3"],
        ["XREADGROUP", "GROUP", "g", "c", "COUNT", "1", "STREAMS", S0, S1, ">", ">"],
        ["XREADGROUP", "GROUP", "g", "c", "STREAMS", S1, S0, ">", ">"],
        ["XREADGROUP", "GROUP", "g", "c", "STREAMS", S0, S1, "0", "0"],
        ["XREADGROUP", "GROUP", "g", "c", "STREAMS", S0, S1, ">", ">"],
        ["XREADGROUP", "GROUP", "g", "c", "STREAMS", S0, T1, ">", ">"],
        ["XPENDING", S0, "g"], ["XPENDING", S1, "g"], ["XINFO", "GROUPS", S1],
        ["HELLO", "3"], ["XREAD", "STREAMS", S0, S1, "0", "0"], ["XREAD", "STREAMS", S0, S1, "$", "$"],
        ["XREADGROUP", "GROUP", "g", "c", "STREAMS", S0, S1, "0", "0"],
    ])
    h.done()


def test_command_getkeys_of_stream_commands(h):
    lines = [
        ["XADD", "a", "*", "f", "v"], ["XADD", "a", "NOMKSTREAM", "MAXLEN", "~", "5", "1-1", "f", "v"], ["XLEN", "a"],
        ["XRANGE", "a", "-", "+"], ["XREVRANGE", "a", "+", "-", "COUNT", "1"], ["XDEL", "a", "1-1"],
        ["XTRIM", "a", "MAXLEN", "1"], ["XSETID", "a", "1-1"], ["XREAD", "STREAMS", "a", "0"],
        ["XREAD", "COUNT", "1", "BLOCK", "0", "STREAMS", "a", "b", "c", "0", "0", "0"],
        ["XREAD", "STREAMS", "a", "b", "0"], ["XREAD", "COUNT", "1"], ["XREAD", "STREAMS"],
        ["XREADGROUP", "GROUP", "g", "c", "COUNT", "1", "NOACK", "STREAMS", "a", "b", ">", ">"],
        ["XREADGROUP", "GROUP", "g", "c", "STREAMS", "a"], ["XGROUP", "CREATE", "a", "g", "$", "MKSTREAM"],
        ["XGROUP", "SETID", "a", "g", "0"], ["XGROUP", "DESTROY", "a", "g"],
        ["XGROUP", "CREATECONSUMER", "a", "g", "c"],
        ["XGROUP", "DELCONSUMER", "a", "g", "c"], ["XGROUP", "HELP"], ["XACK", "a", "g", "1-1"],
        ["XPENDING", "a", "g"], ["XPENDING", "a", "g", "IDLE", "5", "-", "+", "10", "c"],
        ["XCLAIM", "a", "g", "c", "0", "1-1"], ["XAUTOCLAIM", "a", "g", "c", "0", "0"],
        ["XINFO", "STREAM", "a", "FULL"],
        ["XINFO", "GROUPS", "a"], ["XINFO", "CONSUMERS", "a", "g"], ["XINFO", "HELP"],
    ]
    steps = []
    for line in lines:
        steps += [["COMMAND", "GETKEYS"] + line, ["COMMAND", "GETKEYSANDFLAGS"] + line]
    run(h, steps)
    h.done()


def test_stream_keyspace_events(h):
    """The keyspace and keyevent messages of the stream commands, in Redis's order."""
    from test_notifications import drain
    p, subscriber = h.pair(), h.pair()
    run(h, [["CONFIG", "SET", "notify-keyspace-events", "KEA"]], p)
    h.run([Inline(encode(["PSUBSCRIBE", "__key*__:*"]), 1)], subscriber)
    steps = [
        ["XADD", "s", "1-0", "f", "v"], ["XADD", "s", "1-0", "f", "v"], ["XADD", "s", "MAXLEN", "1", "2-0", "f", "v"],
        ["XADD", "s", "MAXLEN", "5", "3-0", "f", "v"], ["XADD", "nokey", "NOMKSTREAM", "1-0", "f", "v"],
        ["XTRIM", "s", "MAXLEN", "1"], ["XTRIM", "s", "MAXLEN", "0"], ["XTRIM", "s", "MAXLEN", "0"],
        ["XADD", "s", "4-0", "f", "v"], ["XADD", "s", "5-0", "f", "v"], ["XDEL", "s", "4-0", "9-0"],
        ["XDEL", "s", "9-0"],
        ["XSETID", "s", "10-0"], ["XSETID", "s", "1-0"], ["XGROUP", "CREATE", "s", "g", "0"],
        ["XGROUP", "CREATE", "s", "g", "0"],
        ["XGROUP", "CREATE", "new", "g", "$", "MKSTREAM"], ["XGROUP", "CREATECONSUMER", "s", "g", "alice"],
        ["XGROUP", "CREATECONSUMER", "s", "g", "alice"], ["XREADGROUP", "GROUP", "g", "bob", "STREAMS", "s", ">"],
        ["XREADGROUP", "GROUP", "g", "bob", "STREAMS", "s", ">"],
        ["XREADGROUP", "GROUP", "g", "carol", "STREAMS", "s", "0"],
        ["XACK", "s", "g", "5-0"], ["XADD", "s", "11-0", "f", "v"],
        ["XREADGROUP", "GROUP", "g", "dave", "NOACK", "STREAMS", "s", ">"],
        ["XCLAIM", "s", "g", "erin", "0", "11-0", "FORCE"], ["XCLAIM", "s", "g", "erin", "0", "11-0", "JUSTID"],
        ["XAUTOCLAIM", "s", "g", "frank", "0", "0"], ["XGROUP", "SETID", "s", "g", "0"],
        ["XGROUP", "DELCONSUMER", "s", "g", "alice"], ["XGROUP", "DELCONSUMER", "s", "g", "nobody"],
        ["XGROUP", "DESTROY", "s", "g"], ["XGROUP", "DESTROY", "s", "g"], ["XREAD", "STREAMS", "s", "0"],
        ["XINFO", "STREAM", "s"], ["MULTI"], ["XADD", "s", "12-0", "f", "v"], ["XDEL", "s", "12-0"], ["EXEC"],
        # (one key per DEL: a DEL over two cores raises each core's `del` in core order)
        ["DEL", "s"], ["DEL", "new"],
    ]
    for step in steps:
        run(h, [step], p)
        got = [drain(subscriber.r), drain(subscriber.s, 0.05)]
        h.compare(["events of"] + step, ("*", got[0]), ("*", got[1]))
    run(h, [["CONFIG", "SET", "notify-keyspace-events", ""]], p)
    h.done()


# --------------------------------------------------------------------------------------------
# Node layout: stream-node-max-entries / stream-node-max-bytes and `~` trimming
# --------------------------------------------------------------------------------------------

def test_node_size_config(h):
    run(h, [
        ["CONFIG", "GET", "stream-node-max-entries"], ["CONFIG", "GET", "stream-node-max-bytes"],
        ["CONFIG", "GET", "stream-node-*"],
        ["CONFIG", "SET", "stream-node-max-entries", "-1"], ["CONFIG", "SET", "stream-node-max-entries", "abc"],
        ["CONFIG", "SET", "stream-node-max-bytes", "-1"], ["CONFIG", "SET", "stream-node-max-bytes", "1kb"],
        ["CONFIG", "GET", "stream-node-max-bytes"], ["CONFIG", "SET", "stream-node-max-bytes", "4096"],
        E(["CONFIG", "SET", "stream-node-max-entries", "10"], ("+", "OK")),
        ["CONFIG", "GET", "stream-node-max-entries"],
    ])
    h.done()


def test_trim_by_nodes_max_entries(h):
    steps = [E(["CONFIG", "SET", "stream-node-max-entries", "10"], ("+", "OK"))]
    steps.append(Pipeline(entries("n", 1, 95)))
    steps += [
        ["XLEN", "n"], ["XINFO", "STREAM", "n"], ["XTRIM", "n", "MAXLEN", "~", "25"], ["XLEN", "n"],
        ["XRANGE", "n", "-", "+", "COUNT", "1"], ["XINFO", "STREAM", "n"], ["XTRIM", "n", "MAXLEN", "~", "24"],
        ["XTRIM", "n", "MAXLEN", "~", "15"], ["XLEN", "n"], ["XTRIM", "n", "MAXLEN", "~", "0", "LIMIT", "5"],
        ["XLEN", "n"],
        ["XTRIM", "n", "MAXLEN", "~", "0", "LIMIT", "10"], ["XLEN", "n"], ["XRANGE", "n", "-", "+", "COUNT", "1"],
        ["XADD", "n", "MAXLEN", "~", "3", "96-0", "f", "96"], ["XLEN", "n"], ["XINFO", "STREAM", "n"],
        ["XTRIM", "n", "MINID", "~", "93"], ["XLEN", "n"], ["XTRIM", "n", "MINID", "~", "96"], ["XLEN", "n"],
        ["XTRIM", "n", "MINID", "~", "97"], ["XLEN", "n"], ["XINFO", "STREAM", "n"],
    ]
    # Deleted entries still take room in their node: the layout after XDEL and more XADDs.
    steps.append(Pipeline(entries("d", 1, 40)))
    steps += [
        ["XDEL", "d", "3-0", "4-0", "5-0", "11-0", "12-0", "25-0", "38-0", "39-0", "40-0"], ["XLEN", "d"],
        ["XINFO", "STREAM", "d"], ["XTRIM", "d", "MAXLEN", "~", "20"], ["XLEN", "d"],
        ["XRANGE", "d", "-", "+", "COUNT", "2"],
        ["XADD", "d", "41-0", "f", "41"], ["XADD", "d", "42-0", "f", "42"], ["XINFO", "STREAM", "d"],
        ["XDEL", "d", "13-0", "14-0", "15-0", "16-0", "17-0", "18-0", "19-0", "20-0"], ["XINFO", "STREAM", "d"],
        ["XTRIM", "d", "MAXLEN", "~", "10"], ["XLEN", "d"], ["XINFO", "STREAM", "d"],
        ["XTRIM", "d", "MINID", "~", "30"], ["XLEN", "d"], ["XRANGE", "d", "-", "+"],
    ]
    # XADD with ~ on every insert: the stream breathes by whole nodes.
    for i in range(1, 60):
        steps.append(["XADD", "b", "MAXLEN", "~", "12", "%d-0" % i, "f", str(i)])
        if i % 7 == 0:
            steps.append(["XLEN", "b"])
    steps += [["XLEN", "b"], ["XINFO", "STREAM", "b"], ["XRANGE", "b", "-", "+", "COUNT", "1"]]
    for i in range(1, 40):
        steps.append(["XADD", "c", "MINID", "~", str(max(1, i - 15)), "LIMIT", "20", "%d-0" % i, "f", str(i)])
    steps += [["XLEN", "c"], ["XINFO", "STREAM", "c"]]
    # a smaller node size applies to nodes made from now on
    steps += [E(["CONFIG", "SET", "stream-node-max-entries", "3"], ("+", "OK")), *entries("n", 100, 110),
              ["XINFO", "STREAM", "n"], ["XTRIM", "n", "MAXLEN", "~", "5"], ["XLEN", "n"], ["XINFO", "STREAM", "n"],
              ["CONFIG", "SET", "stream-node-max-entries", "0"], *entries("n", 111, 140), ["XINFO", "STREAM", "n"],
              ["XTRIM", "n", "MAXLEN", "~", "5"], ["XLEN", "n"], ["XINFO", "STREAM", "n"],
              ["CONFIG", "SET", "stream-node-max-entries", "1"], *entries("one", 1, 6), ["XINFO", "STREAM", "one"],
              ["XTRIM", "one", "MAXLEN", "~", "2"], ["XLEN", "one"], ["XDEL", "one", "6-0"],
              ["XINFO", "STREAM", "one"],
              ["XADD", "one", "7-0", "f", "7"], ["XINFO", "STREAM", "one"]]
    run(h, steps)
    h.done()


def test_trim_by_nodes_max_bytes(h):
    steps = [E(["CONFIG", "SET", "stream-node-max-bytes", "200"], ("+", "OK"))]
    for i in range(1, 41):
        steps.append(["XADD", "b", "%d-0" % i, "field", "v" * (i % 7 * 9), "n", str(i * 1000)])
    steps += [["XLEN", "b"], ["XINFO", "STREAM", "b"], ["XTRIM", "b", "MAXLEN", "~", "20"], ["XLEN", "b"],
              ["XRANGE", "b", "-", "+", "COUNT", "1"], ["XADD", "b", "50-0", "big", "x" * 500],
              ["XINFO", "STREAM", "b"],
              ["XADD", "b", "51-0", "small", "1"], ["XINFO", "STREAM", "b"], ["XTRIM", "b", "MAXLEN", "~", "2"],
              ["XLEN", "b"], ["XINFO", "STREAM", "b"],
              E(["CONFIG", "SET", "stream-node-max-bytes", "0"], ("+", "OK")), *entries("u", 1, 250),
              ["XINFO", "STREAM", "u"], ["XTRIM", "u", "MAXLEN", "~", "120"], ["XLEN", "u"],
              E(["CONFIG", "SET", "stream-node-max-bytes", "4096"], ("+", "OK"))]
    # default sizes: 100 entries or 4096 bytes per node, with values that fill nodes by bytes
    for i in range(1, 31):
        steps.append(["XADD", "v", "%d-0" % i, "payload", "p" * (300 + i * 10)])
    steps += [["XINFO", "STREAM", "v"], ["XTRIM", "v", "MAXLEN", "~", "10"], ["XLEN", "v"], ["XINFO", "STREAM", "v"],
              ["XADD", "v", "MAXLEN", "~", "5", "31-0", "payload", "p"], ["XLEN", "v"], ["XINFO", "STREAM", "v"]]
    steps.append(Pipeline(entries("w", 1, 330)))
    steps += [["XINFO", "STREAM", "w"], ["XTRIM", "w", "MAXLEN", "~", "150"], ["XLEN", "w"],
              ["XTRIM", "w", "MAXLEN", "~", "0", "LIMIT", "99"], ["XLEN", "w"],
              ["XTRIM", "w", "MAXLEN", "~", "0", "LIMIT", "100"],
              ["XLEN", "w"], ["XTRIM", "w", "MINID", "~", "300"], ["XLEN", "w"], ["XINFO", "STREAM", "w"]]
    # the default LIMIT of ~ is 100 * stream-node-max-entries
    steps += [E(["CONFIG", "SET", "stream-node-max-entries", "2"], ("+", "OK")), Pipeline(entries("l", 1, 500)),
              ["XTRIM", "l", "MAXLEN", "~", "0"], ["XLEN", "l"], ["XTRIM", "l", "MAXLEN", "~", "0"], ["XLEN", "l"],
              ["XTRIM", "l", "MAXLEN", "~", "0", "LIMIT", "0"], ["XLEN", "l"], ["XINFO", "STREAM", "l"]]
    run(h, steps)
    h.done()


# --------------------------------------------------------------------------------------------
# Blocking: XREAD BLOCK, XREADGROUP BLOCK
# --------------------------------------------------------------------------------------------

def block(args):
    """Sends a blocking command without waiting for its reply."""
    return Inline(encode(args), 0)


def receive(frames=1):
    return Inline(b"", frames)


# Keys on different cores of a two-core slotcore.
A, B = S0, S1


def test_blocking_timeouts(h):
    p = h.pair()
    run(h, [
        ["XREAD", "BLOCK", "50", "STREAMS", A, "$"], ["XREAD", "BLOCK", "50", "STREAMS", A, "0"],
        ["XREAD", "BLOCK", "50", "STREAMS", A, B, "$", "0"], ["XADD", A, "1-0", "f", "1"],
        ["XREAD", "BLOCK", "50", "STREAMS", A, "$"], ["XREAD", "BLOCK", "50", "STREAMS", A, "0"],
        ["XREAD", "BLOCK", "50", "STREAMS", A, "1-0"],
        ["XREAD", "BLOCK", "50", "COUNT", "5", "STREAMS", B, A, "0", "0"],
        ["XGROUP", "CREATE", A, "g", "$"], ["XREADGROUP", "GROUP", "g", "c", "BLOCK", "50", "STREAMS", A, ">"],
        ["XREADGROUP", "GROUP", "g", "c", "BLOCK", "50", "STREAMS", A, "0"], ["XINFO", "CONSUMERS", A, "g"],
        ["XREADGROUP", "GROUP", "nog", "c", "BLOCK", "50", "STREAMS", A, ">"],
        ["XREADGROUP", "GROUP", "g", "c", "BLOCK", "50", "STREAMS", B, ">"],
        ["XREAD", "BLOCK", "-5", "STREAMS", A, "$"], ["XREAD", "BLOCK", "x", "STREAMS", A, "$"],
        ["XREAD", "BLOCK", "STREAMS", A, "$"], ["XREAD", "BLOCK", "0", "STREAMS", A, ">"],
        ["XREAD", "BLOCK", "1", "BLOCK", "2", "STREAMS", A, "$"], ["XREAD", "BLOCK", "1.5", "STREAMS", A, "$"],
        ["SET", "str", "x"], ["XREAD", "BLOCK", "0", "STREAMS", "str", "$"],
        ["XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "str", ">"],
        ["HELLO", "3"], ["XREAD", "BLOCK", "50", "STREAMS", A, "$"],
        ["XREAD", "BLOCK", "50", "STREAMS", "nokey", "0"],
        ["XREADGROUP", "GROUP", "g", "c", "BLOCK", "50", "STREAMS", A, ">"],
        ["XREADGROUP", "GROUP", "g", "c", "BLOCK", "50", "NOACK", "STREAMS", A, ">"],
    ], p)
    h.done()


def test_xread_block_served_by_xadd(h):
    reader, other, writer = h.pair(), h.pair(), h.pair()
    run(h, [["XADD", A, "1-0", "f", "old"]], writer)
    # `$`: only what is added after the client blocked
    run(h, [block(["XREAD", "BLOCK", "5000", "STREAMS", A, "$"]), Sleep(0.05)], reader)
    run(h, [block(["XREAD", "BLOCK", "5000", "COUNT", "1", "STREAMS", A, "0-5"]), Sleep(0.05)], other)
    run(h, [["XADD", A, "2-0", "f", "new"]], writer)
    run(h, [receive()], reader)
    h.run([receive()], other)
    # BLOCK 0 (forever), served; every reader of the stream is served by one XADD
    run(h, [block(["XREAD", "BLOCK", "0", "STREAMS", A, "$"]), Sleep(0.05)], reader)
    run(h, [block(["XREAD", "BLOCK", "0", "COUNT", "10", "STREAMS", A, "1-0"])], other)
    # (the second one is not blocked: there is data after 1-0)
    h.run([receive()], other)
    run(h, [block(["XREAD", "BLOCK", "0", "STREAMS", B, A, "$", "$"]), Sleep(0.05)], other)
    run(h, [["XADD", A, "3-0", "f", "three", "g", "3"]], writer)
    h.run([receive()], reader)
    h.run([receive()], other)
    # an id in the future: served only by an entry after it
    run(h, [block(["XREAD", "BLOCK", "5000", "STREAMS", A, "5-0"]), Sleep(0.05)], reader)
    run(h, [["XADD", A, "4-0", "f", "4"], ["XADD", A, "5-0", "f", "5"], Sleep(0.05),
            ["XADD", A, "6-0", "f", "6"]], writer)
    h.run([receive()], reader)
    # XDEL, XTRIM, XGROUP and XSETID do not serve a reader; its timeout does
    for args in (["XDEL", A, "1-0"], ["XTRIM", A, "MAXLEN", "2"], ["XGROUP", "CREATE", A, "g", "0"],
                 ["XSETID", A, "7-0"], ["XGROUP", "SETID", A, "g", "0"]):
        run(h, [block(["XREAD", "BLOCK", "200", "STREAMS", A, "$"]), Sleep(0.05)], reader)
        run(h, [args], writer)
        h.run([receive()], reader)
    run(h, [["XRANGE", A, "-", "+"]], writer)
    h.done()


def test_xread_block_on_keys_of_two_cores(h):
    reader, writer = h.pair(), h.pair()
    run(h, [["XADD", A, "1-0", "a", "1"], ["XADD", B, "1-0", "b", "1"]], writer)
    for served_by in (A, B):
        run(h, [block(["XREAD", "BLOCK", "5000", "STREAMS", A, B, "$", "$"]), Sleep(0.05)], reader)
        run(h, [["XADD", served_by, "2-%d" % (served_by == B), "x", served_by]], writer)
        h.run([receive()], reader)
    # one key missing, then created by XADD
    run(h, [block(["XREAD", "BLOCK", "5000", "COUNT", "1", "STREAMS", "{b}new", A, "0", "$"]), Sleep(0.05)], reader)
    run(h, [["XADD", "{b}new", "1-0", "n", "1"], ["XADD", "{b}new", "2-0", "n", "2"]], writer)
    h.run([receive()], reader)
    # RESP3: the served reply is a map; a timeout is a null
    run(h, [["HELLO", "3"], block(["XREAD", "BLOCK", "5000", "STREAMS", B, A, "$", "$"]), Sleep(0.05)], reader)
    run(h, [["XADD", B, "3-0", "resp", "3"]], writer)
    h.run([receive()], reader)
    run(h, [["XREAD", "BLOCK", "30", "STREAMS", A, B, "$", "$"]], reader)
    h.done()


def test_xreadgroup_block(h):
    alice, bob, writer = h.pair(), h.pair(), h.pair()
    run(h, [["XADD", A, "1-0", "f", "1"], ["XGROUP", "CREATE", A, "g", "$"]], writer)
    run(h, [block(["XREADGROUP", "GROUP", "g", "alice", "BLOCK", "5000", "STREAMS", A, ">"]), Sleep(0.05)], alice)
    run(h, [block(["XREADGROUP", "GROUP", "g", "bob", "BLOCK", "5000", "COUNT", "1", "STREAMS", A, ">"]),
            Sleep(0.05)], bob)
    # one entry: the first consumer that blocked gets it, the other stays blocked
    run(h, [["XADD", A, "2-0", "f", "2"]], writer)
    h.run([receive()], alice)
    run(h, [Sleep(0.05), ["XINFO", "GROUPS", A], ["XADD", A, "3-0", "f", "3"]], writer)
    h.run([receive()], bob)
    run(h, [["XPENDING", A, "g"], ["XINFO", "GROUPS", A]], writer)
    # NOACK: served, nothing pending
    run(h, [block(["XREADGROUP", "GROUP", "g", "alice", "BLOCK", "0", "NOACK", "STREAMS", A, ">"]), Sleep(0.05)], alice)
    run(h, [["XADD", A, "4-0", "f", "4"]], writer)
    h.run([receive()], alice)
    run(h, [["XPENDING", A, "g"]], writer)
    # an explicit id reads the consumer's history at once, no blocking
    run(h, [["XREADGROUP", "GROUP", "g", "alice", "BLOCK", "0", "STREAMS", A, "0"]], alice)
    # two cores, a group on each stream
    run(h, [["XADD", B, "1-0", "f", "1"], ["XGROUP", "CREATE", B, "g", "$"]], writer)
    run(h, [block(["XREADGROUP", "GROUP", "g", "carol", "BLOCK", "5000", "STREAMS", A, B, ">", ">"]),
            Sleep(0.05)], alice)
    run(h, [["XADD", B, "2-0", "f", "b2"]], writer)
    h.run([receive()], alice)
    # XADD inside MULTI serves a blocked group reader after EXEC
    run(h, [block(["XREADGROUP", "GROUP", "g", "dave", "BLOCK", "5000", "STREAMS", A, ">"]), Sleep(0.05)], bob)
    run(h, [["MULTI"], ["XADD", A, "5-0", "f", "5"], ["XADD", A, "6-0", "f", "6"], ["XDEL", A, "5-0"],
            ["EXEC"]], writer)
    h.run([receive()], bob)
    run(h, [["XPENDING", A, "g", "-", "+", "10"], ["XINFO", "CONSUMERS", A, "g"]], writer)
    h.done()


def test_xread_block_served_by_xadd_in_multi(h):
    reader, writer = h.pair(), h.pair()
    run(h, [["XADD", A, "1-0", "f", "1"]], writer)
    run(h, [block(["XREAD", "BLOCK", "5000", "STREAMS", A, "$"]), Sleep(0.05)], reader)
    run(h, [["MULTI"], ["XADD", A, "2-0", "f", "2"], ["XADD", A, "3-0", "f", "3"], ["EXEC"]], writer)
    h.run([receive()], reader)
    # a transaction that adds then trims everything: the reader gets what is left (nothing) and stays blocked
    run(h, [block(["XREAD", "BLOCK", "300", "STREAMS", A, "$"]), Sleep(0.05)], reader)
    run(h, [["MULTI"], ["XADD", A, "4-0", "f", "4"], ["XTRIM", A, "MAXLEN", "0"], ["EXEC"]], writer)
    h.run([receive()], reader)
    h.done()


def test_blocked_group_destroyed_or_key_deleted(h):
    reader, writer = h.pair(), h.pair()
    run(h, [["XADD", A, "1-0", "f", "1"], ["XGROUP", "CREATE", A, "g", "$"]], writer)
    run(h, [block(["XREADGROUP", "GROUP", "g", "c", "BLOCK", "5000", "STREAMS", A, ">"]), Sleep(0.05)], reader)
    run(h, [["XGROUP", "DESTROY", A, "g"]], writer)
    h.run([receive()], reader)
    run(h, [["XGROUP", "CREATE", A, "g", "$"]], writer)
    run(h, [block(["XREADGROUP", "GROUP", "g", "c", "BLOCK", "5000", "STREAMS", A, ">"]), Sleep(0.05)], reader)
    run(h, [["DEL", A]], writer)
    h.run([receive()], reader)
    # deleted and at once made again (in MULTI): the blocked client still sees its key deleted
    run(h, [["XADD", A, "1-0", "f", "1"], ["XGROUP", "CREATE", A, "g", "$"]], writer)
    run(h, [block(["XREADGROUP", "GROUP", "g", "c", "BLOCK", "5000", "STREAMS", A, ">"]), Sleep(0.05)], reader)
    run(h, [["MULTI"], ["DEL", A], ["XADD", A, "2-0", "f", "2"], ["XGROUP", "CREATE", A, "g", "0"], ["EXEC"]], writer)
    h.run([receive()], reader)
    # the group destroyed and made again in one transaction: served from the new group's id
    run(h, [block(["XREADGROUP", "GROUP", "g", "c", "BLOCK", "5000", "STREAMS", A, ">"]), Sleep(0.05)], reader)
    run(h, [["MULTI"], ["XGROUP", "DESTROY", A, "g"], ["XGROUP", "CREATE", A, "g", "0"], ["EXEC"]], writer)
    h.run([receive()], reader)
    # the key replaced by another type
    run(h, [block(["XREADGROUP", "GROUP", "g", "c", "BLOCK", "5000", "STREAMS", A, ">"]), Sleep(0.05)], reader)
    run(h, [["SET", A, "string now"]], writer)
    h.run([receive()], reader)
    # a plain XREAD is not woken by a DEL: its timeout ends it
    run(h, [["DEL", A], ["XADD", A, "1-0", "f", "1"]], writer)
    run(h, [block(["XREAD", "BLOCK", "300", "STREAMS", A, "$"]), Sleep(0.05)], reader)
    run(h, [["DEL", A]], writer)
    h.run([receive()], reader)
    # ... but an XADD after the DEL serves it, if its id is above the one `$` stood for
    run(h, [["XADD", A, "1-0", "f", "1"]], writer)
    run(h, [block(["XREAD", "BLOCK", "300", "STREAMS", A, "$"]), Sleep(0.05)], reader)
    run(h, [["DEL", A], ["XADD", A, "1-0", "f", "again"]], writer)
    h.run([receive()], reader)
    run(h, [block(["XREAD", "BLOCK", "5000", "STREAMS", A, "$"]), Sleep(0.05)], reader)
    run(h, [["DEL", A], ["XADD", A, "1-0", "f", "again"], ["XADD", A, "2-0", "f", "more"]], writer)
    h.run([receive()], reader)
    # XREAD on a key that becomes another type
    run(h, [block(["XREAD", "BLOCK", "300", "STREAMS", A, "$"]), Sleep(0.05)], reader)
    run(h, [["DEL", A], ["SET", A, "x"]], writer)
    h.run([receive()], reader)
    # a group reader of two keys; one key's group destroyed
    run(h, [["DEL", A], ["XGROUP", "CREATE", A, "g", "$", "MKSTREAM"],
            ["XGROUP", "CREATE", B, "g", "$", "MKSTREAM"]], writer)
    run(h, [block(["XREADGROUP", "GROUP", "g", "c", "BLOCK", "5000", "STREAMS", A, B, ">", ">"]), Sleep(0.05)], reader)
    run(h, [["XGROUP", "DESTROY", B, "g"]], writer)
    h.run([receive()], reader)
    h.done()


def test_client_unblock_stream_readers(h):
    waiter, admin = h.pair(), h.pair()
    ids = [waiter.r.call("CLIENT", "ID")[1], waiter.s.call("CLIENT", "ID")[1]]
    run(h, [["XADD", A, "1-0", "f", "1"], ["XGROUP", "CREATE", A, "g", "$"]], admin)
    for reason in ("timeout", "error"):
        for args in (["XREAD", "BLOCK", "0", "STREAMS", A, "$"],
                     ["XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", A, ">"]):
            h.run([block(args), Sleep(0.1)], waiter)
            replies = [conn.call("CLIENT", "UNBLOCK", str(client_id), reason)
                       for conn, client_id in zip((admin.r, admin.s), ids)]
            h.compare(["CLIENT", "UNBLOCK", "<id>", reason], replies[0], replies[1])
            h.run([receive()], waiter)
    run(h, [["XINFO", "CONSUMERS", A, "g"], ["XPENDING", A, "g"]], admin)
    h.done()


def test_info_counts_stream_blocked_clients(h):
    from test_blocking import blocked_counts
    reader, group_reader, writer = h.pair(), h.pair(), h.pair()
    info = C(["INFO", "clients"], rule=blocked_counts)
    run(h, [["XGROUP", "CREATE", A, "g", "$", "MKSTREAM"], info], writer)
    run(h, [block(["XREAD", "BLOCK", "0", "STREAMS", A, B, "$", "$"])], reader)
    run(h, [block(["XREADGROUP", "GROUP", "g", "c", "BLOCK", "5000", "STREAMS", A, ">"]), Sleep(0.1)], group_reader)
    run(h, [info, ["XADD", A, "1-0", "f", "1"]], writer)
    h.run([receive()], reader)
    h.run([receive()], group_reader)
    run(h, [Sleep(0.05), info], writer)
    h.done()


def test_stream_reads_in_scripts(h):
    """XREAD / XREADGROUP inside EVAL: they read as outside, and BLOCK is refused (after the
    errors of the options before it), as xreadCommand refuses it for scripts."""
    run(h, [
        ["XADD", A, "1-0", "f", "v"], ["XGROUP", "CREATE", A, "g", "0"],
        ["EVAL", "return redis.call('XREAD', 'COUNT', '5', 'STREAMS', KEYS[1], '0')", "1", A],
        ["EVAL", "return redis.call('xread', 'BLOCK', '0', 'STREAMS', KEYS[1], '$')", "1", A],
        ["EVAL", "return redis.call('XREAD', 'COUNT', 'x', 'BLOCK', '0', 'STREAMS', KEYS[1], '$')", "1", A],
        ["EVAL", "return redis.pcall('XREADGROUP', 'GROUP', 'g', 'c', 'BLOCK', '10', 'STREAMS', KEYS[1], '>')",
         "1", A],
        ["EVAL", "return redis.call('XREADGROUP', 'GROUP', 'g', 'c', 'STREAMS', KEYS[1], '>')", "1", A],
        ["XPENDING", A, "g"],
    ])
