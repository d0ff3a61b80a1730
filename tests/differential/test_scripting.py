"""Differential sequences for Lua scripting (EVAL, EVALSHA, EVAL_RO, EVALSHA_RO, SCRIPT
LOAD/EXISTS/FLUSH/KILL) against redis-server 7.0.15: Lua -> RESP and RESP -> Lua conversions
(RESP2 and RESP3, redis.setresp), KEYS/ARGV and numkeys errors, compile and runtime errors with
Redis 7.0's exact texts (" script: <sha>, on @user_script:N."), commands refused inside scripts,
the global protection, the script cache, read-only scripts and shebang flags, data written by
scripts, scripts inside MULTI/EXEC, the cjson/cmsgpack/struct/bit libraries and the redis.*
helpers, and scripts whose keys live on either shard core of a two-core slotcore.

Every script names the keys it touches in KEYS, and the keys of one script share a hash tag
(slotcore runs a script on the core that owns its keys). Scripts are EVAL only (no FUNCTION).
Things Redis 7.0.15 itself gets wrong are left out: error() with a table without a string
`err` field crashes it.

Same harness as test_differential.py: each step goes to redis-server 7.0 and to slotcore and the
typed replies must be equal.
"""

import hashlib
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from test_differential import C, Cluster, E, Pipeline, h, time_rule  # noqa: E402,F401  (h is the pytest fixture)
from test_types import _core_keys  # noqa: E402
from resp import to_text  # noqa: E402


def EV(script, keys=(), args=(), cmd="EVAL"):
    """EVAL script numkeys key... arg..."""
    return [cmd, script, str(len(keys))] + list(keys) + list(args)


def EVRO(script, keys=(), args=()):
    return EV(script, keys, args, cmd="EVAL_RO")


def sha1(script):
    return hashlib.sha1(script.encode() if isinstance(script, str) else script).hexdigest()


def unordered(ra, rb, args, h):
    """A map or set built from a Lua table: its order is the table's iteration order. RESP3 maps
    and sets, and RESP2 flat arrays of pairs (maps) are compared as sorted pairs / items."""
    def f(r):
        if r[0] == "%":
            return ("%", sorted(r[1], key=repr))
        if r[0] == "~":
            return ("~", sorted(r[1], key=repr))
        if r[0] == "*" and len(r[1]) % 2 == 0:
            return ("*pairs", sorted(zip(r[1][0::2], r[1][1::2]), key=repr))
        return r
    return f(ra), f(rb)


def cached_scripts(ra, rb, args, h):
    """INFO memory: only the number_of_cached_scripts line is compared."""
    def f(r):
        if r[0] not in ("$", "="):
            return r
        lines = [ln for ln in to_text(r).split("\r\n") if ln.startswith("number_of_cached_scripts:")]
        return ("number_of_cached_scripts", lines)
    return f(ra), f(rb)


def unordered_items(ra, rb, args, h):
    f = lambda r: (r[0], sorted(r[1], key=repr)) if r[0] in ("*", "~") else r  # noqa: E731
    return f(ra), f(rb)


# A common hash tag: every key of this file's general scripts is on one slot (hence one core).
K, K2, K3 = "{s}k", "{s}k2", "{s}k3"

# Hash tags whose slot lands on core 0 / core 1 of a two-core slotcore (slot % cores).
T0 = _core_keys("tag0_", 1, 0)[0]
T1 = _core_keys("tag1_", 1, 1)[0]
A0, B0 = "{%s}a" % T0, "{%s}b" % T0
A1, B1 = "{%s}a" % T1, "{%s}b" % T1

HEX = "local function hex(s) local o = '' for i = 1, #s do o = o .. string.format('%02x', string.byte(s, i)) end return o end "


# --------------------------------------------------------------------------------------------
# Lua -> RESP (RESP2 client)
# --------------------------------------------------------------------------------------------

RETURN_CONVERSIONS = [
    E(EV("return 'hello'"), ("$", b"hello")),
    E(EV("return 100.5"), (":", 100)),
    EV("return 3.99"), EV("return -3.99"), EV("return -0.5"), EV("return 0"), EV("return 1e15"),
    EV("return 2^53"), EV("return -2^31"), EV("return 9007199254740991"),
    EV("return 'hello world'"), EV("return ''"), EV("return 'a\\0b\\255'"), EV("return '12'"),
    E(EV("return true"), (":", 1)), E(EV("return false"), ("nil",)), EV("return nil"), EV("return"),
    EV(""), EV("return 'hello' --trailing comment"), EV("local x = 1"),
    EV("return {1,2,3,'ciao',{1,2}}"), EV("return {}"), EV("return {{}, {{}}}"),
    EV("return {1, 2, nil, 4}"), EV("return {nil, 1}"), EV("return {1, false, 3}"),
    EV("return {1, true, 'x', 2.7, {3.2, {'deep', {-1}}}}"),
    EV("return {1, 2, foo='bar'}"), EV("return {foo='bar'}"), EV("local t = {1, 2}; t[4] = 4; return t"),
    E(EV("return {ok='fine'}"), ("+", "fine")), EV("return {ok=''}"), EV("return {ok='fine', 1, 2}"),
    EV("return {ok=5}"), EV("return {ok={}}"),
    E(EV("return {err='ERR this is an error'}"), ("-", "ERR this is an error")),
    EV("return {err='x'}"), EV("return {err='-x y'}"), EV("return {err='MYCODE some text'}"),
    EV("return {err='x', 1, 2}"), EV("return {err=5}"), EV("return {err={}}"), EV("return {err=''}"),
    EV("return {1, {err='nested'}, 3}"), EV("return {1, {ok='nested'}, 3}"),
    E(EV("return redis.status_reply('MY_OK_CODE custom msg')"), ("+", "MY_OK_CODE custom msg")),
    EV("return redis.status_reply('')"), EV("return redis.status_reply()"), EV("return redis.status_reply(5)"),
    E(EV("return redis.error_reply('MY_ERR_CODE custom msg')"), ("-", "MY_ERR_CODE custom msg")),
    EV("return redis.error_reply('-ERR x')"), EV("return redis.error_reply('x')"),
    EV("return redis.error_reply('-x')"), EV("return redis.error_reply('')"),
    EV("return redis.error_reply()"), EV("return redis.error_reply({})"),
    EV("return {redis.status_reply('A'), redis.error_reply('B c')}"),
    EV("return _G ~= nil"), EV("return _G"),
    EV("local a = {}; setmetatable(a,{__index=function() foo() end}) return a"),
    EV("return tostring(12)"), EV("return tonumber('12.5')"), EV("return #KEYS"),
    EV("return {map={a=1}}"), EV("return {set={a=true}}"), EV("return {double=3.5}"),
    EV("return {double=0.1}"), EV("return {big_number='123'}"), EV("return {big_number='123\\r\\n123'}"),
    EV("return {map={}}"), EV("return {double='x'}"), EV("return {big_number=123}"),
    C(EV("return {map={a=1, b='x', c={1,2}}}"), rule=unordered),
    C(EV("return {set={a=true, b=true, c=false}}"), rule=unordered_items),
]


def test_script_return_conversions(h):
    h.run(RETURN_CONVERSIONS)
    h.done()


# --------------------------------------------------------------------------------------------
# RESP -> Lua through redis.call / redis.pcall (RESP2 mode inside the script)
# --------------------------------------------------------------------------------------------

CALL_CONVERSIONS = [
    ["SET", K, "0"],
    EV("local foo = redis.pcall('incr', KEYS[1]); return {type(foo), foo}", [K]),
    EV("local foo = redis.call('incr', KEYS[1]); return foo * 2.5", [K]),
    ["SET", K, "myval"],
    EV("local foo = redis.pcall('get', KEYS[1]); return {type(foo), foo}", [K]),
    EV("return redis.call('get', KEYS[1])", [K]),
    ["DEL", K],
    EV("local foo = redis.pcall('get', KEYS[1]); return {type(foo), foo == false, tostring(foo)}", [K]),
    EV("return redis.call('get', KEYS[1])", [K]),
    ["RPUSH", K2, "a", "b", "c"],
    EV("local foo = redis.pcall('lrange', KEYS[1], 0, -1); return {type(foo), foo[1], foo[2], foo[3], #foo}", [K2]),
    EV("return redis.call('lrange', KEYS[1], 0, -1)", [K2]),
    EV("return redis.call('lrange', KEYS[1], 5, 10)", [K2]),
    EV("return #redis.call('lrange', KEYS[1], 5, 10)", [K2]),
    EV("local foo = redis.pcall('set', KEYS[1], 'myval'); return {type(foo), foo['ok']}", [K]),
    EV("return redis.call('set', KEYS[1], 'myval')", [K]),
    EV("return redis.call('ping')"), EV("return redis.call('ping', 'x')"), EV("return redis.call('type', KEYS[1])", [K]),
    EV("local t = redis.call('type', KEYS[1]); return {type(t), t.ok}", [K]),
    EV("local foo = redis.pcall('incr', KEYS[1]); return {type(foo), foo['err']}", [K]),
    EV("return redis.pcall('incr', KEYS[1])", [K]),
    EV("return redis.pcall('lpush', KEYS[1], 'x')", [K]),
    ["ZADD", K3, "1", "one", "2.5", "two", "-inf", "low"],
    EV("return redis.call('zrange', KEYS[1], 0, -1, 'withscores')", [K3]),
    EV("local r = redis.call('zrange', KEYS[1], 0, -1, 'withscores'); return {type(r[2]), r[4] + 1}", [K3]),
    EV("return redis.call('zscore', KEYS[1], 'two')", [K3]), EV("return redis.call('zscore', KEYS[1], 'none')", [K3]),
    EV("return redis.call('zscore', KEYS[1], 'low')", [K3]),
    EV("return {redis.call('zadd', KEYS[1], 'incr', '1', 'one')}", [K3]),
    ["HSET", "{s}h", "f1", "v1", "f2", "v2"],
    EV("return redis.call('hgetall', KEYS[1])", ["{s}h"]),
    EV("return redis.call('hmget', KEYS[1], 'f1', 'nope', 'f2')", ["{s}h"]),
    EV("local r = redis.call('hmget', KEYS[1], 'f1', 'nope', 'f2'); return {#r, tostring(r[2]), r[3]}", ["{s}h"]),
    EV("return redis.call('hscan', KEYS[1], 0)", ["{s}h"]),
    EV("return redis.call('exists', KEYS[1], KEYS[2], '{s}nokey')", [K, K2]),
    EV("return redis.call('mget', KEYS[1], KEYS[2], KEYS[3])", [K, "{s}none", K3]),
    EV("local r = redis.call('mget', KEYS[1], KEYS[2]); return {r[1], tostring(r[2])}", [K, "{s}none"]),
    EV("return redis.call('echo', ARGV[1])", [], ["bin\x00ary\xff"]),
    EV("return {redis.call('strlen', KEYS[1])}", [K]),
    EV("return redis.call('sort', KEYS[1], 'alpha', 'desc')", [K2]),
    ["SADD", "{s}set", "1", "2", "3", "4", "10"],
    EV("return redis.call('sort', KEYS[1], 'desc')", ["{s}set"]),
    ["DEL", "{s}set"],
    ["SADD", "{s}set", "a", "b", "c", "d", "e", "f", "g", "h", "i", "l", "m", "n", "o", "p", "q", "r", "s",
     "t", "u", "v", "z", "aa", "aaa", "azz"],
    EV("return redis.call('sort', KEYS[1], 'by', '_')", ["{s}set"]),
    C(EV("return redis.call('smembers', KEYS[1])", ["{s}set"]), rule=unordered_items),
    EV("return #redis.call('smembers', KEYS[1])", ["{s}set"]),
    ["DEL", "{s}set"], ["SADD", "{s}set", "only"],
    EV("return redis.call('spop', KEYS[1])", ["{s}set"]),
    EV("return redis.call('spop', KEYS[1])", ["{s}set"]),
    EV("return redis.call('object', 'encoding', KEYS[1])", [K2]),
    EV("local t = redis.call('TIME'); return {type(t), #t, type(t[1]), type(t[2]), tonumber(t[2]) < 1000000}"),
    C(EV("return redis.call('TIME')"), rule=time_rule),
]


def test_script_call_conversions(h):
    h.run(CALL_CONVERSIONS)
    h.done()


# --------------------------------------------------------------------------------------------
# RESP3: redis.setresp(3) inside the script, and clients that said HELLO 3
# --------------------------------------------------------------------------------------------

RESP3_DATA = [
    ["HSET", "{s}h", "f1", "v1"], ["SADD", "{s}set", "a"], ["ZADD", "{s}z", "1.5", "m"],
    ["HSET", "{s}h2", "f1", "v1", "f2", "v2", "f3", "3"], ["SADD", "{s}set2", "a", "b", "c"],
    ["SET", K, "str"],
]

# The same steps for a RESP2 and a RESP3 client.
RESP3_SCRIPTS = [
    EV("redis.setresp(3); local r = redis.call('hgetall', KEYS[1]); return {type(r), type(r.map), r.map.f1}", ["{s}h"]),
    EV("redis.setresp(3); return redis.call('hgetall', KEYS[1])", ["{s}h"]),
    EV("redis.setresp(2); return redis.call('hgetall', KEYS[1])", ["{s}h"]),
    C(EV("redis.setresp(3); return redis.call('hgetall', KEYS[1])", ["{s}h2"]), rule=unordered),
    EV("redis.setresp(3); local r = redis.call('smembers', KEYS[1]); return {type(r.set), tostring(r.set.a)}", ["{s}set"]),
    EV("redis.setresp(3); return redis.call('smembers', KEYS[1])", ["{s}set"]),
    C(EV("redis.setresp(3); return redis.call('smembers', KEYS[1])", ["{s}set2"]), rule=unordered_items),
    EV("redis.setresp(3); local r = redis.call('zscore', KEYS[1], 'm'); return {type(r), type(r.double), tostring(r.double)}", ["{s}z"]),
    EV("redis.setresp(3); return redis.call('zscore', KEYS[1], 'm')", ["{s}z"]),
    EV("redis.setresp(3); return redis.call('zrange', KEYS[1], 0, -1, 'withscores')", ["{s}z"]),
    EV("redis.setresp(3); return redis.call('zpopmin', KEYS[1], 0)", ["{s}z"]),
    EV("redis.setresp(3); local r = redis.call('get', 'nokey'); return {type(r), tostring(r)}"),
    EV("redis.setresp(2); local r = redis.call('get', 'nokey'); return {type(r), tostring(r)}"),
    EV("redis.setresp(3); return redis.call('get', KEYS[1])", ["{s}nokey"]),
    EV("redis.setresp(3); return redis.call('mget', KEYS[1], KEYS[2], KEYS[1])", [K, "{s}nokey"]),
    EV("redis.setresp(3); return redis.call('set', KEYS[1], 'str')", [K]),
    EV("redis.setresp(3); local r = redis.call('set', KEYS[1], 'str'); return {type(r), r.ok}", [K]),
    EV("redis.setresp(3); return redis.call('incr', KEYS[1])", [K]),
    EV("redis.setresp(3); return redis.pcall('incr', KEYS[1])", [K]),
    EV("redis.setresp(3); return {true, false, 1}"),
    EV("redis.setresp(3); return true"), EV("redis.setresp(3); return false"),
    EV("redis.setresp(2); return true"), EV("redis.setresp(2); return false"),
    EV("redis.setresp(3); return nil"),
    EV("return {map={a=1}}"), EV("return {map={}}"), EV("return {set={a=true}}"),
    EV("return {double=3.5}"), EV("return {double=3}"), EV("return {double=0.1}"),
    EV("return {double=1/0}"), EV("return {double=-1/0}"),
    EV("return {big_number='123'}"), EV("return {big_number='123\\r\\n123'}"),
    EV("return {map={a={1,2}, b={map={c=true}}}}"), EV("redis.setresp(3); return {map={a=true}}"),
    C(EV("return {map={x=1, y=2, z={set={q=true}}}}"), rule=unordered),
    EV("return true"), EV("return false"), EV("return nil"), EV("return {1, true, false, 'x'}"),
    EV("return redis.status_reply('FINE')"), EV("return redis.error_reply('MY e')"),
    EV("redis.setresp(4)"), EV("redis.setresp()"), EV("redis.setresp(3, 4)"), EV("redis.setresp('x')"),
]


def test_script_resp3(h):
    p2 = h.run(RESP3_DATA)
    h.run(RESP3_SCRIPTS, p2)
    p3 = h.pair()
    h.run([["HELLO", "3"]] + RESP3_SCRIPTS + [["HELLO", "2"], EV("return {map={a=1}}"), EV("return {double=2.5}")], p3)
    h.done()


# --------------------------------------------------------------------------------------------
# KEYS, ARGV and numkeys
# --------------------------------------------------------------------------------------------

ALL = "return {#KEYS, #ARGV, KEYS[1], KEYS[2], ARGV[1], ARGV[2]}"

KEYS_ARGV = [
    E(EV("return {KEYS[1],KEYS[2],ARGV[1],ARGV[2]}", ["a{t}", "b{t}"], ["c{t}", "d{t}"]),
      ("*", [("$", b"a{t}"), ("$", b"b{t}"), ("$", b"c{t}"), ("$", b"d{t}")])),
    EV(ALL), EV(ALL, [], ["x", "y", "z"]), EV(ALL, ["{s}a"]), EV(ALL, ["{s}a", "{s}b"], ["1"]),
    EV(ALL, ["{s}a", "{s}b", "{s}c"]), EV(ALL, [], [""]), EV(ALL, ["{s}"], ["", "bin\x00\xff"]),
    EV("return ARGV"), EV("return KEYS", ["{s}x", "{s}y"]), EV("return {type(KEYS), type(ARGV)}"),
    ["EVAL", ALL, "0", "x"], ["EVAL", ALL, "1", "{s}x", "y"], ["EVAL", ALL, "2", "{s}x", "{s}y"],
    E(["EVAL", "return 'hello'", "-12"], ("-", "ERR Number of keys can't be negative")),
    ["EVAL", ALL, "-1", "x"], ["EVAL", ALL, "-1"],
    E(["EVAL", ALL, "3", "{s}x", "{s}y"], ("-", "ERR Number of keys can't be greater than number of args")),
    ["EVAL", ALL, "1"], ["EVAL", ALL, "x"], ["EVAL", ALL, "1.5"], ["EVAL", ALL, ""], ["EVAL", ALL, " 1", "{s}x"],
    ["EVAL", ALL, "01", "{s}x"], ["EVAL", ALL, "+1", "{s}x"], ["EVAL", ALL, "99999999999999999999"],
    ["EVAL", ALL, "9223372036854775807"], ["EVAL", ALL, "-9223372036854775808"],
    ["EVAL", ALL], ["EVAL"], ["EVAL", "return +", "-1"], ["EVAL", "return +", "x"],
    ["EVALSHA", sha1(ALL), "-1"], ["EVALSHA", sha1(ALL), "2", "{s}x"], ["EVALSHA", sha1(ALL), "x"],
    ["EVALSHA", sha1(ALL)], ["EVALSHA"],
    # KEYS and ARGV are fresh tables on each call
    EV("KEYS[1] = 'changed'; return KEYS[1]", ["{s}x"]), EV("return KEYS[1]", ["{s}x"]),
    EV("ARGV[5] = 'x'; return #ARGV", [], ["a"]), EV("return #ARGV", [], ["a"]),
]


def test_script_keys_and_argv(h):
    h.run([["SCRIPT", "FLUSH"]] + KEYS_ARGV)
    h.done()


# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------

ERRORS = [
    ["SET", K, "1.5"],
    # compile errors
    EV("return +"), EV("return 'unterminated"), EV("for i=1,2 do"), EV("return ("),
    EV("local x = 1\nlocal y = \nreturn"), EV("return 1 1"), EV("x = = 1"),
    ["SCRIPT", "LOAD", "return +"],
    # runtime errors
    EV("error('x')"), EV("error('x', 0)"), EV("error('x', 2)"), EV("\n\nerror('line3')"),
    EV("error()"), EV("error(nil)"), EV("error(5)"),
    EV("error({err='X'})"), EV("error({err='MY x'})"), EV("error({err='ERR x'}, 0)"),
    EV("local function f() error('deep') end\nlocal function g() f() end\ng()"),
    EV("assert(false, 'boom')"), EV("assert(false)"), EV("assert(1 == 1); return 'ok'"),
    EV("nofunc()"), EV("return a"), EV("local t = nil; return t.x"), EV("return 1 + {}"),
    EV("return #nil"), EV("return 'a' .. {}"), EV("return ('x'):nosuch()"), EV("local x = {} x.y.z = 1"),
    EV("return math.floor('x')"), EV("return string.rep()"), EV("return tostring()"),
    # redis.call errors propagate with the script's sha and line
    EV("return redis.call('incr', KEYS[1])", [K]),
    EV("\nreturn redis.call('incr', KEYS[1])", [K]),
    EV("local function f() redis.call('incr', KEYS[1]) end\nf()", [K]),
    EV("return redis.call('lpush', KEYS[1], 'val')", [K]),
    EV("return redis.call('set', KEYS[1], 'v', 'badopt')", [K]),
    EV("return redis.call('set', KEYS[1], 'v', 'EX', 0)", [K]),
    EV("return redis.call('incrby', KEYS[1], 1.5)", [K]),
    EV("return redis.call('hset', KEYS[1], 'f')", ["{s}h"]),
    # arity, unknown commands, no arguments, bad argument types
    EV("return redis.call('get', KEYS[1], 'x')", [K]), EV("redis.call('set','invalid')"), EV("redis.call('incr')"),
    EV("return redis.call('nosuchcommand')"), EV("return redis.call('nosuch', KEYS[1], 'x')", [K]),
    EV("return redis.call('')"), EV("return redis.call()"), EV("return redis.pcall()"),
    EV("return redis.call('set', KEYS[1], {})", [K]), EV("return redis.call('set', KEYS[1], true)", [K]),
    EV("return redis.call('set', KEYS[1], nil)", [K]), EV("return redis.call({})"), EV("return redis.call(nil)"),
    EV("return redis.call(1)"), EV("local x = {} return redis.call('ping', x)"),
    EV("return redis.call('ping', 'asdf')"),
    EV("return redis.pcall('set', KEYS[1], true)", [K]), EV("return redis.pcall('nosuch')"),
    EV("return redis.pcall('get', 'a', 'b')"), EV("return redis.pcall('lpush', KEYS[1], 'x')", [K]),
    # pcall / redis.pcall hand the error back to Lua
    EV("local t = redis.pcall('nosuch'); return {type(t), t.err}"),
    EV("local t = redis.pcall('incr', KEYS[1]); return {type(t), t.err}", [K]),
    EV("local t = redis.pcall('incr', KEYS[1]); return t", [K]),
    EV("local t = redis.pcall('lpush', KEYS[1], 'x'); return {t.err, t.ok == nil}", [K]),
    EV("local t = redis.pcall('set', KEYS[1], {}); return t.err", [K]),
    EV("local ok, err = pcall(redis.call, 'nosuch'); return {tostring(ok), type(err), err}"),
    EV("local ok, err = pcall(redis.call, 'incr', KEYS[1]); return {tostring(ok), type(err), err}", [K]),
    EV("local ok, err = pcall(function() return redis.call('incr', KEYS[1]) end); return err", [K]),
    EV("local ok, err = pcall(redis.call, 'set', 'a', {}); return {tostring(ok), err}"),
    EV("return pcall(redis.call, 'incr', KEYS[1])", [K]),
    EV("local ok, err = pcall(function() return foo end); return {tostring(ok), err}"),
    EV("local status, res = pcall(function() return 1 end); return 'status: ' .. tostring(status) .. ' result: ' .. res"),
    EV("local ok, err = pcall(error, 'x'); return {tostring(ok), err}"),
    EV("local ok, err = pcall(error, {err='E1'}); return {tostring(ok), type(err)}"),
    EV("local ok, err = pcall(function() error('inner') end); return err"),
    EV("local ok, err = xpcall(function() error('x') end, function(e) return 'handled: ' .. e end); return {tostring(ok), err}"),
    EV("local ok, err = pcall(redis.call); return err"),
    # errors from the redis.* helpers
    EV("return redis.sha1hex()"), EV("return redis.sha1hex('a', 'b')"),
    EV("return redis.log(redis.LOG_WARNING)"), EV("return redis.log(99, 'x')"), EV("return redis.log()"),
    EV("return redis.set_repl(12345)"), EV("return redis.set_repl()"), EV("return redis.set_repl(1, 2)"),
    EV("return redis.setresp(4)"),
    # the connection is fine after all this
    ["GET", K], ["PING"],
]


def test_script_errors(h):
    h.run(ERRORS)
    h.done()


# --------------------------------------------------------------------------------------------
# Commands a script may not call; the sandbox (globals, readonly tables, missing functions)
# --------------------------------------------------------------------------------------------

NOT_ALLOWED = [
    EV("return redis.call('eval', 'return 1', '0')"), EV("return redis.pcall('eval', 'return 1', '0')"),
    EV("return redis.pcall('evalsha', 'x', '0')"), EV("return redis.pcall('eval_ro', 'return 1', '0')"),
    EV("return redis.call('multi')"), EV("return redis.pcall('exec')"), EV("return redis.pcall('discard')"),
    EV("return redis.call('watch', KEYS[1])", [K]), EV("return redis.pcall('unwatch')"),
    EV("return redis.call('subscribe', 'x')"), EV("return redis.pcall('psubscribe', 'x')"),
    EV("return redis.pcall('unsubscribe')"), EV("return redis.pcall('ssubscribe', KEYS[1])", [K]),
    EV("return redis.call('client', 'list')"), EV("return redis.pcall('client', 'id')"),
    EV("return redis.pcall('script', 'load', 'return 1')"), EV("return redis.pcall('script', 'flush')"),
    EV("return redis.pcall('hello', '3')"), EV("return redis.pcall('auth', 'x')"),
    EV("return redis.pcall('reset')"), EV("return redis.pcall('shutdown')"),
    EV("return redis.pcall('config', 'get', 'maxmemory')"), EV("return redis.pcall('debug', 'sleep', '0')"),
    EV("return redis.pcall('wait', '0', '0')"), EV("return redis.call('cluster', 'reset', 'hard')"),
    EV("return redis.call('blpop', KEYS[1], 0)", [K]), EV("return redis.pcall('brpop', KEYS[1], 0)", [K]),
    EV("return redis.pcall('brpoplpush', KEYS[1], KEYS[2], 0)", [K, K2]),
    EV("return redis.pcall('blmove', KEYS[1], KEYS[2], 'LEFT', 'LEFT', 0)", [K, K2]),
    EV("return redis.pcall('bzpopmin', KEYS[1], 0)", [K]), EV("return redis.pcall('bzpopmax', KEYS[1], 0)", [K]),
    # BLMPOP and BZMPOP are allowed, and do not block
    EV("return redis.pcall('blmpop', 0, 1, KEYS[1], 'LEFT')", [K]),
    EV("return redis.pcall('bzmpop', 0, 1, KEYS[1], 'MIN')", [K]),
    EV("return redis.pcall('blmpop', 0, 1, KEYS[1], 'LEFT')", ["{s}nolist"]),
    EV("return redis.pcall('bzmpop', 0, 1, KEYS[1], 'MIN')", ["{s}nozset"]),
    ["RPUSH", "{s}list", "x", "y"], ["ZADD", "{s}zset", "1", "m"],
    EV("return redis.call('blmpop', 0, 1, KEYS[1], 'RIGHT', 'COUNT', 5)", ["{s}list"]),
    EV("return redis.call('bzmpop', 0, 1, KEYS[1], 'MAX')", ["{s}zset"]),
    # allowed: non-deterministic and plain commands
    EV("redis.pcall('randomkey'); return redis.pcall('set', KEYS[1], 'ciao')", [K]),
    EV("return redis.pcall('ping')"), EV("return redis.pcall('echo', 'x')"), EV("return redis.call('select', '0')"),
    EV("return redis.pcall('GET', KEYS[1])", [K]), EV("return redis.pcall('Get', KEYS[1])", [K]),
    EV("return redis.call('publish', 'ch', 'm')"),
    EV("return redis.call('command', 'count') > 0"),
]

SANDBOX = [
    EV("return a"), EV("a=10"), EV("local a = 10; return a"), EV("setmetatable(_G, {})"),
    EV("local g = getmetatable(_G); g.__index = {}"), EV("redis = function() return 1 end"),
    EV("_G = {}"), EV("redis.call = function() return 1 end"), EV("cjson.encode = function() return 1 end"),
    EV("cmsgpack.pack = function() return 1 end"), EV("bit.lshift = function() return 1 end"),
    EV("struct.pack = function() return 1 end"), EV("math.random = nil"), EV("string.x = 1"),
    EV("table.insert = nil"), EV("KEYS = {}"), EV("rawset(_G, 'x', 1)"),
    EV("loadfile('some file')"), EV("dofile('some file')"), EV("print('some data')"),
    EV("return os.time()"), EV("return io"), EV("return debug.getinfo(1)"), EV("return require('x')"),
    EV("return loadstring('return 1')()"), EV("return loadstring('return ...')(7)"),
    EV("local f, e = loadstring('return +'); return {tostring(f), e}"),
    EV("return loadstring(string.dump(function() return 1 end))()"),
    EV("local f = loadstring('x = 1'); return pcall(f)"),
    EV("local out = {} for _, n in ipairs(ARGV) do out[#out+1] = n .. '=' .. type(rawget(_G, n)) end return out", [],
       ["cjson", "cmsgpack", "struct", "bit", "string", "math", "table", "os", "io", "debug", "require",
        "loadstring", "load", "setfenv", "getfenv", "newproxy", "module", "package", "coroutine", "gcinfo",
        "print", "dofile", "loadfile", "unpack", "select", "pcall", "xpcall", "error", "assert", "tostring",
        "tonumber", "rawset", "rawget", "rawequal", "next", "pairs", "ipairs", "setmetatable",
        "getmetatable", "collectgarbage", "_G", "KEYS", "ARGV", "redis", "_VERSION", "type"]),
    EV("local out = {} for k, v in pairs(redis) do out[#out+1] = k .. '=' .. type(v) end table.sort(out) return out"),
    EV("local out = {} for k, v in pairs(math) do out[#out+1] = k end table.sort(out) return out"),
    EV("local out = {} for k, v in pairs(string) do out[#out+1] = k end table.sort(out) return out"),
    EV("local out = {} for k, v in pairs(table) do out[#out+1] = k end table.sort(out) return out"),
    EV("local out = {} for k, v in pairs(bit) do out[#out+1] = k end table.sort(out) return out"),
    EV("local out = {} for k, v in pairs(struct) do out[#out+1] = k end table.sort(out) return out"),
    EV("return _VERSION"),
    EV("return {redis.REPL_NONE, redis.REPL_AOF, redis.REPL_SLAVE, redis.REPL_REPLICA, redis.REPL_ALL, "
       "redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE, redis.LOG_WARNING}"),
    EV("return {redis.REDIS_VERSION, redis.REDIS_VERSION_NUM}"),
    # a global made in one script does not survive (it cannot be made at all)
    EV("return rawget(_G, 'x') == nil"),
]


def test_script_disallowed_commands(h):
    h.run([["SET", K, "v"]] + NOT_ALLOWED)
    h.done()


def test_script_sandbox(h):
    h.run(SANDBOX)
    h.done()


# --------------------------------------------------------------------------------------------
# EVALSHA and the script cache
# --------------------------------------------------------------------------------------------

GET_SCRIPT = "return redis.call('get',KEYS[1])"
GET_SHA = "fd758d1589d044dd850a6f05d52f2eefd27f033f"  # as in Redis's own tests
LOADED = "return 'loaded'"
LOADED_SHA = "b534286061d4b9e4026607613b95c06c06015ae8"

EVALSHA_SEQ = [
    ["SCRIPT", "FLUSH"],
    E(["EVALSHA", GET_SHA, "1", K], ("-", "NOSCRIPT No matching script. Please use EVAL.")),
    ["SET", K, "myval"],
    E(EV(GET_SCRIPT, [K]), ("$", b"myval")),
    E(["EVALSHA", GET_SHA, "1", K], ("$", b"myval")),
    ["EVALSHA", GET_SHA.upper(), "1", K], ["EVALSHA", GET_SHA[:20].upper() + GET_SHA[20:], "1", K],
    ["EVALSHA", GET_SHA, "1", K2], ["EVALSHA", GET_SHA, "0"],
    ["EVALSHA", "NotValidShaSUM", "0"], ["EVALSHA", "ffd632c7d33e571e9f24556ebed26c3479a87130", "0"],
    ["EVALSHA", "", "0"], ["EVALSHA", GET_SHA + "0", "1", K], ["EVALSHA", GET_SHA[:39], "1", K],
    ["EVALSHA_RO", GET_SHA, "1", K],
    E(["SCRIPT", "LOAD", LOADED], ("$", LOADED_SHA.encode())),
    E(["EVALSHA", LOADED_SHA, "0"], ("$", b"loaded")),
    ["SCRIPT", "LOAD", LOADED], ["SCRIPT", "LOAD", GET_SCRIPT], ["SCRIPT", "LOAD", ""], ["EVALSHA", sha1(""), "0"],
    ["SCRIPT", "LOAD", "return +"], ["SCRIPT", "LOAD"], ["SCRIPT", "LOAD", "a", "b"],
    ["SCRIPT", "LOAD", "return ARGV[1] .. KEYS[1]"],
    ["EVALSHA", sha1("return ARGV[1] .. KEYS[1]"), "1", "{s}key", "arg"],
    ["EVAL", "return 1+1", "0"],
    E(["SCRIPT", "EXISTS", "a27e7e8a43702b7046d4f6a7ccf5b60cef6b9bd9", "a27e7e8a43702b7046d4f6a7ccf5b60cef6b9bda"],
      ("*", [(":", 1), (":", 0)])),
    ["SCRIPT", "EXISTS", LOADED_SHA, LOADED_SHA.upper(), "nope", "ffd632c7d33e571e9f24556ebed26c3479a87130",
     GET_SHA, sha1(""), LOADED_SHA],
    ["SCRIPT", "EXISTS", sha1("return +")], ["SCRIPT", "EXISTS", ""], ["SCRIPT", "EXISTS"],
    C(["INFO", "memory"], rule=cached_scripts),
    # a failing script is cached all the same (it compiled)
    EV("return redis.call('incr', KEYS[1])", [K]), ["SCRIPT", "EXISTS", sha1("return redis.call('incr', KEYS[1])")],
    ["EVALSHA", sha1("return redis.call('incr', KEYS[1])"), "1", K],
    # redis.sha1hex agrees with the script cache's names
    E(EV("return redis.sha1hex('')"), ("$", b"da39a3ee5e6b4b0d3255bfef95601890afd80709")),
    E(EV("return redis.sha1hex('Pizza & Mandolino')"), ("$", b"74822d82031af7493c20eefa13bd07ec4fada82f")),
    EV("return redis.sha1hex(ARGV[1])", [], [LOADED]), EV("return redis.sha1hex(ARGV[1])", [], ["a\x00b\xff"]),
    EV("return redis.sha1hex(1)"), EV("return redis.sha1hex(1.5)"), EV("return redis.sha1hex({})"),
    EV("return redis.sha1hex(string.rep('x', 1000))"),
    # SCRIPT FLUSH and its options
    E(["SCRIPT", "FLUSH"], ("+", "OK")),
    ["SCRIPT", "EXISTS", LOADED_SHA, GET_SHA, "a27e7e8a43702b7046d4f6a7ccf5b60cef6b9bd9"],
    C(["INFO", "memory"], rule=cached_scripts),
    E(["EVALSHA", GET_SHA, "1", K], ("-", "NOSCRIPT No matching script. Please use EVAL.")),
    ["EVALSHA", LOADED_SHA, "0"], ["EVALSHA_RO", LOADED_SHA, "0"],
    ["SCRIPT", "LOAD", LOADED], ["SCRIPT", "FLUSH", "ASYNC"], ["SCRIPT", "EXISTS", LOADED_SHA],
    ["SCRIPT", "LOAD", LOADED], ["SCRIPT", "FLUSH", "SYNC"], ["SCRIPT", "EXISTS", LOADED_SHA],
    ["SCRIPT", "LOAD", LOADED], ["SCRIPT", "FLUSH", "async"], ["SCRIPT", "EXISTS", LOADED_SHA],
    ["SCRIPT", "FLUSH", "BAD"], ["SCRIPT", "FLUSH", "SYNC", "ASYNC"], ["SCRIPT", "FLUSH", ""],
    # SCRIPT KILL with nothing running; other subcommands
    E(["SCRIPT", "KILL"], ("-", "NOTBUSY No scripts in execution right now.")),
    ["SCRIPT", "KILL", "x"], ["SCRIPT", "FOO"], ["SCRIPT", "foo", "bar"], ["SCRIPT"], ["SCRIPT", "HELP"],
    ["SCRIPT", "help", "x"],
]


def test_evalsha_and_script_cache(h):
    h.run(EVALSHA_SEQ)
    h.done()


def test_script_cache_across_connections(h):
    """A script loaded on one connection runs from any other (any core); a flush from one
    connection empties the cache for all."""
    pairs = [h.pair() for _ in range(4)]
    h.run([["SCRIPT", "FLUSH"], ["SCRIPT", "LOAD", LOADED], ["SET", A0, "zero"], ["SET", A1, "one"]], pairs[0])
    for p in pairs:
        h.run([["EVALSHA", LOADED_SHA, "0"], ["SCRIPT", "EXISTS", LOADED_SHA, GET_SHA],
               ["EVALSHA", GET_SHA, "1", A0]], p)
    h.run([EV(GET_SCRIPT, [A1])], pairs[1])
    for p in pairs:
        h.run([["EVALSHA", GET_SHA, "1", A0], ["EVALSHA", GET_SHA, "1", A1],
               ["EVALSHA_RO", GET_SHA.upper(), "1", A1], ["SCRIPT", "EXISTS", GET_SHA, LOADED_SHA]], p)
    h.run([["SCRIPT", "FLUSH"]], pairs[2])
    for p in pairs:
        h.run([["SCRIPT", "EXISTS", GET_SHA, LOADED_SHA], ["EVALSHA", GET_SHA, "1", A1]], p)
    h.done()


# --------------------------------------------------------------------------------------------
# Read-only scripts (EVAL_RO, EVALSHA_RO, no-writes) and shebang flags
# --------------------------------------------------------------------------------------------

SET_SCRIPT = "return redis.call('set', KEYS[1], 'x')"

READONLY_AND_SHEBANG = [
    ["SCRIPT", "FLUSH"], ["SET", K, "bar"],
    E(EVRO("return redis.call('get', KEYS[1]);", [K]), ("$", b"bar")),
    EVRO("redis.call('del', KEYS[1]);", [K]), EVRO(SET_SCRIPT, [K]), EVRO("return redis.pcall('set', KEYS[1], 'x')", [K]),
    EVRO("local t = redis.pcall('set', KEYS[1], 'x'); return t.err", [K]),
    EVRO("return redis.call('incr', KEYS[2])", [K, K2]), ["GET", K], ["EXISTS", K2],
    EVRO("return 1"), EVRO("return redis.call('ping')"), EVRO("return redis.call('exists', KEYS[1])", [K]),
    ["EVAL_RO", "return 1"], ["EVAL_RO", "return 1", "-1"], ["EVAL_RO", "return +", "0"],
    ["SCRIPT", "LOAD", SET_SCRIPT], ["EVALSHA_RO", sha1(SET_SCRIPT), "1", K], ["EVALSHA", sha1(SET_SCRIPT), "1", K],
    ["GET", K], ["EVALSHA_RO", sha1("nope"), "0"], ["EVALSHA_RO", sha1(SET_SCRIPT)],
    # shebangs
    EV("#!lua\nreturn 1"), EV("#!lua\n return 1"), EV("#!lua flags=\nreturn 1"), EV("#!lua\r\nreturn 1"),
    EV("#!not-lua\nreturn 1"), EV("#!luax\nreturn 1"), EV("#!LUA\nreturn 1"), EV("#! lua\nreturn 1"),
    EV("#!lua"), EV("#!"), EV("#!lua badger=data\nreturn 1"), EV("#!lua name=x\nreturn 1"),
    EV("#!lua flags=allow-oom,what?\nreturn 1"), EV("#!lua flags=NO-WRITES\nreturn 1"),
    EV("#!lua flags=no-writes, allow-oom\nreturn 1"), EV("#!lua flags=no-writes,,allow-oom\nreturn 1"),
    EV("#!lua flags=no-writes,allow-oom,allow-stale,no-cluster,allow-cross-slot-keys\nreturn 1"),
    EV("#!lua flags=no-writes,no-writes\nreturn 1"), EV("#!lua  flags=no-writes\nreturn 1"),
    EV("#!lua flags=no-writes flags=allow-oom\nreturn 1"), EV(" #!lua\nreturn 1"), EV("\n#!lua\nreturn 1"),
    EV("#!lua flags=no-writes\nreturn +"), EV("#!lua\nreturn a"), EV("#!lua\n\nerror('on line 3')"),
    EV("#!lua flags=no-writes\nreturn redis.call('set', KEYS[1], 'x')", [K]),
    EV("#!lua flags=no-writes\nreturn redis.pcall('set', KEYS[1], 'x')", [K]),
    EV("#!lua flags=no-writes\nreturn redis.call('get', KEYS[1])", [K]),
    EV("#!lua\nreturn redis.call('set', KEYS[1], 'shebang')", [K]), ["GET", K],
    EV("#!lua flags=allow-oom\nreturn redis.call('set', KEYS[1], 'oom-ok')", [K]), ["GET", K],
    EVRO("#!lua\nreturn 1"), EVRO("#!lua\nreturn redis.call('set', KEYS[1], 'x')", [K]),
    EVRO("#!lua flags=no-writes\nreturn 1"), EVRO("#!lua flags=no-writes\nreturn redis.call('get', KEYS[1])", [K]),
    EVRO("#!lua flags=allow-oom\nreturn 1"),
    ["SCRIPT", "LOAD", "#!lua\nreturn 2"], ["SCRIPT", "LOAD", "#!bad\nreturn 2"],
    ["SCRIPT", "LOAD", "#!lua flags=bad\nreturn 2"], ["SCRIPT", "LOAD", "#!lua flags=no-writes\nreturn 3"],
    ["EVALSHA", sha1("#!lua\nreturn 2"), "0"], ["EVALSHA_RO", sha1("#!lua\nreturn 2"), "0"],
    ["EVALSHA_RO", sha1("#!lua flags=no-writes\nreturn 3"), "0"],
    ["SCRIPT", "EXISTS", sha1("#!bad\nreturn 2"), sha1("#!lua\nreturn 2")],
]

# maxmemory 1: every write is refused (noeviction); scripts follow their flags.
OOM = [
    ["SET", K, "123"], ["CONFIG", "SET", "maxmemory", "1"],
    EV("return redis.call('set', KEYS[1], 1)", [K]), EV("return redis.pcall('set', KEYS[1], 1)", [K]),
    EV("local t = redis.pcall('set', KEYS[1], 1); return t.err", [K]),
    EV("return redis.call('get', KEYS[1])", [K]), EV("return 1"),
    EV("#!lua flags=\nreturn 1"), EV("#!lua\nreturn 1"),
    EV("#!lua flags=allow-oom\nreturn redis.call('set', KEYS[1], 1)", [K]),
    EV("#!lua flags=no-writes\nreturn redis.call('get', KEYS[1])", [K]),
    EVRO("#!lua flags=no-writes\nreturn redis.call('get', KEYS[1])", [K]),
    EVRO("return redis.call('get', KEYS[1])", [K]),
    ["CONFIG", "SET", "maxmemory", "0"],
    EV("return redis.call('set', KEYS[1], 2)", [K]), ["GET", K],
]


def test_script_readonly_and_shebang(h):
    h.run(READONLY_AND_SHEBANG)
    h.done()


def test_script_shebang_oom(h):
    try:
        h.run(OOM)
    finally:
        for s in (h.servers.redis, h.servers.slotcore):
            try:
                s.control.call("CONFIG", "SET", "maxmemory", "0")
            except Exception:  # noqa: BLE001  (a dead server shows in the next test)
                pass
    h.done()


# --------------------------------------------------------------------------------------------
# Data written by scripts; arguments passed to redis.call
# --------------------------------------------------------------------------------------------

DECR_IF_GT = """
    local current
    current = redis.call('get',KEYS[1])
    if not current then return nil end
    if current > ARGV[1] then
        return redis.call('decr',KEYS[1])
    else
        return redis.call('get',KEYS[1])
    end
"""

DATA = [
    EV("return redis.call('set', KEYS[1], ARGV[1])", [K], ["v1"]), ["GET", K], ["TYPE", K], ["TTL", K],
    EV("return redis.call('set', KEYS[1], ARGV[1], 'EX', 100)", [K], ["v2"]), ["GET", K], ["TTL", K],
    EV("redis.call('rpush', KEYS[1], 'a', 'b'); redis.call('hset', KEYS[2], 'f', 'v'); "
       "redis.call('sadd', KEYS[3], 'm'); return redis.call('del', KEYS[1], KEYS[4])",
       ["{s}dl", "{s}dh", "{s}ds", "{s}none"]),
    ["EXISTS", "{s}dl", "{s}dh", "{s}ds"], ["TYPE", "{s}dh"], ["TYPE", "{s}ds"], ["HGETALL", "{s}dh"],
    ["SMEMBERS", "{s}ds"],
    EV("redis.call('rpush', KEYS[1], 'a', 'b'); return redis.call('rpush', KEYS[2], 'a', 'b')", ["{s}dl", K]),
    ["LRANGE", "{s}dl", "0", "-1"], ["GET", K],
    ["SET", "{s}foo", "5"],
    EV(DECR_IF_GT, ["{s}foo"], ["2"]), EV(DECR_IF_GT, ["{s}foo"], ["2"]), EV(DECR_IF_GT, ["{s}foo"], ["2"]),
    EV(DECR_IF_GT, ["{s}foo"], ["2"]), EV(DECR_IF_GT, ["{s}foo"], ["2"]), EV(DECR_IF_GT, ["{s}none"], ["2"]),
    ["GET", "{s}foo"],
    EV("local i local x={} redis.call('del', KEYS[1]) for i=1,100 do table.insert(x,i) end "
       "redis.call('rpush', KEYS[1], unpack(x)) return redis.call('lrange', KEYS[1], 0, -1)", ["{s}mylist"]),
    EV("local a = {} for i=1,7999 do a[i] = 1 end return redis.call('lpush', KEYS[1], unpack(a))", ["{s}l"]),
    ["LLEN", "{s}l"],
    EV("local value = 9007199254740991 redis.call('set', KEYS[1], value) return redis.call('get', KEYS[1])", ["{s}n"]),
    EV("redis.call('set', KEYS[1], '12039611435714932082') return redis.call('get', KEYS[1])", ["{s}n"]),
    # numbers passed to redis.call are sent as Lua's %.17g text
    EV("redis.call('set', KEYS[1], 1.5) redis.call('set', KEYS[2], 1e20) redis.call('set', KEYS[3], -0) "
       "return redis.call('mget', KEYS[1], KEYS[2], KEYS[3])", [K, K2, K3]),
    EV("local out = {} for i, v in ipairs({1, 0.1, 1/3, 2^53, 2^63, -2^63, 100, -7.25, 1e-5, 123456789012345678}) do "
       "redis.call('set', KEYS[1], v) out[i] = redis.call('get', KEYS[1]) end return out", [K]),
    EV("return redis.call('incrby', KEYS[1], 5)", ["{s}cnt"]), EV("return redis.call('incrby', KEYS[1], -2.0)", ["{s}cnt"]),
    EV("return redis.call('incrbyfloat', KEYS[1], 0.1)", ["{s}cnt"]), ["GET", "{s}cnt"],
    EV("return redis.call('expire', KEYS[1], ARGV[1])", [K], ["300"]), ["TTL", K],
    EV("return redis.call('pexpire', KEYS[1], 0)", [K]), ["EXISTS", K], ["GET", K],
    # a key that expired is gone for the script too
    ["SET", "{s}e", "v", "PX", "1"], C(["DEBUG", "SLEEP", "0.01"]), EV("return redis.call('exists', KEYS[1])", ["{s}e"]),
    # a script that fails half-way keeps its earlier writes (no rollback)
    EV("redis.call('set', KEYS[1], 'before'); redis.call('incr', KEYS[2]); redis.call('set', KEYS[1], 'after')",
       ["{s}half", "{s}foo"]),
    ["SET", "{s}foo", "x"],
    EV("redis.call('set', KEYS[1], 'before'); redis.call('incr', KEYS[2]); redis.call('set', KEYS[1], 'after')",
       ["{s}half", "{s}foo"]),
    ["GET", "{s}half"],
    EV("for i = 0, 10 do redis.call('SET', KEYS[1], '1') redis.call('MGET', KEYS[1], KEYS[2], KEYS[3]) "
       "redis.call('EXPIRE', KEYS[1], 0) redis.call('GET', KEYS[1]) redis.call('MGET', KEYS[1], KEYS[2], KEYS[3]) end",
       ["a{t}", "b{t}", "c{t}"]),
    ["EXISTS", "a{t}"],
]


def test_script_data_effects(h):
    h.run(DATA)
    h.done()


# --------------------------------------------------------------------------------------------
# Scripts inside MULTI/EXEC, and WATCH
# --------------------------------------------------------------------------------------------

def test_script_multi_exec(h):
    p, other = h.pair(), h.pair()
    h.run([
        ["SCRIPT", "FLUSH"],
        ["MULTI"], EV("return redis.call('set', KEYS[1], 'in-multi')", [K]), EV(GET_SCRIPT, [K]),
        ["EVALSHA", GET_SHA, "1", K], EV("return redis.call('incr', KEYS[1])", [K]), EV("return +"),
        EV("return {1, {ok='x'}, redis.call('get', KEYS[1])}", [K]), ["SCRIPT", "LOAD", LOADED],
        ["EVALSHA", "ffd632c7d33e571e9f24556ebed26c3479a87130", "0"], EVRO(SET_SCRIPT, [K]), ["EXEC"],
        ["GET", K], ["EVALSHA", LOADED_SHA, "0"],
        # queueing errors abort the transaction
        ["MULTI"], ["EVAL", "return 1"], EV("return 2"), ["EXEC"],
        ["MULTI"], ["EVAL", "return 1", "-1"], ["EVAL", "return 1", "5"], ["EVAL", "return 1", "x"], ["EXEC"],
        ["MULTI"], ["EVALSHA"], ["SCRIPT", "FLUSH", "BAD"], ["SCRIPT", "NOPE"], ["EXEC"],
        ["MULTI"], ["SCRIPT", "KILL"], ["SCRIPT", "EXISTS", LOADED_SHA], ["SCRIPT", "FLUSH"],
        ["SCRIPT", "EXISTS", LOADED_SHA], ["EXEC"],
        ["MULTI"], EV("#!lua flags=no-writes\nreturn redis.call('get', KEYS[1])", [K]),
        EV("#!lua flags=no-writes\nreturn redis.call('set', KEYS[1], 'y')", [K]), ["EXEC"],
        # a script whose key another client changed after WATCH
        ["SET", K2, "0"], ["WATCH", K2],
    ], p)
    h.run([EV("return redis.call('incr', KEYS[1])", [K2])], other)
    h.run([["MULTI"], EV("return redis.call('incr', KEYS[1])", [K2]), ["EXEC"], ["GET", K2],
           ["WATCH", K2], EV("return redis.call('get', KEYS[1])", [K2]),
           ["MULTI"], EV("return redis.call('incr', KEYS[1])", [K2]), ["EXEC"], ["GET", K2]], p)
    # a script run by the watching client itself also touches the key
    h.run([["WATCH", K2], EV("return redis.call('incr', KEYS[1])", [K2]),
           ["MULTI"], ["GET", K2], ["EXEC"]], p)
    h.done()


# --------------------------------------------------------------------------------------------
# Libraries and redis.* helpers
# --------------------------------------------------------------------------------------------

CJSON_SMOKE = """
    local some_map = {s1="Some string", n1=100, a1={"Some","String","Array"}, nil1=nil, b1=true, b2=false}
    local encoded = cjson.encode(some_map)
    local decoded = cjson.decode(encoded)
    assert(table.concat(some_map) == table.concat(decoded))
    local table1 = {one="one", [1]="one"}
    encoded = cjson.encode(table1)
    decoded = cjson.decode(encoded)
    assert(decoded["one"] == table1["one"])
    assert(decoded["1"] == table1[1])
    local array1 = {[1]="one", [2]="two"}
    assert(table.concat(array1) == table.concat(cjson.decode(cjson.encode(array1))))
    local invalid_map = {}
    invalid_map[false] = "false"
    local ok, e = pcall(cjson.encode, invalid_map)
    assert(ok == false)
    ok, e = pcall(cjson.encode, {num1=0/0})
    assert(ok == false)
    return 'ok'
"""

LIBS = [
    # cjson
    EV("return cjson.encode({1,2,'x',true,false})"), EV("return cjson.encode({a=1})"), EV("return cjson.encode({})"),
    EV("return cjson.encode(cjson.null)"), EV("return cjson.encode('a\"b\\n/')"), EV("return cjson.encode(0.1)"),
    EV("return cjson.encode(1e300)"), EV("return cjson.encode(12345678901234)"), EV("return cjson.encode({{}, {{1}}})"),
    EV("return cjson.encode(-0.5)"), EV("return cjson.encode(ARGV[1])", [], ["\x01\xc3\xa9"]),
    EV("local t = cjson.decode(ARGV[1]); return {t.a, t.b[1], t.b[2], tostring(t.c), tostring(t.d == cjson.null)}",
       [], ['{"a":"x","b":[1,2.5],"c":true,"d":null}']),
    EV("return table.concat(cjson.decode('[0.0, -5e3, -1, 0.3e-3, 1023.2, 0e10]'), ' ')"),
    EV("local decoded = cjson.decode('{\"keya\": \"a\", \"keyb\": \"b\"}') return {decoded.keya, decoded.keyb}"),
    EV("return cjson.decode('\"\\\\u00e9\\\\n\"')"), EV("return cjson.decode('123')"), EV("return cjson.decode('[1,')"),
    EV("return cjson.decode('{\"a\":1')"), EV("return cjson.decode('')"), EV("return cjson.decode('nul')"),
    EV("return cjson.encode(function() end)"), EV(CJSON_SMOKE),
    EV("return cjson.encode(cjson.decode(ARGV[1]))", [], ['[1,"two",[3,{"four":4}],null,true]']),
    # cmsgpack
    E(EV(HEX + "return hex(cmsgpack.pack(0.1))"), ("$", b"cb3fb999999999999a")),
    E(EV(HEX + "return hex(cmsgpack.pack(-1099511627776))"), ("$", b"d3ffffff0000000000")),
    EV(HEX + "return hex(cmsgpack.pack({1,2,3}, 'abc', true, false, {a=1}, -1, 255, 65536, 2^40, -32000))"),
    EV(HEX + "return hex(cmsgpack.pack(string.rep('x', 40), {}, 1.5))"),
    EV("local a,b,c = cmsgpack.unpack(cmsgpack.pack('x', 5, {1,2})); return {a,b,c}"),
    EV("local t = cmsgpack.unpack(cmsgpack.pack({k='v', n={1,2}})); return {t.k, t.n[2]}"),
    EV("local e = cmsgpack.pack('a', 'bb', 'ccc'); local off, obj = cmsgpack.unpack_limit(e, 1, 0); "
       "local off2, obj2 = cmsgpack.unpack_limit(e, 1, off); return {off, obj, off2, obj2}"),
    EV("local off, v = cmsgpack.unpack_one(cmsgpack.pack(7)); return {off, v}"),
    EV("return cmsgpack.unpack('')"), EV("return cmsgpack.pack()"),
    EV(HEX + "local a = {x=nil,y=5} local b = {x=a} a['x'] = b local re = cmsgpack.unpack(cmsgpack.pack(a)) "
       "return {hex(cmsgpack.pack(a)), re.x.x.x.x.x.x.x.x.y == re.y, re.y == 5}"),
    # struct
    EV("return struct.pack('>I2', 258)"), EV("return {struct.unpack('>I2I4', struct.pack('>I2I4', 258, 65536))}"),
    EV("return struct.size('>I2I4d')"), EV("return struct.pack('<i4', -2)"), EV("return {struct.unpack('<h', '\\255\\255')}"),
    EV("return {struct.unpack('b', '\\128')}"), EV("return struct.pack('s', 'ab')"),
    EV("return {struct.unpack('>d', struct.pack('>d', 2.5))}"), EV("return struct.pack('bad', 1)"),
    EV("return struct.unpack('>I4', 'ab')"),
    # bit
    EV("assert(bit.tobit(1) == 1); assert(bit.band(1) == 1); assert(bit.bxor(1,2) == 3); "
       "assert(bit.bor(1,2,4,8,16,32,64,128) == 255)"),
    EV("assert(0x7fffffff == 2147483647, 'broken hex literals'); assert(tostring(-1) == '-1', 'broken tostring()')"),
    EV("return {bit.band(0xff, 0x0f), bit.bor(1,2,4), bit.bxor(5,3), bit.lshift(1, 31), bit.rshift(-1, 28), "
       "bit.arshift(-16, 2), bit.bnot(0), bit.tohex(255), bit.tohex(-1, -4), bit.tobit(2^32+5), bit.rol(1, 33), "
       "bit.ror(1, 1), bit.bswap(0x12345678)}"),
    EV("return bit.band('x')"), EV("return bit.tohex(255, 2)"),
    # plain Lua: string, math, table
    EV("return {string.format('%.3f', 1/3), string.rep('ab', 3), ('x'):upper(), #'hello', math.floor(-2.5), "
       "math.huge == 1/0, tostring(1/0), tostring(0/0 ~= 0/0), tostring(2^53), tostring(2^63), 10 % 3, -7 % 3, "
       "tostring(1e15), tostring(123456789012), tostring(0.1), string.format('%d', 3.7), string.format('%5.1s|', 'abc')}"),
    EV("local t = {3, 1, 2} table.sort(t) return t"), EV("return {string.find('hello world', 'o w')}"),
    EV("return {string.gsub('hello', 'l', 'L')}"), EV("return string.byte('A')"), EV("return string.char(72, 105)"),
    EV("return {math.max(1, 5, 3), math.min(2, -1), math.fmod(7, 3), math.abs(-4), math.sqrt(16)}"),
    EV("return tostring(math.pi)"), EV("return {tonumber('0x10'), tonumber('z', 36), tonumber('1e2'), tonumber('abc')}"),
    EV("return select('#', 1, nil, 3)"), EV("return {unpack({1, 2, 3})}"), EV("return {next({})}"),
    EV("return tostring(nil) .. tostring(true)"), EV("return type(coroutine.create(function() end))"),
    EV("local co = coroutine.wrap(function(a) coroutine.yield(a + 1) end) return co(1)"),
    EV("return string.format('%q', 'a\\nb')"), EV("return gcinfo() > 0"), EV("return collectgarbage('count') > 0"),
    # math.random: random per run unless seeded; seeded sequences are Redis's own generator's
    EV("local r = math.random() return r >= 0 and r < 1"),
    EV("local r = math.random(10) return r >= 1 and r <= 10"),
    EV("math.randomseed(ARGV[1]); return {tostring(math.random()), tostring(math.random(100)), tostring(math.random(5, 9))}",
       [], ["10"]),
    EV("math.randomseed(ARGV[1]); return {tostring(math.random()), tostring(math.random(100)), tostring(math.random(5, 9))}",
       [], ["10"]),
    EV("math.randomseed(20); local o = {} for i = 1, 5 do o[i] = math.random(1000) end return o"),
    EV("math.randomseed(0); return tostring(math.random())"), EV("return math.random(0)"), EV("return math.random(5, 1)"),
    EV("return math.random(1, 2, 3)"),
    # redis.* helpers
    EV("return redis.log(redis.LOG_WARNING, 'hello from a script')"),
    EV("return redis.log(redis.LOG_DEBUG, 'a', 'b', 3)"), EV("return {redis.log(redis.LOG_NOTICE, 'x')}"),
    EV("return redis.breakpoint()"), EV("return {redis.breakpoint()}"), EV("return tostring(redis.breakpoint())"),
    EV("return redis.debug('x')"), EV("return {redis.debug('x', 1)}"),
    E(EV("return redis.replicate_commands()"), (":", 1)),
    EV("redis.call('set', KEYS[1], 'bar'); return redis.replicate_commands()", [K]),
    EV("return redis.set_repl(redis.REPL_ALL)"), EV("return redis.set_repl(redis.REPL_NONE)"),
    EV("return redis.set_repl(redis.REPL_AOF)"), EV("return redis.set_repl(redis.REPL_REPLICA)"),
    EV("return redis.set_repl(12345)"), EV("return redis.set_repl(-1)"), EV("return redis.set_repl('a')"),
    EV("redis.call('set', KEYS[1], '1'); redis.set_repl(redis.REPL_NONE); redis.call('set', KEYS[2], '2'); "
       "redis.set_repl(redis.REPL_ALL); return redis.call('mget', KEYS[1], KEYS[2])", [K, K2]),
]


def test_script_libraries(h):
    h.run(LIBS)
    h.done()


# --------------------------------------------------------------------------------------------
# Keys on either shard core: scripts forwarded to the core that owns their keys
# --------------------------------------------------------------------------------------------

def _core_seq(a, b, c, tag):
    return [
        EV("redis.call('set', KEYS[1], ARGV[1]); redis.call('rpush', KEYS[2], ARGV[1], ARGV[2]); "
           "return {redis.call('get', KEYS[1]), redis.call('lrange', KEYS[2], 0, -1)}", [a, b], [tag, "x"]),
        ["GET", a], ["LRANGE", b, "0", "-1"], ["TYPE", b],
        EV(GET_SCRIPT, [a]), ["EVALSHA", GET_SHA, "1", a], ["EVALSHA_RO", GET_SHA, "1", b],
        EVRO("return redis.call('llen', KEYS[1])", [b]),
        EV("return redis.call('incr', KEYS[1])", [a]), EV("return redis.call('incrby', KEYS[1], 2)", [c]), ["GET", c],
        EV("redis.call('del', KEYS[1], KEYS[2]); return redis.call('exists', KEYS[1], KEYS[2])", [a, b]),
        ["EXISTS", a, b],
        EV("return redis.call('set', KEYS[1], ARGV[1], 'EX', 100)", [a], [tag]), ["TTL", a], ["GET", a],
    ]


def test_script_keys_on_each_core(h):
    """Scripts whose keys all live on core 0, and scripts whose keys all live on core 1, sent on
    several connections (so some are accepted by the other core)."""
    pairs = [h.pair() for _ in range(3)]
    h.run([["SCRIPT", "FLUSH"]], pairs[0])
    for i, p in enumerate(pairs):
        h.run(_core_seq(A0, B0, "{%s}c" % T0, "core0-%d" % i) + _core_seq(A1, B1, "{%s}c" % T1, "core1-%d" % i), p)
    for p in pairs:
        h.run([["MGET", A0, B0, "{%s}c" % T0], ["MGET", A1, B1, "{%s}c" % T1], EV("return redis.call('get', KEYS[1])", [A0]),
               EV("return redis.call('get', KEYS[1])", [A1])], p)
    h.done()


def test_script_pipeline_across_cores(h):
    """One socket write mixing scripts for both cores with plain commands: replies in order."""
    pairs = [h.pair() for _ in range(2)]
    for i, p in enumerate(pairs):
        h.run([
            ["SET", A0, "a0"], ["SET", A1, "a1"],
            Pipeline([
                EV("return redis.call('incr', KEYS[1])", ["{%s}n" % T0]), ["GET", A1],
                EV("return redis.call('incr', KEYS[1])", ["{%s}n" % T1]), ["GET", A0],
                EV("return redis.call('append', KEYS[1], ARGV[1])", [A0], ["+0"]),
                EV("return redis.call('append', KEYS[1], ARGV[1])", [A1], ["+1"]),
                ["GET", A0], ["GET", A1], EV("return 'no keys'"), EV("return +"),
                EV("return redis.call('get', KEYS[1])", [A1]), EV("return redis.call('get', KEYS[1])", [A0]),
                ["SCRIPT", "LOAD", GET_SCRIPT], ["EVALSHA", GET_SHA, "1", A0], ["EVALSHA", GET_SHA, "1", A1],
                EVRO("return redis.call('strlen', KEYS[1])", [A1]), EVRO(SET_SCRIPT, [A0]),
                ["MULTI"], EV("return redis.call('incr', KEYS[1])", ["{%s}n" % T0]), ["GET", A1], ["EXEC"],
                ["MGET", "{%s}n" % T0, A0], ["MGET", "{%s}n" % T1, A1], ["PING"],
            ]),
            ["GET", "{%s}n" % T0], ["GET", "{%s}n" % T1],
        ], p)
    h.done()


def _script_error(script, text, keys=()):
    """The error a script raising `text` from its line 1 gets."""
    return ("-", "%s script: %s, on @user_script:1." % (text, sha1(script)))


# Where slotcore differs from Redis on purpose (slotcore-only steps: `Cluster` steps are not
# sent to redis-server). A script runs on one core, synchronously, so it cannot call a command
# that needs every core (KEYS, SCAN, DBSIZE, FLUSHALL, RANDOMKEY, ...); and SELECT takes 0 only,
# as everywhere in slotcore.
EVERY_CORE = "ERR slotcore cannot run '%s' from a script: it needs every core"
SCAN_SCRIPT = "return redis.call('scan', 0)"
DBSIZE_SCRIPT = "return redis.call('dbsize')"
FLUSHALL_SCRIPT = "redis.call('flushall'); return 1"
SELECT_SCRIPT = "return redis.call('select', 99)"
SLOTCORE_ONLY = [
    Cluster(EV(SCAN_SCRIPT), _script_error(SCAN_SCRIPT, EVERY_CORE % "scan")),
    Cluster(EV(DBSIZE_SCRIPT), _script_error(DBSIZE_SCRIPT, EVERY_CORE % "dbsize")),
    Cluster(EV(FLUSHALL_SCRIPT), _script_error(FLUSHALL_SCRIPT, EVERY_CORE % "flushall")),
    Cluster(EV("return redis.pcall('keys', '*')"), ("-", EVERY_CORE % "keys")),
    Cluster(EV(SELECT_SCRIPT), _script_error(SELECT_SCRIPT, "ERR SELECT is not allowed in cluster mode")),
    # Declared keys on two cores: a script runs on one core.
    Cluster(EV("return 1", [A0, A1]),
            ("-", "CROSSSLOT Keys in request don't hash to the same slot (a script's keys must be on "
                  "one core of slotcore: give them a common hash tag)")),
    # An undeclared key on another core than the declared ones.
    Cluster(EV("return redis.pcall('get', ARGV[1])", [A0], [A1]),
            ("-", "ERR Script attempted to access keys that do not hash to the same core (declare "
                  "every key in KEYS, with a common hash tag)")),
    # No declared keys: the script moves to the core of the first key it touches, before any
    # write, and runs there as if it had been sent there.
    EV("redis.call('set', ARGV[1], 'x'); redis.call('set', ARGV[2], 'y'); return redis.call('mget', ARGV[1], ARGV[2])",
       [], [A1, B1]),
    EV("redis.call('set', ARGV[1], 'x'); redis.call('set', ARGV[2], 'y'); return redis.call('mget', ARGV[1], ARGV[2])",
       [], [A0, B0]),
]


def test_script_slotcore_differences(h):
    h.run(SLOTCORE_ONLY)
    h.done()


# Table order: Redis's Lua hashes every character of a string, so tables keyed by long strings
# iterate (and encode) in Redis's order too.
TABLE_ORDER = [
    EV("local t = {} for i = 1, 40 do t[string.rep(string.char(96 + i % 26), 30 + i)] = i end "
       "local out = {} for k, v in pairs(t) do out[#out + 1] = v end return out"),
    EV("local t = {} for i = 1, 12 do t['a long key that is longer than thirty-two bytes ' .. i] = i end "
       "return cjson.encode(t)"),
]


def test_script_table_order(h):
    h.run(TABLE_ORDER)
    h.done()


# DEBUG PROTOCOL: a test value of each reply type, to the client itself and through a script in
# either protocol (Redis's own scripting tests read them this way). `attrib` and `push` carry an
# attribute or a push message in RESP3, which slotcore's replies have no place for: only their
# RESP2 forms are compared.
PROTOCOL_TYPES = ["string", "integer", "double", "bignum", "null", "array", "set", "map", "true",
                  "false", "verbatim"]
DEBUG_PROTOCOL = (
    [["DEBUG", "PROTOCOL", name] for name in PROTOCOL_TYPES + ["attrib", "push", "nope"]]
    + [["DEBUG", "SET-DISABLE-DENY-SCRIPTS", "1"]]
    + [EV("redis.setresp(%d) return redis.call('debug', 'protocol', '%s')" % (resp, name))
       for resp in (2, 3) for name in PROTOCOL_TYPES + ["attrib"]]
    + [["DEBUG", "SET-DISABLE-DENY-SCRIPTS", "0"], EV("return redis.pcall('debug', 'protocol', 'string')")]
)


def test_debug_protocol(h):
    h.run(DEBUG_PROTOCOL)
    p3 = h.pair()
    h.run([["HELLO", "3"]] + [s for s in DEBUG_PROTOCOL if "attrib" not in s and "push" not in s], p3)
    h.done()
