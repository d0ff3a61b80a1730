//! The bus core: its own glommio executor (own thread, own io_uring), the
//! listener on the bus port, one task per link, the 100 ms cron, and the
//! queue of CLUSTER commands from the shard cores. After every event it
//! drains the state's outbox: messages to links, links to open or close,
//! nodes.conf to save, and a new view for every shard core.

use super::commands::{Context, LinkReport};
use super::state::{BusSettings, ClusterState, Dest, LinkId, LinkInfo, NodeId};
use super::wire;
use crate::cluster::ClusterView;
use crate::config::{BindAddress, Config};
use crate::protocol::Reply;
use crate::{notice, verbose, warning};
use bytes::Bytes;
use futures_lite::{AsyncReadExt, AsyncWriteExt};
use glommio::channels::local_channel::{self, LocalSender};
use glommio::net::{TcpListener, TcpStream};
use glommio::{LocalExecutorBuilder, Placement};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::os::unix::io::AsRawFd;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

const CRON_PERIOD: Duration = Duration::from_millis(100);
const READ_BYTES: usize = 64 * 1024;

/// A CLUSTER command from a shard core, or (`announce`) a CONFIG SET of
/// the settings that say how other nodes reach us.
pub struct BusRequest {
    pub argv: Vec<Bytes>,
    pub context: Context,
    pub reply: flume::Sender<BusReply>,
    pub announce: Option<BusSettings>,
}

/// The answer, with the view as it stands after the command, so the
/// asking core routes its client's next command with it.
pub struct BusReply {
    pub reply: Reply,
    pub view: Arc<ClusterView>,
}

/// A PUBLISH or SPUBLISH travelling between the shard cores and the bus.
#[derive(Clone)]
pub struct Publication {
    pub shard: bool,
    pub channel: Bytes,
    pub message: Bytes,
}

/// What the bus tells every shard core.
pub enum BusEvent {
    /// The cluster changed: route with this view from now on.
    View(Arc<ClusterView>),
    /// Another node published: deliver to this core's subscribers.
    Publish(Publication),
    /// A manual failover's write pause until this time (ms since the
    /// epoch; 0: the pause is over).
    FailoverPause(u64),
    /// Slots this node lost while it holds keys there: delete them.
    DropSlots(Arc<Vec<u16>>),
}

/// Where the bus reads this node's replication offset, which its messages
/// carry (the replicas' election ranks, a manual failover's target).
pub struct Offsets {
    /// The master's stream offset this node applied as a replica (-1:
    /// none).
    pub replica: Arc<std::sync::atomic::AtomicI64>,
    /// The replication hub's published state: `master_repl_offset`.
    pub master: Arc<std::sync::Mutex<crate::replication::Published>>,
    /// When this node, as a replica, last heard from its master (ms).
    pub master_heard_ms: Arc<std::sync::atomic::AtomicU64>,
    /// The manual failover pause (its end) the cores have settled (see
    /// `ClusterState::failover_settled`).
    pub failover_settled: Arc<std::sync::atomic::AtomicU64>,
}

/// What the shard cores keep of the bus.
pub struct BusHandle {
    pub requests: flume::Sender<BusRequest>,
    /// Our clients' publications, for the other nodes.
    pub publications: flume::Sender<Publication>,
    /// One receiver of events per shard core, in core order.
    pub events: Vec<flume::Receiver<BusEvent>>,
    pub initial_view: Arc<ClusterView>,
}

struct LinkEntry {
    outbound: bool,
    tx: LocalSender<Vec<u8>>,
    fd: i32,
    created_ms: u64,
    queued_bytes: Rc<Cell<u64>>,
}

struct Bus {
    state: RefCell<ClusterState>,
    links: RefCell<HashMap<LinkId, LinkEntry>>,
    events: Vec<flume::Sender<BusEvent>>,
    view: RefCell<Arc<ClusterView>>,
    config_path: PathBuf,
    /// The epochs last written with fsync.
    saved_epochs: Cell<(u64, u64, u64)>,
    rng: Cell<u64>,
    offsets: Offsets,
}

fn now_ms() -> u64 {
    crate::command::now_ms()
}

impl Bus {
    fn random(&self) -> u64 {
        let mut x = self.rng.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng.set(x);
        x
    }

    /// Carries out what the state asked for.
    fn flush(self: &Rc<Self>) {
        let outbox = std::mem::take(&mut self.state.borrow_mut().outbox);
        for (dest, bytes) in outbox.messages {
            let link = match dest {
                Dest::Link(link) => Some(link),
                Dest::Node(id) => self
                    .state
                    .borrow()
                    .nodes
                    .get(&id)
                    .filter(|n| n.link_connected)
                    .and_then(|n| n.link),
            };
            let links = self.links.borrow();
            if let Some(entry) = link.and_then(|l| links.get(&l)) {
                entry
                    .queued_bytes
                    .set(entry.queued_bytes.get() + bytes.len() as u64);
                let _ = entry.tx.try_send(bytes);
            }
        }
        for link in outbox.disconnects {
            if let Some(entry) = self.links.borrow_mut().remove(&link) {
                // SAFETY: shutting down a socket we own; the reader sees EOF.
                unsafe { libc::shutdown(entry.fd, libc::SHUT_RDWR) };
            }
        }
        for (link, ip, cport) in outbox.connects {
            glommio::spawn_local(connect(self.clone(), link, ip, cport)).detach();
        }
        if outbox.save_config {
            let state = self.state.borrow();
            let epochs = state.epochs();
            let fsync = epochs != self.saved_epochs.get();
            if fsync {
                self.saved_epochs.set(epochs);
            }
            if let Err(error) = state.save(&self.config_path, fsync) {
                warning!(
                    "Could not save the cluster config file {}: {error}",
                    self.config_path.display()
                );
            }
        }
        if outbox.view_changed {
            let view = self.state.borrow_mut().build_view();
            for sender in &self.events {
                let _ = sender.send(BusEvent::View(view.clone()));
            }
            *self.view.borrow_mut() = view;
        }
        if !outbox.dirty_slots.is_empty() {
            let slots = Arc::new(outbox.dirty_slots);
            for sender in &self.events {
                let _ = sender.send(BusEvent::DropSlots(slots.clone()));
            }
        }
        if let Some(end_ms) = outbox.failover_pause {
            for sender in &self.events {
                let _ = sender.send(BusEvent::FailoverPause(end_ms));
            }
        }
        for (shard, channel, message) in outbox.publications {
            let publication = Publication {
                shard,
                channel: Bytes::from(channel),
                message: Bytes::from(message),
            };
            for sender in &self.events {
                let _ = sender.send(BusEvent::Publish(publication.clone()));
            }
        }
    }

    fn link_node(&self, link: LinkId) -> Option<NodeId> {
        self.state
            .borrow()
            .nodes
            .values()
            .find(|n| n.link == Some(link))
            .map(|n| n.id)
    }

    fn link_reports(&self) -> Vec<LinkReport> {
        let state = self.state.borrow();
        self.links
            .borrow()
            .iter()
            .map(|(id, entry)| LinkReport {
                outbound: entry.outbound,
                node: state
                    .nodes
                    .values()
                    .find(|n| n.link == Some(*id))
                    .map(|n| n.id_str().to_string())
                    .unwrap_or_default(),
                created_ms: entry.created_ms,
                send_buffer_bytes: entry.queued_bytes.get(),
            })
            .collect()
    }
}

/// Loads or creates the node's identity and starts the bus core.
pub fn start(config: &Config, cores: usize, offsets: Offsets) -> Result<BusHandle, String> {
    let settings = BusSettings::from_config(config);
    let now = now_ms();
    let mut state = ClusterState::new(settings, now);
    // The process has already moved into `dir`, as Redis does.
    let config_path = PathBuf::from(&config.cluster_config_file);
    match std::fs::read_to_string(&config_path) {
        Ok(text) if !text.trim().is_empty() => {
            state.load_text(&text, now)?;
            notice!(
                "Node configuration loaded, I'm {}",
                super::state::id_str(&state.myself)
            );
        }
        Ok(_) => notice!(
            "No cluster configuration found, I'm {}",
            super::state::id_str(&state.myself)
        ),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            notice!(
                "No cluster configuration found, I'm {}",
                super::state::id_str(&state.myself)
            )
        }
        Err(error) => {
            return Err(format!(
                "Can't open the cluster config file {}: {error}",
                config_path.display()
            ))
        }
    }
    state.save(&config_path, true).map_err(|e| {
        format!(
            "Can't write the cluster config file {}: {e}",
            config_path.display()
        )
    })?;
    state.update_state(now);
    let initial_view = state.build_view();
    let saved_epochs = state.epochs();
    let addresses = bus_addresses(config)?;
    Config::check_addresses_free(&addresses)?;
    let (request_tx, request_rx) = flume::unbounded::<BusRequest>();
    let (publish_tx, publish_rx) = flume::unbounded::<Publication>();
    let (event_txs, event_rxs): (Vec<_>, Vec<_>) = (0..cores).map(|_| flume::unbounded()).unzip();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<(), String>>();
    let view = initial_view.clone();
    LocalExecutorBuilder::new(Placement::Unbound)
        .name("cluster-bus")
        .io_memory(256 * 1024)
        .spawn(move || async move {
            let bus = Rc::new(Bus {
                state: RefCell::new(state),
                links: RefCell::new(HashMap::new()),
                events: event_txs,
                view: RefCell::new(view),
                config_path,
                saved_epochs: Cell::new(saved_epochs),
                rng: Cell::new(now | 1),
                offsets,
            });
            let mut listeners = Vec::new();
            for bind in addresses {
                match TcpListener::bind(bind.address).map_err(std::io::Error::from) {
                    Ok(listener) => listeners.push(listener),
                    Err(error) if bind.skips(&error) => {}
                    Err(error) => {
                        let _ = ready_tx.send(Err(format!(
                            "Failed listening on the cluster bus port {}: {error}",
                            bind.address
                        )));
                        return;
                    }
                }
            }
            let _ = ready_tx.send(Ok(()));
            for listener in listeners {
                glommio::spawn_local(accept_loop(bus.clone(), listener)).detach();
            }
            glommio::spawn_local(cron_loop(bus.clone())).detach();
            glommio::spawn_local(publish_loop(bus.clone(), publish_rx)).detach();
            while let Ok(request) = request_rx.recv_async().await {
                let links = bus.link_reports();
                let reply = {
                    let mut state = bus.state.borrow_mut();
                    let reply = match request.announce {
                        Some(settings) => {
                            state.set_announce(&settings);
                            Reply::ok()
                        }
                        None => state.command(
                            &crate::protocol::args_of(&request.argv),
                            request.context,
                            &links,
                            now_ms(),
                        ),
                    };
                    // DELSLOTS, SETSLOT, RESET... change coverage at once.
                    state.update_state(now_ms());
                    reply
                };
                bus.flush();
                let view = bus.view.borrow().clone();
                let _ = request.reply.send(BusReply { reply, view });
            }
        })
        .map_err(|e| format!("Cannot start the cluster bus core: {e}"))?;
    match ready_rx.recv() {
        Ok(Ok(())) => {}
        Ok(Err(error)) => return Err(error),
        Err(_) => return Err("the cluster bus core stopped during startup".into()),
    }
    Ok(BusHandle {
        requests: request_tx,
        publications: publish_tx,
        events: event_rxs,
        initial_view,
    })
}

fn bus_addresses(config: &Config) -> Result<Vec<BindAddress>, String> {
    let addresses = config.bind_addresses(config.cluster_bus_port())?;
    if addresses.is_empty() {
        return Err("No bind address for the cluster bus".into());
    }
    Ok(addresses)
}

async fn cron_loop(bus: Rc<Bus>) {
    loop {
        glommio::timer::sleep(CRON_PERIOD).await;
        let random = bus.random();
        let mut state = bus.state.borrow_mut();
        state.master_heard_ms = bus
            .offsets
            .master_heard_ms
            .load(std::sync::atomic::Ordering::Relaxed);
        state.failover_settled = bus
            .offsets
            .failover_settled
            .load(std::sync::atomic::Ordering::Acquire);
        state.me_mut().repl_offset = if state.me().has(super::state::flags::SLAVE) {
            let offset = bus
                .offsets
                .replica
                .load(std::sync::atomic::Ordering::Relaxed);
            offset.max(0) as u64
        } else {
            let published = bus.offsets.master.lock();
            published.map_or_else(|e| e.into_inner().offset, |p| p.offset)
        };
        state.cron(now_ms(), random);
        drop(state);
        bus.flush();
    }
}

/// Sends our clients' publications to the other nodes.
async fn publish_loop(bus: Rc<Bus>, publications: flume::Receiver<Publication>) {
    while let Ok(publication) = publications.recv_async().await {
        bus.state.borrow_mut().publish(
            publication.shard,
            &publication.channel,
            &publication.message,
        );
        bus.flush();
    }
}

async fn accept_loop(bus: Rc<Bus>, listener: TcpListener) {
    loop {
        match listener.accept().await {
            Ok(stream) => {
                let link = bus.state.borrow_mut().new_link_id();
                glommio::spawn_local(serve_link(bus.clone(), link, stream, false)).detach();
            }
            Err(error) => {
                warning!("Accepting cluster bus connection: {error}");
                glommio::timer::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

async fn connect(bus: Rc<Bus>, link: LinkId, ip: String, cport: u16) {
    let timeout =
        Duration::from_millis(bus.state.borrow().settings.node_timeout_ms.clamp(100, 5000));
    let address = match ip.parse::<std::net::IpAddr>() {
        Ok(ip) => SocketAddr::new(ip, cport),
        Err(_) => {
            bus.state.borrow_mut().link_closed(link, now_ms());
            return;
        }
    };
    match TcpStream::connect_timeout(address, timeout).await {
        Ok(stream) => serve_link(bus, link, stream, true).await,
        Err(error) => {
            verbose!("Connecting to the cluster bus of {address}: {error}");
            bus.state.borrow_mut().link_closed(link, now_ms());
        }
    }
}

/// Runs one link until either side closes it: a writer task drains the
/// link's queue, this task reads and decodes frames.
async fn serve_link(bus: Rc<Bus>, link: LinkId, stream: TcpStream, outbound: bool) {
    let _ = stream.set_nodelay(true);
    let fd = stream.as_raw_fd();
    let peer_ip = stream
        .peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_default();
    let local_ip = stream
        .local_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_default();
    let (mut reader, mut writer) = futures_lite::io::split(stream);
    let (tx, rx) = local_channel::new_unbounded::<Vec<u8>>();
    let queued_bytes = Rc::new(Cell::new(0u64));
    bus.links.borrow_mut().insert(
        link,
        LinkEntry {
            outbound,
            tx,
            fd,
            created_ms: now_ms(),
            queued_bytes: queued_bytes.clone(),
        },
    );
    let writer_task = glommio::spawn_local(async move {
        while let Some(bytes) = rx.recv().await {
            queued_bytes.set(queued_bytes.get().saturating_sub(bytes.len() as u64));
            if writer.write_all(&bytes).await.is_err() {
                break;
            }
        }
    });
    if outbound {
        let random = bus.random();
        bus.state
            .borrow_mut()
            .link_established(link, now_ms(), random);
        bus.flush();
    }
    let reason = read_frames(&bus, link, &mut reader, &peer_ip, &local_ip).await;
    if let Some(reason) = reason {
        warning!("Cluster bus link from {peer_ip} dropped: {reason}");
    }
    if let Some(entry) = bus.links.borrow_mut().remove(&link) {
        // SAFETY: shutting down a socket we own.
        unsafe { libc::shutdown(entry.fd, libc::SHUT_RDWR) };
    }
    drop(writer_task);
    bus.state.borrow_mut().link_closed(link, now_ms());
    bus.flush();
}

/// Reads frames until the peer closes (None) or sends something we refuse
/// (Some(reason)).
async fn read_frames(
    bus: &Rc<Bus>,
    link: LinkId,
    reader: &mut (impl futures_lite::AsyncRead + Unpin),
    peer_ip: &str,
    local_ip: &str,
) -> Option<String> {
    let mut buffer: Vec<u8> = Vec::with_capacity(READ_BYTES);
    let mut chunk = vec![0u8; READ_BYTES];
    loop {
        loop {
            let length = match wire::frame_length(&buffer) {
                Ok(Some(length)) => length,
                Ok(None) => break,
                Err(error) => return Some(error.to_string()),
            };
            if buffer.len() < length {
                break;
            }
            let message = match wire::decode(&buffer[..length]) {
                Ok(message) => message,
                Err(error) => return Some(error.to_string()),
            };
            buffer.drain(..length);
            if let Some(reason) = deliver(bus, link, message, peer_ip, local_ip) {
                return Some(reason);
            }
        }
        match reader.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(read) => buffer.extend_from_slice(&chunk[..read]),
        }
    }
}

fn deliver(
    bus: &Rc<Bus>,
    link: LinkId,
    message: wire::Message,
    peer_ip: &str,
    local_ip: &str,
) -> Option<String> {
    let kind = message.header.message_type;
    let known = bus
        .state
        .borrow()
        .nodes
        .contains_key(&message.header.sender);
    let greeting = matches!(kind, wire::TYPE_PING | wire::TYPE_PONG | wire::TYPE_MEET);
    if !known && !greeting {
        return Some(format!(
            "message of type {kind} from unknown node {}",
            String::from_utf8_lossy(&message.header.sender)
        ));
    }
    let info = LinkInfo {
        id: link,
        node: bus.link_node(link),
        peer_ip: peer_ip.to_string(),
        local_ip: local_ip.to_string(),
    };
    let random = bus.random();
    bus.state
        .borrow_mut()
        .handle_message(&info, message, now_ms(), random);
    bus.flush();
    None
}
