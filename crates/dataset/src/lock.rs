//! One writer per output: an advisory lock on a sibling `<out>.lock`, held for a whole run of a
//! command that writes `out` (its `.partial` or `.resume` state included), so that a second run
//! on the same output is refused with the first one's process id instead of racing it.
//!
//! The lock is `flock(2)` on the lock file: the kernel drops it when its holder exits, however it
//! exits, so a lock file left by a killed run is stale and the next run takes it over.

use crate::atomic::describe_io;
use crate::error::{Error, Result};
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The lock file of `out`: `<out>.lock` (`pool.h5` → `pool.h5.lock`).
pub fn lock_path(out: &Path) -> PathBuf {
    let mut name = out.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

/// Times the lock file may be found removed or replaced under a fresh lock before giving up.
const ATTEMPTS: usize = 16;

/// An exclusive advisory lock on an output: while one exists, [`OutputLock::acquire`] of the
/// same output fails in any process (this one included). Dropping it removes the lock file and
/// releases the lock.
#[derive(Debug)]
pub struct OutputLock {
    /// The open lock file: closing it releases the lock.
    file: File,
    /// `<out>.lock`.
    path: PathBuf,
}

impl OutputLock {
    /// Takes the lock of `out` (the file `<out>.lock`, created if need be), or fails at once,
    /// naming `out` and the holder's process id, when another run holds it. The lock file then
    /// holds this process's id.
    ///
    /// ```
    /// use proxyland_dataset::OutputLock;
    /// let dir = tempfile::tempdir().unwrap();
    /// let out = dir.path().join("pool.h5");
    /// let lock = OutputLock::acquire(&out)?;
    /// let err = OutputLock::acquire(&out).unwrap_err();
    /// assert!(err.to_string().contains("is being written by process"), "{err}");
    /// drop(lock);
    /// assert!(!dir.path().join("pool.h5.lock").exists());
    /// # Ok::<(), proxyland_dataset::Error>(())
    /// ```
    pub fn acquire(out: &Path) -> Result<OutputLock> {
        let path = lock_path(out);
        let io = |what: &str, e: &std::io::Error| Error::Io {
            path: path.clone(),
            message: format!("{what}: {}", describe_io(e)),
        };
        for _ in 0..ATTEMPTS {
            // Never truncated on opening: the file may be another run's, holding its id.
            let mut file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)
                .map_err(|e| io("cannot open the lock file", &e))?;
            if let Err(e) = flock_exclusive(&file) {
                if e.kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                if e.raw_os_error() == Some(libc::EWOULDBLOCK) {
                    return Err(held_by_another(out, &path, &mut file));
                }
                return Err(io("cannot lock the lock file", &e));
            }
            // The unlink race: between our open and our lock, the previous holder may have
            // removed the file (its drop), or someone replaced it; a lock on an inode no longer
            // at `path` excludes nobody. Start over on the file now there.
            let held = file
                .metadata()
                .map_err(|e| io("cannot stat the lock file", &e))?;
            match std::fs::metadata(&path) {
                Ok(now) if now.dev() == held.dev() && now.ino() == held.ino() => {}
                Ok(_) => continue,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(io("cannot stat the lock file", &e)),
            }
            write_pid(&mut file).map_err(|e| io("cannot write the lock file", &e))?;
            return Ok(OutputLock { file, path });
        }
        Err(Error::Io {
            path: path.clone(),
            message: format!(
                "the lock file was removed or replaced {ATTEMPTS} times while it was being \
                 taken; is another program deleting it?"
            ),
        })
    }

    /// The lock file (`<out>.lock`).
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for OutputLock {
    fn drop(&mut self) {
        // Removed while still locked, so no other run can lock this inode and then see it
        // vanish; and only if it is still ours (someone may have removed it and a later run
        // made its own, which is not ours to remove).
        let ours = match (self.file.metadata(), std::fs::metadata(&self.path)) {
            (Ok(held), Ok(now)) => held.dev() == now.dev() && held.ino() == now.ino(),
            _ => false,
        };
        if ours {
            let _ = std::fs::remove_file(&self.path);
        }
        // Closing `file` (dropped after this) releases the lock.
    }
}

/// `flock(fd, LOCK_EX | LOCK_NB)`.
fn flock_exclusive(file: &File) -> std::io::Result<()> {
    // SAFETY: flock on a file descriptor this process owns and keeps open for the call.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Replaces the lock file's contents with this process's id (a line).
fn write_pid(file: &mut File) -> std::io::Result<()> {
    file.set_len(0)?;
    file.seek(SeekFrom::Start(0))?;
    writeln!(file, "{}", std::process::id())?;
    file.flush()
}

/// The error for a lock held by another run, with the holder's id as its lock file says. The
/// holder writes its id just after locking, so an empty file is read again a few times.
fn held_by_another(out: &Path, lock: &Path, file: &mut File) -> Error {
    let mut pid = None;
    for attempt in 0..5 {
        if attempt > 0 {
            std::thread::sleep(Duration::from_millis(20));
        }
        let mut text = String::new();
        if file.seek(SeekFrom::Start(0)).is_ok() && file.read_to_string(&mut text).is_ok() {
            pid = text.trim().parse::<u32>().ok();
        }
        if pid.is_some() {
            break;
        }
    }
    let holder = match pid {
        Some(pid) => format!("process {pid}"),
        None => "another process (its id is not in the lock file yet)".to_string(),
    };
    Error::Io {
        path: out.to_path_buf(),
        message: format!(
            "is being written by {holder} (lock {}); wait for it to finish",
            lock.display()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_the_same_output_is_refused_naming_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("pool.h5");
        let lock = OutputLock::acquire(&out).unwrap();
        assert_eq!(lock.path(), dir.path().join("pool.h5.lock"));
        assert_eq!(
            std::fs::read_to_string(lock.path()).unwrap(),
            format!("{}\n", std::process::id())
        );
        // flock locks belong to open file descriptions: a second open() in this same process
        // conflicts with the first, as another process's would.
        let err = OutputLock::acquire(&out).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains(&format!(
                "is being written by process {}",
                std::process::id()
            )),
            "{text}"
        );
        assert!(text.contains(&out.display().to_string()), "{text}");
        assert!(text.contains("pool.h5.lock"), "{text}");
        // The refusal left the holder's file as it was.
        assert_eq!(
            std::fs::read_to_string(lock.path()).unwrap(),
            format!("{}\n", std::process::id())
        );
        // Another output is another lock.
        let other = OutputLock::acquire(&dir.path().join("other.h5")).unwrap();
        drop(other);
        drop(lock);
    }

    #[test]
    fn dropping_the_lock_releases_it_and_removes_its_file() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("proxy.safetensors");
        let lock = OutputLock::acquire(&out).unwrap();
        let path = lock.path().to_path_buf();
        assert!(path.exists());
        drop(lock);
        assert!(!path.exists(), "the lock file outlived its lock");
        let again = OutputLock::acquire(&out).unwrap();
        drop(again);
        assert!(!path.exists());
    }

    #[test]
    fn a_stale_lock_file_is_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("pool.h5");
        // Left by a run that was killed: the file exists, nobody holds its lock.
        std::fs::write(lock_path(&out), "4194304\nand more than a process id\n").unwrap();
        let lock = OutputLock::acquire(&out).unwrap();
        assert_eq!(
            std::fs::read_to_string(lock.path()).unwrap(),
            format!("{}\n", std::process::id())
        );
        drop(lock);
        assert!(!lock_path(&out).exists());
    }

    #[test]
    fn a_lock_whose_file_was_replaced_leaves_the_new_holders_file_alone() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("pool.h5");
        let first = OutputLock::acquire(&out).unwrap();
        // Someone removes the lock file under the first run; a second run makes its own.
        std::fs::remove_file(first.path()).unwrap();
        let second = OutputLock::acquire(&out).unwrap();
        drop(first);
        assert!(
            lock_path(&out).exists(),
            "the first lock removed the second's file"
        );
        assert!(OutputLock::acquire(&out).is_err());
        drop(second);
        assert!(!lock_path(&out).exists());
    }

    #[test]
    fn a_lock_file_in_a_missing_folder_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("nodir/pool.h5");
        let err = OutputLock::acquire(&out).unwrap_err();
        assert!(err.to_string().contains("nodir/pool.h5.lock"), "{err}");
    }
}
