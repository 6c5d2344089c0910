//! Errors reported while validating or writing output files.

use std::fmt;

/// The kind of an [`OutputError`]; [`OutputErrorCode::as_str`] is its stable UPPER_SNAKE code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OutputErrorCode {
    /// The path would land outside the output directory: absolute (`/x`, `C:\x`, `\\server\x`),
    /// `..` escaping after normalization, or a symlinked directory leading elsewhere.
    FilenameOutsideOutputDirectory,
    /// The path is an input file (or inside one); allowed only with `allow_overwrite`.
    OutputOverwritesInput,
    /// Two outputs have the same normalized path, or one output's path is a directory of another.
    DuplicateOutputPath,
    /// The file system refused a write, rename, directory creation or deletion.
    WriteFailed,
    /// The path is malformed: empty, contains a NUL byte, names a directory, or the output
    /// directory itself is not absolute.
    InvalidOutputPath,
}

impl OutputErrorCode {
    /// The UPPER_SNAKE name printed with the message.
    pub fn as_str(self) -> &'static str {
        match self {
            OutputErrorCode::FilenameOutsideOutputDirectory => "FILENAME_OUTSIDE_OUTPUT_DIRECTORY",
            OutputErrorCode::OutputOverwritesInput => "OUTPUT_OVERWRITES_INPUT",
            OutputErrorCode::DuplicateOutputPath => "DUPLICATE_OUTPUT_PATH",
            OutputErrorCode::WriteFailed => "WRITE_FAILED",
            OutputErrorCode::InvalidOutputPath => "INVALID_OUTPUT_PATH",
        }
    }
}

impl fmt::Display for OutputErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One problem with one output path.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct OutputError {
    /// The stable code, e.g. `"FILENAME_OUTSIDE_OUTPUT_DIRECTORY"` (= `kind.as_str()`).
    pub code: &'static str,
    /// The same code as an enum, for matching.
    pub kind: OutputErrorCode,
    /// A sentence for the user.
    pub message: String,
    /// The output path as given (relative to the output directory), or the output directory
    /// itself for errors about it.
    pub path: String,
}

impl OutputError {
    /// An error of `kind` about `path`.
    pub fn new(kind: OutputErrorCode, path: impl Into<String>, message: impl Into<String>) -> Self {
        OutputError { code: kind.as_str(), kind, message: message.into(), path: path.into() }
    }
}

impl fmt::Display for OutputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} [{}]", self.message, self.code)
    }
}

impl std::error::Error for OutputError {}
