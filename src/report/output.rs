//! The run folder: written into a hidden staging folder beside the target and renamed into
//! place only when everything succeeded, so an error never leaves a half-written result.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// A folder being written.
pub struct Staging {
    target: PathBuf,
    dir: PathBuf,
    done: bool,
}

impl Staging {
    /// Prepares `target` (which need not exist). Its parent is created if needed.
    pub fn new(target: &Path) -> Result<Self> {
        let parent = target
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        fs::create_dir_all(parent)
            .with_context(|| format!("cannot create output folder {}", parent.display()))?;
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "run".into());
        let dir = parent.join(format!(".{name}.partial-{}", std::process::id()));
        if dir.exists() {
            fs::remove_dir_all(&dir).ok();
        }
        fs::create_dir(&dir)
            .with_context(|| format!("cannot create staging folder {}", dir.display()))?;
        Ok(Staging {
            target: target.to_path_buf(),
            dir,
            done: false,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn path(&self, file: &str) -> PathBuf {
        self.dir.join(file)
    }

    /// Replaces the target with the staged folder.
    pub fn commit(mut self) -> Result<PathBuf> {
        if self.target.exists() {
            fs::remove_dir_all(&self.target).with_context(|| {
                format!(
                    "cannot replace the old output folder {}",
                    self.target.display()
                )
            })?;
        }
        fs::rename(&self.dir, &self.target)
            .with_context(|| format!("cannot move results into {}", self.target.display()))?;
        self.done = true;
        Ok(self.target.clone())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.done {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}
