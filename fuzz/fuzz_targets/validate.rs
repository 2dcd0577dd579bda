//! Any bytes as services.toml: `validate`'s parse, checks and rendering never panic, and an
//! invalid file always gets at least one diagnostic.
#![no_main]

use cogwire::config::diagnostic::Source;
use cogwire::config::model::load;
use cogwire::style::Style;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let source = Source::new("services.toml", text);
    if let Err(problems) = load(text, None) {
        assert!(!problems.is_empty());
        for problem in &problems {
            let _ = problem.render(&source, &Style::plain());
            let _ = problem.report(&source);
        }
    }
});
