//! Redis 7.0 cluster bus messages (`clusterMsg`, signature `RCmb`, protocol version 1): encode
//! and decode, byte for byte as redis-server 7.0.15 writes and checks them. No I/O.
//!
//! Every message is a [`HEADER_BYTES`]-byte header followed by a body whose shape the header's
//! type decides:
//!
//! | type | body |
//! | --- | --- |
//! | PING, PONG, MEET | `count` gossip entries of [`GOSSIP_BYTES`], then ping extensions |
//! | FAIL | the failing node's id |
//! | PUBLISH, PUBLISHSHARD | channel length, message length, channel, message |
//! | FAILOVER_AUTH_REQUEST, FAILOVER_AUTH_ACK, MFSTART | nothing (the header says it all) |
//! | UPDATE | config epoch, node id, slot bitmap |
//! | MODULE | module id, payload length, module message type, payload |
//!
//! All integers are in network byte order. Each type has one exact length, checked before any
//! field of the body is read, as Redis's `clusterProcessPacket` does.
//!
//! Ping extensions follow the gossip entries only when the sender set [`MFLAG0_EXT_DATA`]; each
//! is an 8-byte header (total length `u32`, type `u16`, unused `u16`) and data padded to a
//! multiple of 8. Redis 7.0.15 defines a single extension type, the announced hostname
//! ([`EXT_TYPE_HOSTNAME`]); later versions add more (shard id, forgotten node, human node name),
//! which decode as [`Extension::Other`] so that a 7.2 peer's PING is still understood.
//!
//! Text fields (the sender's IP, each gossip entry's IP, the hostname) are NUL-padded. Decoding
//! stops at the first NUL; text that is not UTF-8 is refused with [`WireError::NotUtf8`] rather
//! than repaired, because these fields hold IP addresses and hostnames, which are ASCII, so such
//! a message comes from a broken or hostile peer.
//!
//! A reader of a stream calls [`frame_length`] on what it has buffered; once it has that many
//! bytes it calls [`decode`] on exactly them.

use std::fmt;

// ---------------------------------------------------------------------------------------------
// Sizes.

/// Bytes in a node id: 40 hexadecimal characters, not NUL-terminated.
pub const NODE_ID_BYTES: usize = 40;
/// Hash slots in a cluster.
pub const SLOT_COUNT: usize = 16384;
/// Bytes in a slot bitmap: one bit per slot.
pub const SLOT_BITMAP_BYTES: usize = SLOT_COUNT / 8;
/// Bytes in an IP address field (Redis's `NET_IP_STR_LEN`).
pub const IP_BYTES: usize = 46;
/// Bytes in the header that starts every message (`sizeof(clusterMsg)` less its data union).
pub const HEADER_BYTES: usize = 2256;
/// Bytes in one gossip entry (`clusterMsgDataGossip`).
pub const GOSSIP_BYTES: usize = 104;
/// Bytes in a ping extension's own header (`clusterMsgPingExt` without its data).
pub const EXTENSION_HEADER_BYTES: usize = 8;
/// Bytes in a FAIL body (`clusterMsgDataFail`).
pub const FAIL_BODY_BYTES: usize = NODE_ID_BYTES;
/// Bytes in a PUBLISH body before the channel and message: the two lengths.
pub const PUBLISH_FIXED_BYTES: usize = 8;
/// Bytes in an UPDATE body (`clusterMsgDataUpdate`).
pub const UPDATE_BODY_BYTES: usize = 8 + NODE_ID_BYTES + SLOT_BITMAP_BYTES;
/// Bytes in a MODULE body before the payload: module id, payload length and type.
pub const MODULE_FIXED_BYTES: usize = 13;
/// Bytes a reader needs to learn a message's length: the signature and the total length.
pub const PREFIX_BYTES: usize = 8;

/// The largest message we accept, 1 GiB.
///
/// Redis itself has no limit. Headers, gossip and extensions stay far below this (65535 gossip
/// entries are under 7 MiB), so the bound is set by PUBLISH: Redis caps a channel and a message
/// at `proto-max-bulk-len` (512 MiB by default) each, and a PUBLISH whose channel and message
/// together stay under 1 GiB less the header passes. A larger one is refused rather than
/// buffered.
pub const MESSAGE_BYTES_MAX: usize = 1 << 30;

/// Byte offsets of the header's fields.
pub mod offset {
    pub const SIGNATURE: usize = 0;
    pub const TOTAL_LENGTH: usize = 4;
    pub const VERSION: usize = 8;
    pub const PORT: usize = 10;
    pub const TYPE: usize = 12;
    pub const COUNT: usize = 14;
    pub const CURRENT_EPOCH: usize = 16;
    pub const CONFIG_EPOCH: usize = 24;
    pub const REPLICATION_OFFSET: usize = 32;
    pub const SENDER: usize = 40;
    pub const SLOTS: usize = 80;
    pub const REPLICA_OF: usize = 2128;
    pub const IP: usize = 2168;
    pub const EXTENSIONS: usize = 2214;
    pub const UNUSED: usize = 2216;
    pub const PLAINTEXT_PORT: usize = 2246;
    pub const CLUSTER_PORT: usize = 2248;
    pub const FLAGS: usize = 2250;
    pub const STATE: usize = 2252;
    pub const MESSAGE_FLAGS: usize = 2253;
    pub const DATA: usize = 2256;
}

/// Byte offsets of a gossip entry's fields, from the start of the entry.
pub mod gossip_offset {
    pub const NODE_ID: usize = 0;
    pub const PING_SENT: usize = 40;
    pub const PONG_RECEIVED: usize = 44;
    pub const IP: usize = 48;
    pub const PORT: usize = 94;
    pub const CLUSTER_PORT: usize = 96;
    pub const FLAGS: usize = 98;
    pub const PLAINTEXT_PORT: usize = 100;
    pub const UNUSED: usize = 102;
    pub const END: usize = 104;
}

/// Reserved bytes in the header between the extension count and the plaintext port.
const HEADER_UNUSED_BYTES: usize = 30;

// The layout, checked at compile time the way Redis `static_assert`s its struct offsets: each
// field starts where the previous one ends.
const _: () = {
    use offset::*;
    assert!(TOTAL_LENGTH == SIGNATURE + 4);
    assert!(VERSION == TOTAL_LENGTH + 4);
    assert!(PORT == VERSION + 2);
    assert!(TYPE == PORT + 2);
    assert!(COUNT == TYPE + 2);
    assert!(CURRENT_EPOCH == COUNT + 2);
    assert!(CONFIG_EPOCH == CURRENT_EPOCH + 8);
    assert!(REPLICATION_OFFSET == CONFIG_EPOCH + 8);
    assert!(SENDER == REPLICATION_OFFSET + 8);
    assert!(SLOTS == SENDER + NODE_ID_BYTES);
    assert!(REPLICA_OF == SLOTS + SLOT_BITMAP_BYTES);
    assert!(IP == REPLICA_OF + NODE_ID_BYTES);
    assert!(EXTENSIONS == IP + IP_BYTES);
    assert!(UNUSED == EXTENSIONS + 2);
    assert!(PLAINTEXT_PORT == UNUSED + HEADER_UNUSED_BYTES);
    assert!(CLUSTER_PORT == PLAINTEXT_PORT + 2);
    assert!(FLAGS == CLUSTER_PORT + 2);
    assert!(STATE == FLAGS + 2);
    assert!(MESSAGE_FLAGS == STATE + 1);
    assert!(DATA == MESSAGE_FLAGS + 3);
    assert!(DATA == HEADER_BYTES);
    assert!(PREFIX_BYTES == VERSION);
};
const _: () = {
    use gossip_offset::*;
    assert!(PING_SENT == NODE_ID + NODE_ID_BYTES);
    assert!(PONG_RECEIVED == PING_SENT + 4);
    assert!(IP == PONG_RECEIVED + 4);
    assert!(PORT == IP + IP_BYTES);
    assert!(CLUSTER_PORT == PORT + 2);
    assert!(FLAGS == CLUSTER_PORT + 2);
    assert!(PLAINTEXT_PORT == FLAGS + 2);
    assert!(UNUSED == PLAINTEXT_PORT + 2);
    assert!(END == UNUSED + 2);
    assert!(END == GOSSIP_BYTES);
};
// The largest fixed-size message, UPDATE, is exactly the C struct `sizeof(clusterMsg)`.
const _: () = assert!(HEADER_BYTES + UPDATE_BODY_BYTES == 4352);
const _: () = assert!(HEADER_BYTES + 65535 * GOSSIP_BYTES < MESSAGE_BYTES_MAX);
const _: () = assert!(MESSAGE_BYTES_MAX <= u32::MAX as usize);

// ---------------------------------------------------------------------------------------------
// Constants carried in messages.

/// The first four bytes of every message.
pub const SIGNATURE: [u8; 4] = *b"RCmb";
/// The only bus protocol version (`CLUSTER_PROTO_VER`).
pub const PROTOCOL_VERSION: u16 = 1;

/// Message types (`CLUSTERMSG_TYPE_*`).
pub const TYPE_PING: u16 = 0;
pub const TYPE_PONG: u16 = 1;
pub const TYPE_MEET: u16 = 2;
pub const TYPE_FAIL: u16 = 3;
pub const TYPE_PUBLISH: u16 = 4;
pub const TYPE_FAILOVER_AUTH_REQUEST: u16 = 5;
pub const TYPE_FAILOVER_AUTH_ACK: u16 = 6;
pub const TYPE_UPDATE: u16 = 7;
pub const TYPE_MFSTART: u16 = 8;
pub const TYPE_MODULE: u16 = 9;
pub const TYPE_PUBLISHSHARD: u16 = 10;
/// How many message types there are; every type is below this.
pub const TYPE_COUNT: u16 = 11;

/// Node flags (`CLUSTER_NODE_*`), in the header's `flags` and in each gossip entry.
pub const NODE_MASTER: u16 = 1;
pub const NODE_SLAVE: u16 = 2;
pub const NODE_PFAIL: u16 = 4;
pub const NODE_FAIL: u16 = 8;
pub const NODE_MYSELF: u16 = 16;
pub const NODE_HANDSHAKE: u16 = 32;
pub const NODE_NOADDR: u16 = 64;
pub const NODE_MEET: u16 = 128;
pub const NODE_MIGRATE_TO: u16 = 256;
pub const NODE_NOFAILOVER: u16 = 512;

/// Message flags in `mflags[0]` (`CLUSTERMSG_FLAG0_*`).
pub const MFLAG0_PAUSED: u8 = 1;
pub const MFLAG0_FORCEACK: u8 = 2;
pub const MFLAG0_EXT_DATA: u8 = 4;

/// Cluster states in the header's `state` (`CLUSTER_OK`, `CLUSTER_FAIL`).
pub const STATE_OK: u8 = 0;
pub const STATE_FAIL: u8 = 1;

/// Ping extension types (`CLUSTERMSG_EXT_TYPE_*`); 7.0.15 defines only the hostname.
pub const EXT_TYPE_HOSTNAME: u16 = 0;

/// The name Redis gives a message type in `CLUSTER INFO`'s `cluster_stats_messages_*` lines.
pub fn type_name(message_type: u16) -> &'static str {
    match message_type {
        TYPE_PING => "ping",
        TYPE_PONG => "pong",
        TYPE_MEET => "meet",
        TYPE_FAIL => "fail",
        TYPE_PUBLISH => "publish",
        TYPE_PUBLISHSHARD => "publishshard",
        TYPE_FAILOVER_AUTH_REQUEST => "auth-req",
        TYPE_FAILOVER_AUTH_ACK => "auth-ack",
        TYPE_UPDATE => "update",
        TYPE_MFSTART => "mfstart",
        TYPE_MODULE => "module",
        _ => "unknown",
    }
}

// ---------------------------------------------------------------------------------------------
// Messages.

/// A node id as it travels: 40 ASCII hexadecimal bytes.
pub type NodeId = [u8; NODE_ID_BYTES];
/// A slot bitmap: bit `slot % 8` of byte `slot / 8` is set when the slot is claimed.
pub type SlotBitmap = [u8; SLOT_BITMAP_BYTES];

/// The header every message starts with. The gossip count and the extension count are not
/// here: [`encode`] takes them from the [`Body`], and [`decode`] uses them to read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// One of the `TYPE_*` constants; it must fit the body.
    pub message_type: u16,
    /// The sender's client port.
    pub port: u16,
    pub current_epoch: u64,
    /// The sender's config epoch, or its master's if it is a replica.
    pub config_epoch: u64,
    /// The sender's replication offset.
    pub replication_offset: u64,
    pub sender: NodeId,
    /// The slots the sender (or its master) claims.
    pub slots: Box<SlotBitmap>,
    /// The sender's master, if it is a replica (all zero bytes on the wire otherwise).
    pub replica_of: Option<NodeId>,
    /// The sender's announced IP, or empty to let the receiver use the connection's address.
    pub ip: String,
    /// The sender's other client port (plaintext when `port` is TLS), or 0.
    pub plaintext_port: u16,
    /// The sender's cluster bus port.
    pub cluster_port: u16,
    /// The sender's `NODE_*` flags.
    pub flags: u16,
    /// `STATE_OK` or `STATE_FAIL`, as the sender sees the cluster.
    pub state: u8,
    /// Message flags; `mflags[0]` holds the `MFLAG0_*` bits.
    pub mflags: [u8; 3],
}

impl Header {
    /// A header of `message_type` from `sender` with every other field zero or empty.
    pub fn new(message_type: u16, sender: NodeId) -> Header {
        Header {
            message_type,
            port: 0,
            current_epoch: 0,
            config_epoch: 0,
            replication_offset: 0,
            sender,
            slots: Box::new([0; SLOT_BITMAP_BYTES]),
            replica_of: None,
            ip: String::new(),
            plaintext_port: 0,
            cluster_port: 0,
            flags: 0,
            state: STATE_OK,
            mflags: [0; 3],
        }
    }
}

/// What a PING, PONG or MEET tells about one other node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GossipEntry {
    pub node_id: NodeId,
    /// When the sender last pinged the node, in seconds (Unix time), or 0.
    pub ping_sent_secs: u32,
    /// When the sender last heard a PONG from the node, in seconds (Unix time).
    pub pong_received_secs: u32,
    pub ip: String,
    pub port: u16,
    pub cluster_port: u16,
    /// The node's `NODE_*` flags as the sender sees them.
    pub flags: u16,
    pub plaintext_port: u16,
}

/// A ping extension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Extension {
    /// The sender's announced hostname (`cluster-announce-hostname`).
    Hostname(String),
    /// A type 7.0.15 does not define; `data` is everything after the extension's 8-byte
    /// header, padding included, so it encodes back to the same bytes.
    Other { kind: u16, data: Vec<u8> },
}

/// A message body; which variant goes with which type is in the module documentation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    Gossip {
        entries: Vec<GossipEntry>,
        extensions: Vec<Extension>,
    },
    Fail {
        node_id: NodeId,
    },
    Publish {
        channel: Vec<u8>,
        message: Vec<u8>,
    },
    Update {
        config_epoch: u64,
        node_id: NodeId,
        slots: Box<SlotBitmap>,
    },
    Module {
        /// Redis copies the module id as 8 raw bytes without converting its byte order; we
        /// read those bytes big-endian, so the id round-trips byte for byte.
        module_id: u64,
        kind: u8,
        payload: Vec<u8>,
    },
    Empty,
}

/// One cluster bus message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub header: Header,
    pub body: Body,
}

/// Whether `body` is the body a message of `message_type` carries.
pub fn body_fits_type(message_type: u16, body: &Body) -> bool {
    matches!(
        (message_type, body),
        (TYPE_PING | TYPE_PONG | TYPE_MEET, Body::Gossip { .. })
            | (TYPE_FAIL, Body::Fail { .. })
            | (TYPE_PUBLISH | TYPE_PUBLISHSHARD, Body::Publish { .. })
            | (TYPE_UPDATE, Body::Update { .. })
            | (TYPE_MODULE, Body::Module { .. })
            | (
                TYPE_FAILOVER_AUTH_REQUEST | TYPE_FAILOVER_AUTH_ACK | TYPE_MFSTART,
                Body::Empty
            )
    )
}

// ---------------------------------------------------------------------------------------------
// Errors.

/// Why bytes are not a valid message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WireError {
    /// The first four bytes are not `RCmb`.
    BadSignature([u8; 4]),
    /// The total length is below [`HEADER_BYTES`].
    TooShort { total_length: usize },
    /// The total length is above [`MESSAGE_BYTES_MAX`].
    TooLong { total_length: usize },
    /// Fewer bytes than a field needs (a frame shorter than its prefix, or a body shorter than
    /// its lengths promised).
    Truncated { needed: usize, available: usize },
    /// The frame given to [`decode`] is not as long as its total length says.
    LengthMismatch {
        total_length: usize,
        frame_bytes: usize,
    },
    /// A protocol version other than [`PROTOCOL_VERSION`].
    BadVersion(u16),
    /// A message type this version does not define. The frame is still well delimited, so a
    /// reader may skip it, as Redis does.
    UnknownType(u16),
    /// The total length is not the one the type and its counts call for.
    BadLength {
        message_type: u16,
        total_length: usize,
        expected_length: u64,
    },
    /// A ping extension's length is below its header's size or not a multiple of 8.
    ExtensionPadding { index: usize, length: u32 },
    /// A ping extension runs past the end of the message.
    ExtensionOverrun {
        index: usize,
        length: u64,
        remaining: usize,
    },
    /// A text field is not UTF-8.
    NotUtf8 { field: &'static str },
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WireError::BadSignature(bytes) => write!(
                f,
                "bad cluster bus signature {:?}, expected \"RCmb\"",
                String::from_utf8_lossy(bytes)
            ),
            WireError::TooShort { total_length } => write!(
                f,
                "cluster bus message length {total_length} is below the {HEADER_BYTES}-byte header"
            ),
            WireError::TooLong { total_length } => write!(
                f,
                "cluster bus message length {total_length} is above the limit of {MESSAGE_BYTES_MAX}"
            ),
            WireError::Truncated { needed, available } => write!(
                f,
                "cluster bus message truncated: {needed} bytes needed, {available} available"
            ),
            WireError::LengthMismatch {
                total_length,
                frame_bytes,
            } => write!(
                f,
                "cluster bus message says it is {total_length} bytes but the frame has {frame_bytes}"
            ),
            WireError::BadVersion(version) => write!(
                f,
                "cluster bus protocol version {version} is not supported (expected {PROTOCOL_VERSION})"
            ),
            WireError::UnknownType(message_type) => {
                write!(f, "unknown cluster bus message type {message_type}")
            }
            WireError::BadLength {
                message_type,
                total_length,
                expected_length,
            } => write!(
                f,
                "invalid {} message of length {total_length} but expected length {expected_length}",
                type_name(*message_type)
            ),
            WireError::ExtensionPadding { index, length } => write!(
                f,
                "ping extension {index} has length {length}, not a multiple of 8 of at least {EXTENSION_HEADER_BYTES}"
            ),
            WireError::ExtensionOverrun {
                index,
                length,
                remaining,
            } => write!(
                f,
                "ping extension {index} needs {length} bytes but only {remaining} remain in the message"
            ),
            WireError::NotUtf8 { field } => {
                write!(f, "cluster bus field {field} is not valid UTF-8")
            }
        }
    }
}

impl std::error::Error for WireError {}

// ---------------------------------------------------------------------------------------------
// Framing and decoding.

/// Looks at the start of a stream: `Ok(None)` while fewer than [`PREFIX_BYTES`] are buffered,
/// `Ok(Some(total_length))` when the signature is right and the total length is within
/// [`HEADER_BYTES`]`..=`[`MESSAGE_BYTES_MAX`], and an error otherwise (the stream is then
/// unusable: Redis closes such a link).
pub fn frame_length(buffered: &[u8]) -> Result<Option<usize>, WireError> {
    let Some(prefix) = buffered.get(..PREFIX_BYTES) else {
        return Ok(None);
    };
    let mut reader = Reader::new(prefix);
    let signature: [u8; 4] = reader.array()?;
    if signature != SIGNATURE {
        return Err(WireError::BadSignature(signature));
    }
    let total_length = reader.u32()? as usize;
    if total_length < HEADER_BYTES {
        return Err(WireError::TooShort { total_length });
    }
    if total_length > MESSAGE_BYTES_MAX {
        return Err(WireError::TooLong { total_length });
    }
    Ok(Some(total_length))
}

/// Decodes exactly one message; `frame` must be as long as the message's total length.
///
/// The checks are Redis's: signature, length bounds, version, then the exact length for the
/// type, before any body field is read. It never panics on any input.
pub fn decode(frame: &[u8]) -> Result<Message, WireError> {
    let Some(total_length) = frame_length(frame)? else {
        return Err(WireError::Truncated {
            needed: PREFIX_BYTES,
            available: frame.len(),
        });
    };
    if frame.len() != total_length {
        return Err(WireError::LengthMismatch {
            total_length,
            frame_bytes: frame.len(),
        });
    }
    let mut reader = Reader::new(frame);
    let (header, counts) = decode_header(&mut reader)?;
    let body = decode_body(&header, counts, total_length, reader)?;
    Ok(Message { header, body })
}

/// The header fields that describe the body rather than the sender.
#[derive(Clone, Copy)]
struct BodyCounts {
    gossip: u16,
    extensions: u16,
}

fn decode_header(reader: &mut Reader<'_>) -> Result<(Header, BodyCounts), WireError> {
    // The signature and total length were checked by `frame_length`.
    reader.skip(PREFIX_BYTES)?;
    let version = reader.u16()?;
    if version != PROTOCOL_VERSION {
        return Err(WireError::BadVersion(version));
    }
    let port = reader.u16()?;
    let message_type = reader.u16()?;
    let gossip = reader.u16()?;
    let current_epoch = reader.u64()?;
    let config_epoch = reader.u64()?;
    let replication_offset = reader.u64()?;
    let sender = reader.array()?;
    let slots = Box::new(reader.array()?);
    let replica_of: NodeId = reader.array()?;
    let ip = decode_text(reader.take(IP_BYTES)?, "myip")?;
    let extensions = reader.u16()?;
    reader.skip(HEADER_UNUSED_BYTES)?;
    let header = Header {
        message_type,
        port,
        current_epoch,
        config_epoch,
        replication_offset,
        sender,
        slots,
        replica_of: (replica_of != [0; NODE_ID_BYTES]).then_some(replica_of),
        ip,
        plaintext_port: reader.u16()?,
        cluster_port: reader.u16()?,
        flags: reader.u16()?,
        state: reader.u8()?,
        mflags: reader.array()?,
    };
    Ok((header, BodyCounts { gossip, extensions }))
}

fn decode_body(
    header: &Header,
    counts: BodyCounts,
    total_length: usize,
    mut reader: Reader<'_>,
) -> Result<Body, WireError> {
    let length = LengthCheck {
        message_type: header.message_type,
        total_length,
    };
    let header_bytes = HEADER_BYTES as u64;
    match header.message_type {
        TYPE_PING | TYPE_PONG | TYPE_MEET => {
            let has_extensions = header.mflags[0] & MFLAG0_EXT_DATA != 0;
            decode_gossip(&mut reader, length, counts, has_extensions)
        }
        TYPE_FAIL => {
            length.expect(header_bytes + FAIL_BODY_BYTES as u64)?;
            Ok(Body::Fail {
                node_id: reader.array()?,
            })
        }
        TYPE_PUBLISH | TYPE_PUBLISHSHARD => decode_publish(&mut reader, length),
        TYPE_FAILOVER_AUTH_REQUEST | TYPE_FAILOVER_AUTH_ACK | TYPE_MFSTART => {
            length.expect(header_bytes)?;
            Ok(Body::Empty)
        }
        TYPE_UPDATE => {
            length.expect(header_bytes + UPDATE_BODY_BYTES as u64)?;
            Ok(Body::Update {
                config_epoch: reader.u64()?,
                node_id: reader.array()?,
                slots: Box::new(reader.array()?),
            })
        }
        TYPE_MODULE => decode_module(&mut reader, length),
        other => Err(WireError::UnknownType(other)),
    }
}

/// Compares a message's total length with the one its type and counts call for.
#[derive(Clone, Copy)]
struct LengthCheck {
    message_type: u16,
    total_length: usize,
}

impl LengthCheck {
    fn expect(self, expected_length: u64) -> Result<(), WireError> {
        if self.total_length as u64 == expected_length {
            Ok(())
        } else {
            Err(self.error(expected_length))
        }
    }

    fn error(self, expected_length: u64) -> WireError {
        WireError::BadLength {
            message_type: self.message_type,
            total_length: self.total_length,
            expected_length,
        }
    }
}

fn decode_publish(reader: &mut Reader<'_>, length: LengthCheck) -> Result<Body, WireError> {
    let fixed_end = (HEADER_BYTES + PUBLISH_FIXED_BYTES) as u64;
    if reader.remaining() < PUBLISH_FIXED_BYTES {
        // Too short to hold even the two lengths.
        return Err(length.error(fixed_end));
    }
    let channel_bytes = reader.u32()?;
    let message_bytes = reader.u32()?;
    length.expect(fixed_end + channel_bytes as u64 + message_bytes as u64)?;
    Ok(Body::Publish {
        channel: reader.take(channel_bytes as usize)?.to_vec(),
        message: reader.take(message_bytes as usize)?.to_vec(),
    })
}

fn decode_module(reader: &mut Reader<'_>, length: LengthCheck) -> Result<Body, WireError> {
    let fixed_end = (HEADER_BYTES + MODULE_FIXED_BYTES) as u64;
    if reader.remaining() < MODULE_FIXED_BYTES {
        // Too short to hold even the module id, payload length and type.
        return Err(length.error(fixed_end));
    }
    let module_id = reader.u64()?;
    let payload_bytes = reader.u32()?;
    let kind = reader.u8()?;
    length.expect(fixed_end + payload_bytes as u64)?;
    Ok(Body::Module {
        module_id,
        kind,
        payload: reader.take(payload_bytes as usize)?.to_vec(),
    })
}

/// Reads `counts.gossip` entries and, when the sender flagged extension data, the extensions.
/// Without the flag Redis 7.0 ignores the extension count, and so do we.
fn decode_gossip(
    reader: &mut Reader<'_>,
    length: LengthCheck,
    counts: BodyCounts,
    has_extensions: bool,
) -> Result<Body, WireError> {
    let gossip_end = HEADER_BYTES as u64 + counts.gossip as u64 * GOSSIP_BYTES as u64;
    if gossip_end > length.total_length as u64 {
        return Err(length.error(gossip_end));
    }
    let entries = (0..counts.gossip)
        .map(|_| decode_gossip_entry(reader))
        .collect::<Result<Vec<_>, _>>()?;
    let extensions = if has_extensions {
        decode_extensions(reader, counts.extensions)?
    } else {
        Vec::new()
    };
    length.expect((length.total_length - reader.remaining()) as u64)?;
    Ok(Body::Gossip {
        entries,
        extensions,
    })
}

fn decode_gossip_entry(reader: &mut Reader<'_>) -> Result<GossipEntry, WireError> {
    let entry = GossipEntry {
        node_id: reader.array()?,
        ping_sent_secs: reader.u32()?,
        pong_received_secs: reader.u32()?,
        ip: decode_text(reader.take(IP_BYTES)?, "gossip ip")?,
        port: reader.u16()?,
        cluster_port: reader.u16()?,
        flags: reader.u16()?,
        plaintext_port: reader.u16()?,
    };
    reader.skip(2)?;
    Ok(entry)
}

fn decode_extensions(reader: &mut Reader<'_>, count: u16) -> Result<Vec<Extension>, WireError> {
    let mut extensions = Vec::with_capacity(count as usize);
    for index in 0..count as usize {
        let remaining = reader.remaining();
        if remaining < EXTENSION_HEADER_BYTES {
            return Err(WireError::ExtensionOverrun {
                index,
                length: EXTENSION_HEADER_BYTES as u64,
                remaining,
            });
        }
        let length = reader.u32()?;
        let kind = reader.u16()?;
        reader.skip(2)?;
        if (length as usize) < EXTENSION_HEADER_BYTES || length % 8 != 0 {
            return Err(WireError::ExtensionPadding { index, length });
        }
        if length as usize > remaining {
            return Err(WireError::ExtensionOverrun {
                index,
                length: length as u64,
                remaining,
            });
        }
        let data = reader.take(length as usize - EXTENSION_HEADER_BYTES)?;
        extensions.push(match kind {
            EXT_TYPE_HOSTNAME => Extension::Hostname(decode_text(data, "hostname")?),
            _ => Extension::Other {
                kind,
                data: data.to_vec(),
            },
        });
    }
    Ok(extensions)
}

/// The text before the first NUL (or all of `bytes` when there is none).
fn decode_text(bytes: &[u8], field: &'static str) -> Result<String, WireError> {
    let text = match bytes.iter().position(|&b| b == 0) {
        Some(end) => bytes.get(..end).unwrap_or(bytes),
        None => bytes,
    };
    match std::str::from_utf8(text) {
        Ok(text) => Ok(text.to_owned()),
        Err(_) => Err(WireError::NotUtf8 { field }),
    }
}

/// Reads big-endian fields from the front of a byte slice, refusing to read past its end.
struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader { bytes }
    }

    fn remaining(&self) -> usize {
        self.bytes.len()
    }

    fn take(&mut self, count: usize) -> Result<&'a [u8], WireError> {
        if self.bytes.len() < count {
            return Err(WireError::Truncated {
                needed: count,
                available: self.bytes.len(),
            });
        }
        let (head, rest) = self.bytes.split_at(count);
        self.bytes = rest;
        Ok(head)
    }

    fn skip(&mut self, count: usize) -> Result<(), WireError> {
        self.take(count).map(|_| ())
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], WireError> {
        let mut array = [0; N];
        array.copy_from_slice(self.take(N)?);
        Ok(array)
    }

    fn u8(&mut self) -> Result<u8, WireError> {
        Ok(u8::from_be_bytes(self.array()?))
    }

    fn u16(&mut self) -> Result<u16, WireError> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    fn u32(&mut self) -> Result<u32, WireError> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    fn u64(&mut self) -> Result<u64, WireError> {
        Ok(u64::from_be_bytes(self.array()?))
    }
}

// ---------------------------------------------------------------------------------------------
// Encoding.

/// Appends `message` to `out`, total length included.
///
/// [`MFLAG0_EXT_DATA`] is set whenever the body carries extensions (Redis reads them only
/// then). Text longer than its fixed field is cut to the field at a character boundary.
///
/// # Panics
///
/// When the body does not fit the header's type, when a gossip body has more than 65535
/// entries or extensions, or when the message would exceed [`MESSAGE_BYTES_MAX`]: all mistakes
/// of the caller, which builds messages from its own state.
pub fn encode(message: &Message, out: &mut Vec<u8>) {
    let header = &message.header;
    assert!(
        body_fits_type(header.message_type, &message.body),
        "a {} message cannot carry {:?}",
        type_name(header.message_type),
        message.body
    );
    let start = out.len();
    let (gossip_count, extension_count) = match &message.body {
        Body::Gossip {
            entries,
            extensions,
        } => (count_u16(entries.len()), count_u16(extensions.len())),
        _ => (0, 0),
    };
    encode_header(header, gossip_count, extension_count, out);
    encode_body(&message.body, out);
    let total_length = out.len() - start;
    assert!(
        total_length <= MESSAGE_BYTES_MAX,
        "cluster bus message of {total_length} bytes is above the limit"
    );
    let length_bytes = (total_length as u32).to_be_bytes();
    out[start + offset::TOTAL_LENGTH..start + offset::VERSION].copy_from_slice(&length_bytes);
}

fn count_u16(count: usize) -> u16 {
    assert!(
        count <= u16::MAX as usize,
        "{count} entries do not fit a u16 count"
    );
    count as u16
}

fn encode_header(header: &Header, gossip_count: u16, extension_count: u16, out: &mut Vec<u8>) {
    let start = out.len();
    out.extend_from_slice(&SIGNATURE);
    out.extend_from_slice(&0u32.to_be_bytes()); // The total length, patched by `encode`.
    out.extend_from_slice(&PROTOCOL_VERSION.to_be_bytes());
    out.extend_from_slice(&header.port.to_be_bytes());
    out.extend_from_slice(&header.message_type.to_be_bytes());
    out.extend_from_slice(&gossip_count.to_be_bytes());
    out.extend_from_slice(&header.current_epoch.to_be_bytes());
    out.extend_from_slice(&header.config_epoch.to_be_bytes());
    out.extend_from_slice(&header.replication_offset.to_be_bytes());
    out.extend_from_slice(&header.sender);
    out.extend_from_slice(&header.slots[..]);
    out.extend_from_slice(&header.replica_of.unwrap_or([0; NODE_ID_BYTES]));
    put_text(out, &header.ip, IP_BYTES);
    out.extend_from_slice(&extension_count.to_be_bytes());
    out.resize(out.len() + HEADER_UNUSED_BYTES, 0);
    out.extend_from_slice(&header.plaintext_port.to_be_bytes());
    out.extend_from_slice(&header.cluster_port.to_be_bytes());
    out.extend_from_slice(&header.flags.to_be_bytes());
    out.push(header.state);
    let mut mflags = header.mflags;
    if extension_count > 0 {
        mflags[0] |= MFLAG0_EXT_DATA;
    }
    out.extend_from_slice(&mflags);
    debug_assert_eq!(out.len() - start, HEADER_BYTES);
}

fn encode_body(body: &Body, out: &mut Vec<u8>) {
    match body {
        Body::Gossip {
            entries,
            extensions,
        } => {
            entries
                .iter()
                .for_each(|entry| encode_gossip_entry(entry, out));
            extensions.iter().for_each(|ext| encode_extension(ext, out));
        }
        Body::Fail { node_id } => out.extend_from_slice(node_id),
        Body::Publish { channel, message } => {
            out.extend_from_slice(&length_u32(channel.len()).to_be_bytes());
            out.extend_from_slice(&length_u32(message.len()).to_be_bytes());
            out.extend_from_slice(channel);
            out.extend_from_slice(message);
        }
        Body::Update {
            config_epoch,
            node_id,
            slots,
        } => {
            out.extend_from_slice(&config_epoch.to_be_bytes());
            out.extend_from_slice(node_id);
            out.extend_from_slice(&slots[..]);
        }
        Body::Module {
            module_id,
            kind,
            payload,
        } => {
            out.extend_from_slice(&module_id.to_be_bytes());
            out.extend_from_slice(&length_u32(payload.len()).to_be_bytes());
            out.push(*kind);
            out.extend_from_slice(payload);
        }
        Body::Empty => {}
    }
}

fn encode_gossip_entry(entry: &GossipEntry, out: &mut Vec<u8>) {
    out.extend_from_slice(&entry.node_id);
    out.extend_from_slice(&entry.ping_sent_secs.to_be_bytes());
    out.extend_from_slice(&entry.pong_received_secs.to_be_bytes());
    put_text(out, &entry.ip, IP_BYTES);
    out.extend_from_slice(&entry.port.to_be_bytes());
    out.extend_from_slice(&entry.cluster_port.to_be_bytes());
    out.extend_from_slice(&entry.flags.to_be_bytes());
    out.extend_from_slice(&entry.plaintext_port.to_be_bytes());
    out.extend_from_slice(&[0, 0]);
}

/// Writes an extension: its header, its data, and zeros up to a multiple of 8. A hostname gets
/// at least one NUL after it, as Redis writes it.
fn encode_extension(extension: &Extension, out: &mut Vec<u8>) {
    let (kind, data, terminator) = match extension {
        Extension::Hostname(hostname) => (EXT_TYPE_HOSTNAME, text_bytes(hostname, usize::MAX), 1),
        Extension::Other { kind, data } => (*kind, data.as_slice(), 0),
    };
    let padded = (data.len() + terminator).div_ceil(8) * 8;
    out.extend_from_slice(&length_u32(EXTENSION_HEADER_BYTES + padded).to_be_bytes());
    out.extend_from_slice(&kind.to_be_bytes());
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(data);
    out.resize(out.len() + padded - data.len(), 0);
}

fn length_u32(length: usize) -> u32 {
    assert!(
        length <= MESSAGE_BYTES_MAX,
        "a length of {length} bytes is above the message limit"
    );
    length as u32
}

/// Writes `text` into a NUL-padded field of `field_bytes`.
fn put_text(out: &mut Vec<u8>, text: &str, field_bytes: usize) {
    let bytes = text_bytes(text, field_bytes);
    out.extend_from_slice(bytes);
    out.resize(out.len() + field_bytes - bytes.len(), 0);
}

/// The bytes of `text` before any NUL, cut to at most `bytes_max` at a character boundary.
fn text_bytes(text: &str, bytes_max: usize) -> &[u8] {
    let text = text.split('\0').next().unwrap_or_default();
    let mut end = text.len().min(bytes_max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text.as_bytes()[..end]
}

// ---------------------------------------------------------------------------------------------
// Slot bitmaps and node ids.

/// Whether `slot` is set in `bitmap`; false for a slot beyond the bitmap.
pub fn slot_is_set(bitmap: &SlotBitmap, slot: u16) -> bool {
    bitmap
        .get(slot as usize / 8)
        .is_some_and(|byte| byte & (1 << (slot % 8)) != 0)
}

/// Sets `slot` in `bitmap`.
///
/// # Panics
///
/// When `slot` is not below [`SLOT_COUNT`]; callers validate slots when they parse them.
pub fn set_slot(bitmap: &mut SlotBitmap, slot: u16) {
    assert!((slot as usize) < SLOT_COUNT, "slot {slot} out of range");
    bitmap[slot as usize / 8] |= 1 << (slot % 8);
}

/// Clears `slot` in `bitmap`.
///
/// # Panics
///
/// When `slot` is not below [`SLOT_COUNT`].
pub fn clear_slot(bitmap: &mut SlotBitmap, slot: u16) {
    assert!((slot as usize) < SLOT_COUNT, "slot {slot} out of range");
    bitmap[slot as usize / 8] &= !(1 << (slot % 8));
}

/// Whether `id` is 40 lowercase hexadecimal characters, the only node ids Redis accepts
/// (`verifyClusterNodeId`).
pub fn is_valid_node_id(id: &[u8]) -> bool {
    id.len() == NODE_ID_BYTES && id.iter().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// `text` as a node id, if it is a valid one.
pub fn parse_node_id(text: &[u8]) -> Option<NodeId> {
    if !is_valid_node_id(text) {
        return None;
    }
    let mut id = [0; NODE_ID_BYTES];
    id.copy_from_slice(text);
    Some(id)
}

/// A node id as text; bytes that are not ASCII (from a broken peer) show as U+FFFD.
pub fn node_id_text(id: &NodeId) -> String {
    String::from_utf8_lossy(id).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SENDER: NodeId = *b"1234567890abcdef1234567890abcdef12345678";
    const OTHER: NodeId = *b"fedcba0987654321fedcba0987654321fedcba09";

    fn header(message_type: u16) -> Header {
        let mut header = Header::new(message_type, SENDER);
        header.port = 7001;
        header.current_epoch = 0x0102_0304_0506_0708;
        header.config_epoch = 5;
        header.replication_offset = 123_456;
        set_slot(&mut header.slots, 0);
        set_slot(&mut header.slots, 16383);
        header.ip = "127.0.0.1".to_string();
        header.plaintext_port = 0;
        header.cluster_port = 17001;
        header.flags = NODE_MASTER | NODE_MYSELF;
        header.state = STATE_OK;
        header
    }

    fn gossip_entry() -> GossipEntry {
        GossipEntry {
            node_id: OTHER,
            ping_sent_secs: 1_700_000_000,
            pong_received_secs: 1_700_000_001,
            ip: "10.0.0.2".to_string(),
            port: 7002,
            cluster_port: 17002,
            flags: NODE_SLAVE | NODE_PFAIL,
            plaintext_port: 6380,
        }
    }

    fn gossip_body(entries: usize, extensions: Vec<Extension>) -> Body {
        Body::Gossip {
            entries: vec![gossip_entry(); entries],
            extensions,
        }
    }

    /// One message of every type, with bodies that exercise each field.
    fn every_type() -> Vec<Message> {
        let mut update_slots = Box::new([0u8; SLOT_BITMAP_BYTES]);
        set_slot(&mut update_slots, 42);
        let mut replica = header(TYPE_PONG);
        replica.replica_of = Some(OTHER);
        replica.flags = NODE_SLAVE;
        replica.mflags = [MFLAG0_PAUSED | MFLAG0_FORCEACK, 0, 0];
        let bodies = [
            (header(TYPE_PING), gossip_body(0, vec![])),
            (
                replica,
                gossip_body(
                    3,
                    vec![
                        Extension::Hostname("somehost".to_string()),
                        Extension::Other {
                            kind: 1,
                            data: OTHER.to_vec(),
                        },
                    ],
                ),
            ),
            (header(TYPE_MEET), gossip_body(1, vec![])),
            (header(TYPE_FAIL), Body::Fail { node_id: OTHER }),
            (
                header(TYPE_PUBLISH),
                Body::Publish {
                    channel: b"news".to_vec(),
                    message: b"hello \x00 world".to_vec(),
                },
            ),
            (header(TYPE_FAILOVER_AUTH_REQUEST), Body::Empty),
            (header(TYPE_FAILOVER_AUTH_ACK), Body::Empty),
            (
                header(TYPE_UPDATE),
                Body::Update {
                    config_epoch: 9,
                    node_id: OTHER,
                    slots: update_slots,
                },
            ),
            (header(TYPE_MFSTART), Body::Empty),
            (
                header(TYPE_MODULE),
                Body::Module {
                    module_id: 0xdead_beef,
                    kind: 7,
                    payload: b"module payload".to_vec(),
                },
            ),
            (
                header(TYPE_PUBLISHSHARD),
                Body::Publish {
                    channel: vec![],
                    message: vec![1, 2, 3],
                },
            ),
        ];
        bodies
            .into_iter()
            .map(|(header, body)| Message { header, body })
            .collect()
    }

    fn encoded(message: &Message) -> Vec<u8> {
        let mut out = Vec::new();
        encode(message, &mut out);
        out
    }

    fn u16_at(bytes: &[u8], at: usize) -> u16 {
        u16::from_be_bytes([bytes[at], bytes[at + 1]])
    }

    fn u32_at(bytes: &[u8], at: usize) -> u32 {
        u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap())
    }

    fn u64_at(bytes: &[u8], at: usize) -> u64 {
        u64::from_be_bytes(bytes[at..at + 8].try_into().unwrap())
    }

    fn put_u16(bytes: &mut [u8], at: usize, value: u16) {
        bytes[at..at + 2].copy_from_slice(&value.to_be_bytes());
    }

    fn put_u32(bytes: &mut [u8], at: usize, value: u32) {
        bytes[at..at + 4].copy_from_slice(&value.to_be_bytes());
    }

    #[test]
    fn every_type_round_trips() {
        let messages = every_type();
        assert_eq!(messages.len(), TYPE_COUNT as usize);
        for message in messages {
            let bytes = encoded(&message);
            assert_eq!(frame_length(&bytes), Ok(Some(bytes.len())));
            let mut decoded = decode(&bytes)
                .unwrap_or_else(|e| panic!("{}: {e}", type_name(message.header.message_type)));
            assert_eq!(encoded(&decoded), bytes, "re-encoding is byte-exact");
            if let Body::Gossip { extensions, .. } = &message.body {
                if !extensions.is_empty() {
                    assert_eq!(decoded.header.mflags[0] & MFLAG0_EXT_DATA, MFLAG0_EXT_DATA);
                    decoded.header.mflags[0] &= !MFLAG0_EXT_DATA;
                }
            }
            assert_eq!(decoded, message);
        }
    }

    #[test]
    fn encode_appends_after_existing_bytes() {
        let message = &every_type()[4];
        let mut out = b"prefix".to_vec();
        encode(message, &mut out);
        assert_eq!(&out[..6], b"prefix");
        assert_eq!(decode(&out[6..]).as_ref(), Ok(message));
    }

    #[test]
    fn lengths_per_type_match_redis() {
        let lengths: Vec<(u16, usize)> = every_type()
            .iter()
            .map(|m| (m.header.message_type, encoded(m).len()))
            .collect();
        let hostname_ext = 8 + 16; // "somehost" + NUL, padded to 16.
        let other_ext = 8 + 40;
        assert_eq!(
            lengths,
            vec![
                (TYPE_PING, 2256),
                (TYPE_PONG, 2256 + 3 * 104 + hostname_ext + other_ext),
                (TYPE_MEET, 2256 + 104),
                (TYPE_FAIL, 2296),
                (TYPE_PUBLISH, 2256 + 8 + 4 + 13),
                (TYPE_FAILOVER_AUTH_REQUEST, 2256),
                (TYPE_FAILOVER_AUTH_ACK, 2256),
                (TYPE_UPDATE, 4352),
                (TYPE_MFSTART, 2256),
                (TYPE_MODULE, 2256 + 13 + 14),
                (TYPE_PUBLISHSHARD, 2256 + 8 + 3),
            ]
        );
    }

    #[test]
    fn header_fields_sit_at_redis_offsets() {
        let mut message = every_type().swap_remove(1);
        message.header.plaintext_port = 6379;
        message.header.state = STATE_FAIL;
        let bytes = encoded(&message);
        assert_eq!(&bytes[0..4], b"RCmb");
        assert_eq!(u32_at(&bytes, 4) as usize, bytes.len());
        assert_eq!(u16_at(&bytes, 8), 1);
        assert_eq!(u16_at(&bytes, 10), 7001);
        assert_eq!(u16_at(&bytes, 12), TYPE_PONG);
        assert_eq!(u16_at(&bytes, 14), 3);
        assert_eq!(u64_at(&bytes, 16), 0x0102_0304_0506_0708);
        assert_eq!(&bytes[16..24], &[1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(u64_at(&bytes, 24), 5);
        assert_eq!(u64_at(&bytes, 32), 123_456);
        assert_eq!(&bytes[40..80], &SENDER);
        // Slot 0 is bit 0 of the first bitmap byte; slot 16383 is bit 7 of the last.
        assert_eq!(bytes[80], 0b0000_0001);
        assert_eq!(bytes[2127], 0b1000_0000);
        assert!(bytes[81..2127].iter().all(|&b| b == 0));
        assert_eq!(&bytes[2128..2168], &OTHER);
        assert_eq!(&bytes[2168..2177], b"127.0.0.1");
        assert!(bytes[2177..2214].iter().all(|&b| b == 0));
        assert_eq!(u16_at(&bytes, 2214), 2);
        assert!(bytes[2216..2246].iter().all(|&b| b == 0));
        assert_eq!(u16_at(&bytes, 2246), 6379);
        assert_eq!(u16_at(&bytes, 2248), 17001);
        assert_eq!(u16_at(&bytes, 2250), NODE_SLAVE);
        assert_eq!(bytes[2252], STATE_FAIL);
        assert_eq!(
            &bytes[2253..2256],
            &[MFLAG0_PAUSED | MFLAG0_FORCEACK | MFLAG0_EXT_DATA, 0, 0]
        );
    }

    #[test]
    fn gossip_and_extensions_sit_at_redis_offsets() {
        let bytes = encoded(&every_type()[1]);
        let entry = 2256;
        assert_eq!(&bytes[entry..entry + 40], &OTHER);
        assert_eq!(u32_at(&bytes, entry + 40), 1_700_000_000);
        assert_eq!(u32_at(&bytes, entry + 44), 1_700_000_001);
        assert_eq!(&bytes[entry + 48..entry + 56], b"10.0.0.2");
        assert!(bytes[entry + 56..entry + 94].iter().all(|&b| b == 0));
        assert_eq!(u16_at(&bytes, entry + 94), 7002);
        assert_eq!(u16_at(&bytes, entry + 96), 17002);
        assert_eq!(u16_at(&bytes, entry + 98), NODE_SLAVE | NODE_PFAIL);
        assert_eq!(u16_at(&bytes, entry + 100), 6380);
        assert_eq!(u16_at(&bytes, entry + 102), 0);
        assert_eq!(&bytes[entry + 104..entry + 144], &OTHER, "second entry");
        let hostname = 2256 + 3 * 104;
        assert_eq!(
            &bytes[hostname..hostname + 24],
            b"\x00\x00\x00\x18\x00\x00\x00\x00somehost\x00\x00\x00\x00\x00\x00\x00\x00"
        );
        let other = hostname + 24;
        assert_eq!(
            &bytes[other..other + 8],
            b"\x00\x00\x00\x30\x00\x01\x00\x00"
        );
        assert_eq!(&bytes[other + 8..], &OTHER);
    }

    #[test]
    fn body_fields_sit_at_redis_offsets() {
        let messages = every_type();
        let publish = encoded(&messages[4]);
        assert_eq!(u32_at(&publish, 2256), 4);
        assert_eq!(u32_at(&publish, 2260), 13);
        assert_eq!(&publish[2264..], b"newshello \x00 world");
        let update = encoded(&messages[7]);
        assert_eq!(u64_at(&update, 2256), 9);
        assert_eq!(&update[2264..2304], &OTHER);
        assert_eq!(update[2304 + 42 / 8], 1 << (42 % 8));
        let module = encoded(&messages[9]);
        assert_eq!(u64_at(&module, 2256), 0xdead_beef);
        assert_eq!(u32_at(&module, 2264), 14);
        assert_eq!(module[2268], 7);
        assert_eq!(&module[2269..], b"module payload");
        let fail = encoded(&messages[3]);
        assert_eq!(&fail[2256..], &OTHER);
    }

    #[test]
    fn hostname_padding_always_leaves_a_nul() {
        for (hostname, ext_bytes) in [("", 16), ("a", 16), ("abcdefg", 16), ("abcdefgh", 24)] {
            let body = gossip_body(0, vec![Extension::Hostname(hostname.to_string())]);
            let message = Message {
                header: header(TYPE_PING),
                body,
            };
            let bytes = encoded(&message);
            assert_eq!(bytes.len(), 2256 + ext_bytes, "{hostname:?}");
            assert_eq!(u32_at(&bytes, 2256) as usize, ext_bytes);
            assert_eq!(*bytes.last().unwrap(), 0);
        }
    }

    #[test]
    fn text_longer_than_its_field_is_cut_at_a_character_boundary() {
        let mut message = every_type().swap_remove(0);
        message.header.ip = format!("{}é", "a".repeat(45)); // 47 bytes; 'é' is two.
        let decoded = decode(&encoded(&message)).unwrap();
        assert_eq!(decoded.header.ip, "a".repeat(45));
        message.header.ip = "b".repeat(46);
        assert_eq!(
            decode(&encoded(&message)).unwrap().header.ip,
            "b".repeat(46)
        );
        message.header.ip = "1.2.3.4\0junk".to_string();
        assert_eq!(decode(&encoded(&message)).unwrap().header.ip, "1.2.3.4");
    }

    #[test]
    fn every_truncation_is_an_error() {
        for message in every_type() {
            let bytes = encoded(&message);
            for length in 0..bytes.len() {
                let cut = &bytes[..length];
                let expected_prefix = if length < 8 { None } else { Some(bytes.len()) };
                assert_eq!(frame_length(cut), Ok(expected_prefix));
                assert!(decode(cut).is_err(), "cut at {length}");
                // Also with a total length that agrees with the cut.
                if length >= 8 {
                    let mut patched = cut.to_vec();
                    put_u32(&mut patched, 4, length as u32);
                    assert!(decode(&patched).is_err(), "patched cut at {length}");
                }
            }
        }
    }

    #[test]
    fn prefix_errors() {
        assert_eq!(frame_length(b"RCm"), Ok(None));
        assert_eq!(
            frame_length(b"RCmc\x00\x00\x08\xd0"),
            Err(WireError::BadSignature(*b"RCmc"))
        );
        assert_eq!(frame_length(b"RCmb\x00\x00\x08\xd0"), Ok(Some(2256)));
        assert_eq!(
            frame_length(b"RCmb\x00\x00\x08\xcf"),
            Err(WireError::TooShort { total_length: 2255 })
        );
        assert_eq!(
            frame_length(b"RCmb\x40\x00\x00\x01"),
            Err(WireError::TooLong {
                total_length: (1 << 30) + 1
            })
        );
        assert_eq!(frame_length(b"RCmb\x40\x00\x00\x00"), Ok(Some(1 << 30)));
        assert_eq!(
            WireError::BadSignature(*b"GET ").to_string(),
            "bad cluster bus signature \"GET \", expected \"RCmb\""
        );
    }

    #[test]
    fn frame_shorter_or_longer_than_its_length_is_refused() {
        let mut bytes = encoded(&every_type()[0]);
        bytes.push(0);
        assert_eq!(
            decode(&bytes),
            Err(WireError::LengthMismatch {
                total_length: 2256,
                frame_bytes: 2257
            })
        );
    }

    #[test]
    fn wrong_version_is_refused() {
        let mut bytes = encoded(&every_type()[0]);
        put_u16(&mut bytes, offset::VERSION, 0);
        assert_eq!(decode(&bytes), Err(WireError::BadVersion(0)));
        put_u16(&mut bytes, offset::VERSION, 2);
        assert_eq!(
            decode(&bytes).unwrap_err().to_string(),
            "cluster bus protocol version 2 is not supported (expected 1)"
        );
    }

    #[test]
    fn unknown_type_is_refused_but_framed() {
        let mut bytes = encoded(&every_type()[5]);
        put_u16(&mut bytes, offset::TYPE, TYPE_COUNT);
        assert_eq!(frame_length(&bytes), Ok(Some(2256)));
        assert_eq!(decode(&bytes), Err(WireError::UnknownType(11)));
    }

    #[test]
    fn gossip_count_must_agree_with_length() {
        let mut bytes = encoded(&every_type()[2]); // MEET with one entry.
        put_u16(&mut bytes, offset::COUNT, 2);
        assert_eq!(
            decode(&bytes),
            Err(WireError::BadLength {
                message_type: TYPE_MEET,
                total_length: 2360,
                expected_length: 2464
            })
        );
        put_u16(&mut bytes, offset::COUNT, 0);
        let error = decode(&bytes).unwrap_err();
        assert_eq!(
            error.to_string(),
            "invalid meet message of length 2360 but expected length 2256"
        );
    }

    #[test]
    fn fixed_bodies_must_have_their_exact_length() {
        for index in [3, 5, 6, 7, 8] {
            let mut bytes = encoded(&every_type()[index]);
            bytes.extend_from_slice(&[0; 8]);
            let length = bytes.len() as u32;
            put_u32(&mut bytes, 4, length);
            assert!(
                matches!(decode(&bytes), Err(WireError::BadLength { .. })),
                "message {index}"
            );
        }
    }

    #[test]
    fn publish_and_module_lengths_must_agree_with_total() {
        let mut publish = encoded(&every_type()[4]);
        put_u32(&mut publish, 2256, u32::MAX);
        assert_eq!(
            decode(&publish),
            Err(WireError::BadLength {
                message_type: TYPE_PUBLISH,
                total_length: 2281,
                expected_length: 2256 + 8 + u32::MAX as u64 + 13
            })
        );
        let mut module = encoded(&every_type()[9]);
        put_u32(&mut module, 2264, 13);
        assert!(matches!(
            decode(&module),
            Err(WireError::BadLength {
                expected_length: 2282,
                ..
            })
        ));
    }

    #[test]
    fn extension_lengths_are_checked() {
        let message = Message {
            header: header(TYPE_PING),
            body: gossip_body(1, vec![Extension::Hostname("somehost".to_string())]),
        };
        let ext = 2256 + 104;
        let bytes = encoded(&message);
        let mut odd = bytes.clone();
        put_u32(&mut odd, ext, 20);
        assert_eq!(
            decode(&odd),
            Err(WireError::ExtensionPadding {
                index: 0,
                length: 20
            })
        );
        let mut zero = bytes.clone();
        put_u32(&mut zero, ext, 0);
        assert_eq!(
            decode(&zero),
            Err(WireError::ExtensionPadding {
                index: 0,
                length: 0
            })
        );
        let mut long = bytes.clone();
        put_u32(&mut long, ext, 32);
        assert_eq!(
            decode(&long),
            Err(WireError::ExtensionOverrun {
                index: 0,
                length: 32,
                remaining: 24
            })
        );
        let mut more = bytes.clone();
        put_u16(&mut more, offset::EXTENSIONS, 2);
        assert_eq!(
            decode(&more),
            Err(WireError::ExtensionOverrun {
                index: 1,
                length: 8,
                remaining: 0
            })
        );
        let mut fewer = bytes;
        put_u16(&mut fewer, offset::EXTENSIONS, 0);
        assert!(matches!(
            decode(&fewer),
            Err(WireError::BadLength {
                expected_length: 2360,
                ..
            })
        ));
    }

    #[test]
    fn extension_count_is_ignored_without_the_ext_data_flag() {
        // Redis 7.0 reads extensions only when mflags[0] has EXT_DATA.
        let mut bytes = encoded(&Message {
            header: header(TYPE_PING),
            body: gossip_body(0, vec![]),
        });
        put_u16(&mut bytes, offset::EXTENSIONS, 3);
        assert_eq!(
            decode(&bytes).unwrap().body,
            Body::Gossip {
                entries: vec![],
                extensions: vec![]
            }
        );
        // The flag with a count of zero is fine too (Redis 7.2 always sets it).
        bytes[offset::MESSAGE_FLAGS] |= MFLAG0_EXT_DATA;
        put_u16(&mut bytes, offset::EXTENSIONS, 0);
        assert!(decode(&bytes).is_ok());
    }

    #[test]
    fn unknown_extension_types_are_kept_as_other() {
        // A 7.2-style shard-id extension (type 2, 40 bytes of data).
        let mut bytes = encoded(&Message {
            header: header(TYPE_PING),
            body: gossip_body(0, vec![]),
        });
        bytes[offset::MESSAGE_FLAGS] |= MFLAG0_EXT_DATA;
        put_u16(&mut bytes, offset::EXTENSIONS, 1);
        bytes.extend_from_slice(b"\x00\x00\x00\x30\x00\x02\x00\x00");
        bytes.extend_from_slice(&OTHER);
        let length = bytes.len() as u32;
        put_u32(&mut bytes, 4, length);
        let Body::Gossip { extensions, .. } = decode(&bytes).unwrap().body else {
            panic!("not gossip");
        };
        assert_eq!(
            extensions,
            vec![Extension::Other {
                kind: 2,
                data: OTHER.to_vec()
            }]
        );
    }

    #[test]
    fn text_fields_stop_at_nul_and_must_be_utf8() {
        let mut bytes = encoded(&every_type()[2]);
        bytes[offset::IP + 3] = 0; // "127\0.0.1"
        assert_eq!(decode(&bytes).unwrap().header.ip, "127");
        bytes[offset::IP] = 0xff;
        assert_eq!(decode(&bytes), Err(WireError::NotUtf8 { field: "myip" }));
        let mut bytes = encoded(&every_type()[2]);
        bytes[2256 + gossip_offset::IP] = 0xc3;
        assert_eq!(
            decode(&bytes).unwrap_err().to_string(),
            "cluster bus field gossip ip is not valid UTF-8"
        );
        // A field with no NUL at all is taken whole.
        let mut bytes = encoded(&every_type()[2]);
        bytes[offset::IP..offset::IP + IP_BYTES].fill(b'x');
        assert_eq!(decode(&bytes).unwrap().header.ip, "x".repeat(46));
    }

    #[test]
    fn replica_of_all_zero_means_none() {
        let bytes = encoded(&every_type()[0]);
        assert!(bytes[offset::REPLICA_OF..offset::IP]
            .iter()
            .all(|&b| b == 0));
        assert_eq!(decode(&bytes).unwrap().header.replica_of, None);
    }

    #[test]
    #[should_panic(expected = "a fail message cannot carry")]
    fn encode_refuses_a_body_of_another_type() {
        let message = Message {
            header: header(TYPE_FAIL),
            body: Body::Empty,
        };
        encode(&message, &mut Vec::new());
    }

    #[test]
    fn slot_bitmap_helpers() {
        let mut bitmap = [0u8; SLOT_BITMAP_BYTES];
        for slot in [0, 7, 8, 1000, 16383] {
            assert!(!slot_is_set(&bitmap, slot));
            set_slot(&mut bitmap, slot);
            assert!(slot_is_set(&bitmap, slot));
        }
        assert_eq!(bitmap[0], 0b1000_0001);
        assert_eq!(bitmap[1], 0b0000_0001);
        assert_eq!(bitmap[125], 1 << 0); // 1000 = 125 * 8
        assert_eq!(bitmap[2047], 0b1000_0000);
        assert!(!slot_is_set(&bitmap, 1));
        assert!(!slot_is_set(&bitmap, 16384));
        assert!(!slot_is_set(&bitmap, u16::MAX));
        clear_slot(&mut bitmap, 7);
        assert_eq!(bitmap[0], 0b0000_0001);
    }

    #[test]
    #[should_panic(expected = "slot 16384 out of range")]
    fn set_slot_refuses_slots_beyond_the_bitmap() {
        set_slot(&mut [0u8; SLOT_BITMAP_BYTES], 16384);
    }

    #[test]
    fn node_id_helpers() {
        assert_eq!(parse_node_id(&SENDER), Some(SENDER));
        assert_eq!(
            node_id_text(&SENDER),
            "1234567890abcdef1234567890abcdef12345678"
        );
        assert!(is_valid_node_id(&OTHER));
        assert!(!is_valid_node_id(
            b"1234567890ABCDEF1234567890abcdef12345678"
        ));
        assert!(!is_valid_node_id(
            b"1234567890abcdef1234567890abcdef1234567"
        ));
        assert!(!is_valid_node_id(&[0; 40]));
        assert_eq!(parse_node_id(b"xyz"), None);
        let mut broken = SENDER;
        broken[0] = 0xff;
        assert_eq!(node_id_text(&broken).chars().next(), Some('\u{fffd}'));
    }

    #[test]
    fn type_names_match_cluster_info() {
        let names: Vec<&str> = (0..=TYPE_COUNT).map(type_name).collect();
        assert_eq!(
            names,
            [
                "ping",
                "pong",
                "meet",
                "fail",
                "publish",
                "auth-req",
                "auth-ack",
                "update",
                "mfstart",
                "module",
                "publishshard",
                "unknown"
            ]
        );
    }

    /// SplitMix64: a small deterministic generator so failures reproduce.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        }

        fn below(&mut self, bound: usize) -> usize {
            (self.next() % bound as u64) as usize
        }
    }

    /// Runs bytes through `frame_length` and `decode` the way a reader would; when decoding
    /// succeeds, encoding the result must decode to the same message.
    fn check_never_panics(bytes: &[u8]) -> bool {
        let _ = frame_length(bytes);
        let decoded = decode(bytes);
        if let Ok(message) = &decoded {
            let again = decode(&encoded(message));
            assert_eq!(again.as_ref(), Ok(message), "re-encoding {bytes:?}");
        }
        decoded.is_ok()
    }

    #[test]
    fn random_and_mutated_frames_never_panic() {
        let mut rng = Rng(0x5107_c0de);
        let valid: Vec<Vec<u8>> = every_type().iter().map(encoded).collect();
        let mut decoded = 0;
        for round in 0..20_000 {
            let bytes = match round % 4 {
                // Pure noise, mostly short.
                0 => {
                    let length = rng.below(64);
                    (0..length).map(|_| rng.next() as u8).collect()
                }
                // Noise behind a well-formed prefix and version, so it reaches the body checks.
                1 => {
                    let length = HEADER_BYTES + rng.below(600);
                    let mut bytes: Vec<u8> = (0..length).map(|_| rng.next() as u8).collect();
                    bytes[..4].copy_from_slice(&SIGNATURE);
                    put_u32(&mut bytes, 4, length as u32);
                    put_u16(&mut bytes, 8, 1);
                    put_u16(&mut bytes, 12, rng.below(12) as u16);
                    put_u16(&mut bytes, 14, rng.below(8) as u16);
                    put_u16(&mut bytes, offset::EXTENSIONS, rng.below(4) as u16);
                    bytes
                }
                // A valid frame with a few bytes changed, mostly in the fields that steer decoding.
                _ => {
                    let mut bytes = valid[rng.below(valid.len())].clone();
                    let steering = [4, 5, 6, 7, 8, 9, 12, 13, 14, 15, 2214, 2215, 2253, 2256];
                    for _ in 0..1 + rng.below(4) {
                        let at = if rng.below(2) == 0 {
                            steering[rng.below(steering.len())]
                        } else {
                            rng.below(bytes.len())
                        };
                        if let Some(byte) = bytes.get_mut(at) {
                            *byte = rng.next() as u8;
                        }
                    }
                    if rng.below(4) == 0 {
                        bytes.truncate(rng.below(bytes.len() + 1));
                    }
                    if rng.below(4) == 0 {
                        let length = bytes.len() as u32;
                        if bytes.len() >= 8 {
                            put_u32(&mut bytes, 4, length);
                        }
                    }
                    bytes
                }
            };
            decoded += check_never_panics(&bytes) as usize;
        }
        // The mutations must keep some frames valid, or the re-encoding check tests nothing.
        assert!(decoded > 1000, "only {decoded} mutated frames decoded");
    }
}
