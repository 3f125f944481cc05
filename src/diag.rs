//! Diagnostics: the one vocabulary every stage of the pipeline reports in.
//!
//! Every finding carries a stable code (catalogued in `docs/diagnostics.md`; a test keeps
//! the two in sync), a severity, the file and tensor it concerns, a one-line message and
//! one line of advice. Codes are grouped by stage: `ST` container, `DIR` directory,
//! `CFG` config.json, `TOK` tokenizer, `QNT` quantization, `GPU` CUDA.

use serde::Serialize;
use std::fmt;
use std::path::{Path, PathBuf};

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The input must not be trusted; strict mode rejects it.
    Error,
    /// Suspicious but loadable.
    Warning,
    /// Worth knowing; nothing is wrong.
    Info,
}

impl Severity {
    /// Lower-case name as printed and serialized.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One finding about one file (and, where it applies, one tensor).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// Stable code, e.g. `ST012`; see `docs/diagnostics.md`.
    pub code: &'static str,
    /// Error, warning or info.
    pub severity: Severity,
    /// One-line description of what is wrong, naming the offending value.
    pub message: String,
    /// Tensor (or config key, or layer prefix) the finding is about, when there is one.
    pub tensor: Option<String>,
    /// One line saying what to do about it.
    pub advice: Option<String>,
    /// The file concerned; filled in by the stage that knows the path.
    #[serde(skip)]
    pub file: Option<PathBuf>,
}

impl Diagnostic {
    /// A new finding with the given code, severity and message.
    pub fn new(code: &'static str, severity: Severity, message: impl Into<String>) -> Self {
        Diagnostic {
            code,
            severity,
            message: message.into(),
            tensor: None,
            advice: None,
            file: None,
        }
    }

    /// Shorthand for an [`Severity::Error`] finding.
    pub fn error(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(code, Severity::Error, message)
    }

    /// Shorthand for a [`Severity::Warning`] finding.
    pub fn warning(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(code, Severity::Warning, message)
    }

    /// Shorthand for an [`Severity::Info`] finding.
    pub fn info(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(code, Severity::Info, message)
    }

    /// Names the tensor (or key) the finding is about.
    pub fn tensor(mut self, name: impl Into<String>) -> Self {
        self.tensor = Some(name.into());
        self
    }

    /// Adds the one line of advice.
    pub fn advice(mut self, advice: impl Into<String>) -> Self {
        self.advice = Some(advice.into());
        self
    }

    /// Names the file the finding is about.
    pub fn file(mut self, path: impl AsRef<Path>) -> Self {
        self.file = Some(path.as_ref().to_path_buf());
        self
    }

    /// True for [`Severity::Error`].
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.severity, self.code)?;
        if let Some(file) = &self.file {
            write!(f, " {}", file.display())?;
        }
        if let Some(t) = &self.tensor {
            write!(f, " [{t}]")?;
        }
        write!(f, ": {}", self.message)?;
        if let Some(a) = &self.advice {
            write!(f, " (advice: {a})")?;
        }
        Ok(())
    }
}

/// True when any diagnostic is an error.
pub fn has_errors(diags: &[Diagnostic]) -> bool {
    diags.iter().any(Diagnostic::is_error)
}

/// Sets the file of every diagnostic that does not name one yet.
pub fn attach_file(diags: &mut [Diagnostic], path: &Path) {
    for d in diags.iter_mut().filter(|d| d.file.is_none()) {
        d.file = Some(path.to_path_buf());
    }
}
