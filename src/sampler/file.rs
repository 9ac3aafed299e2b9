//! Re-readable small files (`/proc`, cgroup): opened once, re-read from offset 0 every tick.
//!
//! Keeping the descriptor saves the open/stat/close system calls of `fs::read_to_string` on
//! every tick (the sampler's cost is almost all system calls). `/proc` and cgroup files are
//! generated on each read from offset 0, so the content is always current.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

/// A file kept open and re-read from the start.
#[derive(Debug)]
pub(crate) struct ReReadable {
    path: PathBuf,
    file: Option<File>,
    buf: Vec<u8>,
}

impl ReReadable {
    pub(crate) fn new(path: impl Into<PathBuf>) -> Self {
        ReReadable {
            path: path.into(),
            file: None,
            buf: Vec::with_capacity(1024),
        }
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The current content (lossy UTF-8 is not needed: these files are ASCII).
    pub(crate) fn read(&mut self) -> io::Result<&str> {
        match self.read_once() {
            Ok(()) => {}
            Err(_) => {
                // The file may have been replaced (cgroup moved, fixture rewritten): reopen once.
                self.file = None;
                self.read_once()?;
            }
        }
        std::str::from_utf8(&self.buf).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
    }

    fn read_once(&mut self) -> io::Result<()> {
        if self.file.is_none() {
            self.file = Some(File::open(&self.path)?);
        }
        let file = self.file.as_ref().expect("opened above");
        self.buf.clear();
        let mut chunk = [0u8; 4096];
        loop {
            let n = read_at(file, &mut chunk, self.buf.len() as u64)?;
            self.buf.extend_from_slice(&chunk[..n]);
            // procfs/cgroupfs generate a small file in one read; a short read is the end.
            if n < chunk.len() {
                return Ok(());
            }
        }
    }
}

#[cfg(unix)]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    std::os::unix::fs::FileExt::read_at(file, buf, offset)
}

#[cfg(not(unix))]
fn read_at(mut file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    use std::io::{Read, Seek, SeekFrom};
    file.seek(SeekFrom::Start(offset))?;
    file.read(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rereads_current_content() {
        let path = std::env::temp_dir().join(format!("recwatch-reread-{}", std::process::id()));
        std::fs::write(&path, "one\n").unwrap();
        let mut f = ReReadable::new(&path);
        assert_eq!(f.read().unwrap(), "one\n");
        std::fs::write(&path, "two two\n").unwrap();
        assert_eq!(f.read().unwrap(), "two two\n");
        std::fs::remove_file(&path).unwrap();
        let mut missing = ReReadable::new(&path);
        assert!(missing.read().is_err());
    }
}
