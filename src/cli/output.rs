//! Shared output helpers: diagnostics as JSON, colored severity labels on terminals.

use crate::diag::{Diagnostic, Severity};
use serde_json::{json, Value};
use std::io::IsTerminal;

/// Whether human output may use color: only on a terminal, and never with `NO_COLOR` set.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    color: bool,
}

impl Style {
    /// Style for standard output.
    pub fn stdout() -> Self {
        Style {
            color: std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
        }
    }

    /// A severity label, colored when allowed.
    pub fn severity(&self, s: Severity) -> String {
        if !self.color {
            return s.as_str().to_owned();
        }
        let code = match s {
            Severity::Error => "1;31",
            Severity::Warning => "1;33",
            Severity::Info => "36",
        };
        format!("\x1b[{code}m{}\x1b[0m", s.as_str())
    }

    /// Bold text when allowed.
    pub fn bold(&self, s: &str) -> String {
        if self.color {
            format!("\x1b[1m{s}\x1b[0m")
        } else {
            s.to_owned()
        }
    }

    /// Prints one diagnostic as an indented block of up to two lines.
    pub fn print_diagnostic(&self, d: &Diagnostic) {
        let tensor = d
            .tensor
            .as_deref()
            .map(|t| format!(" [{t}]"))
            .unwrap_or_default();
        println!(
            "  {} {}{}: {}",
            self.severity(d.severity),
            d.code,
            tensor,
            d.message
        );
        if let Some(a) = &d.advice {
            println!("      advice: {a}");
        }
    }
}

/// A diagnostic in the JSON shape every command shares:
/// `{"code", "severity", "message", "tensor", "advice", "file"}`.
pub fn diagnostic_json(d: &Diagnostic) -> Value {
    json!({
        "code": d.code,
        "severity": d.severity.as_str(),
        "message": d.message,
        "tensor": d.tensor,
        "advice": d.advice,
        "file": d.file.as_ref().map(|p| p.display().to_string()),
    })
}

/// Prints a JSON document on stdout.
pub fn print_json(v: &Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(v).expect("JSON values serialize")
    );
}
