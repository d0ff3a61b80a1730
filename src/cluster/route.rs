//! The one gate for cluster routing, as Redis's `getNodeByQuery`: from a
//! command's key slots and the cluster view it decides local, MOVED, ASK,
//! TRYAGAIN, CROSSSLOT or CLUSTERDOWN. Command handlers never write a
//! redirect themselves.
//!
//! Whether a key exists matters only in a slot being migrated or imported;
//! that is known only on the core that owns the slot, so the gate answers
//! `Check` and that core finishes the decision with `resolve_check`.

use super::view::{ClusterView, NO_NODE};

/// What the connection knows about the command besides its keys.
#[derive(Debug, Clone, Copy, Default)]
pub struct Query {
    /// The connection sent ASKING just before, or the command is
    /// RESTORE-ASKING.
    pub asking: bool,
    /// The connection sent READONLY.
    pub readonly_client: bool,
    /// The command only reads.
    pub readonly_command: bool,
    /// The command is MIGRATE: it may run in a slot being moved.
    pub is_migrate: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Redirect {
    Moved {
        slot: u16,
        node: u16,
    },
    Ask {
        slot: u16,
        node: u16,
    },
    TryAgain,
    CrossSlot,
    /// No node serves the slot.
    Unbound,
    /// `cluster_state:fail`.
    Down,
    /// `cluster_state:fail` with reads allowed, and this is a write.
    DownReadOnly,
}

/// A decision the owning core finishes once it has counted missing keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyCheck {
    /// The slot is being migrated to `node`: any missing key means ASK.
    Migrating { slot: u16, node: u16 },
    /// The slot is being imported and the client asked: with several keys,
    /// any missing one means TRYAGAIN.
    Importing,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Serve it here.
    Local,
    /// Serve it here if `resolve_check` says so.
    Check(KeyCheck),
    Redirect(Redirect),
}

/// Routes a command whose keys hash to `slots` (in key order).
pub fn route(view: &ClusterView, mut slots: impl Iterator<Item = u16>, query: Query) -> Decision {
    let Some(slot) = slots.next() else {
        return Decision::Local;
    };
    if slots.any(|other| other != slot) {
        return Decision::Redirect(Redirect::CrossSlot);
    }
    let owner = view.slots[slot as usize];
    if owner == NO_NODE {
        return Decision::Redirect(Redirect::Unbound);
    }
    if !view.state_ok {
        if !view.allow_reads_when_down {
            return Decision::Redirect(Redirect::Down);
        }
        if !query.readonly_command {
            return Decision::Redirect(Redirect::DownReadOnly);
        }
    }
    // Most views have no slot in motion: skip the map lookups then.
    let migrating_to = (owner == view.myself && !view.migrating.is_empty())
        .then(|| view.migrating.get(&slot).copied())
        .flatten();
    let importing =
        migrating_to.is_none() && !view.importing.is_empty() && view.importing.contains_key(&slot);
    if (migrating_to.is_some() || importing) && query.is_migrate {
        return Decision::Local;
    }
    if let Some(node) = migrating_to {
        return Decision::Check(KeyCheck::Migrating { slot, node });
    }
    if importing && query.asking {
        return Decision::Check(KeyCheck::Importing);
    }
    let serves_reads = query.readonly_client
        && query.readonly_command
        && view.master.is_some_and(|master| master == owner);
    if owner != view.myself && !serves_reads {
        return Decision::Redirect(Redirect::Moved { slot, node: owner });
    }
    Decision::Local
}

/// Finishes a `Check` on the owning core, given how many of the command's
/// `keys` are missing there.
pub fn resolve_check(check: &KeyCheck, keys: usize, missing: usize) -> Option<Redirect> {
    match *check {
        KeyCheck::Migrating { slot, node } if missing > 0 => Some(Redirect::Ask { slot, node }),
        KeyCheck::Importing if keys > 1 && missing > 0 => Some(Redirect::TryAgain),
        _ => None,
    }
}

impl Redirect {
    /// The error line, without `-` and CRLF, byte for byte as Redis.
    pub fn error_text(&self, view: &ClusterView) -> String {
        let address = |node: u16| match view.node(node) {
            Some(node) => format!("{}:{}", node.endpoint, node.port),
            None => "?:0".to_string(),
        };
        match *self {
            Redirect::Moved { slot, node } => format!("MOVED {slot} {}", address(node)),
            Redirect::Ask { slot, node } => format!("ASK {slot} {}", address(node)),
            Redirect::TryAgain => "TRYAGAIN Multiple keys request during rehashing of slot".into(),
            Redirect::CrossSlot => "CROSSSLOT Keys in request don't hash to the same slot".into(),
            Redirect::Unbound => "CLUSTERDOWN Hash slot not served".into(),
            Redirect::Down => "CLUSTERDOWN The cluster is down".into(),
            Redirect::DownReadOnly => {
                "CLUSTERDOWN The cluster is down and only accepts read commands".into()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::view::NodeEndpoint;

    /// Two masters: myself (0) serves 0-8191, node 1 serves the rest.
    fn view() -> ClusterView {
        let mut view = ClusterView::standalone();
        view.enabled = true;
        view.nodes = vec![
            NodeEndpoint {
                id: "a".repeat(40),
                endpoint: "127.0.0.1".into(),
                port: 7000,
            },
            NodeEndpoint {
                id: "b".repeat(40),
                endpoint: "127.0.0.1".into(),
                port: 7001,
            },
        ];
        for slot in 0..16384 {
            view.slots[slot] = u16::from(slot >= 8192);
        }
        view
    }

    fn write() -> Query {
        Query::default()
    }

    fn read() -> Query {
        Query {
            readonly_command: true,
            ..Query::default()
        }
    }

    #[test]
    fn keyless_commands_are_local() {
        assert_eq!(route(&view(), std::iter::empty(), write()), Decision::Local);
    }

    #[test]
    fn own_slots_are_local_and_others_moved() {
        let view = view();
        assert_eq!(route(&view, [5].into_iter(), write()), Decision::Local);
        let moved = route(&view, [9000].into_iter(), write());
        assert_eq!(
            moved,
            Decision::Redirect(Redirect::Moved {
                slot: 9000,
                node: 1
            })
        );
        if let Decision::Redirect(redirect) = moved {
            assert_eq!(redirect.error_text(&view), "MOVED 9000 127.0.0.1:7001");
        }
    }

    #[test]
    fn keys_in_several_slots_are_crossslot() {
        assert_eq!(
            route(&view(), [5, 5, 6].into_iter(), write()),
            Decision::Redirect(Redirect::CrossSlot)
        );
    }

    #[test]
    fn unserved_slots_and_a_failed_cluster_are_down() {
        let mut view = view();
        view.slots[7] = NO_NODE;
        assert_eq!(
            route(&view, [7].into_iter(), read()),
            Decision::Redirect(Redirect::Unbound)
        );
        view.state_ok = false;
        assert_eq!(
            route(&view, [5].into_iter(), read()),
            Decision::Redirect(Redirect::Down)
        );
        view.allow_reads_when_down = true;
        assert_eq!(route(&view, [5].into_iter(), read()), Decision::Local);
        assert_eq!(
            route(&view, [5].into_iter(), write()),
            Decision::Redirect(Redirect::DownReadOnly)
        );
    }

    #[test]
    fn migrating_slots_ask_for_missing_keys() {
        let mut view = view();
        view.migrating.insert(5, 1);
        let decision = route(&view, [5].into_iter(), write());
        let Decision::Check(check) = decision else {
            panic!("expected a key check, got {decision:?}");
        };
        assert_eq!(resolve_check(&check, 1, 0), None);
        let ask = resolve_check(&check, 1, 1).expect("a missing key is asked for");
        assert_eq!(ask.error_text(&view), "ASK 5 127.0.0.1:7001");
        // MIGRATE itself runs in a migrating slot.
        let migrate = Query {
            is_migrate: true,
            ..write()
        };
        assert_eq!(route(&view, [5].into_iter(), migrate), Decision::Local);
    }

    #[test]
    fn importing_slots_serve_asking_clients_only() {
        let mut view = view();
        view.importing.insert(9000, 1);
        assert!(matches!(
            route(&view, [9000].into_iter(), write()),
            Decision::Redirect(Redirect::Moved { .. })
        ));
        let asking = Query {
            asking: true,
            ..write()
        };
        let Decision::Check(check) = route(&view, [9000, 9000].into_iter(), asking) else {
            panic!("expected a key check");
        };
        assert_eq!(resolve_check(&check, 2, 0), None);
        assert_eq!(resolve_check(&check, 1, 1), None);
        assert_eq!(resolve_check(&check, 2, 1), Some(Redirect::TryAgain));
    }

    #[test]
    fn replicas_serve_reads_to_readonly_clients() {
        let mut view = view();
        view.master = Some(1);
        let readonly = Query {
            readonly_client: true,
            ..read()
        };
        assert_eq!(route(&view, [9000].into_iter(), readonly), Decision::Local);
        assert!(matches!(
            route(&view, [9000].into_iter(), read()),
            Decision::Redirect(Redirect::Moved { .. })
        ));
    }
}
