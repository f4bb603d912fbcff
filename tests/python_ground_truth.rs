//! Python references against an independent ground truth: jedi's `get_references` at the
//! definition of every function, class, method, attribute and variable of the Python
//! fixtures. Every difference is either an unsure site git-ripple reports, or listed below
//! with the reason (mostly where jedi is known to be wrong or does not look).

use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::common::{fixture_repo, ripple_ok};

/// A site (`file:line:column`) of a symbol where git-ripple and jedi differ, and why.
struct Known {
    symbol: &'static str,
    site: &'static str,
    reason: &'static str,
}

const SHOP_KNOWN: &[Known] = &[
    Known {
        symbol: "shopcore.db.queries.fetch_order",
        site: "src/shopcore/api/handlers.py:29:17",
        reason: "a use through an import alias (`fetch_order as fo`): jedi lists it under the alias; a rename keeps the alias and leaves the use",
    },
    Known {
        symbol: "shopcore.db.queries.fetch_order",
        site: "src/shopcore/api/handlers.py:40:56",
        reason: "a use through an import alias, as above",
    },
    Known {
        symbol: "shopcore.models.Order.status",
        site: "src/shopcore/db/queries.py:37:36",
        reason: "jedi infers `all()` from its body (`sorted(...)`: a list of unknown) over its `-> List[Order]` annotation, so it loses `o` in `[o for o in orders if o.status …]`",
    },
    Known {
        symbol: "shopcore.services.shipping.requests",
        site: "src/shopcore/services/shipping.py:10:12",
        reason: "`import requests` and the fallback `requests = None` bind one global; git-ripple's variable is the assignment, the import names the outside module",
    },
];

const TYPED_KNOWN: &[Known] = &[
    Known {
        symbol: "typedapp.models.Line.quantity",
        site: "src/typedapp/models.py:40:30",
        reason: "jedi does not read `dataclasses.replace(x, quantity=…)` keywords as the field",
    },
    Known {
        symbol: "typedapp.models.Point.x",
        site: "src/typedapp/models.py:48:30",
        reason: "jedi does not read `_replace(x=…)` keywords of a NamedTuple as the field",
    },
    Known {
        symbol: "typedapp.models.Point.x",
        site: "src/typedapp/views.py:43:19",
        reason: "jedi does not read a NamedTuple's constructor keywords as its fields",
    },
    Known {
        symbol: "typedapp.models.Point.x",
        site: "src/typedapp/views.py:44:52",
        reason: "jedi does not connect a NamedTuple subclass's annotated fields with `.x` on its instances",
    },
    Known {
        symbol: "typedapp.models.Point.y",
        site: "src/typedapp/views.py:43:24",
        reason: "jedi does not read a NamedTuple's constructor keywords as its fields",
    },
    Known {
        symbol: "typedapp.models.Page",
        site: "src/typedapp/views.py:54:12",
        reason: "a use through an import alias (`Page as Request`): jedi lists it under the alias",
    },
    Known {
        symbol: "typedapp.models.Request.render",
        site: "src/typedapp/views.py:91:22",
        reason: "jedi does not narrow by `isinstance` (it takes the `object` annotation; its `goto` at the site finds nothing); in the branch `thing` is a Request, and the fixture's own test calls it so (python_renames renames `Request.render` green)",
    },
    Known {
        symbol: "typedapp.models.Page.render",
        site: "src/typedapp/views.py:93:22",
        reason: "jedi does not narrow by `isinstance`, as above (an `elif` branch, the class reached as `models.Page`)",
    },
];

type Site = (String, u64, u64);

/// The billing fixture (every access path).
const BILLING_KNOWN: &[Known] = &[Known {
    symbol: "billing.invoice.Line.qty",
    site: "tests/test_invoice.py:19:38",
    reason: "a keyword of `dataclasses.replace(line, qty=4)`: jedi does not tie `replace`'s keywords to the dataclass's fields; the interpreter does (`replace` raises TypeError for an unknown field), and access_paths renames `Line.qty` green with it",
}];

fn site(file: &str, line: u64, column: u64) -> String {
    format!("{file}:{line}:{column}")
}

/// jedi's references for each definition (1-based lines and columns).
fn jedi(root: &Path, sys_path: &[&str], definitions: &[Site]) -> Vec<BTreeSet<String>> {
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ground_truth/jedi_references.py");
    let request = serde_json::json!({
        "root": root,
        "sys_path": sys_path,
        "definitions": definitions,
    });
    let mut child = Command::new("python3")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 runs (jedi is in tests/requirements.txt)");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(request.to_string().as_bytes())
        .expect("write request");
    let out = child.wait_with_output().expect("jedi finishes");
    assert!(
        out.status.success(),
        "jedi failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let refs: Vec<Vec<Site>> = serde_json::from_slice(&out.stdout).expect("jedi json");
    refs.into_iter()
        .map(|r| r.into_iter().map(|(f, l, c)| site(&f, l, c)).collect())
        .collect()
}

/// Compare every Python symbol's references with jedi's; returns (jedi's uses, unsure ones).
fn compare(fixture: &str, sys_path: &[&str], known: &[Known]) -> (usize, usize) {
    let repo = fixture_repo(fixture);
    let dir = repo.path();
    let graph: serde_json::Value =
        serde_json::from_str(&ripple_ok(dir, &["graph", "--format", "json"])).expect("graph json");
    let symbols: Vec<&serde_json::Value> = graph["symbols"]
        .as_array()
        .expect("symbols")
        .iter()
        .filter(|s| s["file"].as_str().is_some_and(|f| f.ends_with(".py")))
        .collect();
    let definitions: Vec<Site> = symbols
        .iter()
        .map(|s| {
            (
                s["file"].as_str().unwrap_or_default().to_string(),
                s["line"].as_u64().unwrap_or_default(),
                s["column"].as_u64().unwrap_or_default(),
            )
        })
        .collect();
    let truth = jedi(dir, sys_path, &definitions);
    let mut differences = Vec::new();
    let mut used_known = BTreeSet::new();
    let (mut total, mut unsure_total) = (0, 0);
    for (symbol, truth) in symbols.iter().zip(truth) {
        let id = symbol["id"].as_str().unwrap_or_default();
        let ours: serde_json::Value = serde_json::from_str(&ripple_ok(
            dir,
            &["graph", "--symbol", id, "--format", "json"],
        ))
        .expect("symbol json");
        let at = |r: &serde_json::Value| {
            site(
                r["file"].as_str().unwrap_or_default(),
                r["line"].as_u64().unwrap_or_default(),
                r["column"].as_u64().unwrap_or_default(),
            )
        };
        let refs: Vec<&serde_json::Value> = ours["references"]
            .as_array()
            .expect("references")
            .iter()
            .collect();
        // Code uses and the definition: what jedi reports (it does not read strings).
        let code: BTreeSet<String> = refs
            .iter()
            .filter(|r| r["kind"] == "code" || r["kind"] == "definition")
            .map(|r| at(r))
            .collect();
        let strings: BTreeSet<String> = refs
            .iter()
            .filter(|r| r["kind"] != "code" && r["kind"] != "definition")
            .map(|r| at(r))
            .collect();
        let unsure: BTreeSet<String> = ours["unsure"]
            .as_array()
            .map(|u| u.iter().map(at).collect())
            .unwrap_or_default();
        total += truth.len();
        unsure_total += truth.intersection(&unsure).count();
        let missed = truth
            .iter()
            .filter(|s| !code.contains(*s) && !unsure.contains(*s) && !strings.contains(*s));
        let wrong = code.iter().filter(|s| !truth.contains(*s));
        for (what, s) in missed
            .map(|s| ("missed", s))
            .chain(wrong.map(|s| ("wrong", s)))
        {
            match known.iter().position(|k| k.symbol == id && k.site == s) {
                Some(i) => {
                    used_known.insert(i);
                }
                None => differences.push(format!("{what} {id} at {s}")),
            }
        }
    }
    assert!(
        differences.is_empty(),
        "{fixture}: {} differences from jedi ({total} uses):\n{}",
        differences.len(),
        differences.join("\n")
    );
    let stale: Vec<String> = known
        .iter()
        .enumerate()
        .filter(|(i, _)| !used_known.contains(i))
        .map(|(_, k)| format!("{} at {} ({})", k.symbol, k.site, k.reason))
        .collect();
    assert!(
        stale.is_empty(),
        "known differences that no longer occur:\n{}",
        stale.join("\n")
    );
    eprintln!(
        "{fixture}: {total} jedi uses, {unsure_total} of them unsure, {} listed differences",
        known.len()
    );
    (total, unsure_total)
}

#[test]
fn shop_references_equal_jedi_but_for_listed_cases() {
    let (total, unsure) = compare("python/shop", &["src", "libs"], SHOP_KNOWN);
    assert!(total > 400, "{total}");
    assert!(unsure * 50 < total, "{unsure} unsure of {total}");
}

#[test]
fn members_through_values_equal_jedi_but_for_listed_cases() {
    let (total, unsure) = compare("python/typed", &["src"], TYPED_KNOWN);
    assert!(total > 150, "{total}");
    assert!(unsure * 50 < total, "{unsure} unsure of {total}");
}

#[test]
fn access_paths_equal_jedi_but_for_listed_cases() {
    let (total, unsure) = compare("python/billing", &["src"], BILLING_KNOWN);
    assert!(total > 80, "{total}");
    assert!(unsure * 50 < total, "{unsure} unsure of {total}");
}
