//! JSON for numbers that may be infinite: JSON has no ∞ (serde_json writes it as `null` and
//! refuses `null` for an `f64` when reading back), yet a failed answer's loss and error are ∞
//! by design. Fields marked `#[serde(with = "crate::nonfinite")]` write a non-finite value as
//! `null` and read `null` back as +∞, so a results file with a failed row stays readable.

use serde::{Deserialize, Deserializer, Serializer};

/// Writes a finite value as a number, anything else as `null`.
pub fn serialize<S: Serializer>(value: &f64, s: S) -> Result<S::Ok, S::Error> {
    if value.is_finite() {
        s.serialize_f64(*value)
    } else {
        s.serialize_none()
    }
}

/// Reads a number, or `null` as +∞ (the value that was not finite).
pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::INFINITY))
}

#[cfg(test)]
mod tests {
    #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
    struct Row {
        #[serde(with = "super")]
        loss: f64,
    }

    #[test]
    fn infinite_and_nan_values_round_trip_as_infinite_and_finite_ones_exactly() {
        for (value, back) in [
            (f64::INFINITY, f64::INFINITY),
            (f64::NAN, f64::INFINITY),
            (0.1 + 0.2, 0.1 + 0.2),
        ] {
            let json = serde_json::to_string(&Row { loss: value }).unwrap();
            let read: Row = serde_json::from_str(&json).unwrap();
            assert_eq!(read.loss.to_bits(), back.to_bits(), "{json}");
        }
        // Files written before this module hold numbers only: still read.
        let old: Row = serde_json::from_str(r#"{"loss": 1.5}"#).unwrap();
        assert_eq!(old.loss, 1.5);
    }
}
