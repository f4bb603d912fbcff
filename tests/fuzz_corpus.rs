//! The fuzz targets' checked-in corpus (`fuzz/corpus/<target>/`), replayed through the same
//! harness libFuzzer runs (`fuzz/harness.rs`), so every input that ever found a bug, and every
//! seed, stays a regression test without the nightly toolchain.

#[path = "../fuzz/harness.rs"]
mod harness;

use std::path::Path;

fn replay(target: &str, run: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut inputs: Vec<_> = std::fs::read_dir(&dir)
        .expect("corpus folder")
        .flatten()
        .map(|e| e.path())
        .collect();
    inputs.sort();
    assert!(!inputs.is_empty(), "{target}: an empty corpus");
    for input in inputs {
        let data = std::fs::read(&input).expect("read input");
        run(&data);
    }
}

#[test]
fn the_recipe_corpus_replays() {
    replay("recipe", harness::recipe);
}

#[test]
fn the_answer_corpus_replays() {
    replay("answer", harness::answer);
}

#[test]
fn the_facts_corpus_replays() {
    replay("facts", harness::facts);
}
