"""Differential sequences for bitmaps (SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD,
BITFIELD_RO) and HyperLogLog (PFADD, PFCOUNT, PFMERGE, PFDEBUG).

Same harness as test_differential.py: each step goes to redis-server 7.0 and to slotcore and the
typed replies must be equal. HyperLogLog values are strings in Redis's own layout, so GET of one
is compared byte for byte, and values are copied between the servers both ways.
"""

import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from test_differential import C, E, h  # noqa: E402,F401  (h is the pytest fixture)
from test_types import _core_keys, command_info_head  # noqa: E402

A0, B0, D0 = _core_keys("b0_", 3, 0)
A1, B1, D1 = _core_keys("b1_", 3, 1)

BIT_ERRORS = [
    ["SETBIT"], ["SETBIT", "k", "1"], ["SETBIT", "k", "1", "1", "1"], ["GETBIT", "k"],
    ["BITCOUNT"], ["BITPOS", "k"], ["BITOP", "AND", "d"], ["BITFIELD"], ["BITFIELD_RO"],
    ["SETBIT", "k", "-1", "1"], ["SETBIT", "k", "x", "1"], ["SETBIT", "k", "4294967296", "1"],
    ["SETBIT", "k", "1", "2"], ["SETBIT", "k", "1", "-1"], ["SETBIT", "k", "1", "x"],
    ["GETBIT", "k", "-1"], ["GETBIT", "k", "4294967296"], ["GETBIT", "k", "1.5"],
    ["EXISTS", "k"],
]

SETBIT_GETBIT = [
    ["SETBIT", "k", "7", "1"], ["GET", "k"], ["OBJECT", "ENCODING", "k"], ["SETBIT", "k", "7", "1"],
    ["SETBIT", "k", "7", "0"], ["SETBIT", "k", "0", "1"], ["SETBIT", "k", "100", "0"], ["GET", "k"],
    ["STRLEN", "k"], ["GETBIT", "k", "0"], ["GETBIT", "k", "1"], ["GETBIT", "k", "100"],
    ["GETBIT", "k", "1000"], ["GETBIT", "nokey", "5"], ["GETBIT", "k", "4294967295"],
    ["SET", "i", "123"], ["OBJECT", "ENCODING", "i"], ["GETBIT", "i", "2"], ["GETBIT", "i", "3"],
    ["OBJECT", "ENCODING", "i"], ["SETBIT", "i", "3", "1"], ["OBJECT", "ENCODING", "i"], ["GET", "i"],
    ["SET", "e", "short"], ["OBJECT", "ENCODING", "e"], ["SETBIT", "e", "0", "0"],
    ["OBJECT", "ENCODING", "e"], ["GET", "e"],
    ["SET", "t", "x", "EX", "1000"], ["SETBIT", "t", "20", "1"], ["TTL", "t"], ["GET", "t"],
    ["RPUSH", "l", "a"], ["SETBIT", "l", "1", "1"], ["GETBIT", "l", "1"], ["SETBIT", "l", "-1", "1"],
    ["CONFIG", "SET", "proto-max-bulk-len", "1048576"], ["SETBIT", "big", "8388608", "1"],
    ["SETBIT", "big", "8388607", "1"], ["STRLEN", "big"], ["GETBIT", "big", "8388608"],
    ["BITFIELD", "big", "SET", "u8", "8388600", "1"], ["BITFIELD", "big", "GET", "u8", "#1048575"],
    ["BITFIELD", "big", "GET", "u8", "#1048576"],
    ["CONFIG", "SET", "proto-max-bulk-len", "536870912"],
    ["DEBUG", "DIGEST"],
]


def test_setbit_getbit_and_errors(h):
    h.run(BIT_ERRORS + SETBIT_GETBIT)
    h.done()


BITCOUNT_BITPOS = [
    ["SET", "s", "foobar"], ["BITCOUNT", "s"], ["BITCOUNT", "s", "0", "0"], ["BITCOUNT", "s", "1", "1"],
    ["BITCOUNT", "s", "1", "1", "BYTE"], ["BITCOUNT", "s", "5", "30", "BIT"], ["BITCOUNT", "s", "5", "30", "bit"],
    ["BITCOUNT", "s", "0", "-1"], ["BITCOUNT", "s", "-2", "-1"], ["BITCOUNT", "s", "-1", "-2"],
    ["BITCOUNT", "s", "-100", "100"], ["BITCOUNT", "s", "3", "1"], ["BITCOUNT", "s", "0", "-1", "BIT"],
    ["BITCOUNT", "s", "-9", "-3", "BIT"], ["BITCOUNT", "s", "7", "7", "BIT"], ["BITCOUNT", "s", "47", "100", "BIT"],
    ["BITCOUNT", "s", "0"], ["BITCOUNT", "s", "0", "1", "BYTES"], ["BITCOUNT", "s", "a", "1"],
    ["BITCOUNT", "s", "0", "b"], ["BITCOUNT", "s", "0", "1", "BIT", "x"],
    # Two negative, crossed indexes answer 0 before the unit is read (a fuzzer find).
    ["BITCOUNT", "s", "-1", "-2", "WITHSCORES"], ["BITCOUNT", "s", "-1", "x", "BLAH"],
    ["BITCOUNT", "s", "0", "-2", "BLAH"], ["BITPOS", "s", "1", "-1", "-2", "BLAH"],
    ["BITPOS", "s", "1", "0", "x", "BLAH"], ["BITPOS", "s", "1", "0", "x", "BIT"],
    ["BITCOUNT", "nokey"], ["BITCOUNT", "nokey", "0"], ["BITCOUNT", "nokey", "a", "b", "c", "d"],
    ["SET", "empty", ""], ["BITCOUNT", "empty"], ["BITCOUNT", "empty", "0", "-1", "BIT"],
    ["SET", "n", "1234567"], ["BITCOUNT", "n"], ["BITCOUNT", "n", "1", "2"],
    ["HSET", "hh", "a", "1"], ["BITCOUNT", "hh"], ["BITPOS", "hh", "1"], ["BITCOUNT", "hh", "x"],
    # BITPOS: Redis's edge cases for clear bits past the end.
    ["SET", "ones", b"\xff\xff\xff"], ["BITPOS", "ones", "0"], ["BITPOS", "ones", "1"],
    ["BITPOS", "ones", "0", "0"], ["BITPOS", "ones", "0", "0", "-1"], ["BITPOS", "ones", "0", "1"],
    ["BITPOS", "ones", "0", "0", "-1", "BIT"], ["BITPOS", "ones", "0", "0", "-1", "BYTE"],
    ["BITPOS", "ones", "1", "3"], ["BITPOS", "ones", "0", "3"], ["BITPOS", "ones", "0", "5", "2"],
    ["SET", "zeros", b"\x00\x00\x00"], ["BITPOS", "zeros", "1"], ["BITPOS", "zeros", "0"],
    ["BITPOS", "zeros", "1", "0", "-1", "BIT"], ["BITPOS", "zeros", "0", "-1"], ["BITPOS", "zeros", "0", "9", "-1", "BIT"],
    ["SET", "mix", b"\xff\xf0\x00"], ["BITPOS", "mix", "0"], ["BITPOS", "mix", "1", "2"],
    ["BITPOS", "mix", "1", "1"], ["BITPOS", "mix", "0", "1", "1"], ["BITPOS", "mix", "0", "3", "11", "BIT"],
    ["BITPOS", "mix", "0", "3", "12", "BIT"], ["BITPOS", "mix", "1", "12", "23", "BIT"],
    ["BITPOS", "mix", "0", "7", "7", "BIT"], ["BITPOS", "mix", "0", "12", "12", "BIT"],
    ["BITPOS", "mix", "1", "-5", "-1", "BIT"], ["BITPOS", "mix", "0", "-100", "-50"],
    ["BITPOS", "nokey", "0"], ["BITPOS", "nokey", "1"], ["BITPOS", "nokey", "0", "5", "7"],
    ["BITPOS", "nokey", "2"], ["BITPOS", "mix", "2"], ["BITPOS", "mix", "-1"], ["BITPOS", "mix", "x"],
    ["BITPOS", "mix", "1", "x"], ["BITPOS", "mix", "1", "0", "x"], ["BITPOS", "mix", "1", "0", "1", "BITS"],
    ["BITPOS", "mix", "1", "0", "1", "BIT", "x"], ["BITPOS", "empty", "0"], ["BITPOS", "empty", "1"],
    ["BITPOS", "empty", "0", "0"], ["BITPOS", "n", "1"], ["BITPOS", "n", "0", "2"],
]


def test_bitcount_and_bitpos(h):
    h.run(BITCOUNT_BITPOS)
    h.done()


def test_bitcount_and_bitpos_random_ranges(h):
    rng = random.Random(7015)
    p = h.pair()
    for round_ in range(6):
        value = bytes(rng.choice([0x00, 0xff, rng.randrange(256)]) for _ in range(rng.randrange(1, 12)))
        steps = [["SET", "r", value]]
        for _ in range(40):
            start, end = rng.randrange(-100, 100), rng.randrange(-100, 100)
            unit = rng.choice([[], ["BIT"], ["BYTE"]])
            bit = str(rng.randrange(2))
            steps.append(["BITCOUNT", "r", str(start), str(end)] + unit)
            steps.append(["BITPOS", "r", bit, str(start), str(end)] + unit)
            steps.append(["BITPOS", "r", bit, str(start)])
        h.run(steps, p)
    h.done()


BITOP = [
    ["SET", "a", b"\xff\x0f\x55"], ["SET", "b", b"\x0f"], ["SET", "c", "abcdef"],
    ["BITOP", "AND", "d", "a", "b"], ["GET", "d"], ["OBJECT", "ENCODING", "d"],
    ["BITOP", "or", "d", "a", "b", "c"], ["GET", "d"], ["BITOP", "Xor", "d", "a", "b", "c", "nokey"], ["GET", "d"],
    ["BITOP", "NOT", "d", "a"], ["GET", "d"], ["BITOP", "NOT", "d", "a", "b"], ["BITOP", "NOT", "d"],
    ["BITOP", "NAND", "d", "a"], ["BITOP", "AND", "d", "nokey", "a"], ["GET", "d"],
    ["BITOP", "AND", "d", "nokey"], ["EXISTS", "d"], ["BITOP", "NOT", "d", "nokey"], ["EXISTS", "d"],
    ["SET", "d", "x", "EX", "100"], ["BITOP", "OR", "d", "a"], ["TTL", "d"], ["GET", "d"],
    ["RPUSH", "l", "x"], ["BITOP", "OR", "d", "a", "l"], ["GET", "d"], ["BITOP", "OR", "l", "a"], ["TYPE", "l"],
    ["BITOP", "OR", "a", "a", "c"], ["GET", "a"], ["SET", "n", "12"], ["BITOP", "XOR", "d", "n", "c"], ["GET", "d"],
    ["SET", "empty", ""], ["BITOP", "OR", "d", "empty"], ["EXISTS", "d"],
    ["DEBUG", "DIGEST"],
]


def test_bitop(h):
    h.run(BITOP)
    h.done()


BITFIELD = [
    ["BITFIELD", "f"], ["EXISTS", "f"], ["BITFIELD", "f", "GET", "u8", "0"], ["EXISTS", "f"],
    ["BITFIELD", "f", "SET", "i8", "0", "-100", "GET", "u8", "0", "INCRBY", "i8", "0", "-100"],
    ["GET", "f"], ["OBJECT", "ENCODING", "f"],
    ["BITFIELD", "f", "OVERFLOW", "SAT", "INCRBY", "i8", "0", "-100", "OVERFLOW", "FAIL", "INCRBY", "i8", "0", "-1",
     "OVERFLOW", "WRAP", "INCRBY", "i8", "0", "-1"],
    ["BITFIELD", "f", "SET", "u4", "#3", "15", "INCRBY", "u4", "#3", "1", "OVERFLOW", "sat", "INCRBY", "u4", "#3", "100",
     "OVERFLOW", "fail", "INCRBY", "u4", "#3", "1", "INCRBY", "u4", "#3", "-16", "INCRBY", "u4", "#3", "-15"],
    ["BITFIELD", "f", "SET", "i64", "0", "9223372036854775807", "INCRBY", "i64", "0", "1",
     "OVERFLOW", "SAT", "INCRBY", "i64", "0", "-1", "INCRBY", "i64", "0", "9223372036854775807",
     "SET", "i64", "0", "-9223372036854775808", "INCRBY", "i64", "0", "-1", "OVERFLOW", "FAIL", "INCRBY", "i64", "0", "-1"],
    ["BITFIELD", "f", "SET", "u63", "1", "-1", "GET", "u63", "1", "OVERFLOW", "SAT", "SET", "u63", "1", "-1",
     "GET", "u63", "1", "INCRBY", "u63", "1", "9223372036854775807", "OVERFLOW", "FAIL", "SET", "u8", "0", "256"],
    ["BITFIELD", "f", "OVERFLOW", "SAT", "SET", "i8", "0", "-9223372036854775807", "SET", "i8", "0", "300",
     "SET", "i8", "0", "-300", "SET", "u8", "0", "-5", "SET", "i1", "0", "1", "GET", "i1", "0", "GET", "u1", "0"],
    ["BITFIELD", "f", "GET", "i64", "3", "GET", "u63", "60", "GET", "i5", "1000", "GET", "u2", "#9999"],
    ["GET", "f"], ["STRLEN", "f"],
    ["BITFIELD", "g", "INCRBY", "u2", "100", "1", "OVERFLOW", "SAT", "incrby", "u2", "102", "1"], ["GET", "g"],
    ["BITFIELD", "h", "OVERFLOW", "FAIL", "SET", "u2", "80", "9"], ["GET", "h"],
    ["BITFIELD", "f", "GET", "u64", "0"], ["BITFIELD", "f", "GET", "i65", "0"], ["BITFIELD", "f", "GET", "i0", "0"],
    ["BITFIELD", "f", "GET", "x8", "0"], ["BITFIELD", "f", "GET", "", "0"], ["BITFIELD", "f", "GET", "u", "0"],
    ["BITFIELD", "f", "GET", "u8", "-1"], ["BITFIELD", "f", "GET", "u8", "#-1"], ["BITFIELD", "f", "GET", "u8", "#x"],
    ["BITFIELD", "f", "GET", "u8", "4294967296"], ["BITFIELD", "f", "GET", "u8", "#536870912"],
    ["BITFIELD", "f", "SET", "u8", "0", "x"], ["BITFIELD", "f", "INCRBY", "u8", "0", "1.5"],
    ["BITFIELD", "f", "GET", "u8"], ["BITFIELD", "f", "SET", "u8", "0"], ["BITFIELD", "f", "FOO", "u8", "0"],
    ["BITFIELD", "f", "OVERFLOW", "BOGUS", "GET", "u8", "0"], ["BITFIELD", "f", "OVERFLOW"],
    ["BITFIELD", "f", "GET", "u8", "0", "SET", "x8", "0", "1"], ["BITFIELD", "f", "OVERFLOW", "SAT"],
    ["BITFIELD_RO", "f", "GET", "u8", "0", "GET", "i16", "#2"], ["BITFIELD_RO", "f"], ["BITFIELD_RO", "nokey", "GET", "u8", "0"],
    ["BITFIELD_RO", "f", "SET", "u8", "0", "1"], ["BITFIELD_RO", "f", "GET", "u8", "0", "INCRBY", "u8", "0", "1"],
    ["BITFIELD_RO", "f", "GET", "u99", "0", "SET", "u8", "0", "1"], ["BITFIELD_RO", "f", "OVERFLOW", "WRAP"],
    ["SET", "i", "42"], ["BITFIELD", "i", "GET", "u8", "0"], ["OBJECT", "ENCODING", "i"],
    ["BITFIELD", "i", "SET", "u8", "0", "55"], ["OBJECT", "ENCODING", "i"], ["GET", "i"],
    ["SET", "t", "ab", "PX", "100000"], ["BITFIELD", "t", "SET", "u8", "#5", "1"], ["TTL", "t"],
    ["SADD", "set", "a"], ["BITFIELD", "set", "GET", "u8", "0"], ["BITFIELD", "set", "SET", "u8", "0", "1"],
    ["BITFIELD_RO", "set", "GET", "u8", "0"], ["BITFIELD_RO", "set", "SET", "u8", "0", "1"],
    ["DEBUG", "DIGEST"],
]


def test_bitfield(h):
    h.run(BITFIELD)
    h.done()


def test_bitfield_random_operations(h):
    rng = random.Random(3200)
    p = h.pair()
    extremes = ["0", "1", "-1", "127", "-128", "255", "256", "9223372036854775807", "-9223372036854775808",
                "4611686018427387904", "-4611686018427387905"]
    for _ in range(30):
        args = ["BITFIELD", "rf"]
        for _ in range(rng.randrange(1, 6)):
            if rng.random() < 0.3:
                args += ["OVERFLOW", rng.choice(["WRAP", "SAT", "FAIL"])]
            signed = rng.random() < 0.5
            bits = rng.randrange(1, 65 if signed else 64)
            kind = ("i" if signed else "u") + str(bits)
            offset = ("#%d" % rng.randrange(0, 8)) if rng.random() < 0.3 else str(rng.randrange(0, 80))
            op = rng.choice(["GET", "SET", "INCRBY"])
            args += [op, kind, offset]
            if op != "GET":
                args.append(rng.choice(extremes) if rng.random() < 0.5 else str(rng.randrange(-300, 300)))
        h.run([args, ["GET", "rf"]], p)
    h.done()


def _hll_elements(prefix, count):
    return ["%s%d" % (prefix, i) for i in range(count)]


HLL_BASICS = [
    ["PFADD", "h"], ["GET", "h"], ["PFCOUNT", "h"], ["GET", "h"], ["OBJECT", "ENCODING", "h"], ["PFADD", "h"],
    ["PFADD", "h", "a", "b", "c"], ["GET", "h"], ["PFADD", "h", "a"], ["PFCOUNT", "h"], ["GET", "h"],
    ["PFDEBUG", "ENCODING", "h"], ["PFDEBUG", "DECODE", "h"], ["PFDEBUG", "encoding", "h"],
    ["PFDEBUG", "NOPE", "h"], ["PFDEBUG", "NOPE", "nokey"], ["PFDEBUG", "GETREG", "nokey"], ["PFDEBUG", "GETREG"],
    ["PFCOUNT", "nokey"], ["PFCOUNT", "h", "nokey"], ["PFCOUNT", "nokey", "nokey2"], ["EXISTS", "nokey"],
    ["PFADD"], ["PFCOUNT"], ["PFMERGE"],
    ["SET", "s", "hello"], ["PFADD", "s", "a"], ["PFCOUNT", "s"], ["PFCOUNT", "h", "s"], ["PFMERGE", "s", "h"],
    ["PFMERGE", "h", "s"], ["PFDEBUG", "ENCODING", "s"], ["SET", "n", "12345"], ["PFADD", "n", "x"],
    ["PFCOUNT", "n"], ["PFCOUNT", "h", "n"], ["PFMERGE", "m9", "n"], ["PFMERGE", "n", "h"], ["PFMERGE", "h", "n"],
    ["SET", "n", "-9223372036854775808"], ["OBJECT", "ENCODING", "n"], ["PFMERGE", "m9", "n"], ["PFDEBUG", "ENCODING", "n"],
    ["RPUSH", "l", "a"], ["PFADD", "l", "a"], ["PFCOUNT", "l"], ["PFCOUNT", "h", "l"], ["PFMERGE", "l", "h"],
    ["PFMERGE", "h", "l"], ["PFDEBUG", "ENCODING", "l"],
    ["PFADD", "t", "x"], ["EXPIRE", "t", "100"], ["PFADD", "t", "y"], ["PFCOUNT", "t"], ["TTL", "t"],
    ["PFMERGE", "t", "h"], ["TTL", "t"], ["GET", "t"],
    ["PFMERGE", "m", "h", "t", "nokey"], ["GET", "m"], ["PFCOUNT", "m"], ["PFMERGE", "m2"], ["GET", "m2"],
    ["PFMERGE", "m2", "m2"], ["GET", "m2"], ["PFDEBUG", "TODENSE", "m"], ["PFDEBUG", "TODENSE", "m"],
    ["GET", "m"], ["PFDEBUG", "ENCODING", "m"], ["PFCOUNT", "m"], ["GET", "m"],
    ["PFMERGE", "m3", "h", "m"], ["PFDEBUG", "ENCODING", "m3"], ["GET", "m3"], ["PFCOUNT", "m3", "h", "t"],
    ["PFADD", "g", "z"], ["PFDEBUG", "GETREG", "g"], ["PFDEBUG", "ENCODING", "g"], ["GET", "g"],
    E(["PFDEBUG", "ENCODING", "g"], ("+", "dense")),
    ["DEBUG", "DIGEST"],
]


def test_hyperloglog_basics(h):
    h.run(HLL_BASICS)
    h.done()


def test_hyperloglog_grows_to_dense_with_exact_bytes(h):
    p = h.pair()
    elements = _hll_elements("e", 4000)
    for start in range(0, 4000, 250):
        h.run([["PFADD", "big"] + elements[start:start + 250], ["GET", "big"], ["PFCOUNT", "big"],
               ["PFDEBUG", "ENCODING", "big"], ["GET", "big"]], p)
    h.run([E(["PFDEBUG", "ENCODING", "big"], ("+", "dense")), ["PFADD", "big", "e1", "new"], ["GET", "big"],
           ["PFMERGE", "small", "big"], ["PFDEBUG", "ENCODING", "small"], ["GET", "small"], ["DEBUG", "DIGEST"]], p)
    h.done()


def test_hyperloglog_sparse_max_bytes_promotion(h):
    p = h.pair()
    h.run([["CONFIG", "SET", "hll-sparse-max-bytes", "40"], ["CONFIG", "GET", "hll-sparse-max-bytes"]], p)
    for index, element in enumerate(_hll_elements("p", 40)):
        h.run([["PFADD", "hp", element], ["STRLEN", "hp"], ["PFDEBUG", "ENCODING", "hp"]], p)
        if index % 5 == 0:
            h.run([["GET", "hp"]], p)
    h.run([E(["PFDEBUG", "ENCODING", "hp"], ("+", "dense")), ["GET", "hp"]], p)
    # PFMERGE into a sparse destination promotes it register by register.
    h.run([["CONFIG", "SET", "hll-sparse-max-bytes", "3000"], ["PFADD", "s1"] + _hll_elements("q", 30),
           ["CONFIG", "SET", "hll-sparse-max-bytes", "30"], ["PFMERGE", "s2", "s1"], ["PFDEBUG", "ENCODING", "s2"],
           ["GET", "s2"], ["CONFIG", "SET", "hll-sparse-max-bytes", "0"], ["PFADD", "s3", "x"],
           ["PFDEBUG", "ENCODING", "s3"], ["GET", "s3"], ["CONFIG", "SET", "hll-sparse-max-bytes", "3000"],
           ["CONFIG", "SET", "hll-sparse-max-bytes", "-1"], ["CONFIG", "GET", "hll-sparse-max-bytes"]], p)
    h.done()


def _header(encoding, card=b"\x00" * 8):
    return b"HYLL" + bytes([encoding]) + b"\x00\x00\x00" + card


STALE = b"\x00" * 7 + b"\x80"

CORRUPT = [
    ["SET", "bad", "HYLL"], ["PFADD", "bad", "a"], ["PFCOUNT", "bad"],
    ["SET", "bad", b"HYLX" + _header(1)[4:] + b"\x7f\xff"], ["PFADD", "bad", "a"], ["PFCOUNT", "bad"],
    ["SET", "bad", _header(2) + b"\x7f\xff"], ["PFADD", "bad", "a"], ["PFCOUNT", "bad", "h"],
    ["SET", "bad", _header(0) + b"\x00" * 100], ["PFADD", "bad", "a"], ["PFDEBUG", "ENCODING", "bad"],
    ["SET", "bad", _header(1, STALE) + b"\x7f\xff\x7f\xff"], ["PFCOUNT", "bad"], ["PFADD", "bad", "a"],
    ["GET", "bad"], ["PFCOUNT", "bad"], ["PFMERGE", "out", "bad"], ["PFCOUNT", "bad", "nokey"],
    ["PFDEBUG", "TODENSE", "bad"], ["PFDEBUG", "GETREG", "bad"], ["PFDEBUG", "DECODE", "bad"],
    ["SET", "bad", _header(1) + b"\x7f\xff\x7f\xff"], ["PFCOUNT", "bad"],
    ["SET", "short", _header(1, STALE) + b"\x7f\x00"], ["PFCOUNT", "short"],
    ["PFADD", "short"] + _hll_elements("c", 20), ["GET", "short"], ["PFDEBUG", "DECODE", "short"],
    # c46 hashes past the 16129 registers this body covers.
    ["PFADD", "short", "c46"], ["GET", "short"], ["PFADD", "short", "c1", "c46", "c2"], ["GET", "short"],
    ["SET", "vals", _header(1, STALE) + b"\xff" * 5000], ["PFCOUNT", "vals"], ["PFCOUNT", "vals", "nokey"],
    ["PFMERGE", "vout", "vals"], ["GET", "vout"], ["PFDEBUG", "TODENSE", "vals"], ["PFDEBUG", "ENCODING", "vals"],
    ["SET", "tiny", _header(1, STALE) + b"\x7f\x00"], ["OBJECT", "ENCODING", "tiny"], ["PFCOUNT", "tiny"],
    ["OBJECT", "ENCODING", "tiny"], ["SET", "tiny", _header(1) + b"\x7f\xff"], ["PFCOUNT", "tiny"],
    ["OBJECT", "ENCODING", "tiny"], ["SET", "tiny", _header(1) + b"\x7f\xff"], ["PFDEBUG", "NOPE", "tiny"],
    ["OBJECT", "ENCODING", "tiny"], ["SET", "tiny", _header(1) + b"\x7f\xff"], ["PFDEBUG", "ENCODING", "tiny"],
    ["OBJECT", "ENCODING", "tiny"], ["SET", "tiny", _header(1) + b"\x7f\xfe"], ["PFDEBUG", "GETREG", "tiny"],
    ["OBJECT", "ENCODING", "tiny"], ["SET", "tiny", _header(1) + b"\x7f\xfe"], ["PFMERGE", "tiny", "nokey"],
    ["OBJECT", "ENCODING", "tiny"], ["SET", "tiny", _header(1) + b"\x7f\xff"], ["PFADD", "tiny"],
    ["OBJECT", "ENCODING", "tiny"],
    ["SET", "empty", _header(1, STALE)], ["PFCOUNT", "empty"], ["PFADD", "empty", "a"], ["PFMERGE", "e2", "empty"],
    ["SET", "dense", _header(0, STALE) + b"\xff" * 12288], ["PFCOUNT", "dense"], ["GET", "dense"],
    ["PFADD", "dense", "x"], ["PFCOUNT", "dense", "nokey"], ["PFMERGE", "dout", "dense"], ["GET", "dout"],
    ["DEBUG", "DIGEST"],
]


def test_hyperloglog_invalid_and_corrupt_values(h):
    h.run(CORRUPT)
    h.done()


def test_hyperloglog_fuzzed_sparse_values(h):
    """Random damage to a sparse body: both servers must detect it (or not) the same way."""
    rng = random.Random(1984)
    p = h.pair()
    h.run([["PFADD", "base"] + _hll_elements("f", 60)], p)
    base = p.r.call("GET", "base")[1]
    for _ in range(40):
        damaged = bytearray(base)
        for _ in range(rng.randrange(1, 4)):
            damaged[rng.randrange(16, len(damaged))] = rng.randrange(256)
        damaged[15] |= 0x80  # a stale cache, so PFCOUNT reads the registers
        h.run([["SET", "fz", bytes(damaged)], ["PFCOUNT", "fz"], ["PFADD", "fz", "x", "y", "z"], ["GET", "fz"],
               ["PFCOUNT", "fz", "base"], ["PFMERGE", "fm", "fz"], ["GET", "fm"], ["DEL", "fm"]], p)
    h.done()


def test_hyperloglog_fuzzed_dense_values(h):
    """Random register bytes in a dense value (any 6-bit value, 63 included) count alike."""
    rng = random.Random(2718)
    p = h.pair()
    for _ in range(12):
        registers = bytearray(rng.choice([0, 1, 3, 0x41, 0xff]) for _ in range(12288))
        for _ in range(rng.randrange(0, 200)):
            registers[rng.randrange(12288)] = rng.randrange(256)
        h.run([["SET", "fd", b"HYLL\x00\x00\x00\x00" + b"\x00" * 7 + b"\x80" + bytes(registers)],
               ["PFCOUNT", "fd"], ["GET", "fd"], ["PFCOUNT", "fd", "nokey"], ["PFADD", "fd", "a", "b"],
               ["PFCOUNT", "fd"], ["PFMERGE", "fdm", "fd"], ["PFCOUNT", "fdm"], ["GET", "fdm"], ["DEL", "fdm"]], p)
    h.done()


def test_hyperloglog_sparse_stress(h):
    """Sparse values built element by element, checked against their dense conversion (as Redis's
    'HyperLogLog sparse encoding stress test')."""
    rng = random.Random(99)
    p = h.pair()
    for round_ in range(8):
        elements = ["%d" % rng.randrange(1000000) for _ in range(rng.randrange(1, 300))]
        h.run([["DEL", "ss", "sd"], ["PFADD", "ss"] + elements, ["PFADD", "sd"] + elements,
               ["PFDEBUG", "TODENSE", "sd"], ["PFCOUNT", "ss"], ["PFCOUNT", "sd"], ["GET", "ss"], ["GET", "sd"],
               ["PFMERGE", "ss", "sd"], ["PFDEBUG", "ENCODING", "ss"], ["GET", "ss"]], p)
    h.done()


def test_hyperloglog_values_move_between_servers(h):
    """HLL values made by either server, copied with GET/SET and DUMP/RESTORE, read the same."""
    p = h.pair()
    h.run([["PFADD", "sp"] + _hll_elements("m", 50), ["PFADD", "dn"] + _hll_elements("n", 3000),
           ["PFDEBUG", "ENCODING", "dn"], ["PFCOUNT", "sp"]], p)
    # Payloads are not compared byte for byte (LZF may differ, see docs/COMPATIBILITY.md): each
    # server's payload is restored on both and the values compared.
    for name in ("sp", "dn"):
        for conn in (p.r, p.s):
            value = conn.call("GET", name)[1]
            payload = conn.call("DUMP", name)[1]
            h.run([["SET", "copy", value], ["PFCOUNT", "copy"], ["PFADD", "copy", "more", "and", "more2"],
                   ["GET", "copy"], ["PFCOUNT", "copy", name], ["PFMERGE", "copy", name], ["GET", "copy"],
                   ["RESTORE", "rest", "0", payload, "REPLACE"], ["GET", "rest"], ["PFDEBUG", "ENCODING", "rest"],
                   ["PFCOUNT", "rest"], ["PFADD", "rest", "z"], ["GET", "rest"],
                   ["DEL", "copy", "rest"]], p)
    h.done()


ACROSS_CORES = [
    ["SET", A0, b"\xf0\x0f"], ["SET", A1, b"\xff\x00\xaa"], ["SET", B1, "x"],
    ["BITOP", "AND", D0, A0, A1], ["GET", D0], ["BITOP", "OR", D1, A0, A1, B1, "nokey"], ["GET", D1],
    ["BITOP", "XOR", D1, A0, A1], ["GET", D1], ["BITOP", "NOT", D0, A1], ["GET", D0], ["OBJECT", "ENCODING", D0],
    ["BITOP", "AND", D1, "nokey", A0], ["GET", D1], ["BITOP", "AND", D0, B0], ["EXISTS", D0],
    ["SET", D1, "old", "EX", "100"], ["BITOP", "OR", D1, A0], ["TTL", D1],
    ["RPUSH", B0, "list"], ["BITOP", "OR", D1, A1, B0], ["GET", D1], ["BITOP", "OR", B0, A1], ["TYPE", B0],
    ["BITOP", "OR", A0, A0, A1], ["GET", A0],
    ["DEL", A0, A1, B0, B1, D0, D1],
    ["PFADD", A0] + _hll_elements("x", 40), ["PFADD", A1] + _hll_elements("y", 30),
    ["PFADD", B1] + _hll_elements("z", 2500), ["PFDEBUG", "ENCODING", B1],
    ["PFCOUNT", A0, A1], ["PFCOUNT", A0, A1, B1, "nokey"], ["GET", A0], ["GET", A1],
    ["PFMERGE", D1, A0], ["GET", D1], ["PFMERGE", D0, A0, A1], ["GET", D0], ["PFCOUNT", D0],
    ["PFMERGE", D0, B1], ["PFDEBUG", "ENCODING", D0], ["GET", D0], ["PFCOUNT", D0],
    ["PFMERGE", A1, A0, B1], ["GET", A1], ["PFMERGE", D1, "nokey"], ["GET", D1],
    ["SET", B0, "notanhll"], ["PFCOUNT", A0, B0], ["PFMERGE", D1, A1, B0], ["PFMERGE", B0, A1],
    ["RPUSH", "lst", "x"], ["PFCOUNT", A1, "lst"], ["PFMERGE", D0, A0, "lst"], ["GET", D0],
    ["DEBUG", "DIGEST"],
]


def test_bits_across_cores(h):
    h.run(ACROSS_CORES)
    h.done()


def _getkeys(args):
    return ["COMMAND", "GETKEYS"] + args


INTROSPECTION = [
    C(["COMMAND", "INFO", "setbit", "getbit", "bitcount", "bitpos", "bitop", "bitfield", "bitfield_ro"],
      rule=command_info_head),
    C(["COMMAND", "INFO", "pfadd", "pfcount", "pfmerge", "pfdebug", "pfselftest"], rule=command_info_head),
    _getkeys(["SETBIT", "k", "1", "1"]), _getkeys(["BITOP", "AND", "d", "a", "b"]),
    _getkeys(["BITOP", "NOT", "d", "a"]), _getkeys(["BITFIELD", "k", "GET", "u8", "0"]),
    _getkeys(["BITFIELD_RO", "k", "GET", "u8", "0"]), _getkeys(["BITCOUNT", "k", "0", "1"]),
    _getkeys(["BITPOS", "k", "1"]), _getkeys(["PFADD", "k", "a"]), _getkeys(["PFCOUNT", "a", "b", "c"]),
    _getkeys(["PFMERGE", "d", "a", "b"]), _getkeys(["PFDEBUG", "GETREG", "k"]), _getkeys(["GETBIT", "k", "1"]),
    E(["PFSELFTEST"], ("+", "OK")),
]


def test_bits_introspection(h):
    h.run(INTROSPECTION)
    h.done()


RESP3 = [
    ["HELLO", "3"],
    ["BITFIELD", "r3", "SET", "u8", "0", "200", "OVERFLOW", "FAIL", "INCRBY", "u8", "0", "100", "GET", "i8", "0"],
    ["BITFIELD_RO", "r3", "GET", "u4", "4"], ["SETBIT", "r3", "1", "1"], ["BITPOS", "r3", "0"],
    ["PFADD", "p3", "a", "b"], ["PFCOUNT", "p3"], ["PFDEBUG", "ENCODING", "p3"], ["PFDEBUG", "DECODE", "p3"],
    ["PFMERGE", "p4", "p3"], ["PFCOUNT", "p3", "p4"], ["PFADD", "r3", "x"], ["HELLO", "2"],
]


def test_bits_in_resp3(h):
    h.run(RESP3)
    h.done()
