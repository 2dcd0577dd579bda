//! Diagnostics: what is wrong with a services.toml, where, and what to do about it.
//!
//! Both checking stages (shape in `config`, meaning in `model`) produce these; they are rendered for
//! people with the offending line and a caret, or as data for `--json`.

use std::fmt::Write as _;
use std::ops::Range;

use serde::Serialize;

/// A services.toml as read from disk, kept whole so diagnostics can quote it.
#[derive(Debug, Clone)]
pub struct Source {
    /// The path as the user gave it, used verbatim in `file:line:col`.
    pub path: String,
    pub text: String,
    /// Byte offset of each line's start, so that locating each of thousands of diagnostics does
    /// not rescan the file.
    line_starts: Vec<usize>,
}

impl Source {
    pub fn new(path: impl Into<String>, text: impl Into<String>) -> Self {
        let text = text.into();
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(newline, _)| newline + 1))
            .collect();
        Self {
            path: path.into(),
            text,
            line_starts,
        }
    }

    /// 1-based line and column (in characters) of a byte offset; offsets past the end or inside a
    /// character are clamped so that hostile input can never make this panic.
    pub fn locate(&self, offset: usize) -> Location {
        let offset = floor_char_boundary(&self.text, offset.min(self.text.len()));
        let line = self
            .line_starts
            .partition_point(|&start| start <= offset)
            .max(1);
        let line_start = self.line_starts.get(line - 1).copied().unwrap_or(0);
        let column = self.text[line_start..offset].chars().count() + 1;
        Location {
            line,
            column,
            line_start,
        }
    }

    fn line_text(&self, line_start: usize) -> &str {
        let rest = &self.text[line_start..];
        let end = rest.find('\n').unwrap_or(rest.len());
        rest[..end].trim_end_matches('\r')
    }
}

fn floor_char_boundary(text: &str, mut offset: usize) -> usize {
    while offset > 0 && !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Location {
    pub line: usize,
    pub column: usize,
    line_start: usize,
}

/// One problem found in a services.toml.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// A stable, kebab-case name for the class of problem, for `--json` consumers and tests.
    pub code: &'static str,
    pub message: String,
    /// Byte range in the source; `None` for problems that belong to no place in the file.
    pub span: Option<Range<usize>>,
    pub hint: Option<String>,
}

impl Diagnostic {
    pub fn new(code: &'static str, message: impl Into<String>, span: Option<Range<usize>>) -> Self {
        Self {
            code,
            message: message.into(),
            span,
            hint: None,
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn with_optional_hint(mut self, hint: Option<String>) -> Self {
        self.hint = hint;
        self
    }
}

/// Diagnostics as data: what `validate --json` prints.
#[derive(Debug, Serialize)]
pub struct DiagnosticReport<'a> {
    pub file: &'a str,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub end_line: Option<usize>,
    pub end_column: Option<usize>,
    pub code: &'static str,
    pub message: &'a str,
    pub hint: Option<&'a str>,
}

impl Diagnostic {
    pub fn report<'a>(&'a self, source: &'a Source) -> DiagnosticReport<'a> {
        let start = self.span.as_ref().map(|span| source.locate(span.start));
        let end = self.span.as_ref().map(|span| source.locate(span.end));
        DiagnosticReport {
            file: &source.path,
            line: start.map(|location| location.line),
            column: start.map(|location| location.column),
            end_line: end.map(|location| location.line),
            end_column: end.map(|location| location.column),
            code: self.code,
            message: &self.message,
            hint: self.hint.as_deref(),
        }
    }

    /// The human rendering, in the style of rustc and just:
    ///
    /// ```text
    /// error: unknown scope `customer.reed` in service `customers-v1`
    ///   --> services.toml:14:13
    ///    |
    /// 14 | consumes = ["customers-v1/customer.reed"]
    ///    |             ^^^^^^^^^^^^^^^^^^^^^^^^^^^^
    ///    = hint: did you mean `customers-v1/customer.read`?
    /// ```
    pub fn render(&self, source: &Source, style: &crate::style::Style) -> String {
        let mut out = String::new();
        // A name quoted from the file may hold an escaped control character; show it inertly.
        let message: String = self.message.chars().map(visible).collect();
        let hint: Option<String> = self
            .hint
            .as_ref()
            .map(|hint| hint.chars().map(visible).collect());
        let _ = writeln!(out, "{}: {}", style.error("error"), style.bold(&message));
        let Some(span) = &self.span else {
            let _ = writeln!(out, "  --> {}", source.path);
            if let Some(hint) = &hint {
                let _ = writeln!(out, "   = {}: {hint}", style.hint("hint"));
            }
            return out;
        };
        let start = source.locate(span.start);
        let line_text = source.line_text(start.line_start);
        let gutter = start.line.to_string().len();
        let pad = " ".repeat(gutter);
        let _ = writeln!(
            out,
            "{pad}{} {}:{}:{}",
            style.dim("-->"),
            source.path,
            start.line,
            start.column
        );
        let _ = writeln!(out, "{pad} {}", style.dim("|"));
        let shown: String = line_text.chars().map(visible).collect();
        let _ = writeln!(
            out,
            "{} {} {shown}",
            style.dim(&start.line.to_string()),
            style.dim("|")
        );
        let line_chars = line_text.chars().count();
        let caret_start = (start.column - 1).min(line_chars);
        let span_end = floor_char_boundary(&source.text, span.end.min(source.text.len()));
        let span_chars = source.text
            [floor_char_boundary(&source.text, span.start.min(span_end))..span_end]
            .chars()
            .take_while(|&character| character != '\n')
            .count();
        let width = span_chars.clamp(1, (line_chars - caret_start).max(1));
        let _ = writeln!(
            out,
            "{pad} {} {}{}",
            style.dim("|"),
            " ".repeat(caret_start),
            style.error(&"^".repeat(width))
        );
        if let Some(hint) = &hint {
            let _ = writeln!(out, "{pad} = {}: {hint}", style.hint("hint"));
        }
        out
    }
}

/// Control characters in a quoted line would move the terminal's cursor; show them inertly.
fn visible(character: char) -> char {
    if character == '\t' {
        ' '
    } else if character.is_control() {
        '\u{fffd}'
    } else {
        character
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::style::Style;

    #[test]
    fn locate_counts_lines_and_characters() {
        let source = Source::new("s.toml", "a = 1\nnäme = 2\n");
        let offset = source
            .text
            .find('=')
            .map(|first| first + 1)
            .unwrap_or_default();
        assert_eq!(source.locate(offset).line, 1);
        let second = source.text.rfind('=').unwrap_or_default();
        let location = source.locate(second);
        assert_eq!((location.line, location.column), (2, 6));
    }

    #[test]
    fn locate_clamps_offsets_inside_characters_and_past_the_end() {
        let source = Source::new("s.toml", "ä");
        assert_eq!(source.locate(1).column, 1);
        assert_eq!(source.locate(99).column, 2);
    }

    #[test]
    fn render_shows_control_characters_in_messages_inertly() {
        let source = Source::new("services.toml", "x\n");
        let diagnostic = Diagnostic::new("invalid-name", "name `\u{1b}[31m`", Some(0..1))
            .with_hint("hint \u{1b}");
        let rendered = diagnostic.render(&source, &Style::plain());
        assert!(!rendered.contains('\u{1b}'), "{rendered}");
    }

    #[test]
    fn render_points_a_caret_at_the_span() {
        let source = Source::new("services.toml", "[pool]\nid = 7\n");
        let start = source.text.find('7').unwrap_or_default();
        let diagnostic = Diagnostic::new("type", "expected a string", Some(start..start + 1))
            .with_hint("quote it: id = \"7\"");
        let rendered = diagnostic.render(&source, &Style::plain());
        assert_eq!(
            rendered,
            "error: expected a string\n --> services.toml:2:6\n  |\n2 | id = 7\n  |      ^\n  = hint: quote it: id = \"7\"\n"
        );
    }
}
