//! How a spilling edge turns its items into bytes and back: the [`SpillCodec`] trait, and the
//! [`Spill`] settings of an [`Overflow::SpillToDisk`](crate::Overflow::SpillToDisk) edge.
//!
//! Vector's disk buffer stores encoded events; a Go program would pick `encoding/gob`. Here the
//! bound on a spilled item is a two-method trait rather than serde: the library keeps its
//! dependencies to tokio, and a user who wants serde writes the two methods over their serializer
//! of choice. The trait is implemented for the byte, string and integer types a pipeline usually
//! carries.
use std::any::{Any, TypeId};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// An item type a [`SpillToDisk`](crate::Overflow::SpillToDisk) edge can write to disk and read
/// back. `decode(encode(x))` must give `x` back; `None` means the bytes are not a `Self` (the
/// item is then lost, and counted in the stage's `failed`).
///
/// ```
/// use pipeline::SpillCodec;
///
/// #[derive(Debug, PartialEq)]
/// struct Reading { sensor: u32, value: u64 }
///
/// impl SpillCodec for Reading {
///     fn encode(&self, out: &mut Vec<u8>) {
///         out.extend_from_slice(&self.sensor.to_le_bytes());
///         out.extend_from_slice(&self.value.to_le_bytes());
///     }
///     fn decode(bytes: &[u8]) -> Option<Self> {
///         let (sensor, value) = bytes.split_at_checked(4)?;
///         Some(Reading { sensor: u32::decode(sensor)?, value: u64::decode(value)? })
///     }
/// }
///
/// let mut buf = Vec::new();
/// Reading { sensor: 7, value: 42 }.encode(&mut buf);
/// assert_eq!(Reading::decode(&buf), Some(Reading { sensor: 7, value: 42 }));
/// ```
pub trait SpillCodec: Sized + Send + 'static {
    /// Appends the item's bytes to `out`.
    fn encode(&self, out: &mut Vec<u8>);
    /// The item whose bytes are `bytes`, or `None` if they are not one.
    fn decode(bytes: &[u8]) -> Option<Self>;
}

impl SpillCodec for Vec<u8> {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self);
    }
    fn decode(bytes: &[u8]) -> Option<Self> {
        Some(bytes.to_vec())
    }
}

impl SpillCodec for String {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.as_bytes());
    }
    fn decode(bytes: &[u8]) -> Option<Self> {
        String::from_utf8(bytes.to_vec()).ok()
    }
}

macro_rules! int_codec {
    ($($t:ty),*) => {$(
        impl SpillCodec for $t {
            fn encode(&self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
            fn decode(bytes: &[u8]) -> Option<Self> {
                Some(<$t>::from_le_bytes(bytes.try_into().ok()?))
            }
        }
    )*};
}
int_codec!(u8, u16, u32, u64, i8, i16, i32, i64);

/// The two functions of `T`'s codec, kept behind `dyn Any` in a [`Spill`] (whose type does not name
/// the item type) and taken back out, by type, where the edge for `T` is built.
pub(crate) struct Codec<T> {
    pub(crate) encode: fn(&T, &mut Vec<u8>),
    pub(crate) decode: fn(&[u8]) -> Option<T>,
}

impl<T> Clone for Codec<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Codec<T> {}

/// Where and how much a [`SpillToDisk`](crate::Overflow::SpillToDisk) edge spills, and the item
/// type it spills (named here, where the [`SpillCodec`] bound can be checked: a pipeline whose edge
/// carries another type is refused with [`PipelineError::SpillType`](crate::PipelineError::SpillType)
/// before anything runs).
///
/// ```
/// use pipeline::{Overflow, Spill, Stage};
///
/// let spill = Spill::new::<Vec<u8>>("/tmp/pipeline-spill/sink", 64 << 20); // at most 64 MiB on disk
/// let sink = Stage::new("sink").capacity(1024).overflow(Overflow::SpillToDisk(spill));
/// ```
#[derive(Clone)]
pub struct Spill {
    dir: PathBuf,
    max_bytes: u64,
    item: &'static str,
    item_type: TypeId,
    /// A `Codec<T>` for the `T` named in [`Spill::new`].
    codec: Arc<dyn Any + Send + Sync>,
}

impl Spill {
    /// Spills items of type `T` into segments in `dir` (created if missing; it must hold no
    /// segments when the pipeline is built, and each spilling edge needs a directory of its own), at
    /// most `max_bytes` on disk at once.
    pub fn new<T: SpillCodec>(dir: impl Into<PathBuf>, max_bytes: u64) -> Self {
        let codec: Codec<T> = Codec {
            encode: T::encode,
            decode: T::decode,
        };
        Spill {
            dir: dir.into(),
            max_bytes,
            item: std::any::type_name::<T>(),
            item_type: TypeId::of::<T>(),
            codec: Arc::new(codec),
        }
    }

    /// The spill directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The most bytes of segments on disk at once.
    pub fn max_bytes(&self) -> u64 {
        self.max_bytes
    }

    /// The item type it was made for.
    pub fn item_type(&self) -> &'static str {
        self.item
    }

    /// `T`'s codec, if this spill was made for `T`.
    pub(crate) fn codec<T: 'static>(&self) -> Option<Codec<T>> {
        self.codec.downcast_ref::<Codec<T>>().copied()
    }
}

impl fmt::Debug for Spill {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Spill")
            .field("dir", &self.dir)
            .field("max_bytes", &self.max_bytes)
            .field("item", &self.item)
            .finish()
    }
}

impl PartialEq for Spill {
    fn eq(&self, other: &Self) -> bool {
        (&self.dir, self.max_bytes, self.item_type)
            == (&other.dir, other.max_bytes, other.item_type)
    }
}

impl Eq for Spill {}
