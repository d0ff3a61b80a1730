"""Differential sequences for Pub/Sub: SUBSCRIBE and friends, PUBLISH, PUBSUB introspection,
RESP2 subscribed mode and RESP3 push frames, compared step by step with redis-server 7.0.

Subscribers and publishers are separate connections; slotcore runs with two shard cores, so
they usually live on different cores and every message crosses the channel mesh.
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from resp import encode  # noqa: E402
from test_differential import C, Inline, h, sorted_array  # noqa: E402,F401  (h is the fixture)


def send(args, replies=1):
    """Sends one command and compares `replies` frames (several for (P|S)SUBSCRIBE)."""
    return Inline(encode(args), replies)


def receive(frames=1):
    """Compares frames that arrive without a request (published messages)."""
    return Inline(b"", frames)


def test_subscribe_publish_resp2(h):
    sub, pub = h.pair(), h.pair()
    h.run([
        send(["SUBSCRIBE", "news", "weather"], 2),
        send(["SUBSCRIBE", "news"]),
        send(["PSUBSCRIBE", "ne*", "w?ather"], 2),
        send(["SSUBSCRIBE", "{s}one"]),
    ], sub)
    h.run([
        ["PUBLISH", "news", "hello"], ["PUBLISH", "weather", "sunny"], ["PUBLISH", "nobody", "x"],
        ["PUBLISH", "nexus", ""], ["SPUBLISH", "{s}one", "sharded"], ["SPUBLISH", "{s}two", "x"],
        ["PUBSUB", "NUMSUB", "news", "weather", "nobody"], ["PUBSUB", "NUMSUB"],
        ["PUBSUB", "NUMPAT"], C(["PUBSUB", "CHANNELS"], sorted_array),
        ["PUBSUB", "CHANNELS", "n*"], ["PUBSUB", "CHANNELS", "zzz*"],
        ["PUBSUB", "SHARDCHANNELS"], ["PUBSUB", "SHARDNUMSUB", "{s}one", "{s}two"],
        ["PUBSUB", "HELP"], ["PUBSUB", "NUMPAT", "x"], ["PUBSUB", "CHANNELS", "a", "b"],
        ["PUBSUB", "NOPE"], ["PUBSUB"], ["PUBLISH", "news"], ["SPUBLISH", "a", "b", "c"],
    ], pub)
    h.run([
        receive(2),  # news: message + pmessage
        receive(2),  # weather: message + pmessage
        receive(1),  # nexus: pmessage
        receive(1),  # smessage
        # RESP2 subscribed mode: only (un)subscribe, PING, QUIT, RESET.
        ["GET", "k"], ["CLIENT", "ID"], ["PING"], ["PING", "payload"],
        send(["UNSUBSCRIBE", "weather", "nosuch"], 2),
        send(["PUNSUBSCRIBE"], 2),
        send(["SUNSUBSCRIBE"]),
        send(["UNSUBSCRIBE"]),
        send(["UNSUBSCRIBE"]),  # nothing left: one reply with a null channel
        send(["PUNSUBSCRIBE"]),
        send(["SUNSUBSCRIBE", "{s}one", "{s}two"], 2),
        ["GET", "k"], ["PING"],
    ], sub)
    h.run([["PUBSUB", "NUMSUB", "news", "weather"], ["PUBSUB", "NUMPAT"],
           ["PUBSUB", "CHANNELS"], ["PUBLISH", "news", "nobody listens"]], pub)
    h.done()


def test_subscribe_publish_resp3(h):
    sub, pub = h.pair(), h.pair()
    h.run([
        C(["HELLO", "3"], lambda ra, rb, args, h: (ra[0], rb[0])),
        send(["SUBSCRIBE", "a", "b"], 2),
        send(["PSUBSCRIBE", "*"]),
        # RESP3 has no subscribed mode: any command works, replies interleave with pushes.
        ["SET", "k", "v"], ["GET", "k"], ["PING"],
    ], sub)
    h.run([["PUBLISH", "a", "one"], ["PUBLISH", "c", "two"]], pub)
    h.run([
        receive(3),
        ["GET", "k"],
        # A subscriber publishing to itself gets the message before the reply, as in Redis.
        send(["PUBLISH", "b", "self"], 3),
        send(["RESET"]),
        ["PUBSUB", "NUMPAT"],
    ], sub)
    h.run([["PUBSUB", "NUMSUB", "a", "b"], ["PUBSUB", "NUMPAT"]], pub)
    h.done()


def test_pubsub_replies_ignore_client_reply_off(h):
    """Subscribe confirmations and messages go out under CLIENT REPLY OFF / SKIP, in RESP2 and
    RESP3 (Redis's CLIENT_PUSHING); a SKIP is used up by the SUBSCRIBE. Redis's own
    tests/unit/pubsub.tcl waits for these ("PubSub messages with CLIENT REPLY OFF")."""
    for resp3 in (False, True):
        sub, pub = h.pair(), h.pair()
        if resp3:
            h.run([C(["HELLO", "3"], lambda ra, rb, args, h: (ra[0], rb[0]))], sub)
        h.run([send(["CLIENT", "REPLY", "OFF"], 0), send(["SUBSCRIBE", "channel"]),
               send(["PSUBSCRIBE", "ch*"]), send(["CLIENT", "REPLY", "OFF"], 0)
               if resp3 else send(["PING"], 0)], sub)
        h.run([["PUBLISH", "channel", "hello"]], pub)
        h.run([receive(2), send(["UNSUBSCRIBE", "channel"]), send(["PUNSUBSCRIBE", "ch*"]),
               send(["UNSUBSCRIBE"]), send(["GET", "k"], 0), send(["CLIENT", "REPLY", "ON"]),
               ["PING"], send(["CLIENT", "REPLY", "SKIP"], 0), send(["SUBSCRIBE", "a", "b"], 2)], sub)
        h.run([["PUBLISH", "b", "after skip"]], pub)
        h.run([receive(), send(["UNSUBSCRIBE", "a", "b"], 2), ["PING"]], sub)
    h.done()


def test_many_subscribers_and_closed_subscribers(h):
    subs = [h.pair() for _ in range(4)]
    pub = h.pair()
    for index, sub in enumerate(subs):
        h.run([send(["SUBSCRIBE", "fan", "own%d" % index], 2)], sub)
    h.run([["PUBLISH", "fan", "to all"], ["PUBSUB", "NUMSUB", "fan", "own0", "own3"]], pub)
    for sub in subs:
        h.run([receive(1)], sub)
    # Connections that close drop their subscriptions. A close reaches each server on its own
    # time (on another core, for slotcore): wait until both have seen it, then compare.
    for sub in subs[:2]:
        sub.r.close()
        sub.s.close()
    for conn in (pub.r, pub.s):
        deadline = time.time() + 10
        while time.time() < deadline:
            counts = conn.call("PUBSUB", "NUMSUB", "own0", "own1")[1][1::2]
            if all(count[1] == 0 for count in counts):
                break
            time.sleep(0.02)
    h.run([
        C(["PUBSUB", "NUMSUB", "fan", "own0", "own3"]),
        ["PUBLISH", "fan", "to the rest"],
    ], pub)
    for sub in subs[2:]:
        h.run([receive(1)], sub)
    h.done()
