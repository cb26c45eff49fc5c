//! Reading a config file: its text, bounded, without blocking. The one step of the spec that
//! touches the filesystem.

use std::path::Path;

use crate::error::{Error, Invalid, Result};
use crate::input;

/// The largest config file bottle reads. A spec is a few hundred bytes; the cap keeps a mistaken
/// `--config /dev/zero` or a huge file from costing unbounded memory.
pub const MAX_CONFIG_BYTES: u64 = 1 << 20;

/// Read a config file: refuse what is not a regular file before opening it, open without blocking
/// (in case it was swapped for a FIFO meanwhile), check again on the open file, and read at most
/// [`MAX_CONFIG_BYTES`] + 1 bytes.
pub(super) fn read_config(path: &Path) -> Result<String> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;

    let shown = input::quoted(&path.to_string_lossy());
    let cannot = |why: String| {
        Error::invalid(
            Invalid::Config,
            format!("cannot read config {shown}: {why}"),
        )
    };
    let not_regular = |ft: std::fs::FileType| {
        let what = input::file_kind(&ft);
        cannot(format!(
            "it is {what}; give the path of a TOML file (at most 1 MiB)"
        ))
    };
    let too_big = || {
        Error::invalid(
            Invalid::Config,
            format!(
                "config {shown} is larger than the limit of 1 MiB: a spec needs a few hundred bytes; check the path"
            ),
        )
    };
    let meta = std::fs::metadata(path).map_err(|e| cannot(e.to_string()))?;
    if !meta.is_file() {
        return Err(not_regular(meta.file_type()));
    }
    if meta.len() > MAX_CONFIG_BYTES {
        return Err(too_big());
    }
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(|e| cannot(e.to_string()))?;
    let meta = file.metadata().map_err(|e| cannot(e.to_string()))?;
    if !meta.is_file() {
        return Err(not_regular(meta.file_type()));
    }
    let mut bytes = Vec::new();
    file.take(MAX_CONFIG_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| cannot(e.to_string()))?;
    if bytes.len() as u64 > MAX_CONFIG_BYTES {
        return Err(too_big());
    }
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        cannot(format!(
            "it is not UTF-8 (at byte {at}); TOML files are UTF-8"
        ))
    })
}
