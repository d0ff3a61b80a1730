//! The Redis Cluster bus, on a core of its own: the wire format ([`wire`]),
//! the authoritative cluster state and its rules ([`state`]), the CLUSTER
//! commands and text formats ([`commands`]), nodes.conf ([`nodes_conf`]),
//! and the executor that runs links, the cron and hands views to the shard
//! cores ([`runtime`]).

pub mod commands;
pub mod nodes_conf;
pub mod runtime;
pub mod state;
pub mod wire;

#[cfg(test)]
mod sim_tests;
