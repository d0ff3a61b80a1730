//! slotcore: a thread-per-core Redis Cluster node.
//!
//! Module map (layers only point down):
//!
//! - [`protocol`]: RESP2/RESP3 request decoding, the arguments commands
//!   borrow from the read buffer, and reply encoding. Knows nothing else of
//!   ours.
//! - [`keyspace`]: one core's keys: values, expiry index, per-slot maps.
//!   Synchronous.
//! - [`cluster`]: hash slots, hash tags, the slot → core function, the
//!   cluster view and the one routing gate.
//! - [`cluster_bus`]: the cluster bus on its own core: the Redis 7.0 wire
//!   format, gossip, failure detection, epochs, nodes.conf, CLUSTER
//!   commands; hands every shard core an immutable [`cluster::ClusterView`].
//! - [`command`]: the command table (data), Redis's command metadata for
//!   COMMAND INFO/DOCS (generated data), and the synchronous shard-side
//!   handlers that run on the core owning the keys.
//! - [`config`]: the one parameter table behind config files, flags and
//!   CONFIG GET/SET/REWRITE.
//! - [`shard`]: the runtime: one glommio executor per core, listeners,
//!   connections (read through one epoll instance per core), the channel
//!   mesh, the coordinator for commands that span cores, and each core's
//!   slowlog and latency events. The only module that touches glommio.
//! - [`script`]: Lua scripting (EVAL): one sandboxed Lua 5.1 interpreter
//!   per shard core, the `redis` API scripts call and the conversions
//!   between Lua values and replies. Synchronous; calls commands through a
//!   host trait the shard runtime implements.
//! - [`replication`]: the master side of Redis's replication: the hub
//!   thread that merges every core's writes into one stream, its backlog,
//!   and the replicas' sockets.
//! - [`memory`]: allocation accounting for INFO memory and maxmemory.
//! - [`clock`]: a cheap monotonic clock (TSC) for timing every command.
//! - [`log`]: Redis-style log lines.
//! - [`process`]: `daemonize` and the PID file.

pub mod clock;
pub mod cluster;
pub mod cluster_bus;
pub mod command;
pub mod config;
pub mod keyspace;
pub mod log;
pub mod memory;
pub mod process;
pub mod protocol;
pub mod replication;
pub mod script;
pub mod shard;

/// The Redis version whose behaviour slotcore matches; reported as
/// `redis_version` so tools that check it accept us.
pub const REDIS_VERSION: &str = "7.0.15";
