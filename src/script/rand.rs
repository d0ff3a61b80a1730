//! Redis's `redisLrand48`: the 48-bit linear congruential generator of
//! lrand48(3), so that math.random gives the same sequence for the same
//! seed on every machine, as in Redis.

const MULTIPLIER: u64 = 0x5_DEEC_E66D;
const INCREMENT: u64 = 0xB;
const MASK: u64 = (1 << 48) - 1;
/// The state before any seed (lrand48's X0, X1, X2).
const INITIAL: u64 = 0x1234_ABCD_330E;

pub struct Lrand48 {
    state: u64,
}

impl Default for Lrand48 {
    fn default() -> Self {
        Lrand48 { state: INITIAL }
    }
}

impl Lrand48 {
    /// The next value, in 0..2^31.
    pub fn next(&mut self) -> i32 {
        self.state = (MULTIPLIER.wrapping_mul(self.state) + INCREMENT) & MASK;
        (self.state >> 17) as i32
    }

    /// srand48: the seed's 32 bits above 0x330E.
    pub fn seed(&mut self, seed: i32) {
        self.state = (u64::from(seed as u32) << 16) | 0x330E;
    }
}

#[cfg(test)]
mod tests {
    use super::Lrand48;

    #[test]
    fn matches_glibc_lrand48() {
        // Redis's start (its own X0..X2; redis-server 7.0.15 answers
        // tostring(math.random()) = 0.84048536971234 for the second
        // value), then glibc's lrand48() after srand48(0) and srand48(-5).
        let mut rng = Lrand48::default();
        assert_eq!(
            [rng.next(), rng.next(), rng.next()],
            [851401618, 1804928587, 758783491]
        );
        rng.seed(0);
        assert_eq!(
            [rng.next(), rng.next(), rng.next()],
            [366850414, 1610402240, 206956554]
        );
        rng.seed(-5);
        assert_eq!([rng.next(), rng.next()], [1754100061, 487370682]);
    }
}
