//! The bundle's resource limits: memory, CPUs and pids, typed, parsed and validated.
//!
//! Pure: parsing and checking only. Each limit is kept in the unit the engine records
//! (`HostConfig.Memory` in bytes, `HostConfig.NanoCpus`, `HostConfig.PidsLimit`), so what `up`
//! asked for and what the engine shows compare exactly. CPUs are millicpus (at most three decimal
//! places): `1.5` is 1500, and `--cpus 1.5` is what the engine gets.

use std::collections::BTreeMap;

use crate::error::{Error, Invalid, Result};

/// The smallest memory limit the engines accept (docker refuses less than 6 MiB).
pub const MIN_MEMORY: u64 = 6 * 1024 * 1024;
/// The largest memory limit the engines hold: `HostConfig.Memory` is a signed 64-bit count
/// (docker wraps a larger one negative and refuses it for the wrong reason; podman 4.3 drops it
/// and runs the bundle without a limit).
pub const MAX_MEMORY: u64 = i64::MAX as u64;
/// The smallest CPU limit the engines accept: 0.01 of a CPU.
pub const MIN_MILLICPUS: u32 = 10;

/// The limits a spec asks for; each `None` leaves the engine's default (unlimited on docker;
/// native podman applies its own pids limit, 2048 by default). In JSON (the bundle's `limits`):
/// `{"cpus": "1.5", "memory": 536870912, "pids_limit": 100}`, `null` for each one unset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Limits {
    /// `--memory`, in bytes.
    pub memory: Option<u64>,
    /// `--cpus`, in thousandths of a CPU.
    pub millicpus: Option<u32>,
    /// `--pids-limit`: at most this many processes.
    pub pids: Option<u32>,
}

impl Limits {
    /// Refuse a limit the engine would refuse, before anything runs.
    pub(crate) fn checked(self) -> Result<Limits> {
        if let Some(bytes) = self.memory
            && bytes < MIN_MEMORY
        {
            return Err(Error::invalid(
                Invalid::Memory,
                format!(
                    "memory limit of {bytes} bytes is below the engines' minimum of 6 MiB: use at least `6m`"
                ),
            ));
        }
        if let Some(bytes) = self.memory
            && bytes > MAX_MEMORY
        {
            return Err(Error::invalid(
                Invalid::Memory,
                format!(
                    "memory limit of {bytes} bytes is above the engines' maximum of {MAX_MEMORY} bytes (2^63 - 1)"
                ),
            ));
        }
        if let Some(m) = self.millicpus
            && m < MIN_MILLICPUS
        {
            return Err(Error::invalid(
                Invalid::Cpus,
                "cpus limit is below the engines' minimum of 0.01: use at least `0.01`",
            ));
        }
        if self.pids == Some(0) {
            return Err(Error::invalid(
                Invalid::PidsLimit,
                "pids limit 0: use a positive number of processes",
            ));
        }
        Ok(self)
    }

    /// Whether no limit is set.
    pub fn is_empty(&self) -> bool {
        *self == Limits::default()
    }

    /// The limits as `key=value` pairs, in key order, only those set: the `bottle.limits` label
    /// and the spec digest record exactly this, so a replace can name the limit that changed.
    pub(crate) fn fields(&self) -> BTreeMap<&'static str, String> {
        let mut f = BTreeMap::new();
        if let Some(m) = self.millicpus {
            f.insert("cpus", cpus_text(m));
        }
        if let Some(b) = self.memory {
            f.insert("memory", b.to_string());
        }
        if let Some(p) = self.pids {
            f.insert("pids_limit", p.to_string());
        }
        f
    }

    /// The `bottle.limits` label: `cpus=1.5,memory=536870912`; empty when no limit is set.
    pub(crate) fn label(&self) -> String {
        let pairs: Vec<String> = self
            .fields()
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        pairs.join(",")
    }

    /// The limits whose values differ between this spec's label and `found`'s (another bundle's
    /// `bottle.limits` label, empty or missing when it had none), by name, in key order.
    pub(crate) fn changed_from(&self, found: &str) -> Vec<&'static str> {
        let found: BTreeMap<&str, &str> = found
            .split(',')
            .filter_map(|pair| pair.split_once('='))
            .collect();
        let want = self.fields();
        ["cpus", "memory", "pids_limit"]
            .into_iter()
            .filter(|k| want.get(k).map(String::as_str) != found.get(k).copied())
            .collect()
    }
}

impl serde::Serialize for Limits {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Limits", 3)?;
        // A decimal string, exact, as `--cpus` takes it: a float would print 0.1 as 0.1000000001.
        st.serialize_field("cpus", &self.millicpus.map(cpus_text))?;
        st.serialize_field("memory", &self.memory)?;
        st.serialize_field("pids_limit", &self.pids)?;
        st.end()
    }
}

/// Why a CPU limit of `millicpus` cannot run on an engine whose host has `ncpu` CPUs (docker
/// refuses a `--cpus` above them at `run`), or `None` when it fits.
pub(crate) fn cpus_over(millicpus: u32, ncpu: u32) -> Option<String> {
    (u64::from(millicpus) > u64::from(ncpu) * 1000).then(|| {
        format!(
            "a cpus limit of {} is more than the engine's {ncpu} CPUs",
            cpus_text(millicpus)
        )
    })
}

/// Millicpus as the decimal `--cpus` takes: `1500` is `1.5`, `2000` is `2`, `10` is `0.01`.
pub fn cpus_text(millicpus: u32) -> String {
    let (whole, frac) = (millicpus / 1000, millicpus % 1000);
    match frac {
        0 => whole.to_string(),
        _ => format!("{whole}.{frac:03}")
            .trim_end_matches('0')
            .to_string(),
    }
}

/// Parse a memory size as docker's `--memory` takes it: a number of bytes, or a number with a
/// unit `b`, `k`, `m`, `g` or `t` (powers of 1024, case-insensitive, an optional trailing `b` or
/// `ib`: `512m`, `1g`, `1.5GiB`). A fraction of a byte is refused.
pub fn parse_memory(text: &str) -> Result<u64> {
    let bad = || {
        Error::invalid(
            Invalid::Memory,
            format!(
                "invalid memory size {}: use bytes or a size such as 512m or 1g",
                crate::input::quoted(text)
            ),
        )
    };
    let lower = text.trim().to_ascii_lowercase();
    let split = lower
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(lower.len());
    let (number, unit) = lower.split_at(split);
    let unit = (unit.strip_suffix("ib").filter(|u| !u.is_empty()))
        .or_else(|| unit.strip_suffix('b'))
        .unwrap_or(unit);
    let shift = match unit {
        "" => 0,
        "k" => 10,
        "m" => 20,
        "g" => 30,
        "t" => 40,
        _ => return Err(bad()),
    };
    let (whole, frac) = match number.split_once('.') {
        Some((w, f)) if !f.is_empty() && !f.contains('.') => (w, f),
        Some(_) => return Err(bad()),
        None => (number, ""),
    };
    if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let whole: u64 = whole.parse().map_err(|_| bad())?;
    let mut bytes = whole.checked_shl(shift).filter(|b| b >> shift == whole);
    if !frac.is_empty() {
        // The fraction in exact integer arithmetic: digits / 10^len, scaled by the unit.
        let digits: u128 = frac.parse().map_err(|_| bad())?;
        let scale = 10u128.checked_pow(frac.len() as u32).ok_or_else(bad)?;
        let scaled = digits << shift;
        if !scaled.is_multiple_of(scale) {
            return Err(bad());
        }
        let part = u64::try_from(scaled / scale).map_err(|_| bad())?;
        bytes = bytes.and_then(|b| b.checked_add(part));
    }
    bytes.ok_or_else(bad)
}

/// Parse a CPU count as `--cpus` takes it, with at most three decimal places: `1.5`, `0.25`, `2`.
pub fn parse_cpus(text: &str) -> Result<u32> {
    let bad = || {
        Error::invalid(
            Invalid::Cpus,
            format!(
                "invalid cpus {}: use a number of CPUs with at most three decimal places, such as 0.5 or 2",
                crate::input::quoted(text)
            ),
        )
    };
    let (whole, frac) = text.trim().split_once('.').unwrap_or((text.trim(), ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !digits(whole) || !digits(frac) || frac.len() > 3 {
        return Err(bad());
    }
    let whole: u32 = whole.parse().map_err(|_| bad())?;
    let frac: u32 = format!("{frac:0<3}").parse().map_err(|_| bad())?;
    whole
        .checked_mul(1000)
        .and_then(|m| m.checked_add(frac))
        .ok_or_else(bad)
}

/// Parse a pids limit: a positive number of processes.
pub fn parse_pids_limit(text: &str) -> Result<u32> {
    let digits = text.trim();
    match digits.parse::<u32>() {
        Ok(n) if n > 0 => Ok(n),
        // A number too large for the limit: say the bound rather than "positive".
        _ if digits.bytes().all(|b| b.is_ascii_digit())
            && !digits.trim_start_matches('0').is_empty() =>
        {
            Err(Error::invalid(
                Invalid::PidsLimit,
                format!(
                    "invalid pids limit {}: at most {} processes",
                    crate::input::quoted(text),
                    u32::MAX
                ),
            ))
        }
        _ => Err(Error::invalid(
            Invalid::PidsLimit,
            format!(
                "invalid pids limit {}: use a positive number of processes",
                crate::input::quoted(text)
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[track_caller]
    fn check<T: PartialEq + std::fmt::Debug>(got: Result<T>, want: Option<T>, kind: Invalid) {
        match (got, want) {
            (Ok(g), Some(w)) => assert_eq!(g, w),
            (Err(e), None) => assert_eq!(e.kind(), &ErrorKind::Invalid(kind), "{e}"),
            (got, want) => panic!("got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn memory_sizes_parse_like_docker() {
        const M: u64 = 1 << 20;
        for (text, want) in [
            ("536870912", Some(512 * M)),
            ("512m", Some(512 * M)),
            ("512M", Some(512 * M)),
            ("512mb", Some(512 * M)),
            ("512MiB", Some(512 * M)),
            ("1g", Some(1 << 30)),
            ("1.5g", Some(3 << 29)),
            ("0.5k", Some(512)),
            ("64k", Some(64 << 10)),
            ("2t", Some(2 << 40)),
            ("100b", Some(100)),
            ("100ib", None),
            ("0.3k", None),
            ("", None),
            ("m", None),
            ("1.m", None),
            (".5g", None),
            ("1.2.3g", None),
            ("-1g", None),
            ("1x", None),
            ("1 g", None),
            ("99999999999999999999", None),
            ("16777216t", None),
        ] {
            check(parse_memory(text), want, Invalid::Memory);
        }
    }

    #[test]
    fn cpus_are_millicpus_with_three_places_at_most() {
        for (text, want) in [
            ("1.5", Some(1500)),
            ("2", Some(2000)),
            ("0.25", Some(250)),
            ("0.001", Some(1)),
            ("1.", Some(1000)),
            ("0.0005", None),
            (".5", None),
            ("-1", None),
            ("1e3", None),
            ("x", None),
            ("4294968", None),
        ] {
            check(parse_cpus(text), want, Invalid::Cpus);
        }
        for (m, text) in [(1500, "1.5"), (2000, "2"), (10, "0.01"), (1234, "1.234")] {
            assert_eq!(cpus_text(m), text);
            assert_eq!(parse_cpus(text).unwrap(), m, "round trip of {text}");
        }
    }

    #[test]
    fn pids_limits_are_positive() {
        for (text, want) in [("100", Some(100)), ("0", None), ("-1", None), ("x", None)] {
            check(parse_pids_limit(text), want, Invalid::PidsLimit);
        }
    }

    #[test]
    fn limits_below_the_engines_minimum_are_refused() {
        let l = |memory, millicpus, pids| Limits {
            memory,
            millicpus,
            pids,
        };
        check(
            l(Some(MIN_MEMORY), Some(10), Some(1)).checked().map(|_| ()),
            Some(()),
            Invalid::Memory,
        );
        check(
            l(Some(MIN_MEMORY - 1), None, None).checked(),
            None,
            Invalid::Memory,
        );
        check(l(None, Some(9), None).checked(), None, Invalid::Cpus);
        check(l(None, None, Some(0)).checked(), None, Invalid::PidsLimit);
        // Past a signed 64-bit count (`--memory 8589934592g` is 2^63): docker wraps it, podman
        // drops it.
        check(
            l(Some(MAX_MEMORY), None, None).checked().map(|_| ()),
            Some(()),
            Invalid::Memory,
        );
        check(
            l(Some(MAX_MEMORY + 1), None, None).checked(),
            None,
            Invalid::Memory,
        );
    }

    /// replace_with_more_cpus_than_the_engine_has_removes_the_running_bundle (attack16).
    #[test]
    fn a_cpus_limit_past_the_engines_cpus_is_named() {
        assert_eq!(cpus_over(2000, 2), None);
        assert_eq!(cpus_over(10, 1), None);
        let why = cpus_over(1_000_000, 2).unwrap();
        assert_eq!(why, "a cpus limit of 1000 is more than the engine's 2 CPUs");
        assert!(cpus_over(2001, 2).is_some());
    }

    #[test]
    fn a_pids_limit_past_its_bound_says_the_bound() {
        let e = parse_pids_limit("4294967296").unwrap_err();
        assert!(e.message().contains("at most 4294967295"), "{e}");
        let e = parse_pids_limit("0").unwrap_err();
        assert!(e.message().contains("positive"), "{e}");
    }

    #[test]
    fn the_label_names_each_limit_and_tells_which_changed() {
        let both = Limits {
            memory: Some(512 << 20),
            millicpus: Some(1500),
            pids: None,
        };
        assert_eq!(both.label(), "cpus=1.5,memory=536870912");
        assert_eq!(Limits::default().label(), "");
        assert!(both.changed_from(&both.label()).is_empty());
        assert_eq!(both.changed_from(""), ["cpus", "memory"]);
        assert_eq!(
            both.changed_from("cpus=2,memory=536870912,pids_limit=10"),
            ["cpus", "pids_limit"]
        );
        assert_eq!(Limits::default().changed_from("memory=7340032"), ["memory"]);
    }
}
