//! The one error type of the formats layer: every variant names the file, and parse errors the place.

/// Why bytes could not be turned into core types.
#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    /// The content is malformed at a known place.
    #[error("{file}: {location}: {message}")]
    Parse {
        /// The file (or `archive.tar.zst!inner/path`) being read.
        file: String,
        /// `line 12`, `line 3, column 7` or a JSON path such as `$.components[3].version`.
        location: String,
        /// What is wrong.
        message: String,
    },
    /// No known format matches the content.
    #[error("{file}: unknown format: {message}")]
    UnknownFormat {
        /// The file.
        file: String,
        /// What was looked at, and which formats are known.
        message: String,
    },
    /// The input is larger than Bulwark accepts.
    #[error("{file}: too large: {size} bytes exceeds the limit of {limit} bytes")]
    TooLarge {
        /// The file.
        file: String,
        /// Its size (or the size read so far).
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// Reading failed.
    #[error("{file}: {source}")]
    Io {
        /// The file.
        file: String,
        /// The IO error.
        #[source]
        source: std::io::Error,
    },
}

impl FormatError {
    /// Builds a `Parse` error.
    pub fn parse(
        file: &str,
        location: impl Into<String>,
        message: impl Into<String>,
    ) -> FormatError {
        FormatError::Parse {
            file: file.to_string(),
            location: location.into(),
            message: message.into(),
        }
    }
}
