//! Durations as people write them in services.toml: `1h`, `30m`, `1h30m`, `90s`, `1d`.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A whole number of seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Seconds(pub u64);

impl Seconds {
    pub const MINUTE: Self = Self(60);
    pub const HOUR: Self = Self(3_600);
    pub const DAY: Self = Self(86_400);
}

impl fmt::Display for Seconds {
    /// The shortest exact spelling, the inverse of `parse`: `1h30m`, `1d`, `90s` prints `1m30s`.
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 == 0 {
            return formatter.write_str("0s");
        }
        let mut rest = self.0;
        for (unit, size) in [
            ("d", Self::DAY.0),
            ("h", Self::HOUR.0),
            ("m", Self::MINUTE.0),
            ("s", 1),
        ] {
            if rest >= size {
                write!(formatter, "{}{unit}", rest / size)?;
                rest %= size;
            }
        }
        Ok(())
    }
}

/// Why a text is not a duration cogwire can use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DurationError {
    /// Not `<number><unit>` groups at all.
    Invalid,
    /// Well formed, but more seconds than a 64-bit count holds.
    TooLarge,
}

/// Parses `<number><unit>` groups (units s, m, h, d); `None` for anything else.
pub fn parse(text: &str) -> Option<Seconds> {
    read(text).ok()
}

/// As `parse`, but tells a malformed duration from one too large to count.
pub fn read(text: &str) -> Result<Seconds, DurationError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(DurationError::Invalid);
    }
    let mut total: Option<u64> = Some(0);
    let mut number: Option<Option<u64>> = None;
    for character in text.chars() {
        if let Some(digit) = character.to_digit(10) {
            let so_far = number.unwrap_or(Some(0));
            number = Some(
                so_far
                    .and_then(|value| value.checked_mul(10))
                    .and_then(|value| value.checked_add(u64::from(digit))),
            );
            continue;
        }
        let unit = match character {
            's' => 1,
            'm' => Seconds::MINUTE.0,
            'h' => Seconds::HOUR.0,
            'd' => Seconds::DAY.0,
            _ => return Err(DurationError::Invalid),
        };
        let Some(count) = number.take() else {
            return Err(DurationError::Invalid);
        };
        total = total
            .zip(count.and_then(|count| count.checked_mul(unit)))
            .and_then(|(total, part)| total.checked_add(part));
    }
    if number.is_some() {
        return Err(DurationError::Invalid);
    }
    total.map(Seconds).ok_or(DurationError::TooLarge)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units_and_groups() {
        assert_eq!(parse("1h"), Some(Seconds(3_600)));
        assert_eq!(parse("30m"), Some(Seconds(1_800)));
        assert_eq!(parse("1h30m"), Some(Seconds(5_400)));
        assert_eq!(parse("1d"), Some(Seconds(86_400)));
        assert_eq!(parse("300s"), Some(Seconds(300)));
    }

    #[test]
    fn rejects_what_is_not_a_duration() {
        for text in ["", "1", "h", "1x", "1.5h", "-1h", "1 h"] {
            assert_eq!(parse(text), None, "{text}");
        }
    }

    #[test]
    fn too_large_is_told_from_malformed() {
        assert_eq!(read("99999999999999999999h"), Err(DurationError::TooLarge));
        assert_eq!(read("9999999999999999999d"), Err(DurationError::TooLarge));
        assert_eq!(read("99999999999999999999x"), Err(DurationError::Invalid));
        assert_eq!(read("1h99999999999999999999"), Err(DurationError::Invalid));
        assert_eq!(parse("99999999999999999999d"), None);
    }

    #[test]
    fn display_is_the_inverse_of_parse() {
        for seconds in [0, 59, 60, 90, 3_600, 5_400, 86_400, 90_061] {
            let shown = Seconds(seconds).to_string();
            assert_eq!(parse(&shown), Some(Seconds(seconds)), "{shown}");
        }
        assert_eq!(Seconds(5_400).to_string(), "1h30m");
    }
}
