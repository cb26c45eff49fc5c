//! The environment that a spec's bare env keys take their values from.
//!
//! A launcher gives it to [`crate::Bottles::environment`]; by default it is the process's, read
//! once when the `Bottles` is made. Nothing reads the process environment at `up` time: in
//! edition 2024 `std::env::set_var` is `unsafe` and races with other threads, so a multithreaded
//! launcher needs a way to say what its bottles inherit without touching it.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::sync::Arc;

/// Variables by name; cheap to clone (shared).
#[derive(Clone, Default, PartialEq, Eq)]
pub(crate) struct Environment(Arc<BTreeMap<OsString, OsString>>);

impl Environment {
    /// The process's environment, now.
    pub(crate) fn of_process() -> Environment {
        Environment::from_vars(std::env::vars_os())
    }

    pub(crate) fn from_vars(vars: impl IntoIterator<Item = (OsString, OsString)>) -> Environment {
        Environment(Arc::new(vars.into_iter().collect()))
    }

    /// The value of `key`, as text (a value that is not UTF-8 is decoded lossily, as the engine
    /// shows it in its own record).
    pub(crate) fn get(&self, key: &str) -> Option<String> {
        let value = self.0.get(std::ffi::OsStr::new(key))?;
        Some(value.to_string_lossy().into_owned())
    }
}

/// Only the names: values may be secrets.
impl std::fmt::Debug for Environment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_given_environment_is_the_only_one_read() {
        let env = Environment::from_vars([("TOKEN".into(), "t1".into())]);
        assert_eq!(env.get("TOKEN").as_deref(), Some("t1"));
        // Whatever the process has, a name the given environment lacks is unset.
        assert_eq!(env.get("PATH"), None);
        assert!(!format!("{env:?}").contains("t1"));
    }
}
