//! Issue 14, items 6 and 7: objects carrying a bottle's labels are bottle's, whatever their name
//! and whoever ran them. A bundle renamed by something else (item 6) is rolled back by `up`, seen
//! by `gc` and removed by `down`; a bundle that a racing `up` ran after `down` looked (item 7) is
//! never called foreign. Real engine, on every path, gated like [`crate::real`].

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::real::{Bottles, EnginePath, clis, json};

/// Write an executable `/bin/sh` script (a wrapper engine) into `dir`.
fn script(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// Rename a container the way a user would, with the path's own engine CLI.
fn rename(b: &Bottles, from: &str, to: &str) {
    let out = b.docker(&["rename", from, to]);
    assert!(
        out.status.success(),
        "{}: rename: {}",
        b.path,
        String::from_utf8_lossy(&out.stderr)
    );
}

fn up_args<'a>(path: &'a EnginePath, slug: &'a str) -> Vec<&'a str> {
    vec![
        "up",
        slug,
        "--image",
        &path.image,
        "--pull",
        "never",
        "-p",
        "8080",
    ]
}

/// Item 6: a wrapper engine renames the bundle right after `run`. `up` used to exit 0 reporting
/// `<prefix>-sidecars-<slug>`, which no longer existed, and left the renamed bundle running. Now it
/// sees the name change at the read-back (by ID), rolls back by ID and exits 1 saying so.
#[test]
fn an_outside_rename_right_after_run_is_no_false_success_and_no_leak() {
    let Some(paths) = clis() else { return };
    for (i, path) in paths.iter().enumerate() {
        let b = Bottles::new(path, &format!("rn{i}"));
        let bundle = format!("{}-sidecars-rn", b.prefix);
        let moved = format!("{}-moved-rn", b.prefix);
        let dir = tempfile::tempdir().unwrap();
        let wrapper = script(
            dir.path(),
            "engine",
            &format!(
                "#!/bin/sh\nif [ \"$1\" = run ]; then\n  '{cli}' \"$@\"; rc=$?\n  '{cli}' rename '{bundle}' '{moved}' >/dev/null 2>&1\n  exit $rc\nfi\nexec '{cli}' \"$@\"\n",
                cli = b.cli
            ),
        );
        let out = b
            .command(&up_args(path, "rn"))
            .env("BOTTLE_ENGINE", &wrapper)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{path}: {err}");
        assert!(
            err.contains(&format!("was renamed to `{moved}`")),
            "{path}: {err}"
        );
        // Rolled back by ID: neither the renamed bundle nor the network is left, with no `gc`.
        assert_eq!(b.leftovers(), Vec::<String>::new(), "{path}: {err}");
    }
}

/// Item 6: a bundle renamed after `up` finished is still the bottle's. `down` used to refuse
/// ("network ... still has containers that bottle did not start") and `gc --dry-run` listed
/// nothing; now `gc` lists and removes it (and the network it leaves without a bundle), and `down`
/// removes it with the bottle.
#[test]
fn a_renamed_bundle_is_seen_by_gc_and_removed_by_down() {
    let Some(paths) = clis() else { return };
    for (i, path) in paths.iter().enumerate() {
        let b = Bottles::new(path, &format!("rg{i}"));
        let bundle = format!("{}-sidecars-rg", b.prefix);
        let moved = format!("{}-moved-rg", b.prefix);
        let network = format!("{}-bundle-rg", b.prefix);

        // `down` removes it with the bottle.
        b.ok(&up_args(path, "rg"));
        rename(&b, &bundle, &moved);
        let out = b.bottle(&["down", "rg"]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{path}: down: {err}");
        assert_eq!(b.leftovers(), Vec::<String>::new(), "{path}");

        // `gc --dry-run` lists it, running as it is, and `gc` removes it and the empty network.
        b.ok(&up_args(path, "rg"));
        rename(&b, &bundle, &moved);
        let dry = crate::schema::check("gc", &b.ok(&["gc", "--dry-run", "--json"]));
        assert_eq!(
            dry["would_remove"]["containers"],
            serde_json::json!([moved]),
            "{path}: {dry}"
        );
        assert_eq!(
            dry["would_remove"]["networks"],
            serde_json::json!([network]),
            "{path}: {dry}"
        );
        // `ls` shows the bottle as it is: a network with no bundle under its name.
        let ls = json(&b.ok(&["ls", "--json"]));
        assert_eq!(ls[0]["bundle"]["state"], "missing", "{path}: {ls}");
        let done = json(&b.ok(&["gc", "--json"]));
        assert_eq!(done["removed"], dry["would_remove"], "{path}");
        assert_eq!(b.leftovers(), Vec::<String>::new(), "{path}");

        // `down --all` finds a stray by its labels too, next to a live bundle. (Stopped, so that it
        // gives the pinned address back to the new bundle.)
        b.ok(&up_args(path, "rg"));
        rename(&b, &bundle, &moved);
        assert!(b.docker(&["stop", "-t", "0", &moved]).status.success());
        b.ok(&up_args(path, "rg"));
        b.ok(&["down", "--all"]);
        assert_eq!(b.leftovers(), Vec::<String>::new(), "{path}");
    }
}

/// Item 7: `down` of a bottle with a network and no bundle, while another process (its own lock
/// directory) runs a complete `up` of the same slug right after `down`'s first look. On podman the
/// first look is the bundle's `container inspect`; through a docker CLI it is one untyped
/// `inspect` of both names, which the CLI resolves one name at a time: the wrapper runs the `up`
/// between the two names, as the daemon may. `down` used to call the bottle's own bundle foreign
/// and exit 1; a container carrying the slug's bundle labels is removed with the bottle.
#[test]
fn down_racing_an_up_never_calls_the_bottles_own_bundle_foreign() {
    let Some(paths) = clis() else { return };
    for (i, path) in paths.iter().enumerate() {
        let b = Bottles::new(path, &format!("dr{i}"));
        // A slug of its own: the host-port rule gives every `s` with `-p 8080` the same first port,
        // and the racing `up` has a lock directory of its own.
        let bundle = format!("{}-sidecars-dr", b.prefix);
        b.ok(&up_args(path, "dr"));
        if path.podman {
            let _ = b.docker(&["kill", &bundle]);
        }
        assert!(b.docker(&["rm", "-f", &bundle]).status.success(), "{path}");

        let dir = tempfile::tempdir().unwrap();
        let runtime = dir.path().join("runtime");
        std::fs::create_dir(&runtime).unwrap();
        std::fs::set_permissions(&runtime, std::fs::Permissions::from_mode(0o700)).unwrap();
        let mark = dir.path().join("raced");
        let log = dir.path().join("up.log");
        let wrapper = script(
            dir.path(),
            "engine",
            &format!(
                r#"#!/bin/sh
real='{cli}'
race() {{
  : > '{mark}'
  BOTTLE_ENGINE="$real" XDG_RUNTIME_DIR='{runtime}' '{bottle}' up dr --image '{image}' --pull never -p 8080 >'{log}' 2>&1
  echo "exit $?" >>'{log}'
}}
if [ ! -e '{mark}' ] && [ "$1" = inspect ] && [ $# -eq 5 ]; then
  "$real" inspect "$2" "$3" "$4"; rc=$?
  race
  "$real" inspect "$2" "$3" "$5"
  exit $rc
fi
if [ ! -e '{mark}' ] && [ "$1" = container ] && [ "$2" = inspect ]; then
  "$real" "$@"; rc=$?
  race
  exit $rc
fi
exec "$real" "$@"
"#,
                cli = b.cli,
                mark = mark.display(),
                runtime = runtime.display(),
                bottle = env!("CARGO_BIN_EXE_bottle"),
                image = path.image,
                log = log.display(),
            ),
        );
        let out = b
            .command(&["down", "dr", "--json"])
            .env("BOTTLE_ENGINE", &wrapper)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        let raced = std::fs::read_to_string(&log).unwrap_or_default();
        assert!(
            raced.ends_with("exit 0\n"),
            "{path}: the racing up: {raced}"
        );
        assert!(out.status.success(), "{path}: down: {err}");
        // One slug: one object.
        let removed = crate::schema::check("down", &String::from_utf8_lossy(&out.stdout));
        assert_eq!(
            removed["removed"]["containers"],
            serde_json::json!([bundle]),
            "{path}: {removed}"
        );
        assert_eq!(b.leftovers(), Vec::<String>::new(), "{path}");
    }
}
