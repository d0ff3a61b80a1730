"""Differential sequences for keyspace notifications (`notify-keyspace-events`): a subscriber to
every keyspace and keyevent channel, and a writer whose commands raise events; the messages must
equal redis-server 7.0's, in the same order. slotcore runs with two shard cores, so the writer's
commands and the subscriber usually live on different cores."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from resp import encode  # noqa: E402
from test_differential import Inline, h  # noqa: E402,F401  (h is the pytest fixture)


def drain(conn, wait=0.15):
    """Every message that arrives within `wait` seconds."""
    time.sleep(wait)
    conn.sock.settimeout(0.05)
    messages = []
    try:
        while True:
            try:
                messages.append(conn.read())
            except OSError:
                break
    finally:
        conn.sock.settimeout(5.0)
    return messages


# Each step: a command for the writer; the events it raises are compared.
STEPS = [
    ["SET", "s", "1"], ["SET", "s", "2", "EX", "100"], ["SETNX", "s", "x"], ["SETNX", "s2", "x"],
    ["APPEND", "s", "3"], ["INCR", "n"], ["INCRBYFLOAT", "n", "1.5"], ["SETRANGE", "s", "1", "ab"],
    ["MSET", "{a}1", "x", "{a}2", "y"], ["GETDEL", "s2"], ["GETDEL", "s2"],
    ["EXPIRE", "s", "1000"], ["PERSIST", "s"], ["EXPIRE", "s", "-1"], ["DEL", "{a}1", "{a}2", "nokey"],
    ["SET", "r1", "v"], ["RENAME", "r1", "r2"], ["COPY", "r2", "r3"],
    ["HSET", "h", "f", "v", "g", "w"], ["HDEL", "h", "f"], ["HINCRBY", "h", "n", "1"], ["HDEL", "h", "g", "n"],
    ["LPUSH", "l", "a", "b"], ["RPUSH", "l", "c"], ["LPOP", "l"], ["LSET", "l", "0", "z"],
    ["LINSERT", "l", "BEFORE", "z", "y"], ["LREM", "l", "0", "y"], ["LTRIM", "l", "0", "5"],
    ["LMOVE", "l", "l", "LEFT", "RIGHT"], ["RPOP", "l", "5"], ["LPUSHX", "l", "x"],
    ["SADD", "s1", "a", "b"], ["SADD", "s1", "a"], ["SREM", "s1", "a"], ["SPOP", "s1"],
    ["SADD", "{x}1", "a"], ["SADD", "{x}2", "a"], ["SINTERSTORE", "{x}3", "{x}1", "{x}2"],
    ["SDIFFSTORE", "{x}3", "{x}1", "{x}2"], ["SMOVE", "{x}1", "{x}2", "a"],
    ["ZADD", "z", "1", "a", "2", "b"], ["ZMPOP", "1", "z", "MAX"], ["ZMPOP", "1", "z", "MIN", "COUNT", "5"],
    ["GEOADD", "{g}", "13.361389", "38.115556", "Palermo"], ["GEOADD", "{g}", "13.361389", "38.115556", "Palermo"],
    ["ZADD", "{g}", "3479099956230698", "Palermo"], ["GEOADD", "{g}", "XX", "1", "2", "nope"],
    ["GEORADIUS", "{g}", "13", "38", "100", "km", "STORE", "{g}d"], ["GEORADIUS", "{g}", "13", "38", "100", "km"],
    ["GEOSEARCHSTORE", "{g}e", "{g}", "FROMLONLAT", "13", "38", "BYRADIUS", "100", "km", "STOREDIST"],
    ["GEORADIUSBYMEMBER", "{g}", "Palermo", "1", "m", "STOREDIST", "{g}d"],
    ["GEOSEARCHSTORE", "{g}e", "{g}", "FROMLONLAT", "0", "0", "BYRADIUS", "1", "km"],
    ["GEOSEARCHSTORE", "{g}e", "{g}", "FROMLONLAT", "0", "0", "BYRADIUS", "1", "km"],
    ["SET", "t", "v", "PX", "1"],
]


def test_keyspace_and_keyevent_messages(h):
    p = h.pair()
    subscriber = h.pair()
    h.run([["CONFIG", "SET", "notify-keyspace-events", "KEA"], ["CONFIG", "GET", "notify-keyspace-events"]], p)
    h.run([Inline(encode(["PSUBSCRIBE", "__key*__:*"]), 1)], subscriber)
    for step in STEPS:
        h.run([step], p)
        got = [drain(subscriber.r), drain(subscriber.s, 0.05)]
        h.compare(["events of"] + step, ("*", got[0]), ("*", got[1]))
    # The key with a 1 ms expire goes by itself: an `expired` event.
    time.sleep(0.2)
    h.run([["GET", "t"]], p)
    got = [drain(subscriber.r, 0.3), drain(subscriber.s, 0.3)]
    h.compare(["events of expiry"], ("*", got[0]), ("*", got[1]))
    h.run([["CONFIG", "SET", "notify-keyspace-events", "Q"], ["CONFIG", "SET", "notify-keyspace-events", "Ex"],
           ["CONFIG", "GET", "notify-keyspace-events"], ["CONFIG", "SET", "notify-keyspace-events", ""]], p)
    h.run([["SET", "quiet", "1"]], p)
    got = [drain(subscriber.r), drain(subscriber.s, 0.05)]
    h.compare(["events when off"], ("*", got[0]), ("*", got[1]))
    h.done()


def test_events_of_served_blocked_clients(h):
    """A push that serves a blocked client: the push's event, then the pop's, then `del`."""
    writer, subscriber, waiter = h.pair(), h.pair(), h.pair()
    h.run([["CONFIG", "SET", "notify-keyspace-events", "KEA"]], writer)
    h.run([Inline(encode(["PSUBSCRIBE", "__key*__:*"]), 1)], subscriber)
    for block, push in (
        (["BLPOP", "{q}1", "5"], ["RPUSH", "{q}1", "x"]),
        (["BLMOVE", "{q}1", "{q}2", "LEFT", "RIGHT", "5"], ["LPUSH", "{q}1", "y"]),
        (["BZPOPMIN", "{q}3", "5"], ["ZADD", "{q}3", "1", "m"]),
    ):
        h.run([Inline(encode(block), 0)], waiter)
        time.sleep(0.1)
        h.run([push, Inline(b"", 0)], writer)
        h.run([Inline(b"", 1)], waiter)
        got = [drain(subscriber.r), drain(subscriber.s, 0.05)]
        h.compare(["events of"] + push + ["serving"] + block[:1], ("*", got[0]), ("*", got[1]))
    h.run([["CONFIG", "SET", "notify-keyspace-events", ""]], writer)
    h.done()


def test_events_of_moves_across_cores(h):
    """SMOVE, LMOVE, RPOPLPUSH, LMPOP, ZMPOP, *STORE, BITOP and PFMERGE over keys on different
    cores of slotcore raise Redis's events, `del` of an emptied source and `new` of a created
    destination included. They run on two cores, so the events are compared as multisets."""
    writer, subscriber = h.pair(), h.pair()
    h.run([["CONFIG", "SET", "notify-keyspace-events", "KEA"]], writer)
    h.run([Inline(encode(["PSUBSCRIBE", "__key*__:*"]), 1)], subscriber)
    for setup, move in (
        (["SADD", "{a}s", "m"], ["SMOVE", "{a}s", "{b}s", "m"]),
        (["SADD", "{a}s", "m", "n"], ["SMOVE", "{a}s", "{b}s", "m"]),
        (["RPUSH", "{a}l", "x"], ["LMOVE", "{a}l", "{b}l", "LEFT", "RIGHT"]),
        (["RPUSH", "{a}l", "y", "z"], ["RPOPLPUSH", "{a}l", "{b}l"]),
        (["DEL", "{a}l"], ["LMOVE", "{a}l", "{b}l", "RIGHT", "LEFT"]),
        (["SADD", "{b}s", "m"], ["SINTERSTORE", "{c}s", "{a}s", "{b}s"]),
        (["SADD", "{c}s", "q"], ["SUNIONSTORE", "{c}s", "{a}s", "{b}s"]),
        (["ZADD", "{a}z", "1", "m"], ["ZUNIONSTORE", "{b}z", "2", "{a}z", "{c}z"]),
        (["SET", "{a}b", "x"], ["BITOP", "OR", "{b}b", "{a}b", "{c}b"]),
        (["PFADD", "{a}h", "x"], ["PFMERGE", "{b}h", "{a}h", "{c}h"]),
        (["RPUSH", "{b}l", "1"], ["LMPOP", "2", "{a}l", "{b}l", "LEFT", "COUNT", "5"]),
        (["ZADD", "{c}z", "2", "n"], ["ZMPOP", "2", "{a}z", "{c}z", "MAX"]),
        (["GEOADD", "{a}g", "1", "2", "m"], ["GEOSEARCHSTORE", "{b}g", "{a}g", "FROMLONLAT", "1", "2", "BYRADIUS", "1", "km"]),
        (["GEOADD", "{a}g", "1", "2", "n"], ["GEORADIUS", "{a}g", "1", "2", "1", "km", "STORE", "{b}g"]),
        (["GEOADD", "{a}g", "3", "4", "o"], ["GEORADIUSBYMEMBER", "{a}g", "o", "1", "km", "STOREDIST", "{b}g"]),
    ):
        h.run([setup], writer)
        drain(subscriber.r), drain(subscriber.s, 0.05)
        h.run([move], writer)
        got = [sorted(map(repr, drain(subscriber.r))), sorted(map(repr, drain(subscriber.s, 0.05)))]
        h.compare(["events of"] + move, ("*", got[0]), ("*", got[1]))
    h.run([["CONFIG", "SET", "notify-keyspace-events", ""]], writer)
    h.done()
