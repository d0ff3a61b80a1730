//! Cross-core messages and the waiting room for their replies.
//!
//! Two glommio channel meshes connect the cores: one carries requests, the
//! other replies. A core's request handler may wait to send a reply, but the
//! reply handlers never wait on anything, so no cycle of full channels can
//! form and the cores cannot deadlock; bounded channels still push back on
//! senders.

use super::locks::Mode;
use super::serverlog::SlowRecord;
use super::Core;
use crate::command::{CommandSpec, ShardFn};
use crate::protocol::Reply;
use crate::protocol::{Arg, SentArgs};
use bytes::Bytes;
use glommio::channels::channel_mesh::{Receivers, Senders};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::future::poll_fn;
use std::rc::Rc;
use std::task::{Poll, Waker};

/// A function run on a core with access to more than its database
/// (clients, statistics).
pub type CoreFn = fn(&Core, &[Arg<'_>]) -> Reply;

/// The position of the key a command was routed by and that key's slot,
/// hashed once by the sending core and reused by the owning one.
pub type Routed = Option<(usize, u16)>;

pub enum Op {
    /// Internal work on the core's database; never waits for key locks.
    Db(ShardFn, Vec<Bytes>),
    /// Internal work on the core itself (clients, statistics).
    Core(CoreFn, Vec<Bytes>),
    /// A client command: waits while its keys are locked by a multi-core one.
    /// `Routed` is the position and slot of the key the sender routed it by.
    Command(&'static CommandSpec, ShardFn, SentArgs, Routed),
    /// Takes locks on keys of this core for a multi-core command; waits
    /// until it can take them all.
    Lock {
        transaction: u64,
        keys: Vec<Bytes>,
        mode: Mode,
    },
    /// Runs part of a multi-core command under its locks, then releases
    /// them when `release`.
    Locked {
        transaction: u64,
        run: ShardFn,
        argv: Vec<Bytes>,
        release: bool,
        /// The client command when `argv` is one (fan-out parts, commands
        /// inside EXEC): its keyspace events are raised.
        command: Option<&'static CommandSpec>,
    },
    Unlock(u64),
    /// A snapshot's fence (see `locks`): waits until the transactions
    /// holding locks here are done; meanwhile nothing else starts.
    Fence(u64),
    /// WATCH: `flag` is set when a write touches one of `keys` here.
    Watch {
        client: u64,
        keys: Vec<Bytes>,
        flag: std::sync::Arc<std::sync::atomic::AtomicBool>,
    },
    /// A blocking command's waiter for its keys on this core (served at
    /// once if one has data).
    Block {
        keys: Vec<Bytes>,
        waiter: std::sync::Arc<super::blocking::Waiter>,
    },
    /// The blocking command is over: forget its waiter here.
    Unblock {
        client: u64,
        keys: Vec<Bytes>,
    },
    /// UNWATCH (and EXEC, DISCARD, a closed connection): forget `keys`.
    Unwatch {
        client: u64,
        keys: Vec<Bytes>,
    },
    /// A client command in a slot being migrated or imported: it runs only
    /// if its keys here allow, else the reply is `redirect` (ASK/TRYAGAIN).
    /// A cluster view from a CLUSTER command this node just ran: every core
    /// installs it before the client hears OK.
    InstallView(std::sync::Arc<crate::cluster::ClusterView>),
    /// An EVAL-family command, run on the core of its keys.
    Script(Box<super::script::ScriptCall>),
    Checked {
        spec: &'static CommandSpec,
        argv: Vec<Bytes>,
        check: crate::cluster::route::KeyCheck,
        redirect: String,
    },
}

pub struct Request {
    pub id: u64,
    pub ops: Vec<Op>,
}

pub struct Response {
    pub id: u64,
    pub replies: Vec<Reply>,
    /// Slowlog records of the batch's client commands that ran slowly:
    /// the client's own core logs them (see `serverlog`).
    pub slow: Vec<SlowRecord>,
}

/// Bounded capacity of each core-to-core channel, in messages (a message
/// carries a whole batch of commands).
pub const CHANNEL_MESSAGES_MAX: usize = 1024;

enum Waiting {
    Empty(Option<Waker>),
    Done(Vec<Reply>, Vec<SlowRecord>),
}

/// This core's ends of both meshes plus the replies it waits for.
pub struct Mesh {
    requests: Senders<Request>,
    responses: Senders<Response>,
    waiting: RefCell<HashMap<u64, Waiting>>,
    next_id: Cell<u64>,
}

impl Mesh {
    pub fn new(requests: Senders<Request>, responses: Senders<Response>) -> Self {
        assert_eq!(
            requests.peer_id(),
            responses.peer_id(),
            "both meshes order cores alike"
        );
        Mesh {
            requests,
            responses,
            waiting: RefCell::new(HashMap::new()),
            next_id: Cell::new(1),
        }
    }

    /// Sends `ops` to `core` and waits for their replies, in order.
    pub async fn call(&self, core: usize, ops: Vec<Op>) -> Vec<Reply> {
        let count = ops.len();
        let id = self.start(core, ops).await;
        self.finish(id, count).await
    }

    /// Sends a batch and returns its id; `finish` waits for the replies.
    /// Sending several batches before waiting lets cores work in parallel.
    pub async fn start(&self, core: usize, ops: Vec<Op>) -> u64 {
        assert_ne!(
            core,
            self.requests.peer_id(),
            "local work never crosses the mesh"
        );
        let id = self.next_id.get();
        self.next_id.set(id + 1);
        self.waiting.borrow_mut().insert(id, Waiting::Empty(None));
        if self
            .requests
            .send_to(core, Request { id, ops })
            .await
            .is_err()
        {
            // The peer is gone (shutdown): its replies will never come.
            self.waiting
                .borrow_mut()
                .insert(id, Waiting::Done(Vec::new(), Vec::new()));
        }
        id
    }

    pub async fn finish(&self, id: u64, count: usize) -> Vec<Reply> {
        self.finish_logged(id, count).await.0
    }

    /// `finish`, with the slowlog records of the batch's slow commands.
    pub async fn finish_logged(&self, id: u64, count: usize) -> (Vec<Reply>, Vec<SlowRecord>) {
        let (mut replies, slow) = poll_fn(|cx| {
            let mut waiting = self.waiting.borrow_mut();
            match waiting.remove(&id) {
                Some(Waiting::Done(replies, slow)) => Poll::Ready((replies, slow)),
                Some(Waiting::Empty(_)) | None => {
                    waiting.insert(id, Waiting::Empty(Some(cx.waker().clone())));
                    Poll::Pending
                }
            }
        })
        .await;
        replies.resize_with(count, || Reply::error("ERR shard unavailable"));
        (replies, slow)
    }

    fn complete(&self, response: Response) {
        let mut waiting = self.waiting.borrow_mut();
        if let Some(Waiting::Empty(waker)) =
            waiting.insert(response.id, Waiting::Done(response.replies, response.slow))
        {
            if let Some(waker) = waker {
                waker.wake();
            }
        } else {
            waiting.remove(&response.id);
        }
    }
}

/// Serves requests from every other core: runs each batch synchronously on
/// this core's state and sends the replies back.
pub fn spawn_handlers(
    core: Rc<Core>,
    mut requests: Receivers<Request>,
    mut responses: Receivers<Response>,
) {
    for (peer, receiver) in requests.streams() {
        let core = core.clone();
        glommio::spawn_local(async move {
            while let Some(request) = receiver.recv().await {
                let mut slow = Vec::new();
                let (replies, parked) = core.run_until_blocked(request.ops, &mut slow);
                if parked.is_empty() {
                    let response = Response {
                        id: request.id,
                        replies,
                        slow,
                    };
                    if core.mesh().responses.send_to(peer, response).await.is_err() {
                        break;
                    }
                } else {
                    // Some op waits for a key lock: finish this batch in
                    // its own task, in order, so this handler never blocks
                    // (a blocked handler could hold up the very unlock it
                    // waits for).
                    let core = core.clone();
                    glommio::spawn_local(async move {
                        let mut replies = replies;
                        let mut slow = slow;
                        for op in parked {
                            let logged = slow.len();
                            let reply = core.run_op_logged(op, &mut slow).await;
                            for record in &mut slow[logged..] {
                                record.op = replies.len() as u32;
                            }
                            replies.push(reply);
                        }
                        let response = Response {
                            id: request.id,
                            replies,
                            slow,
                        };
                        let _ = core.mesh().responses.send_to(peer, response).await;
                    })
                    .detach();
                }
            }
        })
        .detach();
    }
    for (_peer, receiver) in responses.streams() {
        let core = core.clone();
        glommio::spawn_local(async move {
            while let Some(response) = receiver.recv().await {
                core.mesh().complete(response);
            }
        })
        .detach();
    }
}
