//! Output folders (of `run`, `compare`, `sweep` and `merge`): written into a hidden staging
//! folder beside the target and renamed into place only when everything succeeded, so an error
//! never leaves a half-written result.
//!
//! An output folder is replaced whole, so fleetsim must never take a folder that holds anything
//! else: every folder it writes carries a marker file ([`MARKER`]), and an existing target is
//! replaced only when it carries the marker or is empty. The current folder, its parents, `/`
//! and the home folder are refused outright, marker or not.
//!
//! Staging folders are named `.NAME.partial-PID` and carry the marker from the start. They are
//! registered while they exist, so that an interrupt ([`clean_up_on_interrupt`]) removes them
//! before the process exits, and a later run into the same parent removes those left by a
//! process that is gone (a kill -9, a power cut).

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use anyhow::{Context, Result};
use thiserror::Error;

/// The marker file every output folder (and staging folder) carries.
pub const MARKER: &str = ".fleetsim-output";

/// What the marker says, to whoever finds it.
const MARKER_TEXT: &str = concat!(
    "This folder was written by fleetsim ",
    env!("CARGO_PKG_VERSION"),
    " (run, compare, sweep or merge).\n",
    "fleetsim replaces it whole when it is named as an output folder again.\n",
    "Delete this file to keep fleetsim from ever replacing the folder.\n"
);

/// Why a folder cannot be an output folder.
#[derive(Debug, Error, PartialEq)]
pub enum OutputError {
    #[error(
        "output folder {0}: it exists and holds files fleetsim did not write (it has no {MARKER} \
marker), so it is left untouched; name a new or empty folder, or move those files away first"
    )]
    NotOurs(PathBuf),
    #[error(
        "output folder {0}: it is a file, not a folder, and is left untouched; name a new or \
empty folder"
    )]
    IsFile(PathBuf),
    #[error(
        "output folder {0}: it is a symbolic link, and is left untouched; name the folder itself \
or a new one"
    )]
    IsLink(PathBuf),
    #[error(
        "output folder {path}: it is {what}; an output folder is replaced whole, so fleetsim \
refuses it; name a new folder inside it instead, e.g. {path}/out"
    )]
    Forbidden { path: PathBuf, what: &'static str },
    #[error("output folder {0}: name the folder itself (a path ending in a folder name)")]
    NoName(PathBuf),
}

/// Why the folder at canonical path `resolved` may never be an output folder, given the
/// canonical current folder and home folder; `None` when it may be one.
pub fn forbidden(resolved: &Path, cwd: &Path, home: Option<&Path>) -> Option<&'static str> {
    if resolved.parent().is_none() {
        return Some("the root folder");
    }
    if resolved == cwd {
        return Some("the current folder");
    }
    if cwd.starts_with(resolved) {
        return Some("a parent of the current folder");
    }
    if let Some(home) = home {
        if resolved == home {
            return Some("your home folder ($HOME)");
        }
        if home.starts_with(resolved) {
            return Some("a parent of your home folder ($HOME)");
        }
    }
    None
}

/// Checks that `target` may be written as an output folder: it does not exist, or it is a
/// folder that carries the marker or is empty, and it is not one of the [`forbidden`] folders.
pub fn check_target(target: &Path) -> Result<()> {
    let meta = match fs::symlink_metadata(target) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => {
            return Err(e)
                .with_context(|| format!("cannot look at output folder {}", target.display()));
        }
    };
    let path = target.to_path_buf();
    if meta.file_type().is_symlink() {
        return Err(OutputError::IsLink(path).into());
    }
    if !meta.is_dir() {
        return Err(OutputError::IsFile(path).into());
    }
    let resolved = fs::canonicalize(target)
        .with_context(|| format!("cannot resolve output folder {}", target.display()))?;
    let cwd = std::env::current_dir()
        .and_then(fs::canonicalize)
        .context("cannot read the current folder")?;
    let home = std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(|h| fs::canonicalize(&h).unwrap_or_else(|_| PathBuf::from(h)));
    if let Some(what) = forbidden(&resolved, &cwd, home.as_deref()) {
        return Err(OutputError::Forbidden { path, what }.into());
    }
    if has_marker(target) {
        return Ok(());
    }
    let empty = fs::read_dir(target)
        .with_context(|| format!("cannot read output folder {}", target.display()))?
        .next()
        .is_none();
    if empty {
        Ok(())
    } else {
        Err(OutputError::NotOurs(path).into())
    }
}

/// Whether `dir` carries the marker file (a regular file, not a link).
pub fn has_marker(dir: &Path) -> bool {
    fs::symlink_metadata(dir.join(MARKER)).is_ok_and(|m| m.is_file())
}

/// Staging folders alive in this process, for [`interrupt`]. Creating, committing and removing
/// a staging folder hold the lock, so an interrupt never lands half-way through one.
static LIVE: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn live() -> MutexGuard<'static, Vec<PathBuf>> {
    LIVE.lock().unwrap_or_else(|e| e.into_inner())
}

/// Removes `dir` whole, retrying a few times: another thread may still be creating a file in
/// it while an interrupt removes it.
fn remove_all(dir: &Path) -> std::io::Result<()> {
    let mut last = Ok(());
    for _ in 0..10 {
        match fs::remove_dir_all(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => last = Err(e),
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    last
}

/// Removes every staging folder of this process and exits with `code`, holding the lock so
/// that no staging folder is created or committed in between.
pub fn interrupt(code: i32) -> ! {
    let mut dirs = live();
    for d in dirs.drain(..) {
        if let Err(e) = remove_all(&d) {
            eprintln!("fleetsim: cannot remove {}: {e}", d.display());
        }
    }
    std::process::exit(code)
}

/// On SIGINT (Ctrl-C), SIGTERM or SIGHUP: remove this process's staging folders and exit with
/// 128 + the signal's number, as a shell reports a process killed by it.
#[cfg(unix)]
pub fn clean_up_on_interrupt() -> std::io::Result<()> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])?;
    std::thread::Builder::new()
        .name("fleetsim-signals".into())
        .spawn(move || {
            if let Some(sig) = signals.forever().next() {
                interrupt(128 + sig);
            }
        })?;
    Ok(())
}

/// Elsewhere the process ends on an interrupt without cleaning up; the next run removes what
/// it left once its process is gone.
#[cfg(not(unix))]
pub fn clean_up_on_interrupt() -> std::io::Result<()> {
    Ok(())
}

/// The prefix of the staging folders of an output folder named `name`.
fn staging_prefix(name: &str) -> String {
    format!(".{name}.partial-")
}

/// Whether process `pid` may still be running. When that cannot be told, it counts as running,
/// so its staging folder is kept.
fn process_alive(pid: u32) -> bool {
    let proc = Path::new("/proc");
    if proc.join("self").exists() {
        return proc.join(pid.to_string()).exists();
    }
    std::process::Command::new("kill")
        .args(["-0", &pid.to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(true)
}

/// Removes the staging folders of `name` in `parent` left by processes that are gone: only
/// folders named `.NAME.partial-PID` that carry the marker, and never this process's.
pub fn remove_stale(parent: &Path, name: &str) {
    let prefix = staging_prefix(name);
    let Ok(entries) = fs::read_dir(parent) else {
        return;
    };
    for e in entries.flatten() {
        let file_name = e.file_name();
        let Some(pid) = file_name
            .to_str()
            .and_then(|n| n.strip_prefix(&prefix))
            .filter(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        let dir = e.path();
        let is_dir = fs::symlink_metadata(&dir).is_ok_and(|m| m.is_dir());
        if pid == std::process::id() || !is_dir || !has_marker(&dir) || process_alive(pid) {
            continue;
        }
        let _ = remove_all(&dir);
    }
}

/// A folder being written.
pub struct Staging {
    target: PathBuf,
    dir: PathBuf,
    done: bool,
}

impl Staging {
    /// Prepares `target` (which need not exist): checks that it may be replaced
    /// ([`check_target`]), creates its parent if needed, removes stale staging folders of it,
    /// and creates this process's staging folder with the marker in it.
    pub fn new(target: &Path) -> Result<Self> {
        check_target(target)?;
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .ok_or_else(|| OutputError::NoName(target.to_path_buf()))?;
        let parent = target
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        fs::create_dir_all(parent)
            .with_context(|| format!("cannot create output folder {}", parent.display()))?;
        remove_stale(parent, &name);
        let dir = parent.join(format!("{}{}", staging_prefix(&name), std::process::id()));
        let mut live = live();
        if fs::symlink_metadata(&dir).is_ok() {
            // Left by an earlier process that had this one's id.
            if !has_marker(&dir) {
                anyhow::bail!(
                    "staging folder {} exists and was not written by fleetsim; remove it or name \
another output folder",
                    dir.display()
                );
            }
            remove_all(&dir)
                .with_context(|| format!("cannot remove old staging folder {}", dir.display()))?;
        }
        fs::create_dir(&dir)
            .with_context(|| format!("cannot create staging folder {}", dir.display()))?;
        live.push(dir.clone());
        let staging = Staging {
            target: target.to_path_buf(),
            dir,
            done: false,
        };
        drop(live);
        fs::write(staging.path(MARKER), MARKER_TEXT)
            .with_context(|| format!("cannot write {}", staging.path(MARKER).display()))?;
        Ok(staging)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn path(&self, file: &str) -> PathBuf {
        self.dir.join(file)
    }

    /// Replaces the target with the staged folder, checking again that the target may be
    /// replaced (something may have been put there while the run went).
    pub fn commit(mut self) -> Result<PathBuf> {
        let mut live = live();
        check_target(&self.target)?;
        if fs::symlink_metadata(&self.target).is_ok() {
            fs::remove_dir_all(&self.target).with_context(|| {
                format!(
                    "cannot replace the old output folder {}",
                    self.target.display()
                )
            })?;
        }
        fs::rename(&self.dir, &self.target)
            .with_context(|| format!("cannot move results into {}", self.target.display()))?;
        live.retain(|d| d != &self.dir);
        self.done = true;
        Ok(self.target.clone())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.done {
            let mut live = live();
            let _ = remove_all(&self.dir);
            live.retain(|d| d != &self.dir);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_home_cwd_and_their_parents_are_forbidden() {
        let cwd = Path::new("/home/ann/work/fleet");
        let home = Some(Path::new("/home/ann"));
        let f = |p: &str| forbidden(Path::new(p), cwd, home);
        assert_eq!(f("/"), Some("the root folder"));
        assert_eq!(f("/home/ann/work/fleet"), Some("the current folder"));
        assert_eq!(f("/home/ann/work"), Some("a parent of the current folder"));
        assert_eq!(f("/home"), Some("a parent of the current folder"));
        // Home is a parent of the current folder here; elsewhere it is refused as home.
        let elsewhere = Path::new("/srv/fleet");
        assert_eq!(
            forbidden(Path::new("/home/ann"), elsewhere, home),
            Some("your home folder ($HOME)")
        );
        assert_eq!(
            forbidden(Path::new("/home"), elsewhere, home),
            Some("a parent of your home folder ($HOME)")
        );
        assert_eq!(
            forbidden(Path::new("/"), elsewhere, None),
            Some("the root folder")
        );
        // Folders inside the current folder or home, or beside them, are fine.
        assert_eq!(f("/home/ann/work/fleet/output/run"), None);
        assert_eq!(f("/home/ann/work/fleet-out"), None);
        assert_eq!(f("/home/annex"), None);
        assert_eq!(forbidden(Path::new("/home/ann/x"), elsewhere, home), None);
        assert_eq!(
            forbidden(Path::new("/srv/fleet/out"), elsewhere, None),
            None
        );
    }

    #[test]
    fn staging_names_are_matched_exactly() {
        assert_eq!(staging_prefix("run"), ".run.partial-");
        assert!(process_alive(std::process::id()));
    }
}
