//! Graph build (scan + read + parse + facts + resolve + assemble) over a generated repository
//! of 5,000 Python and 5,000 Go files, committed to git as a user's repository would be:
//! without the facts cache, cold (an empty cache, written as it goes), warm (nothing changed)
//! and with one leaf file changed since the cache was written.

mod synthetic;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use git_ripple::graph::{FactsCache, GraphOptions, build_graph};
use git_ripple::scan::{Repository, scan_repo};

fn bench_graph(c: &mut Criterion) {
    let dir = tempfile::TempDir::new().expect("temp dir");
    let (python, go) = (5000, 5000);
    synthetic::write_repo(dir.path(), python, go).expect("generate repository");
    synthetic::commit_repo(dir.path());
    let repo = Repository::discover(dir.path()).expect("open repository");
    let cache = FactsCache::of_work_tree(&repo.root).expect("a facts cache");
    let build = |options: &GraphOptions| {
        let scan = scan_repo(&repo).expect("scan");
        build_graph(&repo.root, &scan, options).expect("graph")
    };
    let cached = GraphOptions::default();
    let no_cache = GraphOptions {
        cache: false,
        ..GraphOptions::default()
    };

    let mut group = c.benchmark_group("graph");
    group.sample_size(10);
    let files = scan_repo(&repo).expect("scan").sources.len() as u64;
    group.throughput(Throughput::Elements(files));
    group.bench_function("scan_10k_files", |b| {
        b.iter(|| scan_repo(&repo).expect("scan"));
    });
    group.bench_function("build_10k_files_no_cache", |b| {
        b.iter_with_large_drop(|| build(&no_cache));
    });
    group.bench_function("build_10k_files_cold", |b| {
        b.iter_batched(
            || cache.clear().expect("clear the cache"),
            |()| build(&cached),
            BatchSize::PerIteration,
        );
    });
    build(&cached);
    group.bench_function("build_10k_files_warm", |b| {
        b.iter_with_large_drop(|| build(&cached));
    });
    // A leaf: the last Python module, which nothing imports, changed to new content every
    // time (content the cache has seen would be a hit).
    let last = python - 1;
    let leaf = dir
        .path()
        .join(format!("src/synth/p{}/m{}.py", last / 100, last % 100));
    let original = std::fs::read_to_string(&leaf).expect("read the leaf");
    let mut round = 0u64;
    group.bench_function("build_10k_files_one_leaf_changed", |b| {
        b.iter_batched(
            || {
                round += 1;
                std::fs::write(&leaf, format!("{original}\n# change {round}\n"))
                    .expect("change the leaf");
            },
            |()| build(&cached),
            BatchSize::PerIteration,
        );
    });
    std::fs::write(&leaf, original).expect("restore the leaf");
    group.finish();
}

criterion_group!(benches, bench_graph);
criterion_main!(benches);
