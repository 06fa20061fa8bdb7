//! Resource quantities as Kubernetes writes them: CPU in cores or millicores (`2`, `0.5`, `200m`),
//! memory in bytes with a decimal or binary suffix (`128M`, `64Mi`, `1Gi`). Parsed once into integers
//! (millicores, bytes) so the scheduler adds and compares exactly.
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer, de};

/// Why a quantity did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuantityError {
    /// Nothing to parse.
    #[error("empty quantity")]
    Empty,
    /// Not a number followed by a known suffix.
    #[error("`{0}` is not a quantity (expected e.g. {1})")]
    Malformed(String, &'static str),
    /// A unit this kind of quantity does not take.
    #[error("unknown suffix `{suffix}` in `{text}` (known: {known})")]
    UnknownSuffix {
        /// The whole text.
        text: String,
        /// The suffix found.
        suffix: String,
        /// The suffixes accepted.
        known: &'static str,
    },
    /// Finer than the unit allows (a CPU below one millicore, a fraction of a byte).
    #[error("`{0}` is finer than the smallest unit")]
    TooPrecise(String),
    /// Does not fit in 64 bits.
    #[error("`{0}` is too large")]
    TooLarge(String),
}

/// CPU in millicores: `Cpu(1000)` is one core.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cpu(pub u64);

/// Memory in bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Memory(pub u64);

/// Splits `12.5Mi` into (`12`, `5`, `Mi`).
fn split(text: &str, example: &'static str) -> Result<(u64, String, String), QuantityError> {
    let t = text.trim();
    if t.is_empty() {
        return Err(QuantityError::Empty);
    }
    let end = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, suffix) = t.split_at(end);
    let (int, frac) = number.split_once('.').unwrap_or((number, ""));
    if int.is_empty() && frac.is_empty() || frac.contains('.') {
        return Err(QuantityError::Malformed(text.to_string(), example));
    }
    let int = if int.is_empty() {
        0
    } else {
        int.parse::<u64>()
            .map_err(|_| QuantityError::TooLarge(text.to_string()))?
    };
    Ok((int, frac.to_string(), suffix.to_string()))
}

/// `int.frac × unit`, exact, or an error when a fraction of the smallest unit is left.
fn scale(text: &str, int: u64, frac: &str, unit: u64) -> Result<u64, QuantityError> {
    let whole = int
        .checked_mul(unit)
        .ok_or_else(|| QuantityError::TooLarge(text.to_string()))?;
    let mut part = 0u64;
    let mut denominator = 1u64;
    for d in frac.chars() {
        part = part * 10 + u64::from(d.to_digit(10).unwrap_or(0));
        denominator = denominator
            .checked_mul(10)
            .ok_or_else(|| QuantityError::TooPrecise(text.to_string()))?;
    }
    let scaled = u128::from(part) * u128::from(unit);
    if scaled % u128::from(denominator) != 0 {
        return Err(QuantityError::TooPrecise(text.to_string()));
    }
    let extra = u64::try_from(scaled / u128::from(denominator))
        .map_err(|_| QuantityError::TooLarge(text.to_string()))?;
    whole
        .checked_add(extra)
        .ok_or_else(|| QuantityError::TooLarge(text.to_string()))
}

impl Cpu {
    /// Parses `2`, `0.5` (cores) or `200m` (millicores).
    ///
    /// ```
    /// use tinykube::Cpu;
    /// assert_eq!(Cpu::parse("200m")?, Cpu(200));
    /// assert_eq!(Cpu::parse("1.5")?, Cpu(1500));
    /// assert!(Cpu::parse("0.0001").is_err()); // below one millicore
    /// assert!(Cpu::parse("2Gi").is_err());
    /// # Ok::<(), tinykube::QuantityError>(())
    /// ```
    pub fn parse(text: &str) -> Result<Cpu, QuantityError> {
        let (int, frac, suffix) = split(text, "`500m` or `2`")?;
        let unit = match suffix.as_str() {
            "" => 1000,
            "m" => 1,
            _ => {
                return Err(QuantityError::UnknownSuffix {
                    text: text.to_string(),
                    suffix,
                    known: "none (cores) or `m` (millicores)",
                });
            }
        };
        scale(text, int, &frac, unit).map(Cpu)
    }
}

impl Memory {
    /// Parses bytes with an optional suffix: `k M G T` (powers of 1000) or `Ki Mi Gi Ti` (of 1024).
    ///
    /// ```
    /// use tinykube::Memory;
    /// assert_eq!(Memory::parse("64Mi")?, Memory(64 << 20));
    /// assert_eq!(Memory::parse("1.5G")?, Memory(1_500_000_000));
    /// assert!(Memory::parse("64MB").is_err());
    /// # Ok::<(), tinykube::QuantityError>(())
    /// ```
    pub fn parse(text: &str) -> Result<Memory, QuantityError> {
        let (int, frac, suffix) = split(text, "`64Mi` or `128M`")?;
        let unit: u64 = match suffix.as_str() {
            "" => 1,
            "k" => 1_000,
            "M" => 1_000_000,
            "G" => 1_000_000_000,
            "T" => 1_000_000_000_000,
            "Ki" => 1 << 10,
            "Mi" => 1 << 20,
            "Gi" => 1 << 30,
            "Ti" => 1 << 40,
            _ => {
                return Err(QuantityError::UnknownSuffix {
                    text: text.to_string(),
                    suffix,
                    known: "k M G T Ki Mi Gi Ti",
                });
            }
        };
        scale(text, int, &frac, unit).map(Memory)
    }
}

impl fmt::Display for Cpu {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_multiple_of(1000) {
            write!(f, "{}", self.0 / 1000)
        } else {
            write!(f, "{}m", self.0)
        }
    }
}

impl fmt::Display for Memory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const UNITS: [(u64, &str); 4] = [
            (1 << 40, "Ti"),
            (1 << 30, "Gi"),
            (1 << 20, "Mi"),
            (1 << 10, "Ki"),
        ];
        for (unit, name) in UNITS {
            if self.0 >= unit && self.0.is_multiple_of(unit) {
                return write!(f, "{}{name}", self.0 / unit);
            }
        }
        write!(f, "{}", self.0)
    }
}

/// Reads a quantity written as a string (`"200m"`) or a bare number (`2`, `0.5`) and parses it
/// inside the visitor, so the YAML deserializer marks an error with the scalar's own line.
struct QuantityVisitor<T>(fn(&str) -> Result<T, QuantityError>, &'static str);

impl<T> de::Visitor<'_> for QuantityVisitor<T> {
    type Value = T;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.1)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        (self.0)(v).map_err(E::custom)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<T, E> {
        self.visit_str(&v.to_string())
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<T, E> {
        self.visit_str(&v.to_string())
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<T, E> {
        self.visit_str(&v.to_string())
    }
}

impl<'de> Deserialize<'de> for Cpu {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(QuantityVisitor(
            Cpu::parse,
            "a CPU quantity such as `500m` or `2`",
        ))
    }
}

impl<'de> Deserialize<'de> for Memory {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(QuantityVisitor(
            Memory::parse,
            "a memory quantity such as `64Mi`",
        ))
    }
}

impl Serialize for Cpu {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl Serialize for Memory {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}
