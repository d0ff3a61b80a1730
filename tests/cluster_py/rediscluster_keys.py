"""redis-py's RedisCluster against a running cluster: writes and reads back COUNT keys.

Run by `tests/cluster.rs` (`redis_py_cluster_writes_and_reads_keys`) against a fresh slotcore
cluster: `python3 rediscluster_keys.py PORT COUNT`. It prints one line starting with `OK` and
exits 0 when every key reads back; otherwise it raises (exit status 1, traceback on stderr).
"""

import sys

from redis.cluster import RedisCluster


def main() -> None:
    port = int(sys.argv[1])
    count = int(sys.argv[2])
    client = RedisCluster(
        host="127.0.0.1",
        port=port,
        socket_timeout=10,
        socket_connect_timeout=5,
    )
    masters = client.get_primaries()
    assert len(masters) == 3, f"expected 3 masters, got {masters}"

    half = count // 2
    # Half the keys one command at a time, half through a cluster pipeline.
    for i in range(half):
        assert client.set(f"py:{i}", f"value:{i}") is True
    pipe = client.pipeline()
    for i in range(half, count):
        pipe.set(f"py:{i}", f"value:{i}")
    replies = pipe.execute()
    assert replies == [True] * (count - half), replies[:10]

    for i in range(count):
        value = client.get(f"py:{i}")
        assert value == f"value:{i}".encode(), (i, value)

    # Multi-key commands inside one hash tag.
    assert client.mset({"{py}a": "1", "{py}b": "2", "{py}c": "3"}) is True
    assert client.mget("{py}a", "{py}b", "{py}c", "{py}missing") == [b"1", b"2", b"3", None]

    # Every master holds part of the keys.
    sizes = client.dbsize(target_nodes=RedisCluster.PRIMARIES)
    total = sizes if isinstance(sizes, int) else sum(sizes.values())
    assert total == count + 3, (sizes, count)
    client.close()
    print(f"OK {count} keys")


if __name__ == "__main__":
    main()
