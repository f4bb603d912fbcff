//! Write the benchmark's generated repository to a folder and commit it, to measure the real
//! binary on it:
//!
//! ```sh
//! cargo run --release --example synthetic_repo -- /tmp/synth 5000 5000
//! cd /tmp/synth && /usr/bin/time -v git ripple graph
//! ```

#[path = "../benches/synthetic.rs"]
mod synthetic;

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let dir = args.get(1).map(String::as_str).unwrap_or("synthetic-repo");
    let python = args.get(2).and_then(|n| n.parse().ok()).unwrap_or(5000);
    let go = args.get(3).and_then(|n| n.parse().ok()).unwrap_or(5000);
    std::fs::create_dir_all(dir)?;
    synthetic::write_repo(std::path::Path::new(dir), python, go)?;
    synthetic::commit_repo(std::path::Path::new(dir));
    println!("wrote and committed {python} Python and {go} Go files in {dir}");
    Ok(())
}
