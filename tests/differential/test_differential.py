"""Differential test: the same command sequences go to a real redis-server 7.0 and to slotcore,
and the raw replies (typed reply trees, see resp.py) must be equal.

Sequences are plain data: a list of steps, where a step is
    ["CMD", "arg", ...]          a command; compared exactly unless NORMALIZE has a rule for it
    C(["CMD", ...], rule=fn)     a command with an explicit comparison rule
    Sleep(seconds)               wait once (both servers already got the previous commands)
    Inline(b"raw bytes", n)      raw bytes (inline commands, protocol errors); n replies each
    Closed()                     both servers must have closed the connection (it is reopened)
    Poll(["CMD"], expect, t)     repeat the command on each server until it replies `expect`
    ScanAll([...])               loop SCAN 0 <args> to cursor 0; compare the SET of keys
    E(["CMD", ...], reply)       both servers must reply exactly `reply` (anchors the harness)
    Cluster(["CMD"], reply)      cluster-mode-only behaviour: not sent to redis (standalone);
                                 slotcore must reply `reply` (skipped for a redis stand-in)
    Pipeline([[...], ...])       all commands in ONE socket write, replies compared in order

Normalisation exists only where output is inherently nondeterministic; it is listed per command
in NORMALIZE below. Error replies are ALWAYS compared byte-exactly, whatever the rule.

Run:      python3 -m pytest tests/differential -q
Env:      SLOTCORE_BIN      slotcore binary (default <repo>/target/release/slotcore)
          REDIS_SERVER_BIN  reference server (default: redis-server on PATH)
          DIFF_TRACE=FILE   append every compared step (both replies) to FILE
          DIFF_KEEP_DIRS=1  keep the servers' temp dirs (logs) after the run
A failing test lists all its divergences (command, redis reply, slotcore reply) plus the tail of
slotcore's log. To prove the harness itself, point SLOTCORE_BIN at a stand-in that execs
redis-server without slotcore's own flags; everything must pass then:
    #!/bin/bash
    args=(); while [ $# -gt 0 ]; do case "$1" in --shards) shift 2;; *) args+=("$1"); shift;; esac; done
    exec /usr/bin/redis-server "${args[@]}" --save "" --appendonly no --daemonize no
"""

import os
import random
import re
import socket
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from resp import Conn, ConnectionClosed, encode, pairs_of, to_text  # noqa: E402

CONN_TIMEOUT = 2.0
MAX_TIMEOUTS = 3  # per test: a server that stops answering must not stall the whole run
TRACE = os.environ.get("DIFF_TRACE")  # file path: every compared step is appended there


# --------------------------------------------------------------------------------------------
# Step types
# --------------------------------------------------------------------------------------------

class C:
    def __init__(self, args, rule=None):
        self.args = list(args)
        self.rule = rule


class Sleep:
    def __init__(self, seconds):
        self.seconds = seconds


class Inline:
    def __init__(self, data, n=1):
        self.data = data
        self.n = n


class Closed:
    pass


class Poll:
    def __init__(self, args, expect, timeout=2.0):
        self.args = list(args)
        self.expect = expect
        self.timeout = timeout


class ScanAll:
    def __init__(self, args=()):
        self.args = list(args)


class Cluster:
    def __init__(self, args, expect):
        self.args = list(args)
        self.expect = expect


class E:
    """A command whose exact reply is known: both servers must give `expect`."""
    def __init__(self, args, expect):
        self.args = list(args)
        self.expect = expect


class Gap:
    """A known, documented divergence from Redis 7.0 (see docs/COMPATIBILITY.md).
    Sent to both servers so their state stays in step; the replies are not compared, but
    slotcore must answer. Every gap hit is listed at the end of the run."""
    def __init__(self, args, reason):
        self.args = list(args)
        self.reason = reason


class Newer:
    """A command from a later Redis that slotcore implements on purpose (e.g. CLIENT SETINFO,
    7.2): not sent to redis 7.0; slotcore must reply `expect`."""
    def __init__(self, args, expect):
        self.args = list(args)
        self.expect = expect


KNOWN_GAPS = []


class Pipeline:
    def __init__(self, cmds):
        self.cmds = [list(c) for c in cmds]


# --------------------------------------------------------------------------------------------
# Normalisation rules: rule(redis_reply, slotcore_reply, args, harness) -> (a, b) to compare
# --------------------------------------------------------------------------------------------

def _s(x):
    return x.decode("latin-1") if isinstance(x, bytes) else str(x)


def is_error(r):
    return r[0] in ("-", "!")


def exact(ra, rb, args, h):
    return ra, rb


def int_type(ra, rb, args, h):
    """Only the reply type matters (the value is nondeterministic)."""
    f = lambda r: (":", "<int>") if r[0] == ":" else r  # noqa: E731
    return f(ra), f(rb)


def sorted_array(ra, rb, args, h):
    f = lambda r: (r[0], sorted(r[1], key=repr)) if r[0] in ("*", "~") else r  # noqa: E731
    return f(ra), f(rb)


def tolerance(delta):
    """Non-negative integers within `delta` of each other are equal (TTLs, expire times)."""
    def rule(ra, rb, args, h):
        if (ra[0] == rb[0] == ":" and ra[1] >= 0 and rb[1] >= 0
                and abs(ra[1] - rb[1]) <= delta):
            return ra, ra
        return ra, rb
    rule.__name__ = "tolerance(%s)" % delta
    return rule


def time_rule(ra, rb, args, h):
    def f(r):
        if (r[0] == "*" and len(r[1]) == 2 and all(x[0] == "$" and x[1].isdigit() for x in r[1])
                and int(r[1][1][1]) < 1000000):
            return ("*", [("$", b"<seconds>"), ("$", b"<micros>")]), int(r[1][0][1])
        return r, None
    na, sa = f(ra)
    nb, sb = f(rb)
    if sa is not None and sb is not None and abs(sa - sb) > 2:
        nb = ("TIME differs by %ss" % (sb - sa),)
    return na, nb


def member_of(keys):
    """RANDOMKEY: a bulk reply that is one of `keys` (or nil when keys is empty)."""
    keys = {k.encode() if isinstance(k, str) else k for k in keys}

    def rule(ra, rb, args, h):
        f = lambda r: ("$", b"<member>") if r[0] == "$" and r[1] in keys else r  # noqa: E731
        return f(ra), f(rb)
    rule.__name__ = "member_of"
    return rule


def random_key_rule(ra, rb, args, h):
    f = lambda r: ("$", b"<some key>") if r[0] == "$" else r  # noqa: E731
    return f(ra), f(rb)


def scan_page_rule(ra, rb, args, h):
    """A single SCAN page: cursors and page contents are implementation-specific; shape only."""
    def f(r):
        if r[0] == "*" and len(r[1]) == 2 and r[1][0][0] == "$" and r[1][1][0] in ("*",):
            return ("*", [("$", b"<cursor>"), ("*", "<keys>")])
        return r
    return f(ra), f(rb)


CLIENT_DETERMINISTIC_FIELDS = ("name", "db", "resp", "cmd", "flags", "multi", "sub", "psub", "qbuf")


def _client_fields(line):
    out = []
    for tok in line.split(" "):
        k, _, v = tok.partition("=")
        out.append((k, v))
    return out


def client_list_rule(ra, rb, args, h):
    """CLIENT LIST: field names of each line (as a set of schemas) + set of client names."""
    def f(r):
        if r[0] not in ("$", "="):
            return r
        lines = [ln for ln in to_text(r).split("\n") if ln]
        schemas = sorted({tuple(k for k, _ in _client_fields(ln)) for ln in lines})
        names = sorted({v for ln in lines for k, v in _client_fields(ln) if k == "name" and v})
        return ("client-list", r[0], schemas, names, bool(lines))
    return f(ra), f(rb)


def client_info_rule(ra, rb, args, h):
    """CLIENT INFO: field names, plus the values of the deterministic fields."""
    def f(r):
        if r[0] not in ("$", "="):
            return r
        text = to_text(r)
        fields = _client_fields(text.rstrip("\n"))
        return ("client-info", r[0], [k for k, _ in fields],
                {k: v for k, v in fields if k in CLIENT_DETERMINISTIC_FIELDS},
                text.endswith("\n"))
    return f(ra), f(rb)


def hello_rule(ra, rb, args, h):
    """HELLO: `id` is a per-server counter; `mode` is standalone on redis, and on slotcore
    `cluster` when its INFO says cluster_enabled:1, else `standalone`."""
    def f(r, mode):
        if r[0] not in ("*", "%"):
            return r
        out = []
        for k, v in pairs_of(r):
            if k[0] in ("$", "+") and _s(k[1]) == "id" and v[0] == ":":
                v = (":", "<id>")
            if k[0] in ("$", "+") and _s(k[1]) == "mode" and v[0] in ("$", "+") and _s(v[1]) == mode:
                v = (v[0], "<mode>")
            out.append((k, v))
        return (r[0], out)
    return f(ra, "standalone"), f(rb, "cluster" if h.servers.slotcore_cluster else "standalone")


INFO_REQUIRED_FIELDS = {
    "server": ["redis_version", "redis_git_sha1", "redis_mode", "os", "arch_bits",
               "multiplexing_api", "process_id", "run_id", "tcp_port", "server_time_usec",
               "uptime_in_seconds", "uptime_in_days", "hz", "configured_hz", "lru_clock",
               "executable", "config_file"],
    "clients": ["connected_clients", "cluster_connections", "maxclients",
                "client_recent_max_input_buffer", "client_recent_max_output_buffer",
                "blocked_clients", "tracking_clients", "clients_in_timeout_table"],
    "memory": ["used_memory", "used_memory_human", "used_memory_rss", "used_memory_peak",
               "used_memory_peak_human", "used_memory_dataset", "total_system_memory",
               "maxmemory", "maxmemory_human", "maxmemory_policy", "mem_fragmentation_ratio",
               "mem_allocator"],
    "persistence": ["loading", "rdb_changes_since_last_save", "rdb_bgsave_in_progress",
                    "aof_enabled"],
    "stats": ["total_connections_received", "total_commands_processed",
              "instantaneous_ops_per_sec", "total_net_input_bytes", "total_net_output_bytes",
              "rejected_connections", "expired_keys", "evicted_keys", "keyspace_hits",
              "keyspace_misses", "pubsub_channels", "total_error_replies",
              "total_reads_processed", "total_writes_processed"],
    "replication": ["role", "connected_slaves", "master_failover_state", "master_replid",
                    "master_replid2", "master_repl_offset", "second_repl_offset",
                    "repl_backlog_active", "repl_backlog_size"],
    "cpu": ["used_cpu_sys", "used_cpu_user", "used_cpu_sys_children", "used_cpu_user_children"],
    "cluster": ["cluster_enabled"],
}


def parse_info(text):
    sections = []  # [(header, {field: value})]
    cur = None
    for line in text.split("\r\n"):
        if not line:
            continue
        if line.startswith("# "):
            cur = (line[2:], {})
            sections.append(cur)
        elif cur is not None:
            k, _, v = line.partition(":")
            cur[1][k] = v
        else:
            sections.append(("<no header>", {line: ""}))
    return sections


def _kv(v):
    return dict(p.partition("=")[::2] for p in v.split(","))


def info_rule_factory(values=False):
    """INFO: same section headers in the same order, required fields present; keyspace
    keys/expires compared. With values=True (after CONFIG RESETSTAT), commandstats calls,
    errorstats counts and latencystats names are compared too."""
    def rule(ra, rb, args, h):
        def f(r):
            if r[0] not in ("$", "="):
                return r
            text = to_text(r)
            secs = parse_info(text)
            out = {"type": r[0], "headers": [s for s, _ in secs], "crlf": text.endswith("\r\n") or not text}
            present = {}
            for name, fields in secs:
                req = INFO_REQUIRED_FIELDS.get(name.lower(), [])
                if req:
                    present[name] = {x: ("present" if x in fields else "MISSING") for x in req}
                if name == "Keyspace":
                    out["keyspace"] = {k: {kk: vv for kk, vv in _kv(v).items() if kk in ("keys", "expires")}
                                       for k, v in fields.items()}
                if values and name == "Commandstats":
                    out["commandstats"] = {k: {kk: vv for kk, vv in _kv(v).items()
                                               if kk in ("calls", "rejected_calls", "failed_calls")}
                                           for k, v in fields.items()}
                if values and name == "Errorstats":
                    out["errorstats"] = fields
                if values and name == "Latencystats":
                    out["latencystats"] = sorted(fields)
            out["required_fields"] = present
            return out
        return f(ra), f(rb)
    rule.__name__ = "info_values_rule" if values else "info_rule"
    return rule


info_rule = info_rule_factory(values=False)
info_values_rule = info_rule_factory(values=True)

# A slotcore node is a cluster node: these params read differently from a standalone redis.
CONFIG_CLUSTER_MODE = {"cluster-enabled": b"yes"}

# Per-instance values (and `save`, which the redis command line sets to "" but slotcore's doesn't).
CONFIG_VOLATILE = {"port", "dir", "pidfile", "logfile", "bind", "unixsocket", "dbfilename",
                   "cluster-config-file", "tls-port", "save"}


def config_get_rule(ra, rb, args, h):
    """CONFIG GET: pairs compared as a sorted list (clients read it as a map); values of
    per-instance params (port, dir, ...) are not compared. For glob patterns only the params
    both servers know are compared; for literal names every param must match."""
    glob = any(re.search(r"[*?\[]", _s(a)) for a in args[2:])

    def f(r, slotcore):
        if r[0] not in ("*", "%"):
            return None
        d = {}
        for k, v in pairs_of(r):
            name = _s(k[1]) if k[0] in ("$", "+") else repr(k)
            if name in CONFIG_VOLATILE:
                v = (v[0], "<varies>")
            elif name in CONFIG_CLUSTER_MODE and slotcore and h.servers.slotcore_cluster:
                if v[0] == "$" and v[1] == CONFIG_CLUSTER_MODE[name]:
                    v = ("$", b"no")  # what the standalone redis says
            d[name] = v
        return d
    da, db = f(ra, False), f(rb, True)
    if da is None or db is None:
        return ra, rb
    if glob:
        common = set(da) & set(db)
        da = {k: v for k, v in da.items() if k in common}
        db = {k: v for k, v in db.items() if k in common}
    return (ra[0], sorted(da.items())), (rb[0], sorted(db.items()))


def command_list_rule(ra, rb, args, h):
    """COMMAND LIST: every command slotcore lists must be one redis lists (no duplicates)."""
    if ra[0] != "*" or rb[0] != "*":
        return ra, rb
    ref = {_s(x[1]).lower() for x in ra[1] if x[0] == "$"}
    names = [_s(x[1]).lower() if x[0] == "$" else repr(x) for x in rb[1]]
    extra = sorted(n for n in set(names) if n not in ref)
    dups = sorted({n for n in names if names.count(n) > 1})
    if extra or dups or not names:
        return ("COMMAND LIST ok",), ("COMMAND LIST", "not in redis:", extra, "duplicates:", dups)
    return ("COMMAND LIST ok",), ("COMMAND LIST ok",)


def _entry_name(entry):
    """The name of one COMMAND INFO entry (an array whose first item is the name)."""
    if entry[0] == "*" and entry[1] and entry[1][0][0] == "$":
        return _s(entry[1][0][1]).lower()
    return None


def _info_entry(ra_entry, rb_entry):
    """One COMMAND INFO entry pair with its subcommands (10th item) put in name order, keeping on
    the redis side only the subcommands slotcore lists: Redis lists a container's subcommands in
    its hash table's order (random per process), and slotcore lists only those it implements."""
    def subs(entry):
        if entry[0] != "*" or len(entry[1]) != 10 or entry[1][9][0] != "*":
            return None
        return {_entry_name(e): e for e in entry[1][9][1]}
    sa, sb = subs(ra_entry), subs(rb_entry)
    if sa is None or sb is None or not sb:
        return ra_entry, rb_entry
    keep = sorted(sb)
    fixed_a = ("*", ra_entry[1][:9] + [("*", [sa.get(n, ("missing in redis", n)) for n in keep])])
    fixed_b = ("*", rb_entry[1][:9] + [("*", [sb[n] for n in keep])])
    return fixed_a, fixed_b


def command_info_rule(ra, rb, args, h):
    """COMMAND INFO name...: entries compared one by one (see _info_entry). Without names (and for
    plain COMMAND) both list all their commands in hash-table order: slotcore's entries are
    compared with redis's entries of the same names."""
    if ra[0] != "*" or rb[0] != "*":
        return ra, rb
    if len(args) <= 2:
        by_name = {_entry_name(e): e for e in ra[1]}
        pairs = [(by_name.get(_entry_name(e), ("missing in redis",)), e) for e in rb[1]]
        pairs.sort(key=lambda pair: repr(_entry_name(pair[1])))
    else:
        pairs = list(zip(ra[1], rb[1])) if len(ra[1]) == len(rb[1]) else None
        if pairs is None:
            return ra, rb
    fixed = [_info_entry(a, b) for a, b in pairs]
    return ("*", [a for a, _ in fixed]), ("*", [b for _, b in fixed])


def _map_like(reply, pairs):
    """Rebuilds a map reply in the wire shape of `reply` (RESP3 map or RESP2 flat array)."""
    if reply[0] == "%":
        return ("%", pairs)
    return ("*", [x for pair in pairs for x in pair])


def _docs_entry(da, db):
    """One COMMAND DOCS entry pair; its `subcommands` map in name order, redis's cut down to the
    subcommands slotcore has (as for COMMAND INFO)."""
    try:
        fa, fb = pairs_of(da), pairs_of(db)
    except ValueError:
        return da, db
    subs_a = [v for k, v in fa if k == ("$", b"subcommands")]
    subs_b = [v for k, v in fb if k == ("$", b"subcommands")]
    if not subs_a or not subs_b:
        return da, db
    ma, mb = dict(pairs_of(subs_a[0])), dict(pairs_of(subs_b[0]))
    keep = sorted(mb, key=repr)
    new_a = _map_like(subs_a[0], [(k, ma.get(k, ("missing in redis",))) for k in keep])
    new_b = _map_like(subs_b[0], [(k, mb[k]) for k in keep])
    fa = [(k, new_a if k == ("$", b"subcommands") else v) for k, v in fa]
    fb = [(k, new_b if k == ("$", b"subcommands") else v) for k, v in fb]
    return _map_like(da, fa), _map_like(db, fb)


def command_docs_rule(ra, rb, args, h):
    """COMMAND DOCS: entries compared by name (see _docs_entry); without names, slotcore's
    commands against redis's entries of the same names."""
    try:
        pa, pb = pairs_of(ra), pairs_of(rb)
    except ValueError:
        return ra, rb
    da = dict(pa)
    if len(args) <= 2:
        pairs = sorted(((k, da.get(k, ("missing in redis",)), v) for k, v in pb), key=repr)
    elif [k for k, _ in pa] == [k for k, _ in pb]:
        pairs = [(k, va, vb) for (k, va), (_, vb) in zip(pa, pb)]
    else:
        return ra, rb
    fixed = [(k,) + _docs_entry(va, vb) for k, va, vb in pairs]
    return (_map_like(ra, [(k, a) for k, a, _ in fixed]), _map_like(rb, [(k, b) for k, _, b in fixed]))


_SLOTCORE_COMMANDS = []


def slotcore_command_names(h):
    """Every command and subcommand slotcore lists (COMMAND LIST), asked once."""
    if not _SLOTCORE_COMMANDS:
        c = Conn(h.servers.slotcore.port, timeout=CONN_TIMEOUT)
        try:
            reply = c.call("COMMAND", "LIST")
        finally:
            c.close()
        _SLOTCORE_COMMANDS.extend(sorted(_s(x[1]).lower() for x in reply[1]))
    return _SLOTCORE_COMMANDS


def command_list_filter_rule(ra, rb, args, h):
    """COMMAND LIST FILTERBY ...: redis's names that slotcore implements, as a sorted list, against
    slotcore's (hash-table order differs; duplicates would still show)."""
    if ra[0] != "*" or rb[0] != "*":
        return ra, rb
    mine = set(slotcore_command_names(h))
    return (("*", sorted(_s(x[1]).lower() for x in ra[1] if _s(x[1]).lower() in mine)),
            ("*", sorted(_s(x[1]).lower() for x in rb[1])))


def debug_object_rule(ra, rb, args, h):
    """DEBUG OBJECT: field names (addresses, lru differ), plus the encoding value."""
    def f(r):
        if r[0] != "+":
            return r
        toks = r[1].split(" ")
        names = [t.partition(":")[0] for t in toks]
        enc = [t for t in toks if t.startswith("encoding:")]
        return ("+", names, enc)
    return f(ra), f(rb)


# Explicit per-command normalisation table. Anything not listed is compared exactly.
NORMALIZE = {
    "TIME": time_rule,                       # clock
    "CLIENT ID": int_type,                   # per-server counter
    "CLIENT LIST": client_list_rule,         # addr, fd, age, memory figures
    "CLIENT INFO": client_info_rule,         # same
    "HELLO": hello_rule,                     # id; mode standalone vs cluster
    "INFO": info_rule,                       # figures; headers + field presence only
    "COMMAND COUNT": int_type,               # slotcore implements a subset
    "COMMAND LIST": command_list_rule,       # subset check
    "COMMAND": command_info_rule,            # all commands: compared by name
    "COMMAND INFO": command_info_rule,       # subcommand order; only slotcore's subcommands
    "COMMAND DOCS": command_docs_rule,       # same
    "COMMAND GETKEYS": exact,
    "RANDOMKEY": random_key_rule,            # random; sequences pass member_of(keys)
    "SCAN": scan_page_rule,                  # cursors differ; ScanAll compares key sets
    "KEYS": sorted_array,                    # hash-table order
    "OBJECT FREQ": int_type,                 # counter with random decay
    "OBJECT IDLETIME": int_type,             # clock
    "MEMORY USAGE": int_type,                # allocator-specific
    "DEBUG SLEEP": exact,
    "DEBUG OBJECT": debug_object_rule,       # pointer address, lru clock
    "CONFIG GET": config_get_rule,           # port/dir differ; globs: common params only
    "TTL": tolerance(1),                     # clock
    "PTTL": tolerance(250),
    "EXPIRETIME": tolerance(1),
    "PEXPIRETIME": tolerance(250),
}

SUBCOMMAND_CMDS = {"CLIENT", "COMMAND", "CONFIG", "OBJECT", "MEMORY", "DEBUG"}


def cmd_key(args):
    name = _s(args[0]).upper()
    if name in SUBCOMMAND_CMDS and len(args) > 1:
        return name + " " + _s(args[1]).upper()
    return name


def rule_for(args):
    return NORMALIZE.get(cmd_key(args), exact)


# --------------------------------------------------------------------------------------------
# Harness
# --------------------------------------------------------------------------------------------

def fmt_args(args):
    out = []
    for a in args:
        s = _s(a) if not isinstance(a, bytes) else a.decode("latin-1")
        if len(s) > 60:
            s = s[:40] + "...(%d bytes)" % len(s)
        out.append(repr(s) if (" " in s or not s or "\\" in s or any(ord(c) < 32 for c in s)) else s)
    return " ".join(out)


def short(r, limit=400):
    s = repr(r)
    return s if len(s) <= limit else s[:limit] + "...(%d chars)" % len(s)


RESP_TYPES = {"+", "-", ":", "$", "*", "nil", "*nil", "_", ",", "#", "(", "=", "!", "%", "~", ">", "|"}


def explain(a, b, path="", depth=0):
    """Where two (normalised) trees first differ, as 'path: a != b'."""
    if depth < 12 and type(a) is type(b):
        if isinstance(a, dict):
            keys = sorted(set(a) | set(b), key=repr)
            diffs = ["%s[%r]: %s" % (path, k, "missing on redis" if k not in a else
                                     "missing on slotcore" if k not in b else explain(a[k], b[k], "", depth + 1))
                     for k in keys if a.get(k, "<absent>") != b.get(k, "<absent>")]
            return "; ".join(diffs[:8]) + (" ... (%d more)" % (len(diffs) - 8) if len(diffs) > 8 else "")
        if isinstance(a, list) and a and b and all(
                isinstance(x, tuple) and len(x) == 2 and isinstance(x[0], str)
                and x[0] not in RESP_TYPES for x in a + b):
            da, db = dict(a), dict(b)  # a sorted list of (name, value): explain it as a map
            if len(da) == len(a) and len(db) == len(b):
                return explain(da, db, path, depth + 1)
        if isinstance(a, (list, tuple)):
            if len(a) == len(b):
                diffs = [explain(x, y, "%s[%d]" % (path, i), depth + 1)
                         for i, (x, y) in enumerate(zip(a, b)) if x != y]
                return "; ".join(diffs[:6]) + (" ... (%d more)" % (len(diffs) - 6) if len(diffs) > 6 else "")
            else:
                sa, sb = set(map(repr, a)), set(map(repr, b))
                return "%s: only on redis %s; only on slotcore %s" % (
                    path, short(sorted(sa - sb), 300), short(sorted(sb - sa), 300))
    return "%s%s != %s" % (path + ": " if path else "", short(a, 200), short(b, 200))


class Pair:
    """One connection to redis (r) and one to slotcore (s)."""

    def __init__(self, servers):
        self.servers = servers
        self.open()

    def open(self):
        self.r = Conn(self.servers.redis.port, timeout=CONN_TIMEOUT)
        self.s = Conn(self.servers.slotcore.port, timeout=CONN_TIMEOUT)

    def reopen(self):
        self.close()
        self.open()

    def close(self):
        self.r.close()
        self.s.close()


class Harness:
    def __init__(self, servers, name):
        self.servers = servers
        self.name = name
        self.standin = servers.standin
        self.diffs = []
        self.pairs = []
        self.count = 0
        self.timeouts = 0
        self.pos = None

    def pair(self):
        p = Pair(self.servers)
        self.pairs.append(p)
        return p

    def close(self):
        for p in self.pairs:
            p.close()

    def diff(self, what, ra, rb, note=""):
        if self.pos is not None:
            what = "%s   (step #%d)" % (what, self.pos)
        self.diffs.append((what, ra, rb, note))

    def done(self):
        self.close()
        if self.diffs:
            lines = ["%d divergence(s) in %s (of %d compared steps):" % (len(self.diffs), self.name, self.count)]
            for what, ra, rb, note in self.diffs:
                lines.append("  > %s%s" % (what, ("   [" + note + "]") if note else ""))
                lines.append("      redis:    %s" % short(ra))
                lines.append("      slotcore: %s" % short(rb))
            pytest.fail("\n".join(lines), pytrace=False)

    # -- comparison ------------------------------------------------------------------------

    def compare(self, args, ra, rb, rule=None, what=None):
        self.count += 1
        rule = rule or rule_for(args)
        if is_error(ra) or is_error(rb) or ra[0].startswith("<") or rb[0].startswith("<"):
            na, nb, rule = ra, rb, exact  # errors and lost connections: always exact
        else:
            na, nb = rule(ra, rb, args, self)
        if TRACE:
            with open(TRACE, "a") as f:
                f.write("%s %s\n    redis:    %s\n    slotcore: %s\n" % (
                    "OK  " if na == nb else "DIFF", what or fmt_args(args), short(ra), short(rb)))
        if na != nb:
            if rule is not exact:
                note = "after %s normalisation: %s" % (getattr(rule, "__name__", "rule"), explain(na, nb))
            elif len(repr(ra)) + len(repr(rb)) > 300:
                note = "differs at " + explain(na, nb)
            else:
                note = ""
            self.diff(what or fmt_args(args), ra, rb, note)
            return False
        return True

    def _read(self, conn):
        try:
            return conn.read()
        except ConnectionClosed:
            return ("<closed>",)
        except socket.timeout:
            return ("<timeout>",)
        except OSError as e:
            return ("<error %s>" % e,)

    def _send(self, conn, data):
        try:
            conn.send_raw(data)
        except OSError:
            pass

    def exchange(self, p, data, n=1):
        self._send(p.r, data)
        self._send(p.s, data)
        return self._read_n(p.r, n), self._read_n(p.s, n)

    def _read_n(self, conn, n):
        out = []
        for _ in range(n):
            r = self._read(conn)
            out.append(r)
            if r[0].startswith("<"):  # closed / timed out: do not wait again for the rest
                out += [("<no reply: %s>" % r[0].strip("<>"),)] * (n - len(out))
                break
        return out

    def check_alive(self):
        if not self.servers.slotcore.alive():
            self.diff("slotcore process", ("running",), ("EXITED rc=%s" % self.servers.slotcore.proc.returncode,))
            self.done()

    def _resync(self, p, ra, rb):
        """After a lost connection or a missing reply the streams cannot be trusted: reopen."""
        if any(r[0].startswith("<") for r in ra + rb):
            self.check_alive()
            if any(r[0] == "<timeout>" for r in ra + rb):
                self.timeouts += 1
                if self.timeouts >= MAX_TIMEOUTS:
                    self.diff("giving up on this test after %d reply timeouts" % self.timeouts, ("",), ("",))
                    self.done()
            p.reopen()

    # -- running sequences -----------------------------------------------------------------

    def run(self, seq, p=None):
        p = p or self.pair()
        for i, step in enumerate(seq):
            self.pos = i
            self.step(p, step)
        self.pos = None
        return p

    def step(self, p, step):
        if isinstance(step, (list, tuple)):
            step = C(step)
        if isinstance(step, C):
            ra, rb = self.exchange(p, encode(step.args))
            self.compare(step.args, ra[0], rb[0], step.rule)
            self._resync(p, ra, rb)
            self.check_no_extra(p, step.args)
        elif isinstance(step, E):
            ra, rb = self.exchange(p, encode(step.args))
            self.count += 1
            if ra[0] != step.expect:
                self.diff("%s (anchor: redis itself differs from the expected reply %r)"
                          % (fmt_args(step.args), step.expect), ra[0], rb[0])
            elif rb[0] != step.expect:
                self.diff(fmt_args(step.args), ra[0], rb[0])
            self._resync(p, ra, rb)
        elif isinstance(step, Sleep):
            time.sleep(step.seconds)
        elif isinstance(step, Inline):
            ra, rb = self.exchange(p, step.data, step.n)
            for i in range(step.n):
                self.compare(["<inline>"], ra[i], rb[i], exact,
                             what="inline %r (reply %d)" % (step.data, i + 1))
            self._resync(p, ra, rb)
        elif isinstance(step, Closed):
            ca, cb = p.r.is_closed_by_peer(), p.s.is_closed_by_peer()
            self.count += 1
            if ca != cb:
                self.diff("connection closed after previous command?", ("closed" if ca else "open",),
                          ("closed" if cb else "open",))
            p.reopen()
        elif isinstance(step, Poll):
            ra = self.poll(p.r, step)
            rb = self.poll(p.s, step)
            self.compare(step.args, ra, rb, what="poll until %r: %s" % (step.expect, fmt_args(step.args)))
        elif isinstance(step, ScanAll):
            self.scan_all(p, step.args)
        elif isinstance(step, Cluster):
            self.count += 1
            if self.standin:
                return  # a redis stand-in is standalone: nothing to assert
            p.s.send(*step.args)
            rb = self._read(p.s)
            if rb != step.expect:
                self.diff("%s (cluster-mode behaviour, not sent to redis)" % fmt_args(step.args),
                          step.expect, rb, "expected = Redis in cluster mode")
            self._resync(p, [], [rb])
        elif isinstance(step, Gap):
            ra, rb = self.exchange(p, encode(step.args))
            self.count += 1
            if rb[0][0] == "<timeout>":
                self.diff("%s (known gap: %s)" % (fmt_args(step.args), step.reason), ra[0], rb[0],
                          "slotcore must still answer")
            KNOWN_GAPS.append("%s: %s" % (fmt_args(step.args), step.reason))
            self._resync(p, ra, rb)
        elif isinstance(step, Newer):
            self.count += 1
            if self.standin:
                return  # redis 7.0 does not have it
            p.s.send(*step.args)
            rb = self._read(p.s)
            if rb != step.expect:
                self.diff("%s (newer-Redis command, not sent to redis 7.0)" % fmt_args(step.args),
                          step.expect, rb, "expected = the later Redis's reply")
            self._resync(p, [], [rb])
        elif isinstance(step, Pipeline):
            data = b"".join(encode(c) for c in step.cmds)
            ra, rb = self.exchange(p, data, len(step.cmds))
            for i, c in enumerate(step.cmds):
                self.compare(c, ra[i], rb[i], what="pipeline #%d: %s" % (i, fmt_args(c)))
            self._resync(p, ra, rb)
        else:
            raise TypeError("unknown step %r" % (step,))

    def check_no_extra(self, p, args):
        """Bytes left over after one command's reply would shift every later comparison."""
        extra = [bytes(c.parser.buf[:200]) for c in (p.r, p.s)]
        if any(extra):
            self.diff("%s: unexpected bytes after the reply" % fmt_args(args),
                      ("extra", extra[0]), ("extra", extra[1]))
            p.reopen()

    def poll(self, conn, step):
        deadline = time.time() + step.timeout
        while True:
            conn.send(*step.args)
            r = self._read(conn)
            if r == step.expect or time.time() > deadline or r[0].startswith("<"):
                return r
            time.sleep(0.05)

    def scan_all(self, p, args):
        def loop(conn):
            cursor, keys, pages = b"0", set(), 0
            while True:
                conn.send(*(["SCAN", cursor] + args))
                r = self._read(conn)
                if is_error(r) or r[0].startswith("<"):
                    return r
                if not (r[0] == "*" and len(r[1]) == 2 and r[1][0][0] == "$" and r[1][1][0] == "*"):
                    return ("bad SCAN page", r)
                cursor = r[1][0][1]
                keys.update(x[1] if x[0] == "$" else repr(x) for x in r[1][1][1])
                pages += 1
                if cursor == b"0" or pages > 10000:
                    return ("scan keys", sorted(keys))
        ra, rb = loop(p.r), loop(p.s)
        self.compare(["SCAN"], ra, rb, exact, what="SCAN loop with %s" % (fmt_args(args) or "no options"))
        self._resync(p, [ra], [rb])


@pytest.fixture
def h(srv, request):
    harness = Harness(srv, request.node.name)
    yield harness
    harness.close()


# --------------------------------------------------------------------------------------------
# Sequences
# --------------------------------------------------------------------------------------------

CLUSTER_SELECT_ERR = ("-", "ERR SELECT is not allowed in cluster mode")

CONNECTION = [
    E(["PING"], ("+", "PONG")), E(["SELECT", "0"], ("+", "OK")),
    E(["FOO", "a", "b"], ("-", "ERR unknown command 'FOO', with args beginning with: 'a' 'b' ")),
    E(["GET"], ("-", "ERR wrong number of arguments for 'get' command")),
    E(["AUTH", "foo"], ("-", "ERR AUTH <password> called without any password configured for the "
                             "default user. Are you sure your configuration is correct?")),
    ["PING"], ["PING", "hello"], ["PING", ""], ["PING", "a", "b"], ["ping"],
    ["ECHO", "hi"], ["ECHO", ""], ["ECHO", "a\r\nb"], ["ECHO"], ["ECHO", "a", "b"],
    ["AUTH", "foo"], ["AUTH", "default", "foo"], ["AUTH", "nouser", "pw"], ["AUTH"],
    ["AUTH", "a", "b", "c"],
    ["SELECT", "0"], ["SELECT", "notanumber"], ["SELECT", "0.5"], ["SELECT"], ["SELECT", "0", "1"],
    Cluster(["SELECT", "1"], CLUSTER_SELECT_ERR),
    Cluster(["SELECT", "-1"], CLUSTER_SELECT_ERR),
    Cluster(["SELECT", "16"], CLUSTER_SELECT_ERR),
    ["SELECT", "0"],
    ["CLIENT", "ID"], ["CLIENT", "ID", "x"],
    ["CLIENT", "GETNAME"], ["CLIENT", "SETNAME", "conn-a"], ["CLIENT", "GETNAME"],
    ["CLIENT", "SETNAME", "bad name"], ["CLIENT", "SETNAME", "bad\nname"], ["CLIENT", "GETNAME"],
    ["CLIENT", "SETNAME"], ["CLIENT", "SETNAME", "a", "b"], ["CLIENT", "GETNAME", "x"],
    ["CLIENT", "LIST"], ["CLIENT", "INFO"], ["CLIENT", "LIST", "TYPE", "normal"],
    ["CLIENT", "LIST", "TYPE", "bogus"], ["CLIENT", "LIST", "FOO"], ["CLIENT", "INFO", "x"],
    ["CLIENT", "SETNAME", ""], ["CLIENT", "GETNAME"],
    Newer(["CLIENT", "SETINFO", "LIB-NAME", "difftest"], ("+", "OK")),
    Newer(["CLIENT", "SETINFO", "LIB-VER", "1.0"], ("+", "OK")),
    Newer(["CLIENT", "SETINFO", "BAD", "x"], ("-", "ERR Unrecognized option 'BAD'")),
    Newer(["CLIENT", "SETINFO", "LIB-NAME"], ("-", "ERR wrong number of arguments for 'client|setinfo' command")),
    ["CLIENT", "NO-EVICT", "on"], ["CLIENT", "NO-EVICT", "off"], ["CLIENT", "NO-EVICT", "bad"],
    ["CLIENT", "NO-EVICT"], ["CLIENT", "NO-EVICT", "ON"],
    ["CLIENT", "REPLY", "ON"], ["CLIENT", "REPLY", "bad"], ["CLIENT", "REPLY"],
    ["CLIENT", "FOO"], ["CLIENT"], ["CLIENT", "foo", "bar"],
    ["CLIENT", "KILL", "ID", "notanumber"], ["CLIENT", "KILL", "ID", "0"], ["CLIENT", "KILL", "ID", "-5"],
    ["CLIENT", "KILL", "ID", "999999"], ["CLIENT", "KILL", "ID"], ["CLIENT", "KILL"],
    ["CLIENT", "KILL", "127.0.0.1:1"], ["CLIENT", "KILL", "TYPE", "bogus"],
    ["CLIENT", "KILL", "TYPE", "pubsub"], ["CLIENT", "KILL", "USER", "nosuchuser"],
    ["CLIENT", "KILL", "SKIPME", "maybe"], ["CLIENT", "KILL", "LADDR", "1.2.3.4:5"],
    ["CLIENT", "KILL", "ADDR", "1.2.3.4:5"], ["CLIENT", "KILL", "FOO", "bar"],
    ["CLIENT", "KILL", "ID", "1", "ID"],
    ["RESET", "x"],
]

HELLO_SEQ = [
    ["HELLO"], ["HELLO", "2"], ["HELLO", "NOPROTO"], ["HELLO", "1"], ["HELLO", "4"],
    ["HELLO", "-1"], ["HELLO", "2", "AUTH", "nouser", "pw"], ["HELLO", "2", "AUTH", "default", "any"],
    ["HELLO", "3", "AUTH", "nouser", "pw"], ["PING"],  # failed HELLO must not switch protocol
    ["HELLO", "2", "AUTH", "default"], ["HELLO", "2", "SETNAME", "hello-name"], ["CLIENT", "GETNAME"],
    ["HELLO", "2", "SETNAME", "bad name"], ["HELLO", "2", "SETNAME"], ["HELLO", "2", "FOO"],
    ["HELLO", "2", "AUTH", "default", "x", "SETNAME", "both"], ["CLIENT", "GETNAME"],
    ["HELLO", "3"], ["HELLO", "3", "SETNAME", "r3"],
    ["PING"], ["PING", "x"], ["ECHO", "e"], ["GET", "missing"], ["SET", "k", "v"], ["GET", "k"],
    ["SET", "k", "v2", "GET"], ["SET", "nk", "v", "GET"], ["MGET", "k", "missing"],
    ["INCR", "n"], ["INCRBYFLOAT", "f", "1.5"], ["EXISTS", "k"], ["TYPE", "k"], ["TTL", "k"],
    ["CONFIG", "GET", "timeout"], ["CONFIG", "GET", "maxclients", "timeout"],
    ["CLIENT", "INFO"], ["CLIENT", "LIST"], ["CLIENT", "GETNAME"], ["CLIENT", "ID"],
    ["INFO", "keyspace"], ["INFO", "server"], ["TIME"], ["KEYS", "*"], ["SCAN", "0"],
    ["MSET", "l1", "ohmytext", "l2", "mynewtext"], ["LCS", "l1", "l2", "IDX", "WITHMATCHLEN"],
    ["LCS", "l1", "l2"], ["LCS", "l1", "l2", "LEN"],
    ["COMMAND", "INFO", "get"], ["COMMAND", "DOCS", "get"], ["COMMAND", "GETKEYS", "SET", "a", "b"],
    ["DEBUG", "DIGEST-VALUE", "k"], ["OBJECT", "ENCODING", "k"], ["OBJECT", "ENCODING", "missing"],
    ["MEMORY", "USAGE", "missing"], ["RANDOMKEY"], ["DBSIZE"], ["EXPIRETIME", "k"],
    ["HELLO", "3", "SETNAME", "bad name"], ["NOSUCH", "x"], ["GET"],
    ["RESET"], ["GET", "missing"], ["CLIENT", "GETNAME"], ["HELLO"],
    ["HELLO", "3"], ["HELLO", "2"], ["GET", "missing"],
]

STRINGS = [
    ["GET", "s"], ["SET", "s", "hello"], ["GET", "s"], ["GET"], ["GET", "a", "b"],
    ["SET", "s", "v2", "NX"], ["SET", "n1", "v", "NX"], ["SET", "s", "v3", "XX"],
    ["SET", "nx2", "v", "XX"], ["GET", "nx2"], ["GET", "s"], ["SET", "s", "v", "nx"],
    ["SET", "s", "v4", "GET"], ["SET", "newg", "v", "GET"], ["SET", "s", "v5", "NX", "GET"],
    ["SET", "s", "v6", "XX", "GET"], ["SET", "nog", "v", "XX", "GET"], ["GET", "s"],
    ["SET", "e", "v", "EX", "100"], ["TTL", "e"], ["SET", "e", "v", "PX", "100000"], ["PTTL", "e"],
    ["SET", "e", "v", "EXAT", "4102444800"], ["EXPIRETIME", "e"], ["TTL", "e"],
    ["SET", "e", "v", "PXAT", "4102444800123"], ["PEXPIRETIME", "e"],
    ["SET", "e", "v2", "KEEPTTL"], ["PEXPIRETIME", "e"], ["SET", "e", "v3"], ["TTL", "e"],
    ["SET", "e", "v", "ex", "100", "GET"], ["TTL", "e"], ["SET", "e", "v", "PX", "100000", "KEEPTTL"],
    ["SET", "s", "v", "NX", "XX"], ["SET", "s", "v", "XX", "NX"], ["SET", "s", "v", "EX", "0"],
    ["SET", "s", "v", "EX", "-1"], ["SET", "s", "v", "EX", "notanumber"], ["SET", "s", "v", "EX", "1.5"],
    ["SET", "s", "v", "EX", "10", "PX", "100"], ["SET", "s", "v", "EX", "10", "EX", "10"],
    ["SET", "s", "v", "PX", "0"], ["SET", "s", "v", "PX", "-100"], ["SET", "s", "v", "EXAT", "0"],
    ["SET", "s", "v", "PXAT", "-5"], ["SET", "s", "v", "KEEPTTL", "EX", "10"],
    ["SET", "s", "v", "EX"], ["SET", "s", "v", "FOO"], ["SET", "s", "v", "EX", "9223372036854775807"],
    ["SET", "s", "v", "PX", "9223372036854775807"], ["SET", "s", "v", "EXAT", "9223372036854775807"],
    ["SET", "s", "v", "EX", "9223372036854775808"], ["SET", "s", "v", "EX", "4611686018427387904"],
    ["SET", "s", "v", "NX", "NX"], ["SET", "s", "v", "GET", "GET"], ["SET", "s"], ["SET"],
    ["SET", "s", "v", "KEEPTTL", "KEEPTTL"], ["SET", "s", "v", "PERSIST"], ["GET", "s"],
    ["SET", "", ""], ["GET", ""], ["SET", "bin\x00key", "bin\x00\xffval"], ["GET", "bin\x00key"],
    ["SETNX", "sn", "1"], ["SETNX", "sn", "2"], ["GET", "sn"], ["SETNX", "sn"], ["SETNX", "a", "b", "c"],
    ["SETEX", "se", "100", "v"], ["TTL", "se"], ["GET", "se"], ["SETEX", "se", "0", "v"],
    ["SETEX", "se", "-1", "v"], ["SETEX", "se", "abc", "v"], ["SETEX", "se", "100"],
    ["SETEX", "se", "9223372036854775807", "v"],
    ["PSETEX", "ps", "100000", "v"], ["PTTL", "ps"], ["PSETEX", "ps", "0", "v"], ["PSETEX", "ps", "x", "v"],
    ["PSETEX", "ps", "-1", "v"], ["PSETEX", "ps"],
    ["GETSET", "gs", "a"], ["GETSET", "gs", "b"], ["GET", "gs"], ["SET", "gst", "v", "EX", "100"],
    ["GETSET", "gst", "w"], ["TTL", "gst"], ["GETSET", "gs"],
    ["SET", "gd", "x"], ["GETDEL", "gd"], ["GETDEL", "gd"], ["EXISTS", "gd"], ["GETDEL"],
    ["SET", "ge", "v"], ["GETEX", "ge"], ["TTL", "ge"], ["GETEX", "ge", "EX", "100"], ["TTL", "ge"],
    ["GETEX", "ge", "PX", "200000"], ["PTTL", "ge"], ["GETEX", "ge", "EXAT", "4102444800"],
    ["EXPIRETIME", "ge"], ["GETEX", "ge", "PXAT", "4102444800500"], ["PEXPIRETIME", "ge"],
    ["GETEX", "ge", "PERSIST"], ["TTL", "ge"], ["GETEX", "missing"], ["GETEX", "missing", "EX", "10"],
    ["GETEX", "ge", "EX", "0"], ["GETEX", "ge", "EX", "-1"], ["GETEX", "ge", "EX", "x"],
    ["GETEX", "ge", "PX", "0"], ["GETEX", "ge", "EX", "10", "PX", "10"],
    ["GETEX", "ge", "PERSIST", "EX", "10"], ["GETEX", "ge", "EX", "10", "PERSIST"],
    ["GETEX", "ge", "FOO"], ["GETEX", "ge", "EX"], ["GETEX", "ge", "KEEPTTL"],
    ["GETEX", "ge", "EX", "9223372036854775807"], ["GETEX"],
    ["GETEX", "ge", "EXAT", "1"], ["EXISTS", "ge"], ["GET", "ge"],
    # found by the fuzzer: the expire time is checked only for an existing string
    ["GETEX", "missing", "EX", "-100"], ["GETEX", "missing", "PX", "x"], ["HSET", "geh", "f", "v"],
    ["GETEX", "geh", "EX", "-1"],
    ["MSET", "m1", "a", "m2", "b", "m3", "c"], ["MGET", "m1", "m2", "nope", "m3"], ["MGET", "m1"],
    ["MGET"], ["MSET", "m1"], ["MSET", "m1", "a", "m2"], ["MSET"], ["MSET", "m1", "x", "m1", "y"],
    ["GET", "m1"], ["MSETNX", "m4", "d", "m5", "e"], ["MSETNX", "m5", "x", "m6", "y"],
    ["MGET", "m4", "m5", "m6"], ["MSETNX", "m7"], ["MSETNX", "m7", "a", "m8"], ["MSETNX"],
    ["MSETNX", "m9", "a", "m9", "b"], ["GET", "m9"],
    ["APPEND", "ap", "hello"], ["APPEND", "ap", " world"], ["GET", "ap"], ["APPEND", "ap", ""],
    ["STRLEN", "ap"], ["STRLEN", "missing"], ["APPEND", "ap"], ["STRLEN"], ["STRLEN", "a", "b"],
    ["SET", "api", "12"], ["APPEND", "api", "34"], ["GET", "api"], ["STRLEN", "api"],
    ["SET", "i", "10"], ["INCR", "i"], ["DECR", "i"], ["INCRBY", "i", "5"], ["DECRBY", "i", "20"],
    ["INCRBY", "i", "-3"], ["DECRBY", "i", "-3"], ["GET", "i"], ["INCR", "newi"], ["DECR", "newd"],
    ["INCRBY", "newib", "7"], ["DECRBY", "newdb", "7"],
    ["SET", "i", "9223372036854775807"], ["INCR", "i"], ["INCRBY", "i", "1"], ["DECRBY", "i", "-1"],
    ["GET", "i"], ["DECR", "i"], ["SET", "i", "-9223372036854775808"], ["DECR", "i"],
    ["INCRBY", "i", "-1"], ["DECRBY", "i", "1"], ["INCR", "i"], ["GET", "i"],
    ["SET", "i", "0"], ["DECRBY", "i", "-9223372036854775808"], ["INCRBY", "i", "-9223372036854775808"],
    ["SET", "i", "1"], ["DECRBY", "i", "-9223372036854775808"], ["DECRBY", "i", "9223372036854775807"],
    ["INCRBY", "i", "9223372036854775808"], ["INCRBY", "i", "abc"], ["INCRBY", "i", "1.5"],
    ["INCRBY", "i", ""], ["INCRBY", "i", " 1"], ["INCRBY", "i", "01"], ["DECRBY", "i", "x"],
    ["INCRBY", "i"], ["DECRBY", "i"], ["INCR"], ["DECR"], ["INCR", "a", "b"], ["GET", "i"],
    ["SET", "i", "010"], ["INCR", "i"], ["SET", "i", " 1"], ["INCR", "i"], ["SET", "i", "1 "],
    ["INCR", "i"], ["SET", "i", "abc"], ["INCR", "i"], ["SET", "i", "+1"], ["INCR", "i"],
    ["SET", "i", "-0"], ["INCR", "i"], ["SET", "i", "1.0"], ["DECR", "i"], ["SET", "i", ""],
    ["INCR", "i"], ["SET", "i", "99999999999999999999"], ["INCR", "i"], ["SET", "i", "0"],
    ["INCR", "i"], ["SET", "i", "-1"], ["INCRBY", "i", "-9223372036854775807"], ["DECR", "i"],
    ["SET", "f", "10.5"], ["INCRBYFLOAT", "f", "0.1"], ["INCRBYFLOAT", "f", "-5"], ["GET", "f"],
    ["INCRBYFLOAT", "f3", "3.0e3"], ["INCRBYFLOAT", "f3", "2.0e3"], ["SET", "f5", "5.0e3"],
    ["INCRBYFLOAT", "f5", "0"], ["INCRBYFLOAT", "f5", "1.5e-3"], ["INCRBYFLOAT", "f", "inf"],
    ["INCRBYFLOAT", "f", "-inf"], ["INCRBYFLOAT", "f", "nan"], ["INCRBYFLOAT", "f", "abc"],
    ["INCRBYFLOAT", "f", ""], ["INCRBYFLOAT", "f", "1e400"], ["SET", "f", "10.5"], ["INCRBYFLOAT", "f", " 1"],
    ["INCRBYFLOAT", "f", "1 "], ["INCRBYFLOAT", "f"],
    # one fresh key per probe, so that one divergence does not cascade into the next ones
    ["INCRBYFLOAT", "fp1", "0x10"], ["INCRBYFLOAT", "fp2", "1e5"], ["SET", "fp3", "100000"],
    ["INCRBYFLOAT", "fp3", "-1e-5"], ["INCRBYFLOAT", "fp4", "1E2"], ["INCRBYFLOAT", "fp5", ".5"],
    ["INCRBYFLOAT", "fp6", "-.5e1"], ["INCRBYFLOAT", "fp7", "5."], ["SET", "fp8", "0.1"],
    ["INCRBYFLOAT", "fp8", "0.2"], ["SET", "fp9", "1e10"], ["INCRBYFLOAT", "fp9", "0"],
    ["SET", "f", "abc"], ["INCRBYFLOAT", "f", "1"], ["SET", "f", "1.7976931348623157e308"],
    ["INCRBYFLOAT", "f", "1.7976931348623157e308"], ["SET", "f", "3"], ["INCRBYFLOAT", "f", "0.1"],
    ["INCRBYFLOAT", "f", "-3.1"], ["GET", "f"], ["SET", "fi", "5"], ["INCRBYFLOAT", "fi", "1"],
    ["INCR", "fi"], ["INCRBYFLOAT", "fx", "0.0000001"], ["INCRBYFLOAT", "fx", "1e20"],
    ["INCRBYFLOAT", "fy", "1e-20"], ["INCRBYFLOAT", "fz", "-0"], ["INCRBYFLOAT", "fw", "1.23456789012345678"],
    ["INCRBYFLOAT", "fw", "100"], ["SET", "fe", " 1.5"], ["INCRBYFLOAT", "fe", "1"],
    ["SET", "fe", "1.5e"], ["INCRBYFLOAT", "fe", "1"], ["SET", "fv", "7.0"], ["INCRBYFLOAT", "fv", "0"],
    ["SET", "r", "Hello World"], ["GETRANGE", "r", "0", "4"], ["GETRANGE", "r", "-5", "-1"],
    ["GETRANGE", "r", "-100", "100"], ["GETRANGE", "r", "5", "2"], ["GETRANGE", "r", "-1", "-5"],
    ["GETRANGE", "r", "0", "-100"], ["GETRANGE", "r", "20", "30"], ["GETRANGE", "r", "0", "0"],
    ["GETRANGE", "r", "-1", "-1"], ["GETRANGE", "nope", "0", "-1"], ["GETRANGE", "r", "a", "1"],
    ["GETRANGE", "r", "0", "b"], ["GETRANGE", "r", "0"], ["GETRANGE", "r", "0", "9223372036854775807"],
    ["GETRANGE", "r", "-9223372036854775808", "-1"], ["SUBSTR", "r", "0", "4"],
    ["SUBSTR", "r", "-3", "-1"], ["SUBSTR", "r", "0"], ["SET", "ri", "12345"], ["GETRANGE", "ri", "1", "2"],
    ["SET", "re", ""], ["GETRANGE", "re", "0", "-1"],
    ["SETRANGE", "r", "6", "Redis"], ["GET", "r"], ["SETRANGE", "pad", "5", "hi"], ["GET", "pad"],
    ["STRLEN", "pad"], ["SETRANGE", "r", "536870912", "x"], ["SETRANGE", "r", "536870911", "xy"],
    ["SETRANGE", "r", "-1", "x"], ["SETRANGE", "empty", "0", ""], ["EXISTS", "empty"],
    ["SETRANGE", "empty", "536870912", ""], ["SETRANGE", "r", "3", ""], ["SETRANGE", "r", "x", "y"],
    ["SETRANGE", "r", "100", ""], ["STRLEN", "r"], ["SETRANGE", "r", "11", "!"], ["GET", "r"],
    ["SETRANGE", "ri", "0", "9"], ["GET", "ri"], ["SETRANGE", "r", "0"],
    ["MSET", "l1", "ohmytext", "l2", "mynewtext"], ["LCS", "l1", "l2"], ["LCS", "l1", "l2", "LEN"],
    ["LCS", "l1", "l2", "IDX"], ["LCS", "l1", "l2", "IDX", "MINMATCHLEN", "4"],
    ["LCS", "l1", "l2", "IDX", "MINMATCHLEN", "4", "WITHMATCHLEN"],
    ["LCS", "l1", "l2", "IDX", "WITHMATCHLEN"], ["LCS", "l1", "l2", "WITHMATCHLEN", "IDX"],
    ["LCS", "l1", "l2", "idx", "minmatchlen", "0"], ["LCS", "l1", "l2", "MINMATCHLEN", "2"],
    ["LCS", "l1", "l2", "LEN", "IDX"], ["LCS", "l1", "missing"], ["LCS", "missing", "missing2", "LEN"],
    ["LCS", "missing", "missing2", "IDX"], ["LCS", "l1", "l2", "FOO"], ["LCS", "l1", "l2", "MINMATCHLEN", "x"],
    ["LCS", "l1", "l2", "IDX", "MINMATCHLEN", "-1"], ["LCS", "l1"], ["LCS", "l1", "l2", "MINMATCHLEN"],
    ["LCS", "l1", "l1"], ["MSET", "l3", "abcXdefYghi", "l4", "abcZdefWghi"],
    ["LCS", "l3", "l4", "IDX", "WITHMATCHLEN"], ["LCS", "l3", "l4", "LEN"],
]

KEYSPACE = [
    ["MSET", "a", "1", "b", "2", "c", "3"], ["DEL", "a", "b", "missing"], ["DEL", "a"],
    ["UNLINK", "c", "missing"], ["UNLINK", "c"], ["DEL"], ["UNLINK"],
    ["SET", "x", "1"], ["EXISTS", "x"], ["EXISTS", "x", "x", "x", "nope"], ["EXISTS", "nope"], ["EXISTS"],
    ["TYPE", "x"], ["TYPE", "nope"], ["TYPE"], ["TYPE", "a", "b"],
    ["TOUCH", "x", "nope", "x"], ["TOUCH", "nope"], ["TOUCH"],
    ["SET", "k", "v"], ["EXPIRE", "k", "100", "XX"], ["EXPIRE", "k", "100", "GT"],
    ["EXPIRE", "k", "100", "LT"], ["EXPIRE", "k", "200", "NX"], ["EXPIRE", "k", "200", "GT"],
    ["TTL", "k"], ["EXPIRE", "k", "50", "GT"], ["EXPIRE", "k", "50", "LT"], ["EXPIRE", "k", "60", "XX"],
    ["TTL", "k"], ["EXPIRE", "k", "60", "nx"], ["EXPIRE", "k", "10", "NX", "XX"], ["EXPIRE", "k", "10", "GT", "LT"],
    ["EXPIRE", "k", "10", "NX", "GT"], ["EXPIRE", "k", "10", "NX", "LT"], ["EXPIRE", "k", "10", "XX", "GT"],
    ["EXPIRE", "k", "10", "FOO"], ["EXPIRE", "k", "abc"], ["EXPIRE", "k", "1.5"], ["EXPIRE", "k", "10", "NX", "NX"],
    ["EXPIRE", "k"], ["EXPIRE"], ["EXPIRE", "nope", "10"], ["EXPIRE", "nope", "10", "NX", "XX"],
    ["EXPIRE", "k", "9223372036854775807"], ["EXPIRE", "k", "-9223372036854775808"],
    ["EXPIRE", "k", "9223372036854775"], ["PEXPIRE", "k", "9223372036854775807"],
    ["EXPIREAT", "k", "9223372036854775807"], ["PEXPIREAT", "k", "9223372036854775807"], ["TTL", "k"],
    ["PERSIST", "k"], ["PERSIST", "k"], ["PERSIST", "nope"], ["PERSIST"], ["TTL", "k"], ["PTTL", "k"],
    ["TTL", "nope"], ["PTTL", "nope"], ["EXPIRETIME", "k"], ["EXPIRETIME", "nope"],
    ["PEXPIRETIME", "k"], ["PEXPIRETIME", "nope"], ["TTL"], ["PTTL", "a", "b"], ["EXPIRETIME"],
    ["PEXPIRETIME"],
    ["PEXPIRE", "k", "100000", "NX"], ["PTTL", "k"], ["PEXPIRE", "k", "200000", "GT"], ["PTTL", "k"],
    ["PEXPIRE", "k", "150000", "LT"], ["PTTL", "k"], ["PEXPIRE", "k", "150000", "XX"],
    ["PEXPIRE", "k", "10", "GT", "LT"], ["PEXPIRE", "k", "x"], ["PEXPIRE", "k"],
    ["EXPIREAT", "k", "4102444800"], ["EXPIRETIME", "k"], ["PEXPIRETIME", "k"],
    ["EXPIREAT", "k", "4102444700", "GT"], ["EXPIREAT", "k", "4102444900", "GT"], ["EXPIRETIME", "k"],
    ["PEXPIREAT", "k", "4102444800000", "LT"], ["PEXPIRETIME", "k"], ["PEXPIREAT", "k", "4102444800000", "NX"],
    ["PEXPIREAT", "k", "4102444800001", "XX"], ["PEXPIRETIME", "k"], ["EXPIRETIME", "k"],
    ["PEXPIREAT", "k", "x"], ["EXPIREAT", "k", "x"], ["EXPIREAT", "k", "1", "FOO"], ["EXPIREAT", "k"],
    ["PEXPIREAT", "k"], ["EXPIREAT", "nope", "4102444800"], ["PEXPIREAT", "nope", "4102444800000"],
    ["EXPIREAT", "k", "1"], ["EXISTS", "k"], ["TTL", "k"],
    ["SET", "k", "v"], ["EXPIRE", "k", "0"], ["EXISTS", "k"], ["SET", "k", "v"], ["PEXPIRE", "k", "-1"],
    ["EXISTS", "k"], ["SET", "k", "v"], ["PEXPIREAT", "k", "0"], ["EXISTS", "k"],
    ["SET", "k", "v"], ["EXPIRE", "k", "-5", "NX"], ["EXISTS", "k"],
    ["SET", "r1", "v"], ["EXPIRE", "r1", "1000"], ["RENAME", "r1", "r2"], ["TTL", "r2"], ["EXISTS", "r1"],
    ["RENAME", "r2", "r2"], ["GET", "r2"], ["RENAME", "missing", "x"], ["RENAME", "missing", "missing"],
    ["SET", "r3", "w"], ["RENAME", "r3", "r2"], ["TTL", "r2"], ["GET", "r2"], ["SET", "r3", "w"],
    ["RENAMENX", "r2", "r3"], ["RENAMENX", "r2", "r4"], ["RENAMENX", "missing", "r5"],
    ["RENAMENX", "r4", "r4"], ["MGET", "r2", "r3", "r4"], ["RENAME", "r4"], ["RENAMENX", "r4"],
    ["RENAME", "r4", "r5", "r6"],
    ["SET", "c1", "val"], ["EXPIRE", "c1", "1000"], ["COPY", "c1", "c2"], ["TTL", "c2"], ["GET", "c2"],
    ["COPY", "c1", "c2"], ["SET", "c1", "val2"], ["COPY", "c1", "c2", "REPLACE"], ["GET", "c2"], ["TTL", "c2"],
    ["COPY", "c1", "c2", "DB", "0"], ["COPY", "c1", "c3", "DB", "0"], ["GET", "c3"],
    ["COPY", "c1", "c2", "DB", "0", "REPLACE"], ["COPY", "c1", "c2", "replace", "db", "0"],
    ["COPY", "missing", "c4"], ["COPY", "missing", "c4", "REPLACE"], ["COPY", "c1", "c1"],
    ["COPY", "c1", "c1", "REPLACE"], ["COPY", "c1", "c2", "DB", "x"], ["COPY", "c1", "c2", "FOO"],
    ["COPY", "c1", "c2", "DB"], ["COPY", "c1", "c2", "DB", "99"], ["COPY", "c1", "c2", "DB", "-1"],
    ["COPY", "c1"], ["SET", "ci", "123"], ["COPY", "ci", "ci2"], ["OBJECT", "ENCODING", "ci2"],
    Cluster(["COPY", "c1", "c5", "DB", "1"],
            ("-", "ERR Copying to another database is not allowed in cluster mode")),
]

GLOB_KEYS = ["hello", "hallo", "hxllo", "hllo", "heeeello", "a*b", "a?b", "a[b", "a]b", "ab",
             "a\\b", "key:1", "key:2", "key:10", "Key:3", "-dash", "x-y", "caret^"]

GLOB = [
    ["MSET"] + [x for k in GLOB_KEYS for x in (k, "v")],
    ["KEYS", "*"], ["KEYS", "h?llo"], ["KEYS", "h*llo"], ["KEYS", "h[ae]llo"], ["KEYS", "h[^e]llo"],
    ["KEYS", "h[a-b]llo"], ["KEYS", "key:?"], ["KEYS", "key:*"], ["KEYS", "a\\*b"], ["KEYS", "a\\?b"],
    ["KEYS", "a\\[b"], ["KEYS", "a[*]b"], ["KEYS", "nomatch*"], ["KEYS", "[a-c]*"], ["KEYS", "*[0-9]"],
    ["KEYS", "hello"], ["KEYS", ""], ["KEYS", "a\\\\b"], ["KEYS", "[z-a]*"], ["KEYS", "*[\\-]*"],
    ["KEYS", "[k]ey:*"], ["KEYS", "[K]ey:*"], ["KEYS", "a[]]b"], ["KEYS", "a[\\]]b"], ["KEYS", "h[!e]llo"],
    ["KEYS", "*^"], ["KEYS", "??"], ["KEYS", "*\\"], ["KEYS", "a[b"], ["KEYS", "h[a-]llo"],
    ["KEYS", "***o"], ["KEYS", "h*l*o"], ["KEYS"], ["KEYS", "a", "b"],
    # Classes without "]", escapes and stars at the ends, as Redis's stringmatchlen reads them.
    ["KEYS", "h[ae"], ["KEYS", "a["], ["KEYS", "a[\\"], ["KEYS", "[^"], ["KEYS", "*["], ["KEYS", "a\\"],
    ["KEYS", "hello*"], ["KEYS", "hello**"], ["KEYS", "*hello*"], ["KEYS", "h[a-]"], ["KEYS", "*a*b*"],
    # Redis's "Regression for pattern matching long nested loops": answered at once.
    ["SET", "a" * 60, "1"], ["KEYS", "a*" * 25 + "b"], ["KEYS", "a*" * 25 + "a"], ["DEL", "a" * 60],
    ["SET", "", "empty"], ["KEYS", "*"], ["KEYS", "*?"], ["KEYS", "?"], ScanAll(["MATCH", "*"]),
    ScanAll(["MATCH", "**"]), ["DEL", ""],
    ScanAll([]), ScanAll(["MATCH", "h*llo"]), ScanAll(["COUNT", "3"]),
    ScanAll(["MATCH", "key:*", "COUNT", "1"]), ScanAll(["TYPE", "string"]), ScanAll(["TYPE", "list"]),
    ScanAll(["TYPE", "STRING", "MATCH", "a*"]), ScanAll(["MATCH", "nomatch*"]),
    ScanAll(["COUNT", "1000"]), ScanAll(["TYPE", "nosuchtype"]),
    ["SCAN", "0"], ["SCAN", "abc"], ["SCAN", "-1"], ["SCAN", "-9223372036854775809"], ["SCAN", ""],
    ["SCAN", "+0"], ["SCAN", "-"], ["SCAN", "18446744073709551616"], ["SCAN", "-18446744073709551615"],
    ["SCAN", "0", "COUNT", "0"], ["SCAN", "0", "COUNT", "x"],
    ["SCAN", "0", "COUNT", "-1"], ["SCAN", "0", "MATCH"], ["SCAN", "0", "FOO", "bar"], ["SCAN"],
    ["SCAN", "0", "TYPE"], ["SCAN", "0", "COUNT"],
    C(["RANDOMKEY"], rule=member_of(GLOB_KEYS)), ["RANDOMKEY", "x"], ["DBSIZE"], ["DBSIZE", "x"],
    ["FLUSHDB", "BAD"], ["FLUSHDB", "SYNC", "ASYNC"], ["DBSIZE"], ["FLUSHDB", "SYNC"], ["DBSIZE"],
    ["RANDOMKEY"], ScanAll([]), ["KEYS", "*"], ["SET", "z", "1"], C(["RANDOMKEY"], rule=member_of(["z"])),
    ["FLUSHDB", "ASYNC"], ["DBSIZE"], ["SET", "z", "1"], ["FLUSHDB"], ["DBSIZE"], ["SET", "z", "1"],
    ["FLUSHDB", "async"], ["FLUSHALL", "BAD"], ["FLUSHALL", "SYNC", "x"], ["SET", "z", "1"],
    ["FLUSHALL", "SYNC"], ["DBSIZE"], ["SET", "z", "1"], ["FLUSHALL", "ASYNC"], ["DBSIZE"],
    ["SET", "z", "1"], ["FLUSHALL"], ["DBSIZE"], ["RANDOMKEY"],
]

OBJECTS = [
    ["SET", "oi", "12345"], ["SET", "os", "123"], ["SET", "oe", "hello"], ["SET", "or", "x" * 45],
    ["SET", "o44", "y" * 44], ["SET", "obig", "12345678901234567890"], ["SET", "oneg", "-5"],
    ["SET", "ozero", "0"], ["SET", "olz", "0123"], ["SET", "ospc", " 12"], ["SET", "omax", "9223372036854775807"],
    ["SET", "o20", "-9223372036854775808"], ["SET", "oempty", ""], ["SET", "o9999", "9999"],
    ["SET", "o10000", "10000"],
] + [["OBJECT", "ENCODING", k] for k in ["oi", "os", "oe", "or", "o44", "obig", "oneg", "ozero", "olz",
                                          "ospc", "omax", "o20", "oempty", "o9999", "o10000", "missing"]] + [
    ["APPEND", "oe", "!"], ["OBJECT", "ENCODING", "oe"], ["INCR", "oi"], ["OBJECT", "ENCODING", "oi"],
    ["SETRANGE", "o44", "0", "z"], ["OBJECT", "ENCODING", "o44"], ["INCRBYFLOAT", "oflt", "1.5"],
    ["OBJECT", "ENCODING", "oflt"], ["APPEND", "oap", "12"], ["OBJECT", "ENCODING", "oap"],
    ["GETSET", "ogs", "77"], ["OBJECT", "ENCODING", "ogs"], ["SETRANGE", "osr", "0", "5"],
    ["OBJECT", "ENCODING", "osr"], ["MSET", "om1", "1", "om2", "x"], ["OBJECT", "ENCODING", "om1"],
    ["OBJECT", "ENCODING", "om2"], ["SETEX", "ose", "100", "42"], ["OBJECT", "ENCODING", "ose"],
    ["OBJECT", "REFCOUNT", "oi"], ["OBJECT", "REFCOUNT", "os"], ["OBJECT", "REFCOUNT", "oe"],
    ["OBJECT", "REFCOUNT", "or"], ["OBJECT", "REFCOUNT", "missing"], ["OBJECT", "REFCOUNT", "o9999"],
    ["OBJECT", "REFCOUNT", "o10000"], ["OBJECT", "REFCOUNT", "ozero"],
    ["OBJECT", "FREQ", "oe"], ["OBJECT", "FREQ", "missing"], ["OBJECT", "IDLETIME", "oe"],
    ["OBJECT", "IDLETIME", "missing"],
    ["CONFIG", "SET", "maxmemory-policy", "allkeys-lfu"], ["OBJECT", "FREQ", "oe"],
    ["OBJECT", "FREQ", "missing"], ["OBJECT", "IDLETIME", "oe"],
    ["CONFIG", "SET", "maxmemory-policy", "noeviction"], ["OBJECT", "IDLETIME", "oe"],
    ["OBJECT", "FOO", "x"], ["OBJECT"], ["OBJECT", "ENCODING"], ["OBJECT", "ENCODING", "a", "b"],
    ["OBJECT", "REFCOUNT"], ["OBJECT", "FREQ"], ["OBJECT", "IDLETIME"], ["object", "encoding", "oi"],
    ["MEMORY", "USAGE", "oe"], ["MEMORY", "USAGE", "or"], ["MEMORY", "USAGE", "oi"],
    ["MEMORY", "USAGE", "missing"], ["MEMORY", "USAGE", "oe", "SAMPLES", "5"],
    ["MEMORY", "USAGE", "oe", "SAMPLES", "0"], ["MEMORY", "USAGE", "oe", "SAMPLES", "x"],
    ["MEMORY", "USAGE", "oe", "FOO"], ["MEMORY", "USAGE", "oe", "SAMPLES"], ["MEMORY", "USAGE"],
    ["MEMORY", "FOO"], ["MEMORY"], ["MEMORY", "HELP"], ["MEMORY", "help", "x"],
    ["MEMORY", "PURGE"], ["MEMORY", "PURGE", "x"], ["MEMORY", "STATS", "x"],
    ["MEMORY", "DOCTOR", "x"], ["MEMORY", "MALLOC-STATS", "x"],
]

INFO_SECTIONS = ["server", "clients", "memory", "persistence", "stats", "replication", "cpu",
                 "keyspace", "commandstats", "errorstats", "latencystats", "cluster"]

SERVER = [
    ["SET", "k1", "v"], ["SET", "k2", "v", "EX", "1000"],
] + [["INFO", s] for s in INFO_SECTIONS] + [
    ["INFO"], ["INFO", "default"], ["INFO", "all"], ["INFO", "everything"], ["INFO", "SERVER"],
    ["INFO", "server", "clients"], ["INFO", "keyspace", "cpu", "memory"], ["INFO", "nosuchsection"],
    ["INFO", "server", "nosuchsection"],
    ["COMMAND", "COUNT"], ["COMMAND", "COUNT", "x"], ["COMMAND", "INFO", "get", "set", "mget"],
    ["COMMAND", "INFO", "GET"], ["COMMAND", "INFO", "nosuchcmd"], ["COMMAND", "INFO", "get", "nosuchcmd"],
    ["COMMAND", "DOCS", "get"], ["COMMAND", "DOCS", "nosuchcmd"],
    ["COMMAND", "GETKEYS", "SET", "a", "b"], ["COMMAND", "GETKEYS", "MSET", "a", "1", "b", "2"],
    ["COMMAND", "GETKEYS", "MGET", "a", "b", "c"], ["COMMAND", "GETKEYS", "DEL", "a", "b", "c"],
    ["COMMAND", "GETKEYS", "GET"], ["COMMAND", "GETKEYS", "PING"], ["COMMAND", "GETKEYS", "NOSUCH", "x"],
    ["COMMAND", "GETKEYS"], ["COMMAND", "GETKEYS", "LCS", "a", "b"], ["COMMAND", "GETKEYS", "COPY", "a", "b"],
    ["COMMAND", "GETKEYS", "RENAME", "a", "b"], ["COMMAND", "GETKEYS", "GETEX", "k", "PERSIST"],
    ["COMMAND", "GETKEYS", "MSET", "a"], ["COMMAND", "GETKEYS", "EXISTS", "a", "a"],
    ["COMMAND", "GETKEYS", "set", "x", "y", "EX", "10"], ["COMMAND", "GETKEYS", "OBJECT", "ENCODING", "k"],
    ["COMMAND", "GETKEYSANDFLAGS", "SET", "a", "b"],
    ["COMMAND", "GETKEYSANDFLAGS", "COPY", "a", "b"],
    ["COMMAND", "LIST"], ["COMMAND", "FOO"],
    ["CONFIG", "GET", "maxclients"], ["CONFIG", "GET", "timeout"], ["CONFIG", "GET", "proto-max-bulk-len"],
    ["CONFIG", "GET", "port"], ["CONFIG", "GET", "maxmemory-policy"], ["CONFIG", "GET", "maxmemory"],
    ["CONFIG", "GET", "databases"], ["CONFIG", "GET", "nosuchparam"], ["CONFIG", "GET", "timeout", "maxclients"],
    ["CONFIG", "GET", "TIMEOUT"], ["CONFIG", "GET", "*max-*-entries*"], ["CONFIG", "GET", "max*"],
    ["CONFIG", "GET", "*"], ["CONFIG", "GET"],
    ["CONFIG", "SET", "timeout", "abc"], ["CONFIG", "SET", "timeout", "0"], ["CONFIG", "SET", "timeout", "-1"],
    ["CONFIG", "SET", "nosuch", "1"], ["CONFIG", "SET", "timeout"], ["CONFIG", "SET", "maxmemory-policy", "bogus"],
    ["CONFIG", "SET", "maxclients", "x"], ["CONFIG", "SET", "proto-max-bulk-len", "1kb"],
    ["CONFIG", "GET", "proto-max-bulk-len"], ["CONFIG", "SET", "proto-max-bulk-len", "512mb"],
    ["CONFIG", "SET", "timeout", "0", "timeout", "0"], ["CONFIG", "SET"],
    ["CONFIG", "RESETSTAT"], ["CONFIG", "RESETSTAT", "x"], ["CONFIG", "FOO"], ["CONFIG"],
    ["TIME"], ["TIME", "x"],
    ["DEBUG", "SLEEP", "0"], ["DEBUG", "SLEEP", "x"], ["DEBUG", "FOO"], ["DEBUG"],
    ["DEBUG", "SET-ACTIVE-EXPIRE", "0"], ["DEBUG", "SET-ACTIVE-EXPIRE", "1"],
    ["DEBUG", "POPULATE", "100", "key", "10"], ["DBSIZE"], ["GET", "key:5"], ["GET", "key:99"],
    ["GET", "key:100"], ["GET", "key:0"], ["DEBUG", "POPULATE", "10", "key", "3"], ["GET", "key:5"],
    ["DBSIZE"], ["DEBUG", "POPULATE", "5"], ["GET", "key:1"], ["DBSIZE"], ["KEYS", "key:*"],
    ["DEBUG", "POPULATE", "-1"], ["DEBUG", "POPULATE", "x"], ["DEBUG", "POPULATE", "3", "pfx", "0"],
    ["MGET", "pfx:0", "pfx:2", "pfx:3"], ["DEBUG", "POPULATE", "2", "big", "40"], ["GET", "big:1"],
    ["OBJECT", "ENCODING", "big:1"], ["OBJECT", "ENCODING", "key:5"], ["OBJECT", "ENCODING", "pfx:0"],
    ["DEBUG", "OBJECT", "key:5"], ["DEBUG", "OBJECT", "pfx:1"], ["DEBUG", "OBJECT", "missing"],
    ["SET", "dv1", "hello"], ["SET", "dv2", "12345"], ["SET", "dv3", "x" * 100], ["SET", "dv4", ""],
    ["DEBUG", "DIGEST-VALUE", "dv1", "dv2", "dv3", "dv4", "missing"], ["DEBUG", "DIGEST-VALUE", "key:5"],
    ["DEBUG", "DIGEST-VALUE"], ["DEBUG", "DIGEST"], ["EXPIRE", "dv1", "1000"], ["DEBUG", "DIGEST-VALUE", "dv1"],
    ["FOO", "a", "b"], ["foo"], ["FOO"], ["FOO", "x" * 200], ["FOO"] + ["arg%d" % i for i in range(40)],
    ["FOO", "a b", "c\nd"], ["", "x"], ["GET", "x", "y"], ["SET", "x"],
]

# Every command with a wrong number of arguments: the reply text names the command in lower case.
ARITY = [
    ["GET"], ["SET", "k"], ["SETNX", "k"], ["SETEX", "k", "1"], ["PSETEX", "k", "1"], ["GETSET", "k"],
    ["GETDEL"], ["GETEX"], ["MGET"], ["MSET"], ["MSET", "k"], ["MSETNX"], ["APPEND", "k"], ["STRLEN"],
    ["INCR"], ["DECR"], ["INCRBY", "k"], ["DECRBY", "k"], ["INCRBYFLOAT", "k"], ["GETRANGE", "k", "0"],
    ["SUBSTR", "k", "0"], ["SETRANGE", "k", "0"], ["LCS", "k"], ["DEL"], ["UNLINK"], ["EXISTS"],
    ["TYPE"], ["TOUCH"], ["EXPIRE", "k"], ["PEXPIRE", "k"], ["EXPIREAT", "k"], ["PEXPIREAT", "k"],
    ["TTL"], ["PTTL"], ["EXPIRETIME"], ["PEXPIRETIME"], ["PERSIST"], ["RENAME", "k"], ["RENAMENX", "k"],
    ["COPY", "k"], ["KEYS"], ["SCAN"], ["RANDOMKEY", "x"], ["DBSIZE", "x"], ["OBJECT"], ["MEMORY"],
    ["TIME", "x"], ["ECHO"], ["CLIENT"], ["CONFIG"],
    ["DEBUG"], ["PING", "a", "b"], ["AUTH"], ["SELECT"], ["RESET", "x"], ["FLUSHALL", "a", "b"],
    ["FLUSHDB", "a", "b"], ["GET", "a", "b"], ["STRLEN", "a", "b"], ["INCR", "a", "b"],
    ["TTL", "a", "b"], ["PERSIST", "a", "b"], ["GETDEL", "a", "b"], ["get"], ["Get", "a", "b"],
    ["CLIENT", "ID", "x"], ["CLIENT", "KILL"], ["CONFIG", "GET"], ["CONFIG", "RESETSTAT", "x"],
    ["OBJECT", "ENCODING"], ["MEMORY", "USAGE"], ["COMMAND", "COUNT", "x"], ["COMMAND", "GETKEYS"],
]

def expiry_seq():
    """Built when the test runs: PEXPIREAT needs a timestamp 150 ms in the future."""
    return [
    ["SET", "keep", "v"], ["SET", "ex1", "v", "PX", "100"], ["SET", "ex2", "v", "PX", "100"],
    ["PSETEX", "ex3", "100", "v"], ["SET", "ex4", "v"], ["PEXPIRE", "ex4", "100"],
    ["SET", "ex5", "v"], ["PEXPIREAT", "ex5", str(int(time.time() * 1000) + 150)],
    ["SET", "ex6", "5"], ["GETEX", "ex6", "PX", "100"], ["SET", "ex7", "v", "PX", "100"],
    ["SET", "ex8", "v", "PX", "100"], ["SET", "ex9", "v", "PX", "100"],
    Sleep(0.3),
    ["GET", "ex1"], ["EXISTS", "ex1", "ex2", "keep", "ex3", "ex4", "ex5"], ["KEYS", "*"],
    ["TTL", "ex2"], ["PTTL", "ex2"], ["EXPIRETIME", "ex3"], ["PEXPIRETIME", "ex3"], ["TYPE", "ex4"],
    ["GETEX", "ex5", "PERSIST"], ["INCR", "ex6"], ["APPEND", "ex7", "x"], ["GET", "ex7"], ["TTL", "ex7"],
    ["SETNX", "ex8", "new"], ["GET", "ex8"], ["EXPIRE", "ex9", "100"], ["PERSIST", "ex9"],
    ["RENAME", "ex9", "x"], ["COPY", "ex9", "x"], ["OBJECT", "ENCODING", "ex9"], ["GETDEL", "ex9"],
    ["MGET", "ex1", "keep", "ex2"], ["STRLEN", "ex1"], ["GETRANGE", "ex1", "0", "-1"],
    ["SET", "ex1", "back", "XX"], ["GET", "ex1"], ["SET", "ex1", "back", "NX", "GET"],
    ScanAll([]), Poll(["DBSIZE"], (":", 5)), ["DBSIZE"], ["KEYS", "*"],
    # active expiry removes keys nobody touches
    ["FLUSHALL"], ["SET", "keep", "v"], ["SET", "a1", "v", "PX", "50"], ["SET", "a2", "v", "PX", "50"],
    ["SET", "a3", "v", "PX", "50"], ["SET", "a4", "v", "PX", "50"], ["SET", "a5", "v", "PX", "50"],
    Poll(["DBSIZE"], (":", 1), timeout=2.0), ["DBSIZE"], ["INFO", "keyspace"],
    # with active expiry off, expired keys stay counted until touched
    ["DEBUG", "SET-ACTIVE-EXPIRE", "0"], ["SET", "lazy", "v", "PX", "50"], ["SET", "lazy2", "v", "PX", "50"],
    Sleep(0.3), ["DBSIZE"], ["EXISTS", "lazy"], ["DBSIZE"], ["KEYS", "*"], ["DBSIZE"],
    ["DEBUG", "SET-ACTIVE-EXPIRE", "1"],
    ["SET", "past", "v", "PXAT", "1"], ["GET", "past"], ["EXISTS", "past"], ["SET", "past", "v", "EXAT", "1", "GET"],
    ["SET", "past2", "v"], ["GETEX", "past2", "PXAT", "1"], ["EXISTS", "past2"],
    ["SET", "past3", "v"], ["EXPIREAT", "past3", "1"], ["EXISTS", "past3"],
    ["SET", "past4", "v"], ["PEXPIRE", "past4", "0"], ["TTL", "past4"],
    # logically expired leftovers (lazy2, past) go once active expiry runs again
    Poll(["DBSIZE"], (":", 1)), ["KEYS", "*"],
    ]

MK = ["mk:%d" % i for i in range(20)]

MULTIKEY = [
    ["MSET"] + [x for i, k in enumerate(MK) for x in (k, "val-%d" % i)],
    ["MGET"] + MK, ["MGET"] + [x for k in MK for x in (k, k + ":missing")],
    ["MGET", "nope1", "nope2"], ["EXISTS"] + MK, ["EXISTS"] + MK + MK + ["nope"],
    ["TOUCH"] + MK + ["nope"], ["DBSIZE"], ["KEYS", "mk:*"], ScanAll(["MATCH", "mk:*"]),
    ["MSETNX"] + [x for k in MK for x in (k + ":nx", "y")], ["MSETNX", "new:1", "a", "mk:3", "b", "new:2", "c"],
    ["MGET", "new:1", "mk:3", "new:2"], ["DBSIZE"],
    ["DEBUG", "DIGEST-VALUE"] + MK[:10], ["DEBUG", "DIGEST"],
    ["RENAME", "mk:0", "moved:0"], ["RENAMENX", "mk:1", "mk:2"], ["RENAMENX", "mk:1", "moved:1"],
    ["COPY", "mk:2", "copied:2"], ["COPY", "mk:3", "mk:4"], ["COPY", "mk:3", "mk:4", "REPLACE"],
    ["MGET", "moved:0", "moved:1", "copied:2", "mk:4"], ["LCS", "mk:5", "mk:15"],
    # found by the fuzzer: RENAME and COPY keep a string's encoding, also between cores
    *[step for i in range(6) for step in (
        ["SETRANGE", "enc:r%d" % i, "5", " 1"], ["INCRBYFLOAT", "enc:f%d" % i, "3"],
        ["SET", "enc:i%d" % i, "12"], ["APPEND", "enc:i%d" % i, "3"],
        ["RENAME", "enc:r%d" % i, "enc:r%d:moved" % i], ["COPY", "enc:f%d" % i, "enc:f%d:copy" % i],
        ["RENAME", "enc:i%d" % i, "enc:i%d:moved" % i],
        ["OBJECT", "ENCODING", "enc:r%d:moved" % i], ["OBJECT", "ENCODING", "enc:f%d:copy" % i],
        ["OBJECT", "ENCODING", "enc:i%d:moved" % i], ["LCS", "enc:r%d:moved" % i, "enc:f%d" % i],
        ["DEL", "enc:r%d:moved" % i, "enc:f%d" % i, "enc:f%d:copy" % i, "enc:i%d:moved" % i])],
    ["DEL"] + MK[:10] + ["nope"], ["DEL"] + MK[:10], ["UNLINK"] + MK[10:15] + MK[10:15],
    ["EXISTS"] + MK, ["DBSIZE"], ["MGET"] + MK, ["UNLINK"] + MK, ["DEL"] + [k + ":nx" for k in MK],
    ["DBSIZE"], ["KEYS", "*"],
    ["MSET", "dup", "1", "dup", "2", "dup", "3"], ["GET", "dup"], ["DEL", "dup", "dup", "dup"],
]

INLINE = [
    Inline(b"PING\r\n"), Inline(b"SET a \"b c\"\r\n"), Inline(b"GET a\r\n"), ["GET", "a"],
    Inline(b"ECHO \"x\\ty\\x41\\n\"\r\n"), Inline(b"SET q 'it\\'s'\r\n"), Inline(b"GET q\r\n"),
    Inline(b"  GET   a  \r\n"), Inline(b"PING\n"), Inline(b"\r\nPING\r\n"), Inline(b"\r\n\r\nECHO x\r\n"),
    Inline(b"MGET a q nope\r\n"), Inline(b"PING\r\nPING hi\r\n", 2), Inline(b"FOO bar\r\n"),
    Inline(b"SET\r\n"), Inline(b"set lower case\r\n"), Inline(b"GET lower\r\n"),
    Inline(b"SET e \"\"\r\n"), Inline(b"STRLEN e\r\n"), Inline(b"ECHO \"a\"\"b\"\r\n"), Closed(),
    Inline(b"PING\r\n" + encode(["ECHO", "mixed"]) + b"ECHO inline\r\n", 3),
    Inline(b"SET a \"b\r\n"), Closed(),
    Inline(b"ECHO \"abc\"def\r\n"), Closed(),
    Inline(b"*1\r\n$x\r\n"), Closed(),
    Inline(b"*x\r\n"), Closed(),
    Inline(b"*2\r\n$4\r\nECHO\r\n:5\r\n"), Closed(),
    Inline(b"*1\r\n$0\r\n\r\n"), Inline(b"*0\r\nPING\r\n"), Inline(b"*-1\r\nPING\r\n"),
    Inline(b"*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nECHO\r\n$3\r\nabc\r\n", 2),
    Inline(b"*2\r\n$4\r\nECHO\r\n$-1\r\n"), Closed(),
    Inline(b"*3\r\n$3\r\nSET\r\n$2\r\nbk\r\n$4\r\na\r\nb\r\n"), ["GET", "bk"],
]


def exercised_commands():
    names = set()
    for seq in (CONNECTION, HELLO_SEQ, STRINGS, KEYSPACE, GLOB, OBJECTS, SERVER, ARITY, expiry_seq(),
                MULTIKEY, pipeline_cmds()):
        for step in seq:
            args = step if isinstance(step, (list, tuple)) else getattr(step, "args", None)
            if args:
                names.add(_s(args[0]).lower())
    return names | {"quit", "reset", "scan"}


def pipeline_cmds(n=200, seed=7):
    rnd = random.Random(seed)
    keys = ["p:%d" % i for i in range(12)]
    makers = [
        lambda: ["SET", rnd.choice(keys), "v%d" % rnd.randrange(1000)],
        lambda: ["GET", rnd.choice(keys)],
        lambda: ["INCR", rnd.choice(keys[:4])],
        lambda: ["INCRBY", rnd.choice(keys[:4]), str(rnd.randrange(-50, 50))],
        lambda: ["DEL", rnd.choice(keys), rnd.choice(keys)],
        lambda: ["EXISTS"] + rnd.sample(keys, 3),
        lambda: ["MGET"] + rnd.sample(keys, 4),
        lambda: ["MSET", rnd.choice(keys), "m", rnd.choice(keys), "n"],
        lambda: ["APPEND", rnd.choice(keys[4:]), "x"],
        lambda: ["STRLEN", rnd.choice(keys)],
        lambda: ["PING"], lambda: ["ECHO", "e%d" % rnd.randrange(100)],
        lambda: ["GETRANGE", rnd.choice(keys), "0", "1"],
        lambda: ["SETNX", rnd.choice(keys), "nx"],
        lambda: ["GETSET", rnd.choice(keys), "gs"],
        lambda: ["NOSUCHCMD", "x"], lambda: ["GET"], lambda: ["SET", "k", "v", "EX", "0"],
        lambda: ["INCRBYFLOAT", rnd.choice(keys[:4]), "0.5"],
        lambda: ["EXPIRE", rnd.choice(keys), "1000"], lambda: ["TTL", rnd.choice(keys)],
        lambda: ["PERSIST", rnd.choice(keys)], lambda: ["TYPE", rnd.choice(keys)],
        lambda: ["DBSIZE"], lambda: ["GETDEL", rnd.choice(keys)], lambda: ["UNLINK", rnd.choice(keys)],
    ]
    return [rnd.choice(makers)() for _ in range(n)]


# --------------------------------------------------------------------------------------------
# Tests
# --------------------------------------------------------------------------------------------

def test_connection(h):
    h.run(CONNECTION)
    h.done()


def test_hello_resp3(h):
    h.run(HELLO_SEQ)
    h.done()


def test_quit(h):
    p = h.run([["PING"], ["QUIT"], Closed()])
    h.run([["PING"], ["QUIT", "extra", "args"], Closed()], p)
    h.run([Inline(b"QUIT\r\n"), Closed()], p)
    h.run([["HELLO", "3"], ["QUIT"], Closed()], p)
    h.run([Pipeline([["SET", "qk", "1"], ["QUIT"], ["SET", "qk", "2"]]), Closed(), ["GET", "qk"]], p)
    h.done()


def test_reset(h):
    h.run([
        ["CLIENT", "SETNAME", "x"], ["HELLO", "3"], ["CLIENT", "NO-EVICT", "on"], ["RESET"],
        ["CLIENT", "GETNAME"], ["GET", "missing"], ["CLIENT", "INFO"], ["RESET"], ["RESET"],
    ])
    h.done()


def test_select_cluster_mode(h):
    # SELECT 0 must work everywhere (MIGRATE sends it); any other index is refused in cluster mode.
    p = h.run([["SELECT", "0"], ["SET", "sel", "0"], Cluster(["SELECT", "1"], CLUSTER_SELECT_ERR),
               ["GET", "sel"], ["SELECT", "0"], ["GET", "sel"]])
    if h.standin:
        # The stand-in is standalone redis: make sure the harness's view is sane and SELECT 1 works.
        assert p.s.call("SELECT", "1") == ("+", "OK")
        assert p.s.call("SELECT", "0") == ("+", "OK")
    h.done()


def test_client_kill_and_list(h):
    p1, p2 = h.pair(), h.pair()
    h.run([["CLIENT", "SETNAME", "victim"]], p2)
    h.run([["CLIENT", "SETNAME", "killer"], ["CLIENT", "LIST"]], p1)
    id_r = p2.r.call("CLIENT", "ID")
    id_s = p2.s.call("CLIENT", "ID")
    assert id_r[0] == ":", id_r
    if id_s[0] != ":":
        h.diff("CLIENT ID", id_r, id_s)
        h.done()
    # CLIENT LIST ID <id> / CLIENT KILL ID <id>: the id differs per server
    for args in (["CLIENT", "LIST", "ID", "{id}"], ["CLIENT", "LIST", "ID", "{id}", "999999"],
                 ["CLIENT", "KILL", "ID", "{id}", "SKIPME", "yes"],
                 ["CLIENT", "KILL", "ID", "{id}"], ["CLIENT", "KILL", "ID", "{id}"]):
        ra = p1.r.call(*[str(id_r[1]) if a == "{id}" else a for a in args])
        rb = p1.s.call(*[str(id_s[1]) if a == "{id}" else a for a in args])
        h.compare(args, ra, rb, rule_for(args), what=fmt_args(args) + " (id of second connection)")
    h.run([Closed()], p2)
    h.run([["CLIENT", "LIST"], ["CLIENT", "KILL", "ID", "999999"], ["CLIENT", "LIST", "ID", "999999"],
           ["CLIENT", "LIST", "ID", "x"], ["CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"],
           ["PING"]], p1)
    # old-style CLIENT KILL addr:port, with the victim's real address
    p3 = h.pair()
    # A round trip first: a server that has not accepted the connection yet
    # would rightly answer "No such client".
    p3.r.call("PING")
    p3.s.call("PING")
    ra = p1.r.call("CLIENT", "KILL", "%s:%d" % p3.r.sock.getsockname())
    rb = p1.s.call("CLIENT", "KILL", "%s:%d" % p3.s.sock.getsockname())
    h.compare(["CLIENT", "KILL"], ra, rb, what="CLIENT KILL <addr of third connection>")
    h.run([Closed()], p3)
    h.done()


def test_strings(h):
    h.run(STRINGS)
    h.done()


def test_keyspace(h):
    h.run(KEYSPACE)
    h.done()


def test_glob_scan_flush(h):
    h.run(GLOB)
    h.done()


def test_object_memory(h):
    h.run(OBJECTS)
    h.done()


def test_server(h):
    h.run(SERVER)
    h.done()


# Redis 7.0 parameters slotcore keeps and does not act on (src/config/inert.rs): each checked,
# normalised and refused as Redis does it.
REDIS_PARAMETERS = [
    ["CONFIG", "GET", "repl-backlog-size", "slave-priority", "replica-priority", "key-load-delay"],
    ["CONFIG", "SET", "repl-backlog-size", "2mb", "slave-priority", "7"],
    ["CONFIG", "GET", "repl-backlog-size", "replica-priority", "slave-priority"],
    ["CONFIG", "SET", "repl-backlog-size", "0"], ["CONFIG", "SET", "repl-backlog-size", "x"],
    ["CONFIG", "SET", "repl-backlog-size", "1mb", "replica-priority", "100"],
    ["CONFIG", "SET", "maxmemory-clients", "10%"], ["CONFIG", "GET", "maxmemory-clients"],
    ["CONFIG", "SET", "maxmemory-clients", "200%"], ["CONFIG", "SET", "maxmemory-clients", "x%"],
    ["CONFIG", "SET", "maxmemory-clients", "1kb"], ["CONFIG", "GET", "maxmemory-clients"],
    ["CONFIG", "SET", "maxmemory-clients", "0"],
    ["CONFIG", "SET", "client-output-buffer-limit", "pubsub 1mb 2mb 3 replica 0 0 0"],
    ["CONFIG", "GET", "client-output-buffer-limit"],
    ["CONFIG", "SET", "client-output-buffer-limit", "pubsub 1mb 2mb"],
    ["CONFIG", "SET", "client-output-buffer-limit", "master 1 2 3"],
    ["CONFIG", "SET", "client-output-buffer-limit", "normal x 2 3"],
    ["CONFIG", "SET", "client-output-buffer-limit",
     "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"],
    ["CONFIG", "SET", "shutdown-on-sigterm", "nosave now"], ["CONFIG", "GET", "shutdown-on-sigterm"],
    ["CONFIG", "SET", "shutdown-on-sigterm", "save nosave"],
    ["CONFIG", "SET", "shutdown-on-sigterm", "sometimes"],
    ["CONFIG", "SET", "shutdown-on-sigterm", "default"], ["CONFIG", "GET", "shutdown-on-sig*"],
    ["CONFIG", "SET", "oom-score-adj", "relative"], ["CONFIG", "GET", "oom-score-adj"],
    ["CONFIG", "SET", "oom-score-adj", "no"],
    ["CONFIG", "SET", "oom-score-adj-values", "0 200"],
    ["CONFIG", "SET", "oom-score-adj-values", "0 200 3000"], ["CONFIG", "GET", "oom-score-adj-values"],
    ["CONFIG", "SET", "appendfsync", "sometimes"], ["CONFIG", "SET", "activedefrag", "maybe"],
    ["CONFIG", "SET", "slowlog-log-slower-than", "-2"], ["CONFIG", "SET", "hz", "abc"],
    ["CONFIG", "SET", "daemonize", "yes"], ["CONFIG", "SET", "replicaof", "127.0.0.1 1"],
    ["CONFIG", "SET", "rdbchecksum", "yes"], ["CONFIG", "SET", "io-threads", "2"],
    ["CONFIG", "SET", "latency-tracking-info-percentiles", "50 99.9 100"],
    ["CONFIG", "GET", "latency-tracking-info-percentiles"],
    ["CONFIG", "SET", "latency-tracking-info-percentiles", "50 101"],
    ["CONFIG", "SET", "latency-tracking-info-percentiles", "50 x"],
    ["CONFIG", "SET", "latency-tracking-info-percentiles", ""],
    ["CONFIG", "GET", "latency-tracking-info-percentiles"],
    ["CONFIG", "SET", "latency-tracking-info-percentiles", "50 99 99.9"],
    ["CONFIG", "GET", "*repl*"], ["CONFIG", "GET", "*lazyfree*"], ["CONFIG", "GET", "tls-*"],
    ["CONFIG", "GET", "*"],
]


# SLOWLOG and LATENCY: their errors, help, settings, and the replies that do not depend on
# timing (tests/serverlog.rs checks the logged entries and samples against redis-server).
SERVER_LOGS = [
    ["CONFIG", "SET", "slowlog-log-slower-than", "-1"], ["SLOWLOG", "RESET"],
    ["SLOWLOG", "LEN"], ["SLOWLOG", "GET"], ["SLOWLOG", "GET", "-1"], ["SLOWLOG", "get", "0"],
    ["SLOWLOG", "HELP"], ["SLOWLOG", "help", "x"], ["SLOWLOG"], ["SLOWLOG", "foo"],
    ["SLOWLOG", "GET", "a"], ["SLOWLOG", "GET", "-2"], ["SLOWLOG", "GET", "1", "2"],
    ["SLOWLOG", "LEN", "x"], ["SLOWLOG", "RESET", "x"],
    ["CONFIG", "SET", "slowlog-max-len", "-1"], ["CONFIG", "SET", "slowlog-log-slower-than", "x"],
    ["CONFIG", "SET", "slowlog-max-len", "64"], ["CONFIG", "GET", "slowlog*"],
    ["CONFIG", "SET", "slowlog-max-len", "128"],
    ["CONFIG", "SET", "slowlog-log-slower-than", "10000"],
    ["LATENCY", "LATEST"], ["LATENCY", "HISTORY", "command"], ["LATENCY", "GRAPH", "command"],
    ["LATENCY", "DOCTOR"], ["LATENCY", "RESET", "command"], ["LATENCY", "HISTOGRAM", "nosuch"],
    ["LATENCY", "HELP"], ["LATENCY", "help", "x"], ["LATENCY"], ["LATENCY", "foo"],
    ["LATENCY", "HISTORY"], ["LATENCY", "GRAPH"], ["LATENCY", "LATEST", "x"],
    ["LATENCY", "DOCTOR", "x"],
    ["CONFIG", "SET", "latency-monitor-threshold", "-1"],
    ["CONFIG", "SET", "latency-tracking", "maybe"], ["CONFIG", "GET", "latency-*"],
    ["COMMAND", "INFO", "slowlog", "latency"], ["COMMAND", "DOCS", "slowlog", "latency"],
]


def test_slowlog_and_latency(h):
    h.run(SERVER_LOGS)
    h.done()


# What a node without replication answers (ROLE, WAIT), and WAIT's argument errors.
NO_REPLICAS = [
    ["ROLE"], ["ROLE", "x"], ["LASTSAVE", "x"],
    ["WAIT", "0", "0"], ["WAIT", "0", "10"], ["WAIT", "1", "20"], ["WAIT", "-1", "0"],
    ["WAIT", "1", "x"], ["WAIT", "1", "-1"], ["WAIT", "x", "1"], ["WAIT", "1", "1.5"], ["WAIT"],
    ["MULTI"], ["WAIT", "1", "0"], ["WAIT", "1", "x"], ["EXEC"],
    ["COMMAND", "INFO", "wait", "role", "lastsave"],
    ["COMMAND", "DOCS", "wait", "role", "lastsave"],
]


def test_no_replicas(h):
    h.run(NO_REPLICAS)
    h.done()


def test_config_redis_parameters(h):
    h.run(REDIS_PARAMETERS)
    h.done()


def test_config_get_names_every_redis_parameter(h):
    """CONFIG GET * names the same parameters (and, but for per-instance ones, the same
    defaults) on both; slotcore adds only its own (shards, cpus, io-memory). Hidden ones
    answer their exact name only."""
    p = h.pair()
    (ra,), (rb,) = h.exchange(p, encode(["CONFIG", "GET", "*"]))
    def names(r):
        return {_s(k[1]) for k, _ in pairs_of(r)}

    def values(r):
        return {_s(k[1]): v for k, v in pairs_of(r)}
    assert names(rb) - names(ra) == {"shards", "cpus", "io-memory"}
    assert names(ra) - names(rb) == set()
    va, vb = values(ra), values(rb)
    differ = {k for k in va if va[k] != vb[k] and k not in CONFIG_VOLATILE}
    assert differ - set(CONFIG_CLUSTER_MODE) == set(), differ
    (ra,), (rb,) = h.exchange(p, encode(["CONFIG", "GET", "key-load-delay", "watchdog-period"]))
    assert values(ra) == values(rb) and len(pairs_of(rb)) == 2
    (ra,), (rb,) = h.exchange(p, encode(["CONFIG", "GET", "*"]))
    assert "key-load-delay" not in names(ra) | names(rb)


def test_command_list_subset(h):
    # every command slotcore lists must be a redis command; and slotcore must know the ones used here
    p = h.pair()
    ra, rb = p.r.call("COMMAND", "LIST"), p.s.call("COMMAND", "LIST")
    h.compare(["COMMAND", "LIST"], ra, rb)
    if ra[0] == "*" and rb[0] == "*":
        known = {_s(x[1]).lower() for x in ra[1] if x[0] == "$"}
        have = {_s(x[1]).lower() for x in rb[1] if x[0] == "$"}
        needed = {c for c in exercised_commands() if c in known}
        missing = sorted(needed - have)
        h.count += 1
        if missing:
            h.diff("COMMAND LIST must contain every command this suite exercises", ("all present",),
                   ("missing", missing))
    h.done()


def command_introspection_steps(names):
    """COMMAND INFO and COMMAND DOCS for every command and subcommand slotcore lists, then the
    other COMMAND subcommands on a mix of commands."""
    steps = []
    for name in names:
        steps += [["COMMAND", "INFO", name], ["COMMAND", "DOCS", name]]
    tops = [n for n in names if "|" not in n]
    steps += [
        ["COMMAND", "INFO"] + tops, ["COMMAND", "DOCS"] + tops, ["COMMAND"], ["COMMAND", "INFO"],
        ["COMMAND", "DOCS"], ["COMMAND", "INFO", "GET", "nosuch", "Client|List", "get|x", "client|x|y"],
        ["COMMAND", "DOCS", "nosuch", "SET", "config|get", "client|nosuch"], ["COMMAND", "DOCS", "nosuch"],
    ]
    for line in (["SET", "a", "b"], ["SET", "a", "b", "GET"], ["set", "a", "b", "EX", "1", "get"],
                 ["COPY", "a", "b"], ["COPY", "a", "b", "REPLACE"], ["RENAME", "a", "b"],
                 ["RENAMENX", "a", "b"], ["MSET", "a", "1", "b", "2"], ["MSETNX", "a", "1"],
                 ["MGET", "a", "b", "c"], ["DEL", "a", "b"], ["UNLINK", "a"], ["EXISTS", "a", "a"],
                 ["TOUCH", "a"], ["LCS", "a", "b"], ["GETDEL", "a"], ["GETEX", "a", "PERSIST"],
                 ["INCR", "a"], ["APPEND", "a", "x"], ["GETRANGE", "a", "0", "1"], ["EXPIRE", "a", "1"],
                 ["OBJECT", "ENCODING", "a"], ["OBJECT", "HELP"], ["MEMORY", "USAGE", "a"],
                 ["MEMORY", "USAGE", "a", "SAMPLES", "5"], ["CLIENT", "LIST"], ["CLIENT"], ["GET"],
                 ["PING"], ["TIME", "x"], ["NOSUCH", "a"], ["CONFIG", "GET", "x"], ["OBJECT", "NOSUCH", "a"]):
        steps += [["COMMAND", "GETKEYS"] + line, ["COMMAND", "GETKEYSANDFLAGS"] + line]
    steps += [["COMMAND", "GETKEYS"], ["COMMAND", "GETKEYSANDFLAGS"]]
    for kind, value in (("ACLCAT", "string"), ("ACLCAT", "KEYSPACE"), ("ACLCAT", "@read"),
                        ("ACLCAT", "dangerous"), ("ACLCAT", "connection"), ("ACLCAT", "nosuch"),
                        ("PATTERN", "*"), ("PATTERN", "client*"), ("PATTERN", "*|*"), ("PATTERN", "G?T"),
                        ("PATTERN", "[a-c]*"), ("MODULE", "nosuch")):
        steps.append(C(["COMMAND", "LIST", "FILTERBY", kind, value], rule=command_list_filter_rule))
    steps += [
        C(["COMMAND", "LIST", "FILTERBY", "PATTERN", "x*", "FILTERBY", "ACLCAT", "string"],
          rule=command_list_filter_rule),
        ["COMMAND", "LIST", "FILTERBY", "BOGUS", "x"], ["COMMAND", "LIST", "FILTERBY", "PATTERN"],
        ["COMMAND", "LIST", "FOO"], ["COMMAND", "LIST", "FILTERBY", "PATTERN", "x", "extra"],
        ["COMMAND", "COUNT", "x"], ["COMMAND", "HELP"], ["COMMAND", "HELP", "x"],
    ]
    return steps


def test_command_introspection(h):
    names = slotcore_command_names(h)
    h.count += 1
    count = h.pair().s.call("COMMAND", "COUNT")
    if count != (":", len([n for n in names if "|" not in n])):
        h.diff("COMMAND COUNT must be the number of top-level commands in COMMAND LIST",
               (":", len([n for n in names if "|" not in n])), count)
    steps = command_introspection_steps(names)
    h.run(steps)                       # RESP2
    h.run([["HELLO", "3"]] + steps)    # RESP3: maps and sets
    h.done()


def test_info_stats(h):
    h.run([
        ["CONFIG", "RESETSTAT"], ["SET", "a", "1"], ["GET", "a"], ["GET", "nope"], ["GET"],
        ["NOSUCHCMD"], ["INCR", "a"], ["SET", "b", "x"], ["INCR", "b"], ["SET", "x", "y", "EX", "0"],
        ["MSET", "c", "1", "d", "2"], ["DEL", "c", "d"],
        C(["INFO", "commandstats"], rule=info_values_rule), C(["INFO", "errorstats"], rule=info_values_rule),
        C(["INFO", "latencystats"], rule=info_values_rule), ["INFO", "stats"], ["INFO", "keyspace"],
        ["CONFIG", "RESETSTAT"], C(["INFO", "commandstats"], rule=info_values_rule),
        C(["INFO", "errorstats"], rule=info_values_rule),
    ])
    h.done()


def test_arity(h):
    h.run(ARITY)
    h.done()


def test_expiry(h):
    h.run(expiry_seq())
    h.done()


def test_multikey_across_cores(h):
    h.run(MULTIKEY)
    h.done()


def test_pipeline(h):
    cmds = pipeline_cmds(200)
    p = h.run([Pipeline(cmds)])
    h.run([["MGET"] + ["p:%d" % i for i in range(12)], ["DBSIZE"], ["KEYS", "p:*"]], p)
    # a second, larger burst on a fresh connection, read back after everything was sent
    h.run([Pipeline(pipeline_cmds(200, seed=11) + [["ECHO", "x" * 10000]] * 5)])
    h.done()


def test_inline_and_protocol(h):
    h.run(INLINE)
    h.done()
