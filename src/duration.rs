//! Durations in YAML, written as `90s`, `10m`, `1h 30m` (`#[serde(with = "crate::duration")]`).
//! A leaf: used by every config section.

use serde::{Deserialize, Deserializer};
use std::time::Duration;

/// Parses a humantime duration, naming the accepted forms when it is not one.
pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let text = String::deserialize(d)?;
    humantime::parse_duration(&text).map_err(|e| {
        serde::de::Error::custom(format!(
            "invalid duration `{text}` ({e}); write it like `90s`, `10m` or `1h 30m`"
        ))
    })
}
