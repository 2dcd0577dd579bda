//! Terminal colour, decided once per stream: never when `NO_COLOR` is set or the stream is not a
//! terminal, so logs and pipes stay plain.

use std::io::IsTerminal as _;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    color: bool,
}

impl Style {
    pub const fn plain() -> Self {
        Self { color: false }
    }

    pub fn for_stdout() -> Self {
        Self::decide(std::io::stdout().is_terminal())
    }

    pub fn for_stderr() -> Self {
        Self::decide(std::io::stderr().is_terminal())
    }

    fn decide(is_terminal: bool) -> Self {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty());
        Self {
            color: is_terminal && !no_color,
        }
    }

    pub fn is_colored(self) -> bool {
        self.color
    }

    fn paint(self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }

    pub fn error(self, text: &str) -> String {
        self.paint("1;31", text)
    }

    pub fn hint(self, text: &str) -> String {
        self.paint("1;36", text)
    }

    pub fn bold(self, text: &str) -> String {
        self.paint("1", text)
    }

    pub fn dim(self, text: &str) -> String {
        self.paint("2", text)
    }

    pub fn green(self, text: &str) -> String {
        self.paint("32", text)
    }

    pub fn yellow(self, text: &str) -> String {
        self.paint("33", text)
    }

    pub fn red(self, text: &str) -> String {
        self.paint("31", text)
    }

    pub fn cyan(self, text: &str) -> String {
        self.paint("36", text)
    }
}
