"""Differential sequences for the blocking list commands (BLPOP, BRPOP, BLMOVE, BLMPOP,
BRPOPLPUSH) and CLIENT UNBLOCK against redis-server 7.0: immediate replies, argument errors,
timeouts, clients served in the order they blocked, keys on different shard cores, and
blocking commands inside MULTI."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from resp import encode, to_text  # noqa: E402
from test_differential import C as Checked, Inline, Sleep, h  # noqa: E402,F401  (h is the pytest fixture)


def block(args):
    """Sends a blocking command without waiting for its reply."""
    return Inline(encode(args), 0)


def receive(frames=1):
    return Inline(b"", frames)


# Keys on different cores of a two-core slotcore.
A, B, C = "{a}list", "{b}list", "{c}list"


def test_immediate_replies_and_errors(h):
    p = h.pair()
    h.run([
        ["RPUSH", A, "1", "2", "3"], ["RPUSH", B, "x"], ["SET", "str", "v"],
        ["BLPOP", "nokey", A, "0"], ["BRPOP", A, "0"], ["BLPOP", B, A, "1"], ["BLPOP", A, "0"],
        ["RPUSH", A, "1", "2", "3"],
        ["BLMOVE", A, C, "LEFT", "RIGHT", "0"], ["BRPOPLPUSH", A, C, "0"], ["LRANGE", C, "0", "-1"],
        ["BLMPOP", "0", "2", "nokey", C, "RIGHT", "COUNT", "5"], ["EXISTS", C],
        ["BLPOP", "str", "0"], ["BLMOVE", "str", A, "LEFT", "LEFT", "0"],
        ["BLPOP", A, "abc"], ["BLPOP", A, "-1"], ["BLPOP", A, "inf"], ["BLPOP", A, "nan"],
        ["BLPOP", A], ["BLMOVE", A, B, "UP", "LEFT", "0"], ["BLMOVE", A, B, "LEFT", "LEFT", "x"],
        ["BLMPOP", "0", "0", A, "LEFT"], ["BLMPOP", "0", "1", A, "MIDDLE"],
        ["BLMPOP", "0", "1", A, "LEFT", "COUNT", "0"], ["BLMPOP", "x", "1", A, "LEFT"],
        ["BLMPOP", "0", "5", A, "LEFT"],
        ["COMMAND", "GETKEYS", "BLMPOP", "0", "2", A, B, "LEFT"],
        ["COMMAND", "GETKEYS", "BLPOP", A, B, "0"],
    ], p)
    h.done()


def test_timeouts(h):
    p = h.pair()
    h.run([
        ["BLPOP", "nokey", "0.05"], ["BRPOP", "nokey", "other", "0.05"],
        ["BLMOVE", "nokey", "dest", "LEFT", "LEFT", "0.05"], ["BRPOPLPUSH", "nokey", "dest", "0.05"],
        ["BLMPOP", "0.05", "1", "nokey", "LEFT"], ["EXISTS", "dest"],
    ], p)
    h.done()


def test_blocked_clients_are_served_in_order(h):
    first, second, pusher = h.pair(), h.pair(), h.pair()
    h.run([block(["BLPOP", A, "5"])], first)
    h.run([Sleep(0.05)], first)
    h.run([block(["BLPOP", B, A, "5"])], second)
    h.run([Sleep(0.05)], second)
    h.run([["RPUSH", A, "one", "two", "three"]], pusher)
    h.run([receive()], first)
    h.run([receive()], second)
    h.run([["LRANGE", A, "0", "-1"]], pusher)
    # A client blocked on keys of two cores is served once, from the key that got data.
    h.run([block(["BRPOP", A, B, C, "5"])], first)
    h.run([Sleep(0.05), ["LPUSH", C, "c1"], Sleep(0.05), ["LPUSH", B, "b1"]], pusher)
    h.run([receive()], first)
    h.run([["LRANGE", B, "0", "-1"], ["LRANGE", C, "0", "-1"]], pusher)
    h.done()


def test_blmove_and_blmpop_when_data_arrives(h):
    waiter, pusher = h.pair(), h.pair()
    h.run([block(["BLMOVE", A, B, "RIGHT", "LEFT", "5"])], waiter)
    h.run([Sleep(0.05), ["RPUSH", A, "x", "y"]], pusher)
    h.run([receive()], waiter)
    h.run([Sleep(0.05), ["LRANGE", A, "0", "-1"], ["LRANGE", B, "0", "-1"]], pusher)
    h.run([block(["BRPOPLPUSH", C, C, "5"])], waiter)
    h.run([Sleep(0.05), ["RPUSH", C, "a", "b"]], pusher)
    h.run([receive()], waiter)
    h.run([["LRANGE", C, "0", "-1"], ["DEL", A, B, C]], pusher)
    h.run([block(["BLMPOP", "5", "2", A, B, "LEFT", "COUNT", "2"])], waiter)
    h.run([Sleep(0.05), ["RPUSH", B, "1", "2", "3"]], pusher)
    h.run([receive()], waiter)
    h.run([["LRANGE", B, "0", "-1"]], pusher)
    h.done()


def test_blocking_inside_multi_and_pushes_inside_exec(h):
    waiter, pusher = h.pair(), h.pair()
    # Inside MULTI a blocking command answers at once.
    h.run([["MULTI"], ["BLPOP", "nokey", "0"], ["BLMOVE", "nokey", A, "LEFT", "LEFT", "0"],
           ["EXEC"]], waiter)
    # A transaction that pushes and pops the same key: blocked clients are served after EXEC.
    h.run([block(["BLPOP", A, "5"])], waiter)
    h.run([Sleep(0.05), ["MULTI"], ["LPUSH", A, "a", "b"], ["LPOP", A], ["EXEC"]], pusher)
    h.run([receive()], waiter)
    h.run([["LRANGE", A, "0", "-1"]], pusher)
    h.done()


def test_client_unblock(h):
    waiter, admin = h.pair(), h.pair()
    ids = [waiter.r.call("CLIENT", "ID")[1], waiter.s.call("CLIENT", "ID")[1]]
    for reason, args in (("timeout", ["BLPOP", A, "0"]), ("error", ["BLMOVE", A, B, "LEFT", "LEFT", "0"])):
        h.run([block(args), Sleep(0.1)], waiter)
        replies = []
        for conn, client_id in zip((admin.r, admin.s), ids):
            replies.append(conn.call("CLIENT", "UNBLOCK", str(client_id), reason))
        h.compare(["CLIENT", "UNBLOCK", "<id>", reason], replies[0], replies[1])
        h.run([receive()], waiter)
        replies = [conn.call("CLIENT", "UNBLOCK", str(client_id)) for conn, client_id in
                   zip((admin.r, admin.s), ids)]
        h.compare(["CLIENT", "UNBLOCK", "<id again>"], replies[0], replies[1])
    h.run([["CLIENT", "UNBLOCK", "abc"], ["CLIENT", "UNBLOCK", "1", "maybe"],
           ["CLIENT", "UNBLOCK", "999999"], ["CLIENT", "UNBLOCK"]], admin)
    h.done()


def test_blmove_serves_clients_blocked_on_its_destination(h):
    """A blocked BLMOVE, once served, pushes onto its destination, which serves a client
    blocked there (Redis's tests/unit/type/list.tcl, "BLMOVE (left, right) with a client
    BLPOPing the target list"), with both lists on one core and on two."""
    mover, popper, pusher = h.pair(), h.pair(), h.pair()
    for source, target in (("{t}src", "{t}dst"), (A, B)):
        for sides in (["LEFT", "RIGHT"], ["RIGHT", "LEFT"]):
            h.run([block(["BLPOP", target, "5"]), Sleep(0.05)], popper)
            h.run([block(["BLMOVE", source, target] + sides + ["5"]), Sleep(0.05)], mover)
            h.run([["RPUSH", source, "foo"]], pusher)
            h.run([receive()], mover)
            h.run([receive()], popper)
            h.run([Sleep(0.05), ["LRANGE", source, "0", "-1"], ["LRANGE", target, "0", "-1"]], pusher)
    h.done()


def blocked_counts(ra, rb, args, h):
    """INFO clients: only the fields about blocked clients are compared."""
    def fields(reply):
        if reply[0] not in ("$", "="):
            return reply
        lines = to_text(reply).split("\r\n")
        wanted = ("blocked_clients:", "clients_in_timeout_table:")
        return sorted(line for line in lines if line.startswith(wanted))
    return fields(ra), fields(rb)


def test_info_counts_blocked_clients(h):
    """INFO clients' blocked_clients and clients_in_timeout_table (the redis test suite's
    wait_for_blocked_client polls them), with clients blocked on keys of two cores."""
    forever, bounded, zset_waiter, pusher = h.pair(), h.pair(), h.pair(), h.pair()
    info = Checked(["INFO", "clients"], rule=blocked_counts)
    h.run([info], pusher)
    h.run([block(["BLPOP", A, B, "0"])], forever)
    h.run([block(["BRPOP", C, "5"])], bounded)
    h.run([block(["BZPOPMIN", "{b}zset", "5"]), Sleep(0.1)], zset_waiter)
    h.run([info, ["RPUSH", C, "c"]], pusher)
    h.run([receive()], bounded)
    h.run([Sleep(0.05), info, ["ZADD", "{b}zset", "1", "m"]], pusher)
    h.run([receive()], zset_waiter)
    h.run([Sleep(0.05), info, ["RPUSH", B, "b"]], pusher)
    h.run([receive()], forever)
    h.run([Sleep(0.05), info, ["CONFIG", "RESETSTAT"], info], pusher)
    h.done()


def test_closed_blocked_client_loses_nothing(h):
    waiter, pusher = h.pair(), h.pair()
    h.run([block(["BLPOP", A, "0"]), Sleep(0.05)], waiter)
    waiter.r.close()
    waiter.s.close()
    time.sleep(0.3)  # the server notices the closed socket
    h.run([["RPUSH", A, "kept"], ["LRANGE", A, "0", "-1"]], pusher)
    h.done()


def test_sorted_set_blocking_pops(h):
    waiter, pusher = h.pair(), h.pair()
    Z1, Z2 = "{a}zset", "{b}zset"
    h.run([
        ["ZADD", Z1, "1", "a", "2", "b", "3", "c"],
        ["BZPOPMIN", "nokey", Z1, "0"], ["BZPOPMAX", Z1, "0"], ["BZMPOP", "0", "2", "nokey", Z1, "MAX", "COUNT", "5"],
        ["BZPOPMIN", Z1, "0.05"], ["BZMPOP", "0.05", "1", Z1, "MIN"], ["BZPOPMIN", Z1, "-1"],
        ["BZMPOP", "0", "0", Z1, "MIN"], ["BZMPOP", "0", "1", Z1, "SIDEWAYS"],
        ["SET", "str", "v"], ["BZPOPMIN", "str", "0"],
        ["MULTI"], ["BZPOPMIN", Z1, "0"], ["EXEC"],
        ["COMMAND", "GETKEYS", "BZMPOP", "0", "2", Z1, Z2, "MIN"],
    ], waiter)
    h.run([block(["BZPOPMIN", Z1, Z2, "5"])], waiter)
    h.run([Sleep(0.05), ["ZADD", Z2, "5", "x", "4", "y"]], pusher)
    h.run([receive()], waiter)
    h.run([block(["BZMPOP", "5", "2", Z1, Z2, "MAX", "COUNT", "3"])], waiter)
    h.run([Sleep(0.05), ["ZADD", Z1, "7", "p", "8", "q"]], pusher)
    h.run([receive()], waiter)
    h.run([["ZRANGE", Z1, "0", "-1", "WITHSCORES"], ["ZRANGE", Z2, "0", "-1", "WITHSCORES"]], pusher)
    h.done()


def test_client_pause_arguments(h):
    """CLIENT PAUSE and UNPAUSE: their errors in Redis's order (mode first, then the timeout),
    and pauses that end at once (0 ms) or soon, after which writes go on."""
    h.run([
        ["CLIENT", "PAUSE", "x"], ["CLIENT", "PAUSE", "10", "foo"], ["CLIENT", "PAUSE", "x", "foo"],
        ["CLIENT", "PAUSE", "-1"], ["CLIENT", "PAUSE", "-1", "ALL"], ["CLIENT", "PAUSE", "1.5"],
        ["CLIENT", "PAUSE", "9223372036854775807"], ["CLIENT", "PAUSE", "9223372036854775808"],
        ["CLIENT", "PAUSE"], ["CLIENT", "PAUSE", "1", "WRITE", "x"], ["CLIENT", "UNPAUSE", "x"],
        ["CLIENT", "PAUSE", "0"], ["SET", "k", "v"], ["CLIENT", "PAUSE", "0", "write"],
        ["CLIENT", "UNPAUSE"], ["CLIENT", "UNPAUSE"], ["GET", "k"],
        ["CLIENT", "PAUSE", "50", "WRITE"], ["GET", "k"], ["SET", "k", "w"], ["GET", "k"],
        ["CLIENT", "PAUSE", "50", "ALL"], ["CLIENT", "UNPAUSE"], ["SET", "k", "x"], ["GET", "k"],
    ])
    h.done()
