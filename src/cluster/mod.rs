//! Hash slots, their placement on cores, the immutable cluster view the
//! shard cores route with, and the one routing gate (MOVED/ASK/TRYAGAIN/
//! CROSSSLOT/CLUSTERDOWN).

pub mod route;
pub mod slot;
pub mod view;

pub use slot::{
    core_of_slot, key_hash_slot, local_slot_count, local_slot_index, KnownSlot, SLOT_COUNT,
};
pub use view::ClusterView;
