//! One worker thread: an epoll loop (mio) over the connections of its share of the clients.
//!
//! Each client keeps up to `pipeline` requests in flight (closed loop), or sends on a fixed
//! schedule (open loop, `--rate`) and times each request from when it was due. A client has one
//! connection per cluster node it talks to, opened when first needed. Replies come back in order
//! per connection, so each connection keeps a queue of what it is waiting for.
//!
//! Redirections and retries: MOVED patches the slot map, asks for a full refresh and resends;
//! ASK sends ASKING and the command to the named node once; TRYAGAIN, CLUSTERDOWN and a broken
//! connection resend after a backoff that doubles from 10 ms to 1 s. A request keeps the time it
//! was first due, so its latency includes all of that.

use crate::cluster::{self, SlotMap};
use crate::config::RunArgs;
use crate::stats::Interval;
use crate::workload::{Generator, Op};
use mio::net::TcpStream;
use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};
use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::mpsc::Sender;
use std::sync::Arc;
use std::time::{Duration, Instant};

const NANOS_PER_SECOND: u64 = 1_000_000_000;
/// The event loop wakes at least this often to roll intervals and check for the end.
const TICK_NS_MAX: u64 = 100_000_000;
/// Bytes read per read() call, and the read buffer's starting size.
const READ_CHUNK_BYTES: usize = 64 * 1024;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
const REFRESH_TIMEOUT: Duration = Duration::from_millis(500);
/// At most one CLUSTER SLOTS refresh per worker in this period.
const REFRESH_INTERVAL_NS: u64 = 100_000_000;
const BACKOFF_BASE_NS: u64 = 10_000_000;
const BACKOFF_MAX_NS: u64 = 1_000_000_000;
/// After the end of the run, requests still in flight get this long to finish.
const DRAIN_NS: u64 = 5 * NANOS_PER_SECOND;

/// State all workers and the main thread share.
pub struct Shared {
    pub start: Instant,
    /// Nanoseconds after `start` when measuring begins (the end of the warm-up).
    pub measure_start_ns: u64,
    /// Nanoseconds after `start` when no new request is sent (duration-bounded runs).
    pub stop_ns: Option<u64>,
    /// Measured requests still to send (`-n` runs).
    pub budget: Option<AtomicI64>,
    /// Set by the main thread to end the run early (Ctrl-C is not handled; this is for errors).
    pub abort: AtomicBool,
    /// Progress, for the live line: successful measured requests and unhandled errors.
    pub completed: AtomicU64,
    pub errors: AtomicU64,
}

impl Shared {
    fn now_ns(&self) -> u64 {
        self.start.elapsed().as_nanos() as u64
    }
}

/// What a worker sends the main thread: a finished interval, or its final words.
pub enum Message {
    Interval {
        worker: usize,
        interval: Box<Interval>,
    },
    Done {
        worker: usize,
        /// When this worker's last measured request completed, in ns after `Shared::start`.
        last_completion_ns: u64,
    },
}

#[derive(Clone, Copy)]
struct Pending {
    op: Op,
    /// When the request was first due; latency is measured from here.
    start_ns: u64,
    attempts: u32,
    /// This entry is the reply to an ASKING sent before the real command.
    asking: bool,
}

struct Connection {
    stream: TcpStream,
    node: u16,
    client: usize,
    write_buffer: Vec<u8>,
    written: usize,
    read_buffer: Vec<u8>,
    read_start: usize,
    read_end: usize,
    pending: VecDeque<Pending>,
}

struct Client {
    in_flight: usize,
    /// Open loop: when the next request is due.
    next_due_ns: u64,
    /// Connection index per node index.
    connections: Vec<Option<usize>>,
}

struct Retry {
    due_ns: u64,
    client: usize,
    pending: Pending,
    /// ASK target: send ASKING and the command to this node.
    ask_node: Option<u16>,
}

enum Outcome {
    Ok,
    Error(String),
}

pub struct Worker {
    id: usize,
    timer: Option<Timer>,
    shared: Arc<Shared>,
    sender: Sender<Message>,
    poll: Poll,
    generator: Generator,
    map: SlotMap,
    /// Whether the map can change (a cluster, or not yet discovered).
    follow_cluster: bool,
    connections: Vec<Option<Connection>>,
    free_connections: Vec<usize>,
    dirty: Vec<usize>,
    clients: Vec<Client>,
    retries: Vec<Retry>,
    pipeline: usize,
    max_attempts: u32,
    /// Open loop: nanoseconds between two requests of one client.
    rate_interval_ns: Option<u64>,
    issuing: bool,
    /// When this worker stopped sending new requests.
    stopped_ns: Option<u64>,
    /// Requests sent and not yet finished (in flight or waiting to retry).
    outstanding: usize,
    interval: Interval,
    refresh_wanted: bool,
    last_refresh_ns: u64,
    last_completion_ns: u64,
    progress_completed: u64,
    progress_errors: u64,
    /// Replies taken from one read, reused so the hot path does not allocate.
    reply_scratch: Vec<(Pending, Outcome)>,
}

pub struct WorkerSetup {
    pub id: usize,
    pub arguments: RunArgs,
    pub map: SlotMap,
    /// This worker's clients, and the index of its first client among all.
    pub client_count: usize,
    pub first_client: usize,
    pub total_clients: usize,
    pub seed: u64,
}

impl Worker {
    pub fn new(
        setup: WorkerSetup,
        shared: Arc<Shared>,
        sender: Sender<Message>,
    ) -> Result<Worker, String> {
        let arguments = &setup.arguments;
        let rate_interval_ns = arguments
            .rate
            .map(|rate| ((setup.total_clients as f64 / rate) * 1e9).max(1.0) as u64);
        let clients = (0..setup.client_count)
            .map(|index| {
                // Spread the clients' schedules evenly over one interval.
                let phase = rate_interval_ns.map_or(0, |interval| {
                    interval * (setup.first_client + index) as u64 / setup.total_clients as u64
                });
                Client {
                    in_flight: 0,
                    next_due_ns: phase,
                    connections: Vec::new(),
                }
            })
            .collect();
        let poll = Poll::new().map_err(|error| format!("epoll: {error}"))?;
        // Only an open-loop schedule needs wake-ups finer than epoll's milliseconds.
        let timer = match rate_interval_ns {
            Some(_) => {
                Some(Timer::new(poll.registry()).map_err(|error| format!("timerfd: {error}"))?)
            }
            None => None,
        };
        Ok(Worker {
            id: setup.id,
            timer,
            follow_cluster: setup.map.cluster || arguments.no_discovery,
            generator: Generator::new(arguments, setup.seed)?,
            map: setup.map,
            poll,
            shared,
            sender,
            connections: Vec::new(),
            free_connections: Vec::new(),
            dirty: Vec::new(),
            clients,
            retries: Vec::new(),
            pipeline: arguments.pipeline,
            max_attempts: arguments.max_attempts,
            rate_interval_ns,
            issuing: true,
            stopped_ns: None,
            outstanding: 0,
            interval: Interval::new(0),
            refresh_wanted: false,
            last_refresh_ns: 0,
            last_completion_ns: 0,
            progress_completed: 0,
            progress_errors: 0,
            reply_scratch: Vec::new(),
        })
    }

    /// Runs until the run ends and every request has finished (or the drain time ran out).
    pub fn run(mut self) {
        let mut events = Events::with_capacity(1024);
        if self.rate_interval_ns.is_none() {
            for client in 0..self.clients.len() {
                for _ in 0..self.pipeline {
                    self.issue_new(client, self.shared.now_ns());
                }
            }
        }
        loop {
            let now = self.shared.now_ns();
            self.check_end(now);
            if !self.issuing && self.outstanding == 0 {
                break;
            }
            if self.drain_expired(now) {
                self.abandon_outstanding();
                break;
            }
            self.roll_interval(now);
            self.send_due(now);
            self.maybe_refresh(now);
            self.flush_dirty();
            let timeout = self.poll_timeout(self.shared.now_ns());
            if let Some(timer) = &self.timer {
                if let Err(error) = timer.arm(timeout) {
                    eprintln!("slotcore-bench: timerfd failed: {error}");
                }
            }
            if let Err(error) = self.poll.poll(&mut events, Some(timeout)) {
                if error.kind() != io::ErrorKind::Interrupted {
                    eprintln!("slotcore-bench: epoll failed: {error}");
                    self.abandon_outstanding();
                    break;
                }
            }
            for event in events.iter() {
                let index = event.token().0;
                if event.token() == TIMER_TOKEN {
                    if let Some(timer) = &self.timer {
                        timer.clear();
                    }
                    continue;
                }
                if event.is_writable() {
                    self.flush(index);
                }
                if event.is_readable() || event.is_read_closed() || event.is_error() {
                    self.read_replies(index);
                }
            }
            self.flush_dirty();
            self.publish_progress();
        }
        self.finish();
    }

    fn check_end(&mut self, now: u64) {
        if self.shared.abort.load(Ordering::Relaxed) {
            self.issuing = false;
        }
        if let Some(stop) = self.shared.stop_ns {
            if now >= stop {
                self.issuing = false;
            }
        }
        if !self.issuing && self.stopped_ns.is_none() {
            self.stopped_ns = Some(now);
        }
    }

    /// Whether the requests still out after the end have had their DRAIN_NS to finish.
    fn drain_expired(&self, now: u64) -> bool {
        if self.shared.abort.load(Ordering::Relaxed) {
            return true;
        }
        self.stopped_ns
            .is_some_and(|stopped| now > stopped + DRAIN_NS)
    }

    fn poll_timeout(&self, now: u64) -> Duration {
        let mut wake = now + TICK_NS_MAX;
        if now >= self.shared.measure_start_ns {
            let since = now - self.shared.measure_start_ns;
            wake = wake.min(now + NANOS_PER_SECOND - since % NANOS_PER_SECOND);
        }
        for retry in &self.retries {
            wake = wake.min(retry.due_ns);
        }
        if self.rate_interval_ns.is_some() && self.issuing {
            for client in &self.clients {
                if client.in_flight < self.pipeline {
                    wake = wake.min(client.next_due_ns);
                }
            }
        }
        Duration::from_nanos(wake.saturating_sub(now))
    }

    /// Sends the open-loop requests that are due and the retries whose backoff is over.
    fn send_due(&mut self, now: u64) {
        if !self.retries.is_empty() {
            let mut index = 0;
            while index < self.retries.len() {
                if self.retries[index].due_ns <= now {
                    let retry = self.retries.swap_remove(index);
                    self.send(retry.client, retry.pending, retry.ask_node, now);
                } else {
                    index += 1;
                }
            }
        }
        let Some(interval) = self.rate_interval_ns else {
            return;
        };
        for client in 0..self.clients.len() {
            while self.issuing
                && self.clients[client].next_due_ns <= now
                && self.clients[client].in_flight < self.pipeline
            {
                let due = self.clients[client].next_due_ns;
                self.clients[client].next_due_ns += interval;
                self.issue_new(client, due);
            }
        }
    }

    /// Draws a new request for `client`, due at `due_ns`, and sends it.
    fn issue_new(&mut self, client: usize, due_ns: u64) {
        if !self.issuing {
            return;
        }
        if due_ns >= self.shared.measure_start_ns {
            if let Some(budget) = &self.shared.budget {
                if budget.fetch_sub(1, Ordering::Relaxed) <= 0 {
                    self.issuing = false;
                    return;
                }
            }
        }
        let op = self.generator.next_op();
        self.clients[client].in_flight += 1;
        self.outstanding += 1;
        let pending = Pending {
            op,
            start_ns: due_ns,
            attempts: 0,
            asking: false,
        };
        self.send(client, pending, None, due_ns);
    }

    /// Encodes `pending` onto the connection to its slot's node (or the ASK target).
    fn send(&mut self, client: usize, mut pending: Pending, ask_node: Option<u16>, now: u64) {
        pending.attempts += 1;
        let node = ask_node.unwrap_or_else(|| self.map.node_of_slot(pending.op.slot));
        let index = match self.connection_for(client, node) {
            Ok(index) => index,
            Err(error) => {
                self.count_connection_error(&error, node);
                self.retry_later(client, pending, None, now);
                return;
            }
        };
        let Some(connection) = self.connections[index].as_mut() else {
            return;
        };
        if connection.write_buffer.len() == connection.written {
            self.dirty.push(index);
        }
        if ask_node.is_some() {
            connection
                .write_buffer
                .extend_from_slice(b"*1\r\n$6\r\nASKING\r\n");
            connection.pending.push_back(Pending {
                asking: true,
                ..pending
            });
        }
        self.generator
            .encode(&mut connection.write_buffer, pending.op);
        connection.pending.push_back(pending);
    }

    fn count_connection_error(&mut self, error: &io::Error, node: u16) {
        self.interval.counters.connection += 1;
        if self.interval.first_error.is_none() && !self.follow_cluster {
            self.interval.first_error = Some(format!(
                "connection to {}: {error}",
                self.map.nodes[node as usize]
            ));
        }
        self.refresh_wanted = true;
    }

    /// Schedules `pending` again after a backoff, or gives up after `max_attempts`.
    fn retry_later(&mut self, client: usize, pending: Pending, ask_node: Option<u16>, now: u64) {
        if pending.attempts >= self.max_attempts {
            self.interval.counters.failed += 1;
            self.finish_request(client, now);
            return;
        }
        let shift = pending.attempts.saturating_sub(1).min(10);
        let backoff = (BACKOFF_BASE_NS << shift).min(BACKOFF_MAX_NS);
        self.retries.push(Retry {
            due_ns: now + backoff,
            client,
            pending,
            ask_node,
        });
    }

    fn connection_for(&mut self, client: usize, node: u16) -> io::Result<usize> {
        let slot = node as usize;
        if let Some(Some(index)) = self.clients[client].connections.get(slot) {
            return Ok(*index);
        }
        let address = self.map.nodes[slot];
        let stream = std::net::TcpStream::connect_timeout(&address, CONNECT_TIMEOUT)?;
        stream.set_nodelay(true)?;
        stream.set_nonblocking(true)?;
        let mut stream = TcpStream::from_std(stream);
        let index = self.free_connections.pop().unwrap_or_else(|| {
            self.connections.push(None);
            self.connections.len() - 1
        });
        self.poll.registry().register(
            &mut stream,
            Token(index),
            Interest::READABLE | Interest::WRITABLE,
        )?;
        self.connections[index] = Some(Connection {
            stream,
            node,
            client,
            write_buffer: Vec::with_capacity(4096),
            written: 0,
            read_buffer: vec![0; READ_CHUNK_BYTES],
            read_start: 0,
            read_end: 0,
            pending: VecDeque::with_capacity(self.pipeline * 2),
        });
        let connections = &mut self.clients[client].connections;
        if connections.len() <= slot {
            connections.resize(slot + 1, None);
        }
        connections[slot] = Some(index);
        Ok(index)
    }

    fn flush_dirty(&mut self) {
        while let Some(index) = self.dirty.pop() {
            self.flush(index);
        }
    }

    fn flush(&mut self, index: usize) {
        let Some(connection) = self.connections.get_mut(index).and_then(Option::as_mut) else {
            return;
        };
        if let Err(error) = write_pending(connection) {
            let now = self.shared.now_ns();
            self.connection_failed(index, &error, now);
        }
    }

    /// Reads what the connection has, then handles every complete reply in it.
    fn read_replies(&mut self, index: usize) {
        let mut replies = std::mem::take(&mut self.reply_scratch);
        let (client, failure) = {
            let Some(connection) = self.connections.get_mut(index).and_then(Option::as_mut) else {
                return;
            };
            let failure = read_available(connection).err();
            if let Err(error) = take_replies(connection, &mut replies) {
                (connection.client, Some(error))
            } else {
                (connection.client, failure)
            }
        };
        let now = self.shared.now_ns();
        for (pending, outcome) in replies.drain(..) {
            self.handle_reply(client, pending, outcome, now);
        }
        self.reply_scratch = replies;
        if let Some(error) = failure {
            self.connection_failed(index, &error, now);
        }
    }

    fn handle_reply(&mut self, client: usize, pending: Pending, outcome: Outcome, now: u64) {
        if pending.asking {
            return;
        }
        let text = match outcome {
            Outcome::Ok => {
                self.record(pending, now);
                self.finish_request(client, now);
                return;
            }
            Outcome::Error(text) => text,
        };
        let redirect = cluster::parse_redirect(&text);
        if text.starts_with("MOVED ") {
            self.interval.counters.moved += 1;
            if let Some((slot, host, port)) = redirect {
                if let Ok(address) = cluster::resolve(&host, port) {
                    let node = self.map.node_index(address);
                    self.map.owner[slot as usize % cluster::SLOT_COUNT] = node;
                    self.follow_cluster = true;
                    self.map.cluster = true;
                    self.refresh_wanted = true;
                    return self.resend(client, pending, None, now);
                }
            }
        } else if text.starts_with("ASK ") {
            self.interval.counters.ask += 1;
            if let Some((_, host, port)) = redirect {
                if let Ok(address) = cluster::resolve(&host, port) {
                    let node = self.map.node_index(address);
                    return self.resend(client, pending, Some(node), now);
                }
            }
        } else if text.starts_with("TRYAGAIN") {
            self.interval.counters.tryagain += 1;
            return self.retry_later(client, pending, None, now);
        } else if text.starts_with("CLUSTERDOWN") {
            self.interval.counters.clusterdown += 1;
            self.refresh_wanted = true;
            return self.retry_later(client, pending, None, now);
        }
        self.interval.counters.other += 1;
        if self.interval.first_error.is_none() {
            self.interval.first_error = Some(text);
        }
        self.finish_request(client, now);
    }

    /// Sends a redirected request again at once (or fails it after `max_attempts`).
    fn resend(&mut self, client: usize, pending: Pending, ask_node: Option<u16>, now: u64) {
        if pending.attempts >= self.max_attempts {
            self.interval.counters.failed += 1;
            self.finish_request(client, now);
        } else {
            self.send(client, pending, ask_node, now);
        }
    }

    fn record(&mut self, pending: Pending, now: u64) {
        if pending.start_ns < self.shared.measure_start_ns {
            return;
        }
        self.roll_interval(now);
        let latency = now.saturating_sub(pending.start_ns).max(1);
        // Auto-resizing histograms accept any value; a failure would only lose one sample.
        let _ = self.interval.latency[pending.op.kind.index()].record(latency);
        self.last_completion_ns = now;
        self.progress_completed += 1;
    }

    /// One request of `client` is over (success or not): closed loop sends the next one.
    fn finish_request(&mut self, client: usize, now: u64) {
        self.clients[client].in_flight -= 1;
        self.outstanding -= 1;
        if self.rate_interval_ns.is_none() {
            self.issue_new(client, now);
        }
    }

    /// Drops a broken connection and schedules everything it was waiting for again.
    fn connection_failed(&mut self, index: usize, error: &io::Error, now: u64) {
        let Some(mut connection) = self.connections.get_mut(index).and_then(Option::take) else {
            return;
        };
        let _ = self.poll.registry().deregister(&mut connection.stream);
        self.free_connections.push(index);
        self.clients[connection.client].connections[connection.node as usize] = None;
        self.count_connection_error(error, connection.node);
        for pending in connection.pending.drain(..) {
            if !pending.asking {
                self.retry_later(connection.client, pending, None, now);
            }
        }
    }

    /// Re-reads the slot map after MOVED, CLUSTERDOWN or a connection error, at most every
    /// REFRESH_INTERVAL_NS. A blocking call: rare, and only on this worker's thread.
    fn maybe_refresh(&mut self, now: u64) {
        if !self.refresh_wanted || !self.follow_cluster {
            return;
        }
        if now < self.last_refresh_ns + REFRESH_INTERVAL_NS && self.last_refresh_ns != 0 {
            return;
        }
        self.refresh_wanted = false;
        self.last_refresh_ns = now.max(1);
        self.interval.counters.map_refreshes += 1;
        let candidates = self.map.nodes.clone();
        for node in candidates {
            if let Ok(fresh) = cluster::discover(node, REFRESH_TIMEOUT) {
                if fresh.cluster {
                    self.map.absorb(&fresh);
                    return;
                }
            }
        }
    }

    /// Sends the current interval to the main thread when a measured second has ended.
    fn roll_interval(&mut self, now: u64) {
        if now < self.shared.measure_start_ns {
            return;
        }
        let second = (now - self.shared.measure_start_ns) / NANOS_PER_SECOND;
        if second > self.interval.second {
            self.publish_progress();
            self.progress_errors = 0;
            let finished = std::mem::replace(&mut self.interval, Interval::new(second));
            let _ = self.sender.send(Message::Interval {
                worker: self.id,
                interval: Box::new(finished),
            });
        }
    }

    fn publish_progress(&mut self) {
        if self.progress_completed > 0 {
            self.shared
                .completed
                .fetch_add(self.progress_completed, Ordering::Relaxed);
            self.progress_completed = 0;
        }
        let errors = self.interval.counters.unhandled();
        if errors != self.progress_errors {
            self.shared.errors.fetch_add(
                errors.saturating_sub(self.progress_errors),
                Ordering::Relaxed,
            );
            self.progress_errors = errors;
        }
    }

    fn abandon_outstanding(&mut self) {
        self.interval.counters.failed += self.outstanding as u64;
        self.outstanding = 0;
    }

    fn finish(mut self) {
        self.publish_progress();
        let last = std::mem::replace(&mut self.interval, Interval::new(0));
        let _ = self.sender.send(Message::Interval {
            worker: self.id,
            interval: Box::new(last),
        });
        let _ = self.sender.send(Message::Done {
            worker: self.id,
            last_completion_ns: self.last_completion_ns,
        });
    }
}

/// The epoll token of the timer; connection indexes never get this large.
const TIMER_TOKEN: Token = Token(usize::MAX);

/// A timerfd in the epoll set. epoll_wait's own timeout is rounded up to whole milliseconds,
/// which would send open-loop requests up to 1 ms late (and count that as latency); the timerfd
/// wakes the loop at the nanosecond it is armed for.
struct Timer {
    fd: OwnedFd,
}

impl Timer {
    fn new(registry: &mio::Registry) -> io::Result<Timer> {
        // SAFETY: timerfd_create takes no pointers; a negative result is an error.
        let raw = unsafe {
            libc::timerfd_create(
                libc::CLOCK_MONOTONIC,
                libc::TFD_NONBLOCK | libc::TFD_CLOEXEC,
            )
        };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `raw` is a fresh descriptor that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        registry.register(
            &mut SourceFd(&fd.as_raw_fd()),
            TIMER_TOKEN,
            Interest::READABLE,
        )?;
        Ok(Timer { fd })
    }

    /// Fires once, `after` from now (re-arming replaces the previous setting).
    fn arm(&self, after: Duration) -> io::Result<()> {
        // A zero value would disarm the timer instead of firing at once.
        let after = after.max(Duration::from_nanos(1));
        let setting = libc::itimerspec {
            it_interval: libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
            it_value: libc::timespec {
                tv_sec: after.as_secs() as libc::time_t,
                tv_nsec: libc::c_long::from(after.subsec_nanos() as i32),
            },
        };
        // SAFETY: both pointers are valid for the call; the old value is not asked for.
        let status = unsafe {
            libc::timerfd_settime(self.fd.as_raw_fd(), 0, &setting, std::ptr::null_mut())
        };
        if status < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Consumes the expiration so that the next one is a new edge for epoll.
    fn clear(&self) {
        let mut expirations = [0u8; 8];
        // SAFETY: the buffer is 8 writable bytes, as a timerfd read needs. Nothing to do on
        // EAGAIN (already consumed).
        let _ = unsafe {
            libc::read(
                self.fd.as_raw_fd(),
                expirations.as_mut_ptr().cast::<libc::c_void>(),
                expirations.len(),
            )
        };
    }
}

/// Writes the buffered requests until done or the socket would block.
fn write_pending(connection: &mut Connection) -> io::Result<()> {
    while connection.written < connection.write_buffer.len() {
        match connection
            .stream
            .write(&connection.write_buffer[connection.written..])
        {
            Ok(0) => return Err(io::Error::new(io::ErrorKind::WriteZero, "write returned 0")),
            Ok(count) => connection.written += count,
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    connection.write_buffer.clear();
    connection.written = 0;
    Ok(())
}

/// Reads until the socket would block. An error or end of stream is returned after what was
/// read before it (the replies in it still count).
fn read_available(connection: &mut Connection) -> io::Result<()> {
    loop {
        if connection.read_end == connection.read_buffer.len() {
            if connection.read_start > 0 {
                connection
                    .read_buffer
                    .copy_within(connection.read_start..connection.read_end, 0);
                connection.read_end -= connection.read_start;
                connection.read_start = 0;
            } else {
                let grown = connection.read_buffer.len() * 2;
                connection.read_buffer.resize(grown, 0);
            }
        }
        match connection
            .stream
            .read(&mut connection.read_buffer[connection.read_end..])
        {
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "server closed the connection",
                ))
            }
            Ok(count) => connection.read_end += count,
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
}

/// Moves every complete reply in the buffer, paired with what it answers, into `replies`.
fn take_replies(
    connection: &mut Connection,
    replies: &mut Vec<(Pending, Outcome)>,
) -> io::Result<()> {
    let buffer = &connection.read_buffer[..connection.read_end];
    loop {
        let parsed = crate::resp::skip_reply(buffer, connection.read_start)
            .map_err(|error| io::Error::new(io::ErrorKind::InvalidData, error))?;
        let Some((next, kind)) = parsed else {
            break;
        };
        let Some(pending) = connection.pending.pop_front() else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "reply to no request",
            ));
        };
        let outcome = match kind {
            crate::resp::ReplyKind::Ok => Outcome::Ok,
            crate::resp::ReplyKind::Error { start, end } => {
                Outcome::Error(String::from_utf8_lossy(&buffer[start..end]).into_owned())
            }
        };
        replies.push((pending, outcome));
        connection.read_start = next;
    }
    if connection.read_start == connection.read_end {
        connection.read_start = 0;
        connection.read_end = 0;
    }
    Ok(())
}
