"""redis-py's RedisCluster running Lua scripts against a running cluster: a registered script
over keys of every node (EVALSHA, and EVAL where a node has not seen it yet), redis-py's Lock
(whose release and extend are scripts), and EVAL with no keys.

Run by `tests/cluster.rs` (`redis_py_cluster_runs_scripts_and_locks`):
`python3 rediscluster_scripts.py PORT`. It prints one line starting with `OK` and exits 0 when
everything answered as Redis does; otherwise it raises (exit status 1, traceback on stderr).
"""

import sys

from redis.cluster import RedisCluster
from redis.exceptions import LockError


def main() -> None:
    port = int(sys.argv[1])
    client = RedisCluster(host="127.0.0.1", port=port, socket_timeout=10, socket_connect_timeout=5)

    # A registered script runs through EVALSHA on the node of its key; redis-py loads it there
    # on NOSCRIPT.
    incrby = client.register_script("return redis.call('incrby', KEYS[1], ARGV[1])")
    for round_ in (1, 2):
        for i in range(200):
            assert incrby(keys=[f"pyscript:{i}"], args=[i]) == i * round_, (round_, i)
    assert client.get("pyscript:199") == b"398"

    # Several keys of one slot, and a script's error as redis-py raises it.
    swap = client.register_script(
        "local a = redis.call('get', KEYS[1]) redis.call('set', KEYS[1], redis.call('get', KEYS[2])) "
        "redis.call('set', KEYS[2], a) return {redis.call('get', KEYS[1]), redis.call('get', KEYS[2])}")
    client.mset({"{pyswap}a": "1", "{pyswap}b": "2"})
    assert swap(keys=["{pyswap}a", "{pyswap}b"]) == [b"2", b"1"]
    try:
        client.eval("return redis.call('incr', KEYS[1])", 1, "{pyswap}a")
        client.set("{pyswap}s", "x")
        client.eval("return redis.call('incr', KEYS[1])", 1, "{pyswap}s")
        raise AssertionError("INCR of a string inside a script did not fail")
    except Exception as error:  # redis.exceptions.ResponseError
        assert "value is not an integer or out of range script:" in str(error), error

    # redis-py's Lock: SET NX PX to take it, scripts to extend and release it.
    lock = client.lock("pylock:resource", timeout=10, blocking_timeout=1)
    assert lock.acquire()
    assert not client.lock("pylock:resource", timeout=10, blocking_timeout=0.1).acquire()
    assert lock.extend(5)
    assert lock.owned()
    lock.release()
    assert not lock.locked()
    # A lock taken and lost (expired) cannot be released: the release script sees another token.
    lost = client.lock("pylock:lost", timeout=0.2)
    assert lost.acquire()
    client.set("pylock:lost", "someone else's token")
    try:
        lost.release()
        raise AssertionError("releasing a lock someone else holds did not fail")
    except LockError:
        pass

    # EVAL without keys goes to any node.
    assert client.eval("return 'hello'", 0) == b"hello"
    client.close()
    print("OK scripts")


if __name__ == "__main__":
    main()
