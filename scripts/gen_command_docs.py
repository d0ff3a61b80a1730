#!/usr/bin/env python3
"""Generates src/command/docs.rs: Redis 7.0's command metadata as Rust data.

slotcore's COMMAND, COMMAND INFO, COMMAND DOCS and COMMAND GETKEYSANDFLAGS answer from this data,
so that they match Redis byte for byte. The data is not typed in by hand: it is read from the
replies of a real redis-server (7.0.15, the version slotcore is compared with), which builds the
same replies from its src/commands/*.json. Every Redis command and subcommand is emitted, not only
those slotcore implements, so a command added to the table later finds its entry already there.

Usage:
    python3 scripts/gen_command_docs.py [--redis-server /usr/bin/redis-server] [--out PATH]

It starts its own redis-server on a free loopback port (no persistence), asks it in RESP3
(`HELLO 3`, then `COMMAND INFO` and `COMMAND DOCS`), stops it, and writes the Rust file. It
refuses a server whose version is not 7.0.15 unless --any-version is given, and it stops with an
error on any reply shape it does not know, so a silent mismatch cannot slip into the data.
"""

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "tests", "differential"))

from resp import Conn, ConnectionClosed  # noqa: E402

EXPECTED_VERSION = "7.0.15"

# The order in which Redis 7.0 writes the fields of one argument, and of one command's docs.
ARG_FIELDS = ["name", "type", "key_spec_index", "token", "summary", "since", "deprecated_since",
              "flags", "arguments"]
DOC_FIELDS = ["summary", "since", "group", "complexity", "doc_flags", "deprecated_since",
              "replaced_by", "history", "arguments", "subcommands"]


def fail(message):
    sys.exit("gen_command_docs: " + message)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def fetch(redis_server, any_version):
    """Starts redis-server, returns (version, COMMAND INFO reply, COMMAND DOCS reply) in RESP3."""
    directory = tempfile.mkdtemp(prefix="gen-command-docs-")
    port = free_port()
    proc = subprocess.Popen([redis_server, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--daemonize", "no", "--dir", directory],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 10
        while True:
            try:
                conn = Conn(port, timeout=10.0)
                break
            except OSError:
                if time.time() > deadline or proc.poll() is not None:
                    fail("redis-server did not start")
                time.sleep(0.05)
        hello = conn.call("HELLO", "3")
        fields = {k[1]: v for k, v in hello[1]}
        version = fields[b"version"][1].decode()
        if version != EXPECTED_VERSION and not any_version:
            fail("redis-server is %s, expected %s (--any-version to override)" % (version, EXPECTED_VERSION))
        info = conn.call("COMMAND", "INFO")
        docs = conn.call("COMMAND", "DOCS")
        conn.close()
        return version, info, docs
    except ConnectionClosed:
        fail("redis-server closed the connection")
    finally:
        proc.kill()
        proc.wait()
        shutil.rmtree(directory, ignore_errors=True)


# --------------------------------------------------------------------------------------------
# Reading the typed reply trees (see tests/differential/resp.py)
# --------------------------------------------------------------------------------------------

def expect(node, kind):
    if node[0] != kind:
        fail("expected %r, got %r" % (kind, node))
    return node[1]


def bulk(node):
    return expect(node, "$").decode()


def simple_set(node):
    return [expect(item, "+") for item in expect(node, "~")]


def as_map(node):
    pairs = expect(node, "%")
    return [(bulk(k), v) for k, v in pairs]


def check_order(keys, order, what):
    positions = []
    for key in keys:
        if key not in order:
            fail("unknown field %r in %s" % (key, what))
        positions.append(order.index(key))
    if positions != sorted(positions):
        fail("fields of %s in an unexpected order: %r" % (what, keys))


def read_key_spec(node):
    fields = dict(as_map(node))
    keys = [k for k, _ in as_map(node)]
    if keys not in (["flags", "begin_search", "find_keys"], ["notes", "flags", "begin_search", "find_keys"]):
        fail("key spec fields %r" % keys)
    notes = bulk(fields["notes"]) if "notes" in fields else None
    begin = dict(as_map(fields["begin_search"]))
    begin_spec = dict(as_map(begin["spec"]))
    find = dict(as_map(fields["find_keys"]))
    find_spec = dict(as_map(find["spec"]))
    begin_type, find_type = bulk(begin["type"]), bulk(find["type"])
    if begin_type == "index":
        begin_rust = "BeginSearch::Index(%d)" % expect(begin_spec["index"], ":")
    elif begin_type == "keyword":
        begin_rust = "BeginSearch::Keyword { keyword: %s, start_from: %d }" % (
            rust_str(bulk(begin_spec["keyword"])), expect(begin_spec["startfrom"], ":"))
    elif begin_type == "unknown":
        begin_rust = "BeginSearch::Unknown"
    else:
        fail("begin_search type %r" % begin_type)
    if find_type == "range":
        find_rust = "FindKeys::Range { last_key: %d, key_step: %d, limit: %d }" % (
            expect(find_spec["lastkey"], ":"), expect(find_spec["keystep"], ":"), expect(find_spec["limit"], ":"))
    elif find_type == "keynum":
        find_rust = "FindKeys::Keynum { keynum_index: %d, first_key: %d, key_step: %d }" % (
            expect(find_spec["keynumidx"], ":"), expect(find_spec["firstkey"], ":"), expect(find_spec["keystep"], ":"))
    elif find_type == "unknown":
        find_rust = "FindKeys::Unknown"
    else:
        fail("find_keys type %r" % find_type)
    return "KeySpec { notes: %s, flags: %s, begin_search: %s, find_keys: %s }" % (
        rust_opt(notes), rust_strs(simple_set(fields["flags"])), begin_rust, find_rust)


def read_info(node, table):
    """One COMMAND INFO entry (and its subcommands) into table[name]['info']."""
    items = expect(node, "*")
    if len(items) != 10:
        fail("COMMAND INFO entry of %d fields" % len(items))
    name = bulk(items[0])
    tips = [bulk(t) for t in expect(items[7], "~")]
    specs = [read_key_spec(s) for s in expect(items[8], "~")]
    subcommands = items[9]
    if subcommands[0] == "*":
        for sub in subcommands[1]:
            read_info(sub, table)
    elif subcommands != ("~", []):
        fail("subcommands of %s: %r" % (name, subcommands))
    table.setdefault(name, {})["info"] = {
        "arity": expect(items[1], ":"),
        "flags": simple_set(items[2]),
        "first": expect(items[3], ":"),
        "last": expect(items[4], ":"),
        "step": expect(items[5], ":"),
        "acl": simple_set(items[6]),
        "tips": tips,
        "key_specs": specs,
    }


def read_args(node, depth):
    out = []
    for arg in expect(node, "*"):
        pairs = as_map(arg)
        check_order([k for k, _ in pairs], ARG_FIELDS, "an argument")
        f = dict(pairs)
        key_spec_index = expect(f["key_spec_index"], ":") if "key_spec_index" in f else -1
        if "key_spec_index" in f and key_spec_index < 0:
            fail("argument %r: negative key_spec_index" % bulk(f["name"]))
        children = read_args(f["arguments"], depth + 1) if "arguments" in f else None
        if children == []:
            fail("argument %r: empty arguments" % bulk(f["name"]))
        flags = simple_set(f["flags"]) if "flags" in f else []
        text = "arg(%s, %s, %d, %s, %s, %s, %s, %s, %s)" % (
            rust_str(bulk(f["name"])), rust_str(bulk(f["type"])), key_spec_index,
            rust_opt(bulk(f["token"]) if "token" in f else None),
            rust_opt(bulk(f["summary"]) if "summary" in f else None),
            rust_opt(bulk(f["since"]) if "since" in f else None),
            rust_opt(bulk(f["deprecated_since"]) if "deprecated_since" in f else None),
            rust_strs(flags),
            rust_args(children, depth + 1))
        out.append(text)
    return out


def read_docs(name, node, table):
    pairs = as_map(node)
    check_order([k for k, _ in pairs], DOC_FIELDS, "the docs of " + name)
    f = dict(pairs)
    for required in ("summary", "since", "group"):
        if required not in f:
            fail("%s has no %s" % (name, required))
    history = []
    if "history" in f:
        for entry in expect(f["history"], "~"):
            version, change = expect(entry, "*")
            history.append((bulk(version), bulk(change)))
        if not history:
            fail("%s: empty history" % name)
    doc_flags = simple_set(f["doc_flags"]) if "doc_flags" in f else []
    if "doc_flags" in f and not doc_flags:
        fail("%s: empty doc_flags" % name)
    args = read_args(f["arguments"], 1) if "arguments" in f else None
    if args == []:
        fail("%s: empty arguments" % name)
    if "subcommands" in f:
        for sub_name, sub in as_map(f["subcommands"]):
            read_docs(sub_name, sub, table)
    table.setdefault(name, {})["docs"] = {
        "summary": bulk(f["summary"]),
        "since": bulk(f["since"]),
        "group": bulk(f["group"]),
        "complexity": bulk(f["complexity"]) if "complexity" in f else None,
        "doc_flags": doc_flags,
        "deprecated_since": bulk(f["deprecated_since"]) if "deprecated_since" in f else None,
        "replaced_by": bulk(f["replaced_by"]) if "replaced_by" in f else None,
        "history": history,
        "arguments": args,
    }


# --------------------------------------------------------------------------------------------
# Rust output
# --------------------------------------------------------------------------------------------

def rust_str(text):
    out = ['"']
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ord(ch) < 32 or ord(ch) > 126:
            out.append("\\u{%x}" % ord(ch))
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def rust_opt(text):
    return "None" if text is None else "Some(%s)" % rust_str(text)


def rust_strs(items):
    return "&[%s]" % ", ".join(rust_str(i) for i in items)


def rust_args(args, depth):
    if not args:
        return "&[]"
    pad = "    " * (depth + 1)
    return "&[\n%s\n%s]" % (",\n".join(pad + a for a in args), "    " * depth)


def emit(version, table):
    lines = [
        "// @generated by scripts/gen_command_docs.py from redis-server %s's COMMAND INFO and" % version,
        "// COMMAND DOCS (RESP3). Do not edit by hand; to regenerate, with redis-server %s on the" % version,
        "// PATH (or --redis-server PATH):",
        "//",
        "//     python3 scripts/gen_command_docs.py",
        "//",
        "// One entry per Redis command and subcommand (\"client|list\"), sorted by name, whether or",
        "// not slotcore implements it; `introspect` answers COMMAND from it for the table's rows.",
        "",
        "use super::introspect::{arg, BeginSearch, CommandDoc, FindKeys, KeySpec};",
        "",
        "pub static DOCS: &[CommandDoc] = &[",
    ]
    for name in sorted(table):
        entry = table[name]
        if "info" not in entry or "docs" not in entry:
            fail("%s is missing from COMMAND INFO or COMMAND DOCS" % name)
        info, docs = entry["info"], entry["docs"]
        specs = info["key_specs"]
        spec_text = "&[]" if not specs else "&[\n%s\n        ]" % ",\n".join("            " + s for s in specs)
        history = "&[%s]" % ", ".join("(%s, %s)" % (rust_str(v), rust_str(c)) for v, c in docs["history"])
        args = docs["arguments"]
        lines += [
            "    CommandDoc {",
            "        name: %s," % rust_str(name),
            "        arity: %d," % info["arity"],
            "        flags: %s," % rust_strs(info["flags"]),
            "        first_key: %d," % info["first"],
            "        last_key: %d," % info["last"],
            "        step: %d," % info["step"],
            "        acl: %s," % rust_strs(info["acl"]),
            "        tips: %s," % rust_strs(info["tips"]),
            "        key_specs: %s," % spec_text,
            "        summary: %s," % rust_str(docs["summary"]),
            "        since: %s," % rust_str(docs["since"]),
            "        group: %s," % rust_str(docs["group"]),
            "        complexity: %s," % rust_opt(docs["complexity"]),
            "        doc_flags: %s," % rust_strs(docs["doc_flags"]),
            "        deprecated_since: %s," % rust_opt(docs["deprecated_since"]),
            "        replaced_by: %s," % rust_opt(docs["replaced_by"]),
            "        history: %s," % history,
            "        arguments: %s," % ("None" if args is None else "Some(%s)" % rust_args(args, 2)),
            "    },",
        ]
    lines.append("];")
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--redis-server", default=shutil.which("redis-server") or "/usr/bin/redis-server")
    parser.add_argument("--out", default=os.path.join(REPO, "src", "command", "docs.rs"))
    parser.add_argument("--any-version", action="store_true")
    options = parser.parse_args()
    version, info, docs = fetch(options.redis_server, options.any_version)
    table = {}
    for entry in expect(info, "*"):
        read_info(entry, table)
    for name, node in as_map(docs):
        read_docs(name, node, table)
    text = emit(version, table)
    with open(options.out, "w") as f:
        f.write(text)
    print("wrote %s: %d commands and subcommands" % (options.out, len(table)))


if __name__ == "__main__":
    main()
