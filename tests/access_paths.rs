//! Every way a renamed Python symbol is reached keeps working at every commit of a run: through
//! a module that imported it (`invoice.parse_amount`), the explicit re-export idiom, star
//! imports (chained), a package's `__init__` and `__all__`; the public name of a package kept
//! (`public = "keep"`) or followed; attributes that cannot be aliased changed in one batch, or
//! kept behind a forwarding property when asked. Each run is proven with `git ripple check`
//! (pytest on every commit, in its own worktree) on the billing fixture.

use std::path::Path;

use crate::common::{Ripple, fixture_repo, ripple_ok};

/// Plan and run a rename of the billing fixture, one file per batch so every access path
/// crosses batches; every commit is then checked green. Returns the plan's text.
fn rename_green(dir: &Path, step: &str, batches: usize) -> String {
    let recipes = tempfile::TempDir::new().expect("temp dir");
    let recipe = recipes.path().join("rename.toml");
    std::fs::write(
        &recipe,
        format!(
            "name = \"rename\"\n\n[[step]]\nkind = \"rename\"\n{step}\n\n[batch]\nmax_files = 1\n\n[verify]\ncommands = [\"python3 -m pytest -q -p no:cacheprovider\"]\n"
        ),
    )
    .expect("write recipe");
    let recipe = recipe.to_str().expect("utf-8 path");
    let plan = ripple_ok(dir, &["plan", recipe]);
    ripple_ok(dir, &["run", recipe, "-q"]);
    let check = Ripple::new(dir).args(&["check", "-j", "2"]).ok();
    assert!(
        check.contains(&format!("bisect-clean: {batches}/{batches} commits green")),
        "{plan}\n{check}"
    );
    plan
}

fn read(dir: &Path, path: &str) -> String {
    std::fs::read_to_string(dir.join(path)).expect("read file")
}

/// Whether `text` has `word` as a whole word.
fn says(text: &str, word: &str) -> bool {
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    text.match_indices(word)
        .any(|(at, _)| !text[..at].ends_with(ident) && !text[at + word.len()..].starts_with(ident))
}

/// Every tracked Python file that still says `word`.
fn mentions(dir: &Path, word: &str) -> Vec<String> {
    crate::common::git(dir, &["ls-files", "*.py"])
        .lines()
        .filter(|f| says(&read(dir, f), word))
        .map(str::to_string)
        .collect()
}

#[test]
fn a_name_reached_through_importing_modules_keeps_working_until_its_users_move() {
    let repo = fixture_repo("python/billing");
    let dir = repo.path();
    // `report.py` says `invoice.parse_amount`, the script imports it from `compat.py` (`x as
    // x`), `test_invoice.py` through `invoice` too: both modules keep the old name until the
    // contract batch, and the users of each wait for its batch.
    let plan = rename_green(
        dir,
        "symbol = \"billing.money.parse_amount\"\nto = \"read_amount\"",
        8,
    );
    assert!(
        plan.contains("access paths: files in other batches reach `parse_amount` through src/billing/compat.py, src/billing/invoice.py; each keeps exporting it beside `read_amount` until the last batch removes it"),
        "{plan}"
    );
    assert_eq!(mentions(dir, "parse_amount"), Vec::<String>::new());
    assert!(read(dir, "src/billing/compat.py").contains("import read_amount as read_amount\n"));
    assert!(read(dir, "src/billing/report.py").contains("invoice.read_amount(price)"));
}

#[test]
fn names_a_chain_of_star_imports_brings_rename_green() {
    let repo = fixture_repo("python/billing");
    let dir = repo.path();
    // `test_money.py` has `tax_for` from `billing.invoice import *`, which has it from
    // `billing.rates import *` (whose `__all__` lists it).
    rename_green(
        dir,
        "symbol = \"billing.rates.tax_for\"\nto = \"tax_on\"",
        5,
    );
    assert_eq!(mentions(dir, "tax_for"), Vec::<String>::new());
    assert!(read(dir, "tests/test_money.py").contains("assert tax_on(1000) == 200"));
    assert!(read(dir, "src/billing/rates.py").contains("__all__ = [\"TAX_RATE\", \"tax_on\"]"));
}

#[test]
fn a_packages_public_name_follows_the_rename_or_is_kept() {
    let repo = fixture_repo("python/billing");
    let dir = repo.path();
    rename_green(
        dir,
        "symbol = \"billing.money.format_amount\"\nto = \"render_amount\"",
        6,
    );
    assert_eq!(mentions(dir, "format_amount"), Vec::<String>::new());
    assert!(read(dir, "tests/test_money.py").contains("billing.render_amount("));

    // `public = "keep"`: the package exports the new function under its old public name, and
    // what reaches it through the package is left alone; everything else moves.
    let repo = fixture_repo("python/billing");
    let dir = repo.path();
    let plan = rename_green(
        dir,
        "symbol = \"billing.money.format_amount\"\nto = \"render_amount\"\npublic = \"keep\"",
        5,
    );
    assert!(!plan.contains("tests/test_money.py"), "{plan}");
    let init = read(dir, "src/billing/__init__.py");
    assert!(
        init.contains("from .money import render_amount as format_amount\n")
            && init.contains("\"format_amount\"]"),
        "{init}"
    );
    assert!(read(dir, "tests/test_money.py").contains("billing.format_amount("));
    assert!(read(dir, "src/billing/report.py").contains("invoice.render_amount("));
    assert_eq!(
        mentions(dir, "format_amount"),
        ["src/billing/__init__.py", "tests/test_money.py"]
    );
}

#[test]
fn attributes_change_in_one_batch_unless_a_forwarding_property_is_asked_for() {
    // A dataclass field is also a keyword at construction (`Line("ink", qty=3)`,
    // `dataclasses.replace(line, qty=4)`): one batch, said in the plan.
    let repo = fixture_repo("python/billing");
    let dir = repo.path();
    let plan = rename_green(
        dir,
        "symbol = \"billing.invoice.Line.qty\"\nto = \"quantity\"",
        1,
    );
    assert!(
        plan.contains("one batch: an attribute has no plain alias"),
        "{plan}"
    );
    // `add`'s parameter `qty` is another name: it stays.
    assert_eq!(mentions(dir, "qty"), ["src/billing/invoice.py"]);
    assert!(read(dir, "src/billing/invoice.py").contains("line = Line(sku, quantity=qty, "));
    assert!(read(dir, "tests/test_invoice.py").contains("dataclasses.replace(line, quantity=4)"));

    // An instance attribute asked to keep a forwarding property cannot: the plan says why.
    let repo = fixture_repo("python/billing");
    let dir = repo.path();
    let plan = rename_green(
        dir,
        "symbol = \"billing.invoice.Statement.customer\"\nto = \"client\"\ncompat = \"alias\"",
        1,
    );
    assert!(
        plan.contains("no forwarding property: an attribute assigned in a method"),
        "{plan}"
    );

    // A class attribute read and written through instances keeps its old name as a property
    // while callers move (`statement.currency = "USD"` in a test writes the new attribute).
    let repo = fixture_repo("python/billing");
    let dir = repo.path();
    rename_green(
        dir,
        "symbol = \"billing.invoice.Statement.currency\"\nto = \"currency_code\"\ncompat = \"alias\"",
        4,
    );
    // The class's docstring is the class's: "printed in one currency" stays.
    assert_eq!(mentions(dir, "currency"), ["src/billing/invoice.py"]);
    let invoice = read(dir, "src/billing/invoice.py");
    assert!(
        invoice.contains("printed in one currency.\"\"\"\n\n    currency_code = \"EUR\"\n"),
        "{invoice}"
    );
    let first = crate::common::git(dir, &["show", "ripple/rename~3:src/billing/invoice.py"]);
    assert!(
        first.contains("    # Deprecated alias: use currency_code.\n    currency = property(lambda self: self.currency_code, lambda self, value: setattr(self, \"currency_code\", value))\n"),
        "{first}"
    );
}

#[test]
fn a_kept_constant_warns_when_read_through_its_module_or_package() {
    let repo = fixture_repo("python/billing");
    let dir = repo.path();
    let plan = rename_green(
        dir,
        "symbol = \"billing.rates.TAX_RATE\"\nto = \"VAT_RATE\"\ncompat = \"warn\"\nkeep_compat = true",
        4,
    );
    assert!(plan.contains("the last batch makes it warn"), "{plan}");
    let python = |code: &str| {
        std::process::Command::new("python3")
            .args(["-W", "error::DeprecationWarning", "-c", code])
            .current_dir(dir.join("src"))
            .output()
            .expect("python3 runs")
    };
    assert!(
        python("import billing, billing.rates; assert billing.VAT_RATE == 20")
            .status
            .success()
    );
    for old in [
        "from billing.rates import TAX_RATE",
        "import billing; billing.TAX_RATE",
    ] {
        let out = python(old);
        assert!(
            !out.status.success()
                && String::from_utf8_lossy(&out.stderr)
                    .contains("DeprecationWarning: `TAX_RATE` is deprecated; use `VAT_RATE`"),
            "{old}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
