//! Times and durations as the contract spells them (docs/contract.md §2.1).
//!
//! * A time is RFC 3339 (`2026-01-01T00:00:00Z`, `2026-01-01T02:00:00.5+02:00`), Unix
//!   seconds (`1767225600`, `1767225600.25`, as a JSON number or a string), `now`, or
//!   `now-<duration>`.
//! * A duration is Prometheus' syntax (`30s`, `5m`, `1h30m`, `2d`, `1w`, `1y`, `250ms`:
//!   units from largest to smallest, each at most once) or seconds (`90`, `1.5`).
//!
//! Both parse into whole milliseconds, so that arithmetic (end − start, points per series)
//! is exact, and both refuse values outside [`MIN_TIME_MS`, `MAX_TIME_MS`] or longer than
//! [`MAX_DURATION`] with a message naming the field, so nothing overflows downstream.
//! Written here rather than taken from a date crate: the two grammars are small, fixed, and
//! a crate would still need the Prometheus duration syntax on top.

use std::{
    fmt,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use serde::{Deserialize, Deserializer, de};

use crate::error::ToolError;

/// Earliest accepted time: the Unix epoch.
pub const MIN_TIME_MS: i64 = 0;
/// Latest accepted time: 3000-01-01T00:00:00Z.
pub const MAX_TIME_MS: i64 = 32_503_680_000_000;
/// Longest accepted duration: 100 years of 365 days.
pub const MAX_DURATION: Duration = Duration::from_secs(100 * 365 * 86_400);

/// A time as the caller wrote it; resolve it with [`TimeSpec::resolve`].
#[derive(Debug, Clone, PartialEq)]
pub enum TimeSpec {
    /// `now`.
    Now,
    /// `now-<duration>`.
    Ago(Duration),
    /// An absolute time in Unix milliseconds.
    At(i64),
}

impl TimeSpec {
    /// Parses `text`; `field` names the input field in errors.
    pub fn parse(field: &str, text: &str) -> Result<Self, ToolError> {
        let text = text.trim();
        if text == "now" {
            return Ok(Self::Now);
        }
        if let Some(ago) = text.strip_prefix("now-") {
            return parse_duration(field, ago).map(Self::Ago);
        }
        if text.bytes().next().is_some_and(|b| b.is_ascii_digit())
            && text.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        {
            let seconds: f64 = text.parse().map_err(|_| bad_time(field))?;
            return Self::from_seconds(field, seconds);
        }
        parse_rfc3339(text)
            .map(Self::At)
            .ok_or_else(|| bad_time(field))
    }

    /// From Unix seconds (a JSON number).
    pub fn from_seconds(field: &str, seconds: f64) -> Result<Self, ToolError> {
        let ms = seconds * 1000.0;
        if !ms.is_finite() || !(MIN_TIME_MS as f64..=MAX_TIME_MS as f64).contains(&ms) {
            return Err(ToolError::invalid_input(format!(
                "{}must be between 1970-01-01 and 3000-01-01",
                subject(field)
            )));
        }
        Ok(Self::At(ms.round() as i64))
    }

    /// The time in Unix milliseconds, relative times taken from `now_ms`.
    pub fn resolve(&self, now_ms: i64) -> i64 {
        match self {
            Self::Now => now_ms,
            Self::Ago(d) => now_ms.saturating_sub(d.as_millis() as i64).max(MIN_TIME_MS),
            Self::At(ms) => *ms,
        }
    }
}

/// The current time in Unix milliseconds.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Unix milliseconds as Prometheus' decimal seconds (`1767225600`, `1767225600.5`).
pub fn format_seconds(ms: i64) -> String {
    let (s, frac) = (ms.div_euclid(1000), ms.rem_euclid(1000));
    if frac == 0 {
        s.to_string()
    } else {
        format!("{s}.{frac:03}").trim_end_matches('0').to_owned()
    }
}

fn bad_time(field: &str) -> ToolError {
    ToolError::invalid_input(format!(
        "{}must be RFC 3339 (2026-01-01T00:00:00Z), Unix seconds, `now` or `now-<duration>`",
        subject(field)
    ))
}

/// `"start "` for a named field; nothing inside a serde visitor, where serde_path_to_error
/// puts the field's path in front of the message (`start: must be …`).
fn subject(field: &str) -> String {
    if field.is_empty() {
        String::new()
    } else {
        format!("{field} ")
    }
}

/// Parses a duration (Prometheus syntax or seconds); `field` names the input field.
pub fn parse_duration(field: &str, text: &str) -> Result<Duration, ToolError> {
    let bad = || {
        ToolError::invalid_input(format!(
            "{}must be a duration such as 30s, 5m, 1h30m, 2d or a number of seconds",
            subject(field)
        ))
    };
    let text = text.trim();
    if text.is_empty() {
        return Err(bad());
    }
    let ms: u128 = if text.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        let seconds: f64 = text.parse().map_err(|_| bad())?;
        if !seconds.is_finite() || seconds > MAX_DURATION.as_secs_f64() {
            return Err(too_long(field));
        }
        (seconds * 1000.0).round() as u128
    } else {
        prometheus_duration_ms(text).ok_or_else(bad)?
    };
    if ms > MAX_DURATION.as_millis() {
        return Err(too_long(field));
    }
    Ok(Duration::from_millis(ms as u64))
}

fn too_long(field: &str) -> ToolError {
    ToolError::invalid_input(format!("{}must be at most 100 years", subject(field)))
}

/// `1h30m`-style durations: units largest first, each at most once (Prometheus' rule).
fn prometheus_duration_ms(text: &str) -> Option<u128> {
    const UNITS: [(&str, u128); 7] = [
        ("y", 365 * 86_400_000),
        ("w", 7 * 86_400_000),
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1_000),
        ("ms", 1),
    ];
    let mut rest = text;
    let mut total: u128 = 0;
    let mut next_unit = 0;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 || digits > 12 {
            return None;
        }
        let value: u128 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        // "ms" before "m", so that 5ms is not read as 5m followed by garbage.
        let (index, unit, factor) = UNITS
            .iter()
            .enumerate()
            .skip(next_unit)
            .filter(|(_, (u, _))| rest.starts_with(u))
            .max_by_key(|(_, (u, _))| u.len())
            .map(|(i, (u, f))| (i, *u, *f))?;
        rest = &rest[unit.len()..];
        total = total.checked_add(value.checked_mul(factor)?)?;
        next_unit = index + 1;
    }
    Some(total)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian (the inverse of
/// [`days_from_civil`]).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

/// Unix milliseconds as RFC 3339 in UTC, to the second: `2026-01-01T00:00:00Z`.
pub fn format_rfc3339(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (year, month, day) = civil_from_days(secs.div_euclid(86_400));
    let rest = secs.rem_euclid(86_400);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// `YYYY-MM-DDTHH:MM:SS[.fff…](Z|±HH:MM)` → Unix milliseconds, within the accepted range.
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't' | b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let s = text.get(range)?;
        s.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| s.parse().ok())?
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let month_days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if !(1..=12).contains(&month)
        || day < 1
        || day > month_days[(month - 1) as usize]
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut rest = &text[19..];
    let mut millis = 0i64;
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let padded = format!("{:0<3}", &fraction[..digits.min(3)]);
        millis = padded.parse().ok()?;
        rest = &fraction[digits..];
    }
    let offset_minutes = match rest {
        "Z" | "z" => 0,
        _ if rest.len() == 6
            && matches!(rest.as_bytes()[0], b'+' | b'-')
            && rest.as_bytes()[3] == b':' =>
        {
            let h: i64 = rest[1..3].parse().ok()?;
            let m: i64 = rest[4..6].parse().ok()?;
            if h > 23 || m > 59 {
                return None;
            }
            let sign = if rest.starts_with('-') { -1 } else { 1 };
            sign * (h * 60 + m)
        }
        _ => return None,
    };
    let seconds =
        days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second.min(59)
            - offset_minutes * 60;
    let ms = seconds.checked_mul(1000)?.checked_add(millis)?;
    (MIN_TIME_MS..=MAX_TIME_MS).contains(&ms).then_some(ms)
}

/// Deserialises a time field from a JSON string or number (a GET query gives strings).
/// Use with `#[serde(default, deserialize_with = "common::time::time_field")]` on an
/// `Option<TimeSpec>`; the field name in errors comes from serde_path_to_error's path.
pub fn time_field<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<TimeSpec>, D::Error> {
    deserializer.deserialize_any(TimeVisitor).map(Some)
}

/// Deserialises a duration field from a JSON string or number of seconds.
pub fn duration_field<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Duration>, D::Error> {
    deserializer.deserialize_any(DurationVisitor).map(Some)
}

struct TimeVisitor;

impl de::Visitor<'_> for TimeVisitor {
    type Value = TimeSpec;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RFC 3339, Unix seconds, `now` or `now-<duration>`")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<TimeSpec, E> {
        TimeSpec::parse("", v).map_err(|e| E::custom(e.message))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<TimeSpec, E> {
        self.visit_f64(v as f64)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<TimeSpec, E> {
        self.visit_f64(v as f64)
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<TimeSpec, E> {
        TimeSpec::from_seconds("", v).map_err(|e| E::custom(e.message))
    }
}

struct DurationVisitor;

impl de::Visitor<'_> for DurationVisitor {
    type Value = Duration;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a duration such as 30s, 5m, 1h30m or a number of seconds")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Duration, E> {
        parse_duration("", v).map_err(|e| E::custom(e.message))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Duration, E> {
        self.visit_f64(v as f64)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Duration, E> {
        if v < 0 {
            return Err(E::custom("duration must not be negative"));
        }
        self.visit_f64(v as f64)
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Duration, E> {
        if !v.is_finite() || v < 0.0 {
            return Err(E::custom(
                "duration must be a non-negative number of seconds",
            ));
        }
        parse_duration("", &v.to_string()).map_err(|e| E::custom(e.message))
    }
}

/// Lets `Option<TimeSpec>` fields deserialise with `#[serde(default)]` alone.
impl<'de> Deserialize<'de> for TimeSpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(TimeVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z

    #[test]
    fn rfc3339_is_written_as_it_is_read() {
        assert_eq!(format_rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_rfc3339(1_767_225_600_999), "2026-01-01T00:00:00Z");
        assert_eq!(format_rfc3339(951_825_599_000), "2000-02-29T11:59:59Z");
        for ms in [0, 951_825_599_000, 1_767_225_600_000, 4_102_444_800_000] {
            assert_eq!(parse_rfc3339(&format_rfc3339(ms)), Some(ms));
        }
    }

    #[test]
    fn rfc3339_in_its_usual_forms() {
        for (text, ms) in [
            ("2026-01-01T00:00:00Z", T0),
            ("2026-01-01t00:00:00z", T0),
            ("2026-01-01 00:00:00Z", T0),
            ("2026-01-01T02:00:00+02:00", T0),
            ("2025-12-31T19:00:00-05:00", T0),
            ("2026-01-01T00:00:00.5Z", T0 + 500),
            ("2026-01-01T00:00:00.123456789Z", T0 + 123),
            ("2024-02-29T12:00:00Z", 1_709_208_000_000),
            ("1970-01-01T00:00:00Z", 0),
        ] {
            assert_eq!(
                TimeSpec::parse("time", text).unwrap(),
                TimeSpec::At(ms),
                "{text}"
            );
        }
    }

    #[test]
    fn unix_seconds_now_and_relative() {
        assert_eq!(
            TimeSpec::parse("t", "1767225600").unwrap(),
            TimeSpec::At(T0)
        );
        assert_eq!(
            TimeSpec::parse("t", "1767225600.25").unwrap(),
            TimeSpec::At(T0 + 250)
        );
        assert_eq!(TimeSpec::parse("t", "now").unwrap().resolve(T0), T0);
        assert_eq!(
            TimeSpec::parse("t", "now-1h30m").unwrap().resolve(T0),
            T0 - 5_400_000
        );
        assert_eq!(
            TimeSpec::parse("t", "now-90").unwrap().resolve(T0),
            T0 - 90_000
        );
    }

    #[test]
    fn bad_times_name_the_field() {
        for text in [
            "",
            "yesterday",
            "2026-13-01T00:00:00Z",
            "2025-02-29T00:00:00Z",
            "2026-01-01T24:00:00Z",
            "2026-01-01T00:00:00",
            "2026-01-01T00:00:00+2:00",
            "2026-01-01",
            "now+5m",
            "now-",
            "-5",
            "1e12",
            "9999999999999999",
            "3001-01-01T00:00:00Z",
            "٣٣",
        ] {
            let err = TimeSpec::parse("start", text).unwrap_err();
            assert!(
                err.message.starts_with("start must be"),
                "{text:?}: {}",
                err.message
            );
        }
    }

    #[test]
    fn durations_in_prometheus_syntax_and_seconds() {
        for (text, ms) in [
            ("30s", 30_000),
            ("5m", 300_000),
            ("1h30m", 5_400_000),
            ("2d", 172_800_000),
            ("1w", 604_800_000),
            ("1y", 31_536_000_000),
            ("250ms", 250),
            ("1m500ms", 60_500),
            ("1h0m", 3_600_000),
            ("90", 90_000),
            ("1.5", 1_500),
            ("0", 0),
        ] {
            assert_eq!(
                parse_duration("step", text).unwrap(),
                Duration::from_millis(ms),
                "{text}"
            );
        }
        for text in [
            "",
            "m",
            "5x",
            "1m1h",
            "1h1h",
            "5 m",
            "-5s",
            "1.5h",
            "101y",
            "9999999999999s",
            "1e3",
        ] {
            let err = parse_duration("step", text).unwrap_err();
            assert!(
                err.message.starts_with("step must be"),
                "{text:?}: {}",
                err.message
            );
        }
    }

    #[test]
    fn prometheus_spelling_of_times() {
        assert_eq!(format_seconds(T0), "1767225600");
        assert_eq!(format_seconds(T0 + 500), "1767225600.5");
        assert_eq!(format_seconds(T0 + 25), "1767225600.025");
    }

    #[test]
    fn fields_accept_strings_and_numbers() {
        #[derive(Deserialize)]
        struct Input {
            #[serde(default)]
            time: Option<TimeSpec>,
            #[serde(default, deserialize_with = "duration_field")]
            timeout: Option<Duration>,
        }
        let i: Input = serde_json::from_str(r#"{"time": 1767225600, "timeout": "30s"}"#).unwrap();
        assert_eq!(
            (i.time, i.timeout),
            (Some(TimeSpec::At(T0)), Some(Duration::from_secs(30)))
        );
        let i: Input = serde_json::from_str(r#"{"time": "now-5m", "timeout": 2.5}"#).unwrap();
        assert_eq!(
            (i.time, i.timeout),
            (
                Some(TimeSpec::Ago(Duration::from_secs(300))),
                Some(Duration::from_millis(2500))
            )
        );
        let i: Input =
            serde_urlencoded::from_str("time=2026-01-01T00%3A00%3A00Z&timeout=90").unwrap();
        assert_eq!(
            (i.time, i.timeout),
            (Some(TimeSpec::At(T0)), Some(Duration::from_secs(90)))
        );
        let i: Input = serde_json::from_str("{}").unwrap();
        assert_eq!((i.time, i.timeout), (None, None));
        assert!(serde_json::from_str::<Input>(r#"{"timeout": -1}"#).is_err());
        let de = &mut serde_json::Deserializer::from_str(r#"{"time": "yesterday"}"#);
        let err = serde_path_to_error::deserialize::<_, Input>(de)
            .err()
            .unwrap();
        assert!(
            err.to_string().starts_with("time: must be RFC 3339"),
            "{err}"
        );
        assert!(serde_json::from_str::<Input>(r#"{"time": true}"#).is_err());
    }
}
