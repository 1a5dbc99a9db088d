//! Injectable randomness for KS generation.
//!
//! Production code uses [`OsRandom`]; tests pin it with [`FixedRandom`] to reproduce KS
//! strings byte for byte (the official vectors were made by patching `random.randint` and
//! `get_random_bytes` in the Python client).

/// A source of randomness for KS generation.
pub trait RandomSource: Send {
    /// Fills `buf` with random bytes (KS v2: the 16-byte random prefix).
    fn fill_bytes(&mut self, buf: &mut [u8]);
    /// The KS v1 `rand` field (the Python client uses `random.randint(0, 0x10000)`).
    fn v1_rand(&mut self) -> u32;
}

/// The operating system's cryptographically secure generator (through `rand`'s thread-local,
/// OS-seeded CSPRNG).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OsRandom;

impl RandomSource for OsRandom {
    fn fill_bytes(&mut self, buf: &mut [u8]) {
        use rand::Rng as _;
        rand::rng().fill_bytes(buf);
    }

    fn v1_rand(&mut self) -> u32 {
        use rand::RngExt as _;
        rand::rng().random_range(0..=0x10000_u32)
    }
}

/// Always the same "random" values; for tests and benchmarks only.
///
/// `fill_bytes` repeats `bytes` as often as needed; `v1_rand` returns `v1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FixedRandom {
    /// The bytes `fill_bytes` writes (cyclically).
    pub bytes: [u8; 16],
    /// The value `v1_rand` returns.
    pub v1: u32,
}

impl FixedRandom {
    /// The values of the official test vectors: bytes `00 01 … 0f`, v1 rand `4242`.
    pub const VECTORS: FixedRandom = FixedRandom {
        bytes: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
        v1: 4242,
    };
}

impl RandomSource for FixedRandom {
    fn fill_bytes(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(self.bytes.len()) {
            for (dst, src) in chunk.iter_mut().zip(self.bytes.iter()) {
                *dst = *src;
            }
        }
    }

    fn v1_rand(&mut self) -> u32 {
        self.v1
    }
}

impl<R: RandomSource + ?Sized> RandomSource for &mut R {
    fn fill_bytes(&mut self, buf: &mut [u8]) {
        (**self).fill_bytes(buf);
    }
    fn v1_rand(&mut self) -> u32 {
        (**self).v1_rand()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn os_random_draws_vary_within_the_v1_range() {
        let mut r = OsRandom;
        let draws: Vec<u32> = (0..64).map(|_| r.v1_rand()).collect();
        assert!(draws.iter().all(|v| *v <= 0x10000));
        // 64 equal draws out of 65537 values do not happen by chance.
        assert!(draws.iter().any(|v| *v != draws[0]), "{draws:?}");
        let mut a = [0u8; 32];
        let mut b = [0u8; 32];
        r.fill_bytes(&mut a);
        r.fill_bytes(&mut b);
        assert_ne!(a, b);
    }

    #[test]
    fn a_mutable_reference_is_the_same_source() {
        let mut fixed = FixedRandom::VECTORS;
        let mut by_ref: &mut FixedRandom = &mut fixed;
        let mut buf = [0xffu8; 20];
        RandomSource::fill_bytes(&mut by_ref, &mut buf);
        assert_eq!(buf[..16], FixedRandom::VECTORS.bytes);
        assert_eq!(buf[16..], [0, 1, 2, 3]);
        assert_eq!(RandomSource::v1_rand(&mut by_ref), 4242);
    }

    #[test]
    fn os_random_v1_rand_is_in_python_range() {
        let mut r = OsRandom;
        for _ in 0..100 {
            assert!(r.v1_rand() <= 0x10000);
        }
        let mut a = [0u8; 16];
        let mut b = [0u8; 16];
        r.fill_bytes(&mut a);
        r.fill_bytes(&mut b);
        assert_ne!(a, b);
    }

    #[test]
    fn fixed_random_cycles() {
        let mut r = FixedRandom {
            bytes: [7; 16],
            v1: 1,
        };
        let mut buf = [0u8; 20];
        r.fill_bytes(&mut buf);
        assert_eq!(buf, [7; 20]);
    }
}
