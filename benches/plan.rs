//! Planning and transforms over a generated repository of 5,000 Python and 5,000 Go files:
//! packing every file into batches, a rename of a symbol used by a hundred files, and a rewrite
//! whose query runs over every Go file; then the edits of every batch of each.

mod synthetic;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use git_ripple::context::{self, Ask};
use git_ripple::graph::{GraphOptions, build_graph};
use git_ripple::plan::{PackItem, check, pack, plan_recipe};
use git_ripple::recipe::{RecipeSource, parse_recipe};
use git_ripple::scan::{Repository, View, scan_repo};
use git_ripple::transform::{self, BatchInput, transform_batch};

const RENAME: &str = r#"
name = "bench-rename"
[[step]]
kind = "rename"
symbol = "synth.p0.m0.f0_0"
to = "g0_0"
[batch]
max_files = 20
"#;

const REWRITE: &str = r#"
name = "bench-rewrite"
[[step]]
kind = "rewrite"
language = "go"
query = '((call_expression function: (selector_expression operand: (identifier) @pkg field: (field_identifier) @fn)) @match (#eq? @pkg "strings") (#eq? @fn "ToUpper"))'
template = "strings.ToUpper"
[batch]
max_files = 20
"#;

fn bench_plan(c: &mut Criterion) {
    let dir = tempfile::TempDir::new().expect("temp dir");
    synthetic::write_repo(dir.path(), 5000, 5000).expect("generate repository");
    synthetic::commit_repo(dir.path());
    let repo = Repository::discover(dir.path()).expect("open repository");
    let scan = scan_repo(&repo).expect("scan");
    let graph = build_graph(&repo.root, &scan, &GraphOptions::default()).expect("graph");

    let mut group = c.benchmark_group("plan");
    group.sample_size(10);

    let items: Vec<PackItem> = graph
        .files
        .iter()
        .enumerate()
        .map(|(f, node)| PackItem {
            name: node.path.clone(),
            group: node
                .path
                .rsplit_once('/')
                .map(|(d, _)| d)
                .unwrap_or("")
                .to_string(),
            class: None,
            tokens: node.size / 4,
            deps: graph.dependencies(f).to_vec(),
            together: Vec::new(),
        })
        .collect();
    group.throughput(Throughput::Elements(items.len() as u64));
    group.bench_function("pack_10k_files", |b| b.iter(|| pack(&items, 20, 32_000)));

    for (name, text) in [("rename_fan_in", RENAME), ("rewrite_5k_go_files", REWRITE)] {
        let recipe = parse_recipe(RecipeSource::bundled(name, text)).expect("recipe");
        check::check_recipe(&recipe, &graph).expect("recipe checks");
        let plan = plan_recipe(View::disk(&repo.root), &graph, &recipe).expect("plan");
        eprintln!(
            "{name}: {} targets, {} batches",
            plan.steps[0].targets.len(),
            plan.totals.batches
        );
        group.throughput(Throughput::Elements(plan.steps[0].targets.len() as u64));
        group.bench_function(name, |b| {
            b.iter(|| plan_recipe(View::disk(&repo.root), &graph, &recipe).expect("plan"))
        });
        // The transform of every batch (what a dry run computes), without writing.
        let ctx = transform::Context {
            view: View::disk(&repo.root),
            graph: &graph,
            model: None,
            ledger: &[],
            budget: context::DEFAULT_BUDGET,
            focus_above: git_ripple::recipe::FOCUS_ABOVE,
        };
        // (A rename's contract batch removes what the expand batch added, which this
        // benchmark does not write; it is a few bytes of work and left out.)
        let batches: Vec<_> = plan.steps[0]
            .batches
            .iter()
            .filter(|b| b.phase != Some(git_ripple::plan::Phase::Contract))
            .collect();
        group.bench_function(format!("transform_{name}"), |b| {
            b.iter(|| {
                for batch in &batches {
                    let input = BatchInput {
                        files: &batch.files,
                        phase: batch.phase,
                    };
                    transform_batch(&ctx, &recipe.steps[0].action, &input).expect("transform");
                }
            })
        });
    }
    // Context assembly for a model batch: contracts of everything 20 files use, token counts.
    let files: Vec<String> = graph
        .files
        .iter()
        .filter(|f| f.path.starts_with("src/synth/p10/"))
        .take(20)
        .map(|f| f.path.clone())
        .collect();
    let read = |p: &str| std::fs::read_to_string(repo.root.join(p)).ok();
    let ask = Ask {
        instructions: "Add type hints everywhere.",
        files: &files,
        graph: &graph,
        read: &read,
        ledger: &[],
        budget: 24_000,
        focus: &[],
        focus_above: git_ripple::recipe::FOCUS_ABOVE,
    };
    let prompt = context::first_request(&ask).prompt;
    eprintln!(
        "context_20_files: {} tokens, {} parts, {} contracts dropped",
        prompt.tokens,
        prompt.parts.len(),
        prompt.dropped.len()
    );
    group.throughput(Throughput::Elements(files.len() as u64));
    group.bench_function("context_20_files", |b| {
        b.iter(|| context::first_request(&ask))
    });
    group.finish();
}

criterion_group!(benches, bench_plan);
criterion_main!(benches);
