"""Differential sequences for MULTI / EXEC / DISCARD / WATCH / UNWATCH against redis-server 7.0:
queued replies, EXECABORT after queueing errors, runtime errors inside EXEC, WATCH aborts
(null array) when another client writes a watched key, and transactions whose keys live on
different shard cores (slotcore runs with two)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from test_differential import C, h  # noqa: E402,F401  (h is the pytest fixture)

# Keys that land on different cores of a two-core slotcore (slots 0-8191 / 8192-16383).
K1, K2, K3 = "{a}k", "{b}k", "{c}k"


def test_multi_exec_basics(h):
    p = h.pair()
    h.run([
        ["EXEC"], ["DISCARD"],
        ["MULTI"], ["MULTI"], ["SET", K1, "1"], ["INCR", K1], ["GET", K1], ["PING"], ["EXEC"],
        ["MULTI"], ["SET", K1, "x"], ["DISCARD"], ["GET", K1],
        # Runtime errors are replies inside EXEC; the other commands still run.
        ["MULTI"], ["SET", "str", "v"], ["LPUSH", "str", "x"], ["INCR", "str"], ["APPEND", "str", "!"],
        ["EXEC"], ["GET", "str"],
        # Queueing errors abort the whole transaction.
        ["MULTI"], ["SET", K1, "2"], ["NOSUCHCOMMAND"], ["GET"], ["EXEC"], ["GET", K1],
        ["MULTI"], ["WATCH", K1], ["EXEC"],
        ["MULTI"], ["EXEC"],
        ["MULTI"], ["CLIENT", "ID"], ["DISCARD"],
        # A reset ends a transaction.
        ["MULTI"], ["SET", K1, "3"], C(["RESET"]), ["GET", K1], ["EXEC"],
    ], p)
    h.done()


def test_multi_exec_across_cores(h):
    p = h.pair()
    h.run([
        ["MULTI"], ["SET", K1, "a"], ["SET", K2, "b"], ["MSET", K1, "1", K2, "2", K3, "3"],
        ["MGET", K1, K2, K3], ["RENAME", K3, "{d}k"], ["DEL", K1, K2], ["EXISTS", K1, K2, "{d}k"],
        ["SADD", "{a}s", "x", "y"], ["SADD", "{b}s", "y", "z"], ["SINTERSTORE", "{c}s", "{a}s", "{b}s"],
        ["SMEMBERS", "{c}s"], ["EXEC"],
        ["MGET", K1, K2, K3, "{d}k"],
    ], p)
    h.done()


def test_watch(h):
    p, other = h.pair(), h.pair()
    h.run([["SET", K1, "0"], ["SET", K2, "0"], ["WATCH", K1, K2], ["WATCH", K1]], p)
    h.run([["SET", K2, "changed"]], other)
    h.run([["MULTI"], ["INCR", K1], ["EXEC"], ["GET", K1]], p)  # aborted: null array
    # After EXEC nothing is watched any more.
    h.run([["MULTI"], ["INCR", K1], ["EXEC"]], p)
    # Unchanged watched keys let EXEC run; reads do not count as changes.
    h.run([["WATCH", K1, K3]], p)
    h.run([["GET", K1], ["EXISTS", K3]], other)
    h.run([["MULTI"], ["INCR", K1], ["SET", K3, "new"], ["EXEC"]], p)
    # UNWATCH forgets.
    h.run([["WATCH", K1], ["UNWATCH"]], p)
    h.run([["SET", K1, "x"]], other)
    h.run([["MULTI"], ["GET", K1], ["EXEC"]], p)
    # DEL, EXPIRE, FLUSHALL and a multi-core MSET all touch watched keys.
    for touch in (["DEL", K1], ["EXPIRE", K1, "100"], ["MSET", K1, "1", K2, "2"], ["FLUSHALL"]):
        h.run([["SET", K1, "v"], ["WATCH", K1]], p)
        h.run([touch], other)
        h.run([["MULTI"], ["GET", K1], ["EXEC"]], p)
    # DISCARD unwatches too.
    h.run([["WATCH", K1], ["MULTI"], ["DISCARD"]], p)
    h.run([["SET", K1, "after discard"]], other)
    h.run([["MULTI"], ["GET", K1], ["EXEC"]], p)
    h.done()


def test_watched_key_expiry(h):
    """A watched key that expires before EXEC aborts it, whether active expiry deleted it, a read
    found it expired, or nothing touched it yet (Redis's isWatchedKeyExpired); a key already
    expired when WATCHed does not (its deletion is no change). Keys on both cores."""
    import time
    p, other = h.pair(), h.pair()
    for key in (K1, K2):
        # Nothing touches the key: logically expired at EXEC.
        h.run([["DEBUG", "SET-ACTIVE-EXPIRE", "0"], ["SET", key, "v", "PX", "50"], ["WATCH", key]], p)
        time.sleep(0.15)
        h.run([["MULTI"], ["SET", "{a}other", "1"], ["EXEC"]], p)
        # Another client's read deletes it lazily in between.
        h.run([["SET", key, "v", "PX", "50"], ["WATCH", key]], p)
        time.sleep(0.15)
        h.run([["GET", key]], other)
        h.run([["MULTI"], ["SET", "{a}other", "2"], ["EXEC"]], p)
        # Already expired (not yet deleted) when WATCHed: EXEC runs.
        h.run([["SET", key, "v", "PX", "50"]], p)
        time.sleep(0.15)
        h.run([["WATCH", key], ["MULTI"], ["SET", "{a}other", "3"], ["EXEC"]], p)
        # Active expiry deletes it.
        h.run([["DEBUG", "SET-ACTIVE-EXPIRE", "1"], ["SET", key, "v", "PX", "50"], ["WATCH", key]], p)
        time.sleep(0.5)
        h.run([["EXISTS", key], ["MULTI"], ["SET", "{a}other", "4"], ["EXEC"]], p)
        # A key with a TTL far away does not abort.
        h.run([["SET", key, "v", "EX", "100"], ["WATCH", key], ["MULTI"], ["GET", key], ["EXEC"]], p)
    h.done()


def test_flush_touches_only_the_watched_keys_it_deletes(h):
    """FLUSHALL / FLUSHDB abort EXEC only for watched keys they delete (Redis's
    touchAllWatchedKeysInDb): a watched key that does not exist, or that was already expired
    when WATCHed, is no change; a live one, or one that expired after WATCH, is. Keys on both
    cores (the cases of Redis's own multi.tcl)."""
    import time
    p = h.pair()
    for key in (K1, K2):
        for flush in (["FLUSHALL"], ["FLUSHDB"]):
            h.run([["DEL", key], ["WATCH", key], flush, ["MULTI"], ["PING"], ["EXEC"]], p)
            h.run([["SET", key, "30"], ["WATCH", key], flush, ["MULTI"], ["PING"], ["EXEC"]], p)
            h.run([["DEBUG", "SET-ACTIVE-EXPIRE", "0"], ["SET", key, "foo", "PX", "1"]], p)
            time.sleep(0.01)
            h.run([["WATCH", key], flush, ["MULTI"], ["PING"], ["EXEC"]], p)
            h.run([["SET", key, "foo", "PX", "50"], ["WATCH", key]], p)
            time.sleep(0.1)
            h.run([flush, ["MULTI"], ["PING"], ["EXEC"], ["DEBUG", "SET-ACTIVE-EXPIRE", "1"]], p)
    h.done()


def test_multi_exec_resp3(h):
    p = h.pair()
    h.run([
        C(["HELLO", "3"], lambda ra, rb, args, h: (ra[0], rb[0])),
        ["MULTI"], ["SET", K1, "1"], ["HSET", "{a}h", "f", "v"], ["HGETALL", "{a}h"], ["EXEC"],
        ["WATCH", K1],
    ], p)
    other = h.pair()
    h.run([["SET", K1, "2"]], other)
    h.run([["MULTI"], ["GET", K1], ["EXEC"]], p)
    h.done()
