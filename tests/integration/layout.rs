//! The shape the code keeps: `src/commands/` is the binary's edge (parse, call one core function,
//! print its report), so none of its files grows past 250 lines; engines live in the stages.

use std::path::{Path, PathBuf};

const MOST_LINES: usize = 250;

fn rust_files(folder: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let entries = std::fs::read_dir(folder).unwrap_or_else(|error| panic!("{folder:?}: {error}"));
    for entry in entries {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|extension| extension == "rs") {
            files.push(path);
        }
    }
    files
}

#[test]
fn no_file_in_commands_is_over_250_lines() {
    let commands = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/commands");
    let files = rust_files(&commands);
    assert!(files.len() > 10, "{files:?}");
    let long: Vec<String> = files
        .iter()
        .filter_map(|path| {
            let lines = std::fs::read_to_string(path)
                .expect("readable")
                .lines()
                .count();
            (lines > MOST_LINES).then(|| format!("{} has {lines} lines", path.display()))
        })
        .collect();
    assert!(long.is_empty(), "{long:?}");
}
