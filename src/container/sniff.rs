//! Recognises the classic wrong files saved under a `.safetensors` name, so that a file
//! that fails the length check is named for what it really is
//! (specs/safetensors_validation.md §3, "User-visible symptoms").

/// What a non-SafeTensors file appears to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WrongFile {
    /// A git-LFS pointer: the repository was cloned without `git lfs`.
    LfsPointer,
    /// An HTML page: a download that saved an error or login page.
    Html,
    /// A pickle stream (`torch.save` legacy format or a raw pickle).
    Pickle,
    /// A zip archive (`torch.save` since PyTorch 1.6, or a Keras/NumPy archive).
    Zip,
}

impl WrongFile {
    /// Human name of the file kind.
    pub fn describe(self) -> &'static str {
        match self {
            WrongFile::LfsPointer => "a git-LFS pointer file, not the weights",
            WrongFile::Html => "an HTML page, not a SafeTensors file",
            WrongFile::Pickle => "a Python pickle (PyTorch checkpoint), not a SafeTensors file",
            WrongFile::Zip => "a zip archive (PyTorch checkpoint), not a SafeTensors file",
        }
    }

    /// What to do about it.
    pub fn advice(self) -> &'static str {
        match self {
            WrongFile::LfsPointer => {
                "fetch the real file: run `git lfs pull` in the clone, or download with `hf download`"
            }
            WrongFile::Html => "the download saved a web page (error or login); download the file again",
            WrongFile::Pickle | WrongFile::Zip => {
                "never load it blindly (unpickling runs code); convert it to SafeTensors from a trusted environment"
            }
        }
    }
}

/// How many leading bytes [`sniff`] looks at. Every reading path (header-only reads,
/// whole-file maps) must see the same window, or they would name one file differently.
pub const SNIFF_BYTES: usize = 64;

/// Looks at the first [`SNIFF_BYTES`] bytes of a file and names a known wrong format, if
/// any. Bytes beyond the window are ignored, whatever the caller passes.
pub fn sniff(prefix: &[u8]) -> Option<WrongFile> {
    let prefix = &prefix[..prefix.len().min(SNIFF_BYTES)];
    if prefix.starts_with(b"version https://git-lfs") {
        return Some(WrongFile::LfsPointer);
    }
    if prefix.starts_with(b"PK\x03\x04") || prefix.starts_with(b"PK\x05\x06") {
        return Some(WrongFile::Zip);
    }
    if prefix.len() >= 2 && prefix[0] == 0x80 && (2..=5).contains(&prefix[1]) {
        return Some(WrongFile::Pickle);
    }
    let start = prefix
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(prefix.len());
    let head: Vec<u8> = prefix[start..]
        .iter()
        .take(15)
        .map(u8::to_ascii_lowercase)
        .collect();
    if head.starts_with(b"<!doctype html")
        || head.starts_with(b"<html")
        || head.starts_with(b"<?xml")
    {
        return Some(WrongFile::Html);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_each_wrong_file() {
        assert_eq!(
            sniff(b"version https://git-lfs.github.com/spec/v1\noid sha256:ab"),
            Some(WrongFile::LfsPointer)
        );
        assert_eq!(sniff(b"  <!DOCTYPE html><html>"), Some(WrongFile::Html));
        assert_eq!(sniff(b"<HTML><body>"), Some(WrongFile::Html));
        assert_eq!(sniff(b"PK\x03\x04\x14\x00"), Some(WrongFile::Zip));
        assert_eq!(sniff(b"\x80\x02}q\x00("), Some(WrongFile::Pickle));
        assert_eq!(sniff(b"\x10\x00\x00\x00\x00\x00\x00\x00{}"), None);
    }

    #[test]
    fn looks_only_at_the_window() {
        // Found by the header_vs_full fuzz target: 61 newlines then `<?xml` was named HTML
        // from a whole-file buffer but not from the 64 bytes a header-only read has.
        let mut file = vec![b'\n'; 61];
        file.extend_from_slice(b"<?xml version");
        assert_eq!(sniff(&file), None);
        assert_eq!(sniff(&file), sniff(&file[..SNIFF_BYTES]));
        let mut inside = vec![b' '; SNIFF_BYTES - 5];
        inside.extend_from_slice(b"<html><body>");
        assert_eq!(sniff(&inside), Some(WrongFile::Html));
    }
}
