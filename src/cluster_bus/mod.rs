//! The Redis Cluster bus: for now only its wire format ([`wire`]), a pure module with no I/O.

pub mod wire;
