//! LZF, as Redis ships it (liblzf 3.6 with `HLOG 16`, `VERY_FAST`, no
//! `ULTRA_FAST`). The compressor follows Redis's `lzf_c.c` step for step,
//! so a string compresses to the same bytes Redis writes in a DUMP payload
//! (Redis leaves its hash table uninitialised; ours starts zeroed, which
//! only ever finds fewer, never other, matches than a lucky stack would).

const HLOG: u32 = 16;
const HSIZE: usize = 1 << HLOG;
const MAX_LIT: usize = 1 << 5;
const MAX_OFF: usize = 1 << 13;
const MAX_REF: usize = (1 << 8) + (1 << 3);

#[inline]
fn first(input: &[u8], at: usize) -> u32 {
    (u32::from(input[at]) << 8) | u32::from(input[at + 1])
}

#[inline]
fn next(hash: u32, input: &[u8], at: usize) -> u32 {
    (hash << 8) | u32::from(input[at + 2])
}

#[inline]
fn slot_of(hash: u32) -> usize {
    ((hash >> (3 * 8 - HLOG)).wrapping_sub(hash.wrapping_mul(5)) as usize) & (HSIZE - 1)
}

/// The compressor's hash table, kept between calls: zeroing 256 KiB for
/// every string would cost more than compressing a short one (a snapshot
/// compresses each of millions of values). A slot holds `base + position`;
/// one below the current call's `base` is from an earlier call and reads as
/// empty (0), exactly as a freshly zeroed table would.
struct Table {
    slots: Vec<u32>,
    base: u32,
}

thread_local! {
    static TABLE: std::cell::RefCell<Table> = std::cell::RefCell::new(Table {
        slots: vec![0; HSIZE],
        base: 0,
    });
}

/// Compresses `input` into at most `out_len` bytes; None when it does not
/// fit (Redis then stores the string uncompressed).
pub fn compress(input: &[u8], out_len: usize) -> Option<Vec<u8>> {
    if input.is_empty() || out_len == 0 {
        return None;
    }
    TABLE.with(|table| {
        let mut table = table.borrow_mut();
        let span = input.len() as u64 + 1;
        if u64::from(table.base) + span > u64::from(u32::MAX) {
            table.slots.fill(0);
            table.base = 0;
        }
        let base = table.base;
        let compressed = compress_with(input, out_len, &mut table.slots, base);
        table.base = base + span as u32;
        compressed
    })
}

fn compress_with(input: &[u8], out_len: usize, table: &mut [u32], base: u32) -> Option<Vec<u8>> {
    let in_len = input.len();
    // Slack so the literal-run header written one past the end never
    // indexes out of bounds; the length checks below mirror lzf_c.c.
    let mut out = vec![0u8; out_len + 4];
    // Positions are stored as offsets from `base`; 0 (the first byte, or
    // an empty slot) never counts as a match, as in lzf_c.c's
    // `ref > in_data`.
    let position = |stored: u32| stored.saturating_sub(base) as usize;
    let mut ip = 0usize;
    let mut op = 1usize;
    let mut lit = 0usize;
    let mut hash = first(input, 0);
    while ip + 2 < in_len {
        hash = next(hash, input, ip);
        let slot = slot_of(hash);
        let reference = position(table[slot]);
        table[slot] = base + ip as u32;
        let is_match = reference < ip
            && ip - reference - 1 < MAX_OFF
            && reference > 0
            && input[reference + 2] == input[ip + 2]
            && input[reference] == input[ip]
            && input[reference + 1] == input[ip + 1];
        if is_match {
            let offset = ip - reference - 1;
            let length_max = (in_len - ip - 2).min(MAX_REF);
            if op + 4 >= out_len && op - usize::from(lit == 0) + 4 >= out_len {
                return None;
            }
            out[op - lit - 1] = (lit as u8).wrapping_sub(1);
            op -= usize::from(lit == 0);
            let mut len = match_length(input, reference, ip, length_max);
            len -= 2;
            ip += 1;
            if len < 7 {
                out[op] = ((offset >> 8) + (len << 5)) as u8;
                op += 1;
            } else {
                out[op] = ((offset >> 8) + (7 << 5)) as u8;
                out[op + 1] = (len - 7) as u8;
                op += 2;
            }
            out[op] = offset as u8;
            op += 1;
            lit = 0;
            op += 1;
            ip += len + 1;
            if ip + 2 >= in_len {
                break;
            }
            ip -= 2;
            hash = first(input, ip);
            hash = next(hash, input, ip);
            table[slot_of(hash)] = base + ip as u32;
            ip += 1;
            hash = next(hash, input, ip);
            table[slot_of(hash)] = base + ip as u32;
            ip += 1;
        } else {
            if op >= out_len {
                return None;
            }
            out[op] = input[ip];
            (op, ip, lit) = (op + 1, ip + 1, lit + 1);
            if lit == MAX_LIT {
                out[op - lit - 1] = (lit - 1) as u8;
                lit = 0;
                op += 1;
            }
        }
    }
    if op + 3 > out_len {
        return None;
    }
    while ip < in_len {
        out[op] = input[ip];
        (op, ip, lit) = (op + 1, ip + 1, lit + 1);
        if lit == MAX_LIT {
            out[op - lit - 1] = (lit - 1) as u8;
            lit = 0;
            op += 1;
        }
    }
    out[op - lit - 1] = (lit as u8).wrapping_sub(1);
    op -= usize::from(lit == 0);
    out.truncate(op);
    Some(out)
}

/// How many bytes at `ip` repeat those at `reference`, counted the way
/// lzf_c.c's unrolled loop counts them (it may look past `length_max` by
/// up to 16 bytes when more than 16 remain).
fn match_length(input: &[u8], reference: usize, ip: usize, length_max: usize) -> usize {
    let mut len = 2;
    if length_max > 16 {
        for _ in 0..16 {
            len += 1;
            if input[reference + len] != input[ip + len] {
                return len;
            }
        }
    }
    loop {
        len += 1;
        if !(len < length_max && input[reference + len] == input[ip + len]) {
            return len;
        }
    }
}

/// Decompresses `input` into exactly `expected_len` bytes; None when the
/// data is corrupt or does not come out at that length.
pub fn decompress(input: &[u8], expected_len: usize) -> Option<Vec<u8>> {
    let mut out: Vec<u8> = Vec::with_capacity(expected_len);
    let mut ip = 0usize;
    while ip < input.len() {
        let control = input[ip] as usize;
        ip += 1;
        if control < (1 << 5) {
            let run = control + 1;
            if out.len() + run > expected_len || ip + run > input.len() {
                return None;
            }
            out.extend_from_slice(&input[ip..ip + run]);
            ip += run;
        } else {
            let mut len = control >> 5;
            let mut back = ((control & 0x1f) << 8) + 1;
            if len == 7 {
                len += *input.get(ip)? as usize;
                ip += 1;
            }
            back += *input.get(ip)? as usize;
            ip += 1;
            if out.len() + len + 2 > expected_len || back > out.len() {
                return None;
            }
            let start = out.len() - back;
            for index in start..start + len + 2 {
                let byte = out[index];
                out.push(byte);
            }
        }
    }
    (out.len() == expected_len).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_compresses_repetition() {
        let inputs: Vec<Vec<u8>> = vec![
            b"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".to_vec(),
            b"hello world hello world hello world hello world!".to_vec(),
            (0..5000u32).map(|i| (i % 251) as u8).collect(),
            (0..3000u32).map(|i| (i * 7 % 13) as u8).collect(),
        ];
        for input in inputs {
            let packed = compress(&input, input.len() - 4).expect("compressible");
            assert!(packed.len() < input.len());
            assert_eq!(decompress(&packed, input.len()).unwrap(), input);
        }
    }

    /// The kept table gives each call what a zeroed one would: the same
    /// bytes whatever came before, across the wrap of its offsets too.
    #[test]
    fn earlier_calls_do_not_change_the_output() {
        let fresh = |input: &[u8]| {
            let mut table = vec![0u32; HSIZE];
            compress_with(input, input.len() - 4, &mut table, 0)
        };
        let inputs: Vec<Vec<u8>> = (0..200u32)
            .map(|n| {
                (0..(30 + n * 7))
                    .map(|i| b"abcab"[((i * n) % 5) as usize])
                    .collect()
            })
            .collect();
        for round in 0..3 {
            if round == 2 {
                TABLE.with(|table| table.borrow_mut().base = u32::MAX - 5_000);
            }
            for input in &inputs {
                assert_eq!(compress(input, input.len() - 4), fresh(input));
            }
        }
    }

    #[test]
    fn incompressible_input_does_not_fit() {
        let input: Vec<u8> = (0..40u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        assert!(compress(&input, input.len() - 4).is_none());
    }

    #[test]
    fn matches_redis_bytes() {
        // The LZF blobs in redis-server 7.0's DUMP of these strings.
        let cases: [(&[u8], &str); 2] = [
            (&[b'a'; 70], "016161e03900016161"),
            (
                b"hello world hello world hello world hello world!",
                "0c68656c6c6f20776f726c642068e0180b016421",
            ),
        ];
        for (input, expected) in cases {
            let packed = compress(input, input.len() - 4).unwrap();
            let hex: String = packed.iter().map(|b| format!("{b:02x}")).collect();
            assert_eq!(hex, expected);
        }
    }

    #[test]
    fn corrupt_input_is_refused() {
        assert!(decompress(&[0x20, 0x00], 10).is_none());
        assert!(decompress(&[0x05, b'a'], 6).is_none());
        assert!(decompress(&[0x00, b'a'], 2).is_none());
    }
}
