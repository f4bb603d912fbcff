//! Graph build (scan + read + parse + facts + resolve + assemble) over a generated repository
//! of 5,000 Python and 5,000 Go files, committed to git as a user's repository would be.

mod synthetic;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use git_ripple::graph::{GraphOptions, build_graph};
use git_ripple::scan::{Repository, scan_repo};

fn bench_graph(c: &mut Criterion) {
    let dir = tempfile::TempDir::new().expect("temp dir");
    synthetic::write_repo(dir.path(), 5000, 5000).expect("generate repository");
    synthetic::commit_repo(dir.path());
    let repo = Repository::discover(dir.path()).expect("open repository");

    let mut group = c.benchmark_group("graph");
    group.sample_size(10);
    let files = scan_repo(&repo).expect("scan").sources.len() as u64;
    group.throughput(Throughput::Elements(files));
    group.bench_function("scan_10k_files", |b| {
        b.iter(|| scan_repo(&repo).expect("scan"));
    });
    group.bench_function("build_10k_files", |b| {
        b.iter(|| {
            let scan = scan_repo(&repo).expect("scan");
            build_graph(&repo.root, &scan, &GraphOptions::default()).expect("graph")
        });
    });
    group.finish();
}

criterion_group!(benches, bench_graph);
criterion_main!(benches);
