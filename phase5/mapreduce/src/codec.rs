//! How keys and values become bytes: for spilled runs (written and read back by the engine) and for
//! the hash partitioner (which hashes the encoding, so a key goes to the same reducer on every run,
//! every machine and every Rust version).

/// A value the engine can write to a spilled run and read back.
///
/// The engine frames each encoding with its length, so `decode` receives exactly the bytes `encode`
/// wrote. Two keys are equal exactly when their encodings are equal.
///
/// ```
/// use mapreduce::Codec;
///
/// let mut bytes = Vec::new();
/// (7u64, b"word".to_vec()).encode(&mut bytes);
/// assert_eq!(<(u64, Vec<u8>)>::decode(&bytes)?, (7, b"word".to_vec()));
/// # Ok::<(), mapreduce::DecodeError>(())
/// ```
pub trait Codec: Sized {
    /// Appends the encoding of `self` to `out`.
    fn encode(&self, out: &mut Vec<u8>);
    /// Reads back a value from exactly the bytes `encode` wrote.
    fn decode(bytes: &[u8]) -> Result<Self, DecodeError>;
    /// The length of the encoding: what the memory budget counts. The default encodes.
    fn encoded_len(&self) -> usize {
        let mut scratch = Vec::new();
        self.encode(&mut scratch);
        scratch.len()
    }
}

/// Bytes that are not the encoding of the expected type (a spilled run damaged on disk).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    /// What was expected.
    pub expected: &'static str,
    /// How many bytes were found.
    pub found: usize,
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "expected {}, found {} bytes", self.expected, self.found)
    }
}

impl std::error::Error for DecodeError {}

impl Codec for Vec<u8> {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self);
    }
    fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        Ok(bytes.to_vec())
    }
    fn encoded_len(&self) -> usize {
        self.len()
    }
}

impl Codec for String {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.as_bytes());
    }
    fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        String::from_utf8(bytes.to_vec()).map_err(|_| DecodeError {
            expected: "UTF-8 text",
            found: bytes.len(),
        })
    }
    fn encoded_len(&self) -> usize {
        self.len()
    }
}

macro_rules! fixed_width {
    ($($t:ty),*) => {$(
        /// Big-endian, so the byte order of encodings is the numeric order (for unsigned types).
        impl Codec for $t {
            fn encode(&self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_be_bytes());
            }
            fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
                let array = bytes.try_into().map_err(|_| DecodeError {
                    expected: stringify!($t),
                    found: bytes.len(),
                })?;
                Ok(<$t>::from_be_bytes(array))
            }
            fn encoded_len(&self) -> usize {
                std::mem::size_of::<$t>()
            }
        }
    )*};
}
fixed_width!(u32, u64, i64, f64);

impl Codec for () {
    fn encode(&self, _: &mut Vec<u8>) {}
    fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        if bytes.is_empty() {
            Ok(())
        } else {
            Err(DecodeError {
                expected: "()",
                found: bytes.len(),
            })
        }
    }
    fn encoded_len(&self) -> usize {
        0
    }
}

/// The first part is framed by its length (4 bytes, little-endian), the second takes the rest.
impl<A: Codec, B: Codec> Codec for (A, B) {
    fn encode(&self, out: &mut Vec<u8>) {
        let len = self.0.encoded_len();
        out.extend_from_slice(&(len as u32).to_le_bytes());
        self.0.encode(out);
        self.1.encode(out);
    }
    fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let short = DecodeError {
            expected: "a pair",
            found: bytes.len(),
        };
        let (len, rest) = bytes.split_first_chunk::<4>().ok_or(short.clone())?;
        let len = u32::from_le_bytes(*len) as usize;
        if rest.len() < len {
            return Err(short);
        }
        let (a, b) = rest.split_at(len);
        Ok((A::decode(a)?, B::decode(b)?))
    }
    fn encoded_len(&self) -> usize {
        4 + self.0.encoded_len() + self.1.encoded_len()
    }
}
