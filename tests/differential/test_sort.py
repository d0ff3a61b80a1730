"""Differential sequences for SORT and SORT_RO.

Same harness as test_differential.py: each step goes to redis-server 7.0 and to slotcore
(--shards 2) and the typed replies must be equal. The keys that BY and GET patterns name are
spread over both of slotcore's cores (checked below), so the cross-core gathering runs.
A set has no order of its own: results that keep set order (BY nosort without STORE) are
compared as sorted arrays.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from test_differential import C, E, h  # noqa: E402,F401  (h is the pytest fixture)


def crc16(data):
    crc = 0
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def core_of(key, cores=2):
    """slotcore's core for a key: its slot modulo the core count (no hash tags used here)."""
    return (crc16(key.encode()) % 16384) % cores


def sorted_items(ra, rb, args, h):
    f = lambda r: (r[0], sorted(r[1], key=repr)) if r[0] in ("*", "~") else r  # noqa: E731
    return f(ra), f(rb)


ELEMENTS = ["a", "b", "c", "d", "e", "f", "g", "h"]


def test_pattern_keys_span_both_cores():
    for prefix in ("w_", "h_", "name_"):
        cores = {core_of(prefix + e) for e in ELEMENTS}
        assert cores == {0, 1}, prefix


def test_sort_numbers_and_alpha(h):
    p = h.pair()
    h.run([
        ["RPUSH", "n", "3", "1", "2", "10", "1.5", "-inf", "+inf", "0x10", "1e3", "-2", " 7"],
        ["SORT", "n"], ["SORT", "n", "DESC"], ["SORT", "n", "ASC"], ["SORT", "n", "ALPHA"],
        ["SORT", "n", "ALPHA", "DESC"], ["SORT_RO", "n"], ["SORT_RO", "n", "DESC", "ALPHA"],
        ["sort", "n", "desc", "asc"], ["SORT", "n", "alpha", "desc", "asc"],
        # Equal scores fall back to the elements.
        ["RPUSH", "eq", "1.0", "1", "01", "1e0", "2", "1"], ["SORT", "eq"], ["SORT", "eq", "DESC"],
        ["RPUSH", "w", "B", "a", "C", "b", "", "ab", "a b"], ["SORT", "w", "ALPHA"],
        ["SORT", "w", "ALPHA", "DESC"], ["SORT", "w"],
        ["RPUSH", "bad", "1", "2", "abc"], ["SORT", "bad"], ["SORT", "bad", "ALPHA"],
        ["RPUSH", "bad2", "1 "], ["SORT", "bad2"], ["RPUSH", "bad3", "nan"], ["SORT", "bad3"],
        ["RPUSH", "empty", ""], ["SORT", "empty"],
        ["SORT", "nosuchkey"], ["SORT", "nosuchkey", "ALPHA", "LIMIT", "0", "5"],
        ["SORT_RO", "nosuchkey"],
        # Integers that an intset or listpack would hold as numbers.
        ["RPUSH", "ints", "9223372036854775807", "-9223372036854775808", "0", "42"],
        ["SORT", "ints"], ["SORT", "ints", "ALPHA"],
        # Out of range. Last: Redis does not clear errno before strtod, so after an ERANGE every
        # numeric SORT of strings fails until some syscall of its event loop (an accept) resets
        # errno; slotcore does not copy that.
        ["RPUSH", "bad4", "1e400"], ["SORT", "bad4"], ["RPUSH", "bad5", "1e-310"], ["SORT", "bad5"],
    ], p)
    h.done()


def test_sort_limit(h):
    p = h.pair()
    steps = [["RPUSH", "l", "5", "3", "8", "1", "9", "2"]]
    for start, count in [("0", "3"), ("2", "2"), ("-3", "2"), ("0", "-1"), ("0", "-5"), ("5", "1"),
                         ("6", "1"), ("10", "1"), ("1", "0"), ("0", "100"), ("3", "100"),
                         ("-9223372036854775808", "9223372036854775807"), ("2", "-1")]:
        steps += [["SORT", "l", "LIMIT", start, count],
                  ["SORT", "l", "LIMIT", start, count, "DESC"],
                  ["SORT", "l", "BY", "nosort", "LIMIT", start, count],
                  ["SORT", "l", "BY", "nosort", "LIMIT", start, count, "DESC"],
                  ["SORT", "l", "LIMIT", start, count, "ALPHA", "DESC"]]
    steps += [
        ["SORT", "l", "LIMIT", "0", "2", "LIMIT", "1", "3"],
        ["SORT", "l", "LIMIT", "a", "1"], ["SORT", "l", "LIMIT", "1", "b"],
        ["SORT", "l", "LIMIT", "1.5", "1"], ["SORT", "l", "LIMIT", "1"], ["SORT", "l", "LIMIT"],
        ["SORT", "l", "LIMIT", "99999999999999999999", "1"],
        ["SORT", "nosuchkey", "LIMIT", "0", "0"],
    ]
    h.run(steps, p)
    h.done()


def weights_steps():
    """Weights on string keys and hash fields for elements a..h (their keys on both cores)."""
    weights = {"a": "5", "b": "3", "c": "3", "d": "-1", "e": "10", "f": "2.5", "g": "3"}
    steps = [["RPUSH", "l"] + ELEMENTS, ["SADD", "s"] + ELEMENTS]
    for element, weight in weights.items():
        steps.append(["SET", "w_" + element, weight])
        steps.append(["HSET", "h_" + element, "weight", weight, "name", "N" + element.upper()])
        steps.append(["SET", "name_" + element, "name-" + element])
    # h has no weight key (score 0, or first for ALPHA), no hash and no name.
    return steps


def test_sort_by_patterns(h):
    p = h.pair()
    h.run(weights_steps() + [
        ["SORT", "l", "BY", "w_*"], ["SORT", "l", "BY", "w_*", "DESC"],
        ["SORT", "l", "BY", "h_*->weight"], ["SORT", "l", "BY", "h_*->weight", "DESC"],
        ["SORT", "l", "BY", "h_*->nosuchfield"], ["SORT", "l", "BY", "h_*->name", "ALPHA"],
        ["SORT", "l", "BY", "h_*->name", "ALPHA", "DESC"],
        ["SORT", "l", "BY", "name_*", "ALPHA"], ["SORT", "l", "BY", "name_*", "ALPHA", "DESC"],
        ["SORT", "l", "BY", "name_*"],  # numeric sort of non-numbers
        ["SORT", "l", "BY", "h_*"],  # a hash where a string is wanted: missing, score 0
        ["SORT", "l", "BY", "w_*->weight"],  # a string where a hash is wanted
        ["SORT", "l", "BY", "w_*", "LIMIT", "1", "3"],
        ["SORT", "l", "BY", "w_*", "LIMIT", "2", "3", "DESC"],
        ["SORT", "l", "BY", "name_*", "ALPHA", "LIMIT", "2", "3"],
        ["SORT", "l", "BY", "*"], ["SORT", "l", "BY", "x*y"], ["SORT", "l", "BY", "w_*", "ALPHA"],
        ["SORT", "s", "BY", "w_*"], ["SORT", "s", "BY", "h_*->weight", "DESC"],
        ["SORT", "s", "BY", "name_*", "ALPHA"], ["SORT", "s", "ALPHA", "DESC"],
        ["SORT_RO", "l", "BY", "w_*", "GET", "#", "GET", "name_*"],
        # A later BY replaces an earlier one; a constant BY anywhere turns sorting off.
        ["SORT", "l", "BY", "name_*", "BY", "w_*"],
        ["SORT", "l", "BY", "w_*", "BY", "nosort"], ["SORT", "l", "BY", "nosort", "BY", "w_*"],
        ["SET", "w_h", "x"], ["SORT", "l", "BY", "w_*"], ["SORT", "l", "BY", "w_*", "ALPHA"],
    ], p)
    h.done()


def test_sort_nosort(h):
    p = h.pair()
    h.run([
        ["RPUSH", "l", "c", "a", "d", "b"], ["SORT", "l", "BY", "nosort"],
        ["SORT", "l", "BY", "nosort", "DESC"], ["SORT", "l", "BY", "nosort", "ALPHA"],
        ["SORT", "l", "BY", "nosort", "LIMIT", "1", "2"],
        ["SORT", "l", "BY", "nosort", "LIMIT", "1", "2", "DESC"],
        ["SORT", "l", "BY", "nosort", "GET", "#"], ["SORT", "l", "BY", "xyz", "DESC"],
        ["RPUSH", "bad", "x", "1"], ["SORT", "bad", "BY", "nosort"],
        ["SADD", "s", "c", "a", "d", "b", "zz", "10"],
        C(["SORT", "s", "BY", "nosort"], rule=sorted_items),
        C(["SORT", "s", "BY", "nosort", "DESC"], rule=sorted_items),
        # Stored, a set is sorted ALPHA: the same list on both.
        ["SORT", "s", "BY", "nosort", "STORE", "dst"], ["LRANGE", "dst", "0", "-1"],
        ["SORT", "s", "BY", "nosort", "DESC", "STORE", "dst"], ["LRANGE", "dst", "0", "-1"],
        ["SORT", "s", "BY", "nosort", "LIMIT", "1", "2", "STORE", "dst"], ["LRANGE", "dst", "0", "-1"],
        ["SADD", "ints", "3", "1", "2"], ["SORT", "ints", "BY", "nosort", "STORE", "dst"],
        ["LRANGE", "dst", "0", "-1"],
    ], p)
    h.done()


def test_sort_get(h):
    p = h.pair()
    h.run(weights_steps() + [
        ["SORT", "l", "GET", "#"], ["SORT", "l", "GET", "name_*"],
        ["SORT", "l", "GET", "#", "GET", "name_*", "GET", "h_*->name", "GET", "w_*"],
        ["SORT", "l", "BY", "w_*", "GET", "name_*", "GET", "#", "DESC"],
        ["SORT", "l", "BY", "w_*", "GET", "h_*->weight", "LIMIT", "1", "3"],
        ["SORT", "l", "GET", "nostar"], ["SORT", "l", "GET", "h_*->"], ["SORT", "l", "GET", "h_*->nofield"],
        ["SORT", "l", "GET", "h_*"], ["SORT", "l", "GET", "w_*->x"], ["SORT", "l", "GET", "*"],
        ["SORT", "l", "ALPHA", "GET", "##"], ["SORT", "l", "ALPHA", "get", "#", "LIMIT", "0", "0"],
        ["SORT", "s", "ALPHA", "GET", "name_*", "GET", "#"],
        ["SORT", "l", "BY", "nosort", "GET", "w_*", "GET", "#"],
        ["SORT", "l", "GET"], ["SORT", "l", "BY"],
    ], p)
    h.done()


def test_sort_store(h):
    p = h.pair()
    h.run(weights_steps() + [
        ["SORT", "l", "BY", "w_*", "STORE", "dst"], ["LRANGE", "dst", "0", "-1"], ["TYPE", "dst"],
        ["SORT", "l", "BY", "w_*", "GET", "name_*", "GET", "#", "STORE", "dst2"],
        ["LRANGE", "dst2", "0", "-1"],
        # Missing GET values are stored as empty strings.
        ["SORT", "l", "GET", "h_*->name", "STORE", "dst3"], ["LRANGE", "dst3", "0", "-1"],
        # STORE replaces any type and drops the TTL; the last STORE wins.
        ["SET", "str", "x"], ["EXPIRE", "str", "100"], ["SORT", "l", "ALPHA", "STORE", "str"],
        ["TTL", "str"], ["LRANGE", "str", "0", "-1"],
        ["SORT", "l", "ALPHA", "STORE", "one", "STORE", "two"], ["EXISTS", "one"],
        ["LRANGE", "two", "0", "-1"],
        # An empty result deletes the destination.
        ["SORT", "nosuchkey", "STORE", "dst"], ["EXISTS", "dst"],
        # Scores are checked even when LIMIT selects nothing (the elements are letters).
        ["SORT", "l", "LIMIT", "0", "0", "STORE", "dst2"], ["EXISTS", "dst2"],
        ["SORT", "l", "ALPHA", "LIMIT", "0", "0", "STORE", "dst2"], ["EXISTS", "dst2"],
        ["SORT", "l", "LIMIT", "100", "5", "STORE", "nothere"], ["EXISTS", "nothere"],
        ["SET", "nothere", "x"], ["SORT", "l", "BY", "nosort", "LIMIT", "100", "5", "STORE", "nothere"],
        ["EXISTS", "nothere"],
        # Sorting a list into itself.
        ["RPUSH", "self", "3", "1", "2"], ["SORT", "self", "STORE", "self"], ["LRANGE", "self", "0", "-1"],
        ["SORT", "self", "DESC", "STORE", "self"], ["LRANGE", "self", "0", "-1"],
        # Errors leave the destination alone.
        ["RPUSH", "bad", "x"], ["SORT", "bad", "STORE", "two"], ["LRANGE", "two", "0", "-1"],
        ["SORT_RO", "l", "STORE", "dst"], ["SORT", "l", "STORE"],
        ["SORT", "s", "ALPHA", "STORE", "fromset"], ["LRANGE", "fromset", "0", "-1"],
    ], p)
    h.done()


def test_sort_errors_and_metadata(h):
    p = h.pair()
    h.run([
        ["SET", "str", "x"], ["HSET", "hash", "f", "v"],
        ["SORT", "str"], ["SORT", "hash"], ["SORT_RO", "str"], ["SORT", "str", "BY", "nosort"],
        ["SORT", "str", "STORE", "d"], ["EXISTS", "d"],
        # Option errors come before the type check.
        ["SORT", "str", "FOO"], ["SORT", "str", "LIMIT", "x", "1"],
        ["SORT"], ["SORT_RO"], ["SORT", "k", "ASC", "DESC", "BOGUS", "GET", "#"],
        ["COMMAND", "GETKEYS", "SORT", "a", "STORE", "b"],
        ["COMMAND", "GETKEYS", "SORT", "a", "STORE", "b", "STORE", "c", "LIMIT", "STORE", "d"],
        ["COMMAND", "GETKEYS", "SORT", "a", "BY", "STORE", "GET", "STORE"],
        ["COMMAND", "GETKEYS", "SORT", "a", "STORE"],
        ["COMMAND", "GETKEYS", "SORT_RO", "a", "GET", "x"],
        ["COMMAND", "GETKEYSANDFLAGS", "SORT", "a", "BY", "x", "GET", "y", "STORE", "b"],
        ["COMMAND", "GETKEYSANDFLAGS", "SORT_RO", "a"],
        ["COMMAND", "INFO", "SORT", "SORT_RO"], ["COMMAND", "DOCS", "SORT_RO"],
        E(["SORT", "nosuchkey"], ("*", [])),
    ], p)
    h.done()


def test_sort_in_transactions(h):
    p = h.pair()
    h.run(weights_steps() + [
        ["MULTI"], ["SORT", "l", "BY", "w_*", "GET", "name_*"],
        ["SORT", "l", "BY", "w_*", "STORE", "dst"], ["LRANGE", "dst", "0", "-1"],
        ["SORT_RO", "s", "ALPHA", "DESC"], ["EXEC"],
        # STORE touches a watched destination; a failed SORT does not.
        ["WATCH", "dst"], ["SORT", "l", "STORE", "dst"], ["MULTI"], ["PING"], ["EXEC"],
        ["WATCH", "gone"], ["SORT", "nosuchkey", "STORE", "gone"], ["MULTI"], ["PING"], ["EXEC"],
    ], p)
    h.done()


def test_sort_ties_under_limit(h):
    """ALPHA BY with equal weights: Redis's partial quicksort (BY with a LIMIT) leaves ties in an
    order of its own, unlike the stable sort it uses without a LIMIT; slotcore must follow both."""
    p = h.pair()
    elements = ["e%02d" % i for i in range(60)]
    order = elements[7:] + elements[:7]
    steps = [["RPUSH", "l"] + order, ["SADD", "s"] + elements[:5]]
    for i, element in enumerate(elements):
        if i % 11:
            steps.append(["SET", "w_" + element, str(i * 7 % 4)])
    for start, count in [("0", "60"), ("5", "20"), ("1", "58"), ("30", "3"), ("0", "10"),
                         ("50", "20"), ("-1", "5")]:
        for extra in ([], ["DESC"]):
            steps.append(["SORT", "l", "BY", "w_*", "ALPHA", "LIMIT", start, count] + extra)
            steps.append(["SORT", "l", "BY", "w_*", "LIMIT", start, count] + extra)
            steps.append(["SORT", "l", "BY", "w_*", "ALPHA", "LIMIT", start, count, "STORE", "d"]
                         + extra)
            steps.append(["LRANGE", "d", "0", "-1"])
    steps += [["SORT", "l", "BY", "w_*", "ALPHA"], ["SORT", "l", "BY", "w_*", "ALPHA", "DESC"]]
    h.run(steps, p)
    h.done()


def test_sort_resp3(h):
    """In RESP3 a missing GET value is a null; SORT answers an array (also for a set)."""
    p = h.pair()
    h.run(weights_steps() + [
        ["HELLO", "3"],
        ["SORT", "l", "BY", "w_*", "GET", "name_*", "GET", "h_*->weight"],
        ["SORT", "s", "ALPHA", "GET", "#", "LIMIT", "0", "3"], ["SORT_RO", "nosuchkey"],
        ["SORT", "l", "ALPHA", "STORE", "dst"],
    ], p)
    h.done()
