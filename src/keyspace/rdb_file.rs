//! RDB files: the `dump.rdb` that SAVE, BGSAVE and a saving shutdown write
//! and that startup loads, in Redis 7.0's format (RDB version 10), so that
//! a file moves between slotcore and redis-server both ways.
//!
//! A file is the magic `REDIS0010`, auxiliary fields (`redis-ver`,
//! `ctime`...), for each non-empty database a SELECTDB and RESIZEDB
//! opcode, the keys (each an optional expiry opcode, then type byte, name
//! and value as `rdb::save_key_value` writes them), the EOF opcode and a
//! CRC64 of everything before it. The values are the objects of DUMP
//! payloads (`rdb`), which already match Redis byte for byte.
//!
//! Each core serializes its own keys into a chunk (`Chunk`); the chunks
//! are written one after another between `header` and `footer`, the CRC
//! running over them as they go.

use super::rdb::{self, crc64, EncodingLimits, Reader, Writer, RDB_VERSION};
use super::value::Value;
use bytes::Bytes;

const OPCODE_FUNCTION2: u8 = 245;
const OPCODE_FUNCTION_PRE_GA: u8 = 246;
const OPCODE_MODULE_AUX: u8 = 247;
const OPCODE_IDLE: u8 = 248;
const OPCODE_FREQ: u8 = 249;
const OPCODE_AUX: u8 = 250;
const OPCODE_RESIZEDB: u8 = 251;
const OPCODE_EXPIRETIME_MS: u8 = 252;
const OPCODE_EXPIRETIME: u8 = 253;
const OPCODE_SELECTDB: u8 = 254;
const OPCODE_EOF: u8 = 255;

/// One core's keys, serialized, in pieces of about a MiB: they go to the
/// writer thread as they fill, and one growing buffer would copy itself on
/// every doubling, a pause of tens of milliseconds at a hundred MiB.
#[derive(Default)]
pub struct Chunk {
    full: Vec<Vec<u8>>,
    bytes: Vec<u8>,
}

const PIECE_BYTES: usize = 1 << 20;

impl Chunk {
    /// The pieces filled so far, taken out (to be written while the rest
    /// is serialized).
    pub fn take_full(&mut self) -> Vec<Vec<u8>> {
        std::mem::take(&mut self.full)
    }

    /// Every piece, the last one partly filled.
    pub fn into_pieces(mut self) -> Vec<Vec<u8>> {
        self.full.push(self.bytes);
        self.full
    }

    /// Appends a key (`expire_at_ms` 0: persistent), as rdbSaveKeyValuePair.
    pub fn push(&mut self, key: &[u8], value: &Value, expire_at_ms: u64) {
        if expire_at_ms != 0 {
            self.bytes.push(OPCODE_EXPIRETIME_MS);
            self.bytes.extend_from_slice(&expire_at_ms.to_le_bytes());
        }
        let mut out = Writer(std::mem::take(&mut self.bytes));
        rdb::save_key_value(key, value, &mut out);
        self.bytes = out.0;
        if self.bytes.len() >= PIECE_BYTES {
            let next = Vec::with_capacity(PIECE_BYTES + PIECE_BYTES / 4);
            self.full.push(std::mem::replace(&mut self.bytes, next));
        }
    }
}

/// The replication stream a file's dataset stands at (its `repl-id` and
/// `repl-offset` fields): what a restarted node continues from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplInfo {
    pub replid: String,
    pub offset: u64,
}

/// The file's start: magic, version and the auxiliary fields Redis 7.0
/// writes (rdbSaveInfoAuxFields), with the replication stream's id and
/// offset when the node is in one.
pub fn header(ctime_secs: u64, used_memory: u64, repl: Option<&ReplInfo>) -> Vec<u8> {
    let mut out = Writer(format!("REDIS{RDB_VERSION:04}").into_bytes());
    let mut aux = |name: &str, value: &str| {
        out.0.push(OPCODE_AUX);
        out.string(name.as_bytes());
        out.string(value.as_bytes());
    };
    aux("redis-ver", crate::REDIS_VERSION);
    aux("redis-bits", &usize::BITS.to_string());
    aux("ctime", &ctime_secs.to_string());
    aux("used-mem", &used_memory.to_string());
    if let Some(repl) = repl {
        aux("repl-stream-db", "0");
        aux("repl-id", &repl.replid);
        aux("repl-offset", &repl.offset.to_string());
    }
    aux("aof-base", "0");
    out.0
}

/// Database 0's opening (SELECTDB, RESIZEDB): written only when it has
/// keys, as Redis skips empty databases.
pub fn database_start(keys: u64, expires: u64) -> Vec<u8> {
    let mut out = Writer(vec![OPCODE_SELECTDB]);
    out.length(0);
    out.0.push(OPCODE_RESIZEDB);
    out.length(keys);
    out.length(expires);
    out.0
}

/// The file's end: EOF and the CRC64 of everything before the checksum
/// (`crc` already covers what came before the EOF byte).
pub fn footer(crc: u64) -> [u8; 9] {
    let crc = crc64(crc, &[OPCODE_EOF]);
    let mut out = [0u8; 9];
    out[0] = OPCODE_EOF;
    out[1..].copy_from_slice(&crc.to_le_bytes());
    out
}

/// A whole file of one chunk's keys (tests: `keys` and `expires` are
/// RESIZEDB's hints).
#[cfg(test)]
pub fn file_of_chunk(chunk: Chunk, keys: u64, expires: u64) -> Vec<u8> {
    let mut file = header(1_700_000_000, 1_000_000, None);
    if keys > 0 {
        file.extend(database_start(keys, expires));
        for piece in chunk.into_pieces() {
            file.extend(piece);
        }
    }
    let crc = crc64(0, &file);
    file.extend(footer(crc));
    file
}

/// A key read from a file.
pub struct Loaded {
    pub key: Bytes,
    pub value: Value,
    /// Unix milliseconds; 0 for a persistent key.
    pub expire_at_ms: u64,
    /// OBJECT IDLETIME and OBJECT FREQ saved with it, when the file has them.
    pub idle_secs: Option<u64>,
    pub frequency: Option<u8>,
}

/// What a file says besides its keys.
#[derive(Debug, Default)]
pub struct Summary {
    pub keys: u64,
    /// `repl-id` and `repl-offset`, when both are there and
    /// `repl-stream-db` is not -1 (as Redis's loadDataFromDisk asks).
    pub repl: Option<ReplInfo>,
}

/// Reads a whole file, handing each key to `each`; returns the number of
/// keys read and the replication stream it stands at, or why the file
/// cannot be loaded (Redis's words where it has them). Nothing is handed
/// over from a file whose checksum is wrong.
pub fn load(
    data: &[u8],
    limits: &EncodingLimits,
    mut each: impl FnMut(Loaded),
) -> Result<Summary, String> {
    let short = |at: usize| {
        format!("Short read or OOM loading DB (at byte {at}). Unrecoverable error, aborting now.")
    };
    if data.len() < 9 || !data.starts_with(b"REDIS") {
        return Err("Wrong signature trying to load DB from file".into());
    }
    let version = std::str::from_utf8(&data[5..9])
        .ok()
        .filter(|digits| digits.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|digits| digits.parse::<u16>().ok())
        .ok_or("Wrong signature trying to load DB from file")?;
    if !(1..=RDB_VERSION).contains(&version) {
        return Err(format!("Can't handle RDB format version {version}"));
    }
    let end = find_checked_end(data, version, &short)?;
    let mut reader = Reader {
        data: &data[..end],
        at: 9,
    };
    let mut keys = 0;
    let (mut replid, mut repl_offset, mut stream_db) = (None, None, None);
    let (mut expire_at_ms, mut idle_secs, mut frequency) = (0, None, None);
    loop {
        let at = reader.at;
        let kind = reader.byte().map_err(|_| short(at))?;
        let fail = |_| short(at);
        match kind {
            OPCODE_EOF => {
                let repl = match (replid, repl_offset, stream_db) {
                    (Some(replid), Some(offset), Some(db)) if db != -1 => {
                        Some(ReplInfo { replid, offset })
                    }
                    _ => None,
                };
                return Ok(Summary { keys, repl });
            }
            OPCODE_AUX => {
                let name = reader.string().map_err(fail)?;
                let value = reader.string().map_err(fail)?;
                let text = || String::from_utf8(value.to_vec()).ok();
                match name.as_slice() {
                    b"repl-id" => replid = text().filter(|id| id.len() == 40),
                    b"repl-offset" => repl_offset = text().and_then(|n| n.parse().ok()),
                    b"repl-stream-db" => stream_db = text().and_then(|n| n.parse::<i64>().ok()),
                    _ => {}
                }
            }
            OPCODE_SELECTDB => {
                let db = reader.length().map_err(fail)?;
                if db != 0 {
                    return Err(format!(
                        "The RDB file has keys in database {db}; slotcore, as Redis in cluster mode, has only database 0"
                    ));
                }
            }
            OPCODE_RESIZEDB => {
                reader.length().map_err(fail)?;
                reader.length().map_err(fail)?;
            }
            OPCODE_EXPIRETIME_MS => {
                let bytes = reader.take(8).map_err(fail)?;
                let ms = i64::from_le_bytes(bytes.try_into().unwrap_or([0; 8]));
                // A time before 1970 is long past: any positive value
                // expires the key at once, 0 would mean "no expiry".
                expire_at_ms = ms.max(1) as u64;
            }
            OPCODE_EXPIRETIME => {
                let bytes = reader.take(4).map_err(fail)?;
                let secs = i32::from_le_bytes(bytes.try_into().unwrap_or([0; 4]));
                expire_at_ms = (i64::from(secs) * 1000).max(1) as u64;
            }
            OPCODE_IDLE => idle_secs = Some(reader.length().map_err(fail)?),
            OPCODE_FREQ => frequency = Some(reader.byte().map_err(fail)?),
            OPCODE_MODULE_AUX => {
                return Err("The RDB file holds module data; slotcore has no modules".into())
            }
            OPCODE_FUNCTION2 | OPCODE_FUNCTION_PRE_GA => return Err(
                "The RDB file holds functions (FUNCTION LOAD); slotcore does not support functions"
                    .into(),
            ),
            _ => {
                let key = reader.string().map_err(fail)?;
                let value = rdb::load_object(&mut reader, kind, limits).map_err(|_| {
                    format!(
                        "Bad data format loading key '{}' (type {kind}, at byte {at}). Unrecoverable error, aborting now.",
                        String::from_utf8_lossy(&key)
                    )
                })?;
                each(Loaded {
                    key: Bytes::from(key),
                    value,
                    expire_at_ms: std::mem::take(&mut expire_at_ms),
                    idle_secs: idle_secs.take(),
                    frequency: frequency.take(),
                });
                keys += 1;
            }
        }
    }
}

/// Where the opcodes end: before the 8-byte checksum of a version-5-or-later
/// file, which is checked here (0 means the writer did not compute one, as
/// with `rdbchecksum no`).
fn find_checked_end(
    data: &[u8],
    version: u16,
    short: &dyn Fn(usize) -> String,
) -> Result<usize, String> {
    if version < 5 {
        return Ok(data.len());
    }
    if data.len() < 9 + 9 {
        return Err(short(data.len()));
    }
    let end = data.len() - 8;
    if data[end - 1] != OPCODE_EOF {
        return Err(short(data.len()));
    }
    let stored = u64::from_le_bytes(data[end..].try_into().unwrap_or([0; 8]));
    let computed = crc64(0, &data[..end]);
    if stored != 0 && stored != computed {
        return Err(format!(
            "Wrong RDB checksum expected: ({computed:x}) but got ({stored:x}). Aborting now."
        ));
    }
    Ok(end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> EncodingLimits {
        EncodingLimits::default()
    }

    fn file_of(entries: &[(&[u8], Value, u64)]) -> Vec<u8> {
        let mut chunk = Chunk::default();
        for (key, value, expire) in entries {
            chunk.push(key, value, *expire);
        }
        let expires = entries.iter().filter(|(_, _, at)| *at != 0).count();
        file_of_chunk(chunk, entries.len() as u64, expires as u64)
    }

    fn read_all(file: &[u8]) -> Result<Vec<Loaded>, String> {
        let mut loaded = Vec::new();
        load(file, &limits(), |entry| loaded.push(entry))?;
        Ok(loaded)
    }

    #[test]
    fn keys_and_expiry_times_come_back() {
        let file = file_of(&[
            (b"plain", Value::string(Bytes::from_static(b"v")), 0),
            (
                b"timed",
                Value::string(Bytes::from_static(b"12345")),
                4_000_000_000_000,
            ),
        ]);
        assert!(file.starts_with(b"REDIS0010\xfa\x09redis-ver"));
        let loaded = read_all(&file).expect("loads");
        assert_eq!(loaded.len(), 2);
        assert_eq!(&loaded[0].key[..], b"plain");
        assert_eq!(loaded[0].expire_at_ms, 0);
        assert_eq!(&loaded[1].key[..], b"timed");
        assert_eq!(loaded[1].expire_at_ms, 4_000_000_000_000);
        assert!(matches!(&loaded[1].value, Value::Str { bytes, .. } if &bytes[..] == b"12345"));
    }

    #[test]
    fn an_empty_dataset_is_header_and_footer() {
        let file = file_of(&[]);
        assert_eq!(read_all(&file).expect("loads").len(), 0);
        assert!(!file.contains(&OPCODE_SELECTDB));
    }

    #[test]
    fn every_truncation_and_a_flipped_byte_are_refused() {
        let file = file_of(&[(b"k", Value::string(Bytes::from_static(b"value")), 0)]);
        for len in 0..file.len() {
            assert!(read_all(&file[..len]).is_err(), "truncated at {len}");
        }
        let mut flipped = file.clone();
        flipped[20] ^= 0x40;
        let error = read_all(&flipped).err().expect("refused");
        assert!(error.starts_with("Wrong RDB checksum"), "{error}");
    }

    #[test]
    fn a_file_without_checksum_is_read_unchecked() {
        let mut file = file_of(&[(b"k", Value::string(Bytes::from_static(b"value")), 0)]);
        let end = file.len() - 8;
        file[end..].fill(0);
        assert_eq!(read_all(&file).expect("loads").len(), 1);
    }

    #[test]
    fn the_replication_stream_a_file_stands_at_is_read_back() {
        let repl = ReplInfo {
            replid: "0123456789abcdef0123456789abcdef01234567".into(),
            offset: 987_654_321,
        };
        let whole = |repl: Option<&ReplInfo>| {
            let mut file = header(1, 2, repl);
            let crc = crc64(0, &file);
            file.extend(footer(crc));
            load(&file, &limits(), |_| {}).expect("loads")
        };
        assert_eq!(whole(Some(&repl)).repl, Some(repl));
        assert_eq!(whole(None).repl, None);
        // A `repl-stream-db` of -1 (older Redis) means no stream.
        let mut file = header(1, 2, None);
        for (name, value) in [
            ("repl-stream-db", "-1"),
            ("repl-id", &"a".repeat(40)),
            ("repl-offset", "5"),
        ] {
            file.push(OPCODE_AUX);
            let mut out = Writer(Vec::new());
            out.string(name.as_bytes());
            out.string(value.as_bytes());
            file.extend(out.0);
        }
        let crc = crc64(0, &file);
        file.extend(footer(crc));
        assert_eq!(load(&file, &limits(), |_| {}).expect("loads").repl, None);
    }

    #[test]
    fn other_databases_functions_and_newer_versions_are_refused() {
        let mut file = header(0, 0, None);
        file.extend([OPCODE_SELECTDB, 3]);
        let crc = crc64(0, &file);
        file.extend(footer(crc));
        assert!(read_all(&file)
            .err()
            .expect("refused")
            .contains("database 3"));
        let mut newer = file_of(&[]);
        newer[5..9].copy_from_slice(b"0011");
        assert_eq!(
            read_all(&newer).err().expect("refused"),
            "Can't handle RDB format version 11"
        );
        assert!(read_all(b"NOTREDIS0010").is_err());
    }
}
