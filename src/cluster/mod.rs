//! Hash slots and their placement on cores. The cluster view and routing
//! (MOVED/ASK/CROSSSLOT) arrive with cluster mode.

pub mod slot;

pub use slot::{core_of_slot, key_hash_slot, local_slot_count, local_slot_index, SLOT_COUNT};
