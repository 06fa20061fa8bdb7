//! Codec: every encoding decodes back to its value, and bytes of the wrong length are refused with
//! an error, not a panic.
use mapreduce::Codec;
use proptest::prelude::*;

fn round_trip<T: Codec + PartialEq + std::fmt::Debug>(value: T) -> Result<(), TestCaseError> {
    let mut bytes = Vec::new();
    value.encode(&mut bytes);
    prop_assert_eq!(bytes.len(), value.encoded_len());
    prop_assert_eq!(T::decode(&bytes).unwrap(), value);
    Ok(())
}

proptest! {
    #[test]
    fn values_survive_encoding(
        n in any::<u64>(),
        i in any::<i64>(),
        word in prop::collection::vec(any::<u8>(), 0..40),
        text in ".{0,20}",
        x in any::<f64>().prop_filter("NaN is not equal to itself", |x| !x.is_nan()),
    ) {
        round_trip(n)?;
        round_trip(i)?;
        round_trip(n as u32)?;
        round_trip(x)?;
        round_trip(word.clone())?;
        round_trip(text.clone())?;
        round_trip(())?;
        round_trip((n, word.clone()))?;
        round_trip((word.clone(), (text.clone(), i)))?;
        round_trip(((word, n), text))?;
    }

    #[test]
    fn wrong_bytes_are_an_error(bytes in prop::collection::vec(any::<u8>(), 0..20)) {
        prop_assert_eq!(u64::decode(&bytes).is_ok(), bytes.len() == 8);
        prop_assert_eq!(<()>::decode(&bytes).is_ok(), bytes.is_empty());
        // A pair's length prefix may point past the end: an error, never a panic.
        let _ = <(Vec<u8>, u64)>::decode(&bytes);
        prop_assert_eq!(String::decode(&bytes).is_ok(), std::str::from_utf8(&bytes).is_ok());
    }
}

#[test]
fn unsigned_encodings_sort_as_their_values() {
    let mut values = vec![0u64, 1, 255, 256, 1 << 40, u64::MAX];
    let mut encoded: Vec<Vec<u8>> = values
        .iter()
        .map(|v| {
            let mut b = Vec::new();
            v.encode(&mut b);
            b
        })
        .collect();
    encoded.sort();
    values.sort();
    let decoded: Vec<u64> = encoded.iter().map(|b| u64::decode(b).unwrap()).collect();
    assert_eq!(decoded, values);
}
