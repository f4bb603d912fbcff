//! Real Python packages (source distributions from PyPI, pinned in `scripts/fetch-real-code`,
//! which the test command runs): every symbol's references against jedi, and renames of a
//! function, a class, a method with overrides and an attribute, each checked by the package's
//! own test suite.

use std::path::{Path, PathBuf};
use std::process::Command;

use tempfile::TempDir;

use crate::common::{commits_between, repo_copy, ripple_ok};
use crate::python_ground_truth::{Known, compare_repo};

/// An unpacked package from the cache `scripts/fetch-real-code` fills, committed in a temp dir.
fn real_package(name: &str) -> TempDir {
    let cache = std::env::var_os("RIPPLE_REAL_CODE")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("XDG_CACHE_HOME")
                .map(|c| PathBuf::from(c).join("git-ripple/real-code"))
        })
        .or_else(|| {
            std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/git-ripple/real-code"))
        })
        .expect("a cache folder");
    let dir = cache.join(name);
    assert!(
        dir.join(".unpacked").exists(),
        "{} is missing: run scripts/fetch-real-code (the test command does)",
        dir.display()
    );
    repo_copy(&dir)
}

const CLICK_KNOWN: &[Known] = &[
    Known {
        symbol: "click._compat._get_windows_console_stream",
        site: "src/click/_compat.py:510:30",
        reason: "one global bound twice: `from ._winconsole import _get_windows_console_stream` under `if sys.platform.startswith(\"win\")` and a `def` of the same name for other platforms; jedi merges the two functions, git-ripple keeps them apart and a rename of either keeps the other binding working (the import becomes `new as old` or `old as new`, python_renames proves both branches green)",
    },
    Known {
        symbol: "click._compat._get_windows_console_stream",
        site: "src/click/_winconsole.py:263:5",
        reason: "one global bound twice: `from ._winconsole import _get_windows_console_stream` under `if sys.platform.startswith(\"win\")` and a `def` of the same name for other platforms; jedi merges the two functions, git-ripple keeps them apart and a rename of either keeps the other binding working (the import becomes `new as old` or `old as new`, python_renames proves both branches green)",
    },
    Known {
        symbol: "click._winconsole._get_windows_console_stream",
        site: "src/click/_compat.py:336:10",
        reason: "one global bound twice: `from ._winconsole import _get_windows_console_stream` under `if sys.platform.startswith(\"win\")` and a `def` of the same name for other platforms; jedi merges the two functions, git-ripple keeps them apart and a rename of either keeps the other binding working (the import becomes `new as old` or `old as new`, python_renames proves both branches green)",
    },
    Known {
        symbol: "click._winconsole._get_windows_console_stream",
        site: "src/click/_compat.py:345:10",
        reason: "one global bound twice: `from ._winconsole import _get_windows_console_stream` under `if sys.platform.startswith(\"win\")` and a `def` of the same name for other platforms; jedi merges the two functions, git-ripple keeps them apart and a rename of either keeps the other binding working (the import becomes `new as old` or `old as new`, python_renames proves both branches green)",
    },
    Known {
        symbol: "click._winconsole._get_windows_console_stream",
        site: "src/click/_compat.py:354:10",
        reason: "one global bound twice: `from ._winconsole import _get_windows_console_stream` under `if sys.platform.startswith(\"win\")` and a `def` of the same name for other platforms; jedi merges the two functions, git-ripple keeps them apart and a rename of either keeps the other binding working (the import becomes `new as old` or `old as new`, python_renames proves both branches green)",
    },
    Known {
        symbol: "click._winconsole._get_windows_console_stream",
        site: "src/click/_compat.py:561:9",
        reason: "one global bound twice: `from ._winconsole import _get_windows_console_stream` under `if sys.platform.startswith(\"win\")` and a `def` of the same name for other platforms; jedi merges the two functions, git-ripple keeps them apart and a rename of either keeps the other binding working (the import becomes `new as old` or `old as new`, python_renames proves both branches green)",
    },
    Known {
        symbol: "click.core.MultiCommand.resolve_command",
        site: "src/click/shell_completion.py:518:43",
        reason: "jedi does not narrow by `isinstance` (its goto there finds nothing): inside `if isinstance(command, MultiCommand):` the call is MultiCommand's",
    },
    Known {
        symbol: "click.core.MultiCommand.resolve_command",
        site: "src/click/shell_completion.py:529:47",
        reason: "jedi does not narrow by `isinstance` (its goto there finds nothing): inside `if isinstance(command, MultiCommand):` the call is MultiCommand's",
    },
    Known {
        symbol: "tests.test_testing.test_catch_exceptions.CustomError",
        site: "tests/test_testing.py:181:5",
        reason: "`CustomError = SystemExit` after the class, in the same test function: jedi lists the assignment's target as the class; it binds the name to another class, no use of this one",
    },
];

#[test]
fn click_references_equal_jedi_but_for_listed_cases() {
    let repo = real_package("click-8.1.7");
    compare_repo(repo.path(), "click 8.1.7", &["src"], CLICK_KNOWN, 4000);
}

const ITSDANGEROUS_KNOWN: &[Known] = &[
    Known {
        symbol: "itsdangerous.serializer.Serializer.iter_unsigners",
        site: "tests/test_itsdangerous/test_serializer.py:180:32",
        reason: "`serializer = serializer_factory(…)`, a pytest fixture (`partial(request.param, …)` over Serializer classes): at run time a Serializer; jedi's goto finds nothing there",
    },
    Known {
        symbol: "itsdangerous.serializer.Serializer.dumps",
        site: "tests/test_itsdangerous/test_serializer.py:136:34",
        reason: "`other = serializer_factory(…)` calls TestSerializer's own class fixture, `partial(request.param, …)` over `params=(Serializer, partial(Serializer, …))`: at run time a Serializer; jedi does not read `request.param` (its goto there finds nothing)",
    },
    Known {
        symbol: "itsdangerous.serializer.Serializer.dumps",
        site: "tests/test_itsdangerous/test_serializer.py:137:22",
        reason: "`other = serializer_factory(…)` calls TestSerializer's own class fixture, `partial(request.param, …)` over `params=(Serializer, partial(Serializer, …))`: at run time a Serializer; jedi does not read `request.param` (its goto there finds nothing)",
    },
    Known {
        symbol: "itsdangerous.serializer.Serializer.dumps",
        site: "tests/test_itsdangerous/test_serializer.py:143:34",
        reason: "`other = serializer_factory(…)` calls TestSerializer's own class fixture, `partial(request.param, …)` over `params=(Serializer, partial(Serializer, …))`: at run time a Serializer; jedi does not read `request.param` (its goto there finds nothing)",
    },
    Known {
        symbol: "itsdangerous.serializer.Serializer.dumps",
        site: "tests/test_itsdangerous/test_serializer.py:144:22",
        reason: "`other = serializer_factory(…)` calls TestSerializer's own class fixture, `partial(request.param, …)` over `params=(Serializer, partial(Serializer, …))`: at run time a Serializer; jedi does not read `request.param` (its goto there finds nothing)",
    },
    Known {
        symbol: "itsdangerous.serializer.Serializer.dumps",
        site: "tests/test_itsdangerous/test_serializer.py:154:44",
        reason: "`serializer = serializer_factory(…)` calls TestSerializer's own class fixture, `partial(request.param, …)` over `params=(Serializer, partial(Serializer, …))`: at run time a Serializer; jedi does not read `request.param` (its goto there finds nothing)",
    },
    Known {
        symbol: "itsdangerous.serializer.Serializer.dumps",
        site: "tests/test_itsdangerous/test_serializer.py:158:29",
        reason: "`serializer = serializer_factory(…)` calls TestSerializer's own class fixture, `partial(request.param, …)` over `params=(Serializer, partial(Serializer, …))`: at run time a Serializer; jedi does not read `request.param` (its goto there finds nothing)",
    },
    Known {
        symbol: "itsdangerous.serializer.Serializer.loads",
        site: "tests/test_itsdangerous/test_serializer.py:136:22",
        reason: "`other = serializer_factory(…)` calls TestSerializer's own class fixture, `partial(request.param, …)` over `params=(Serializer, partial(Serializer, …))`: at run time a Serializer; jedi does not read `request.param` (its goto there finds nothing)",
    },
    Known {
        symbol: "itsdangerous.serializer.Serializer.loads",
        site: "tests/test_itsdangerous/test_serializer.py:143:22",
        reason: "`other = serializer_factory(…)` calls TestSerializer's own class fixture, `partial(request.param, …)` over `params=(Serializer, partial(Serializer, …))`: at run time a Serializer; jedi does not read `request.param` (its goto there finds nothing)",
    },
    Known {
        symbol: "itsdangerous.serializer.Serializer.loads",
        site: "tests/test_itsdangerous/test_serializer.py:154:27",
        reason: "`serializer = serializer_factory(…)` calls TestSerializer's own class fixture, `partial(request.param, …)` over `params=(Serializer, partial(Serializer, …))`: at run time a Serializer; jedi does not read `request.param` (its goto there finds nothing)",
    },
    Known {
        symbol: "itsdangerous.serializer.Serializer.loads",
        site: "tests/test_itsdangerous/test_serializer.py:165:36",
        reason: "`fallback_serializer = serializer_factory(…)` calls TestSerializer's own class fixture, `partial(request.param, …)` over `params=(Serializer, partial(Serializer, …))`: at run time a Serializer; jedi does not read `request.param` (its goto there finds nothing)",
    },
    Known {
        symbol: "itsdangerous.serializer._PDataSerializer.dumps",
        site: "tests/test_itsdangerous/test_serializer.py:150:35",
        reason: "`serializer.serializer.dumps(…)` where `serializer = serializer_factory(…)`, TestSerializer's own class fixture (`partial(request.param, …)` over Serializer classes): the attribute is declared `_PDataSerializer`; jedi does not read `request.param` (its goto there finds nothing)",
    },
];

#[test]
fn itsdangerous_references_equal_jedi_but_for_listed_cases() {
    // pytest's prepend mode puts `tests` (the first folder up without `__init__.py`) on the
    // path, so `test_itsdangerous.test_serializer` is importable: jedi is told the same.
    let repo = real_package("itsdangerous-2.2.0");
    compare_repo(
        repo.path(),
        "itsdangerous 2.2.0",
        &["src", "tests"],
        ITSDANGEROUS_KNOWN,
        500,
    );
}

const JINJA2_KNOWN: &[Known] = &[
    Known {
        symbol: "jinja2.filters.HasHTML.__html__",
        site: "src/jinja2/filters.py:141:42",
        reason: "`t.cast(\"HasHTML\", value).__html__()`: jedi does not read the type `typing.cast` names in a string (its goto there finds nothing); the call is HasHTML's protocol method",
    },
    Known {
        symbol: "jinja2.filters.HasHTML.__html__",
        site: "src/jinja2/filters.py:1041:42",
        reason: "`t.cast(\"HasHTML\", value).__html__()`: jedi does not read the type `typing.cast` names in a string (its goto there finds nothing); the call is HasHTML's protocol method",
    },
    Known {
        symbol: "jinja2.nodes.Const.value",
        site: "src/jinja2/compiler.py:1041:41",
        reason: "jedi does not narrow by `isinstance` (its goto there finds nothing): inside `if isinstance(x, C):` the member is C's",
    },
    Known {
        symbol: "jinja2.nodes.Const.value",
        site: "src/jinja2/compiler.py:1043:43",
        reason: "jedi does not narrow by `isinstance` (its goto there finds nothing): inside `if isinstance(x, C):` the member is C's",
    },
    Known {
        symbol: "jinja2.nodes.Const.value",
        site: "src/jinja2/ext.py:709:36",
        reason: "jedi does not narrow by `isinstance` (its goto there finds nothing): inside `if isinstance(x, C):` the member is C's",
    },
    Known {
        symbol: "jinja2.nodes.Const.value",
        site: "src/jinja2/meta.py:89:53",
        reason: "jedi does not narrow by `isinstance` (its goto there finds nothing): inside `if isinstance(x, C):` the member is C's",
    },
    Known {
        symbol: "jinja2.nodes.Const.value",
        site: "src/jinja2/meta.py:90:49",
        reason: "jedi does not narrow by `isinstance` (its goto there finds nothing): inside `if isinstance(x, C):` the member is C's",
    },
    Known {
        symbol: "jinja2.nodes.Expr.as_const",
        site: "src/jinja2/optimizer.py:41:26",
        reason: "jedi does not narrow by `isinstance` (its goto there finds nothing): inside `if isinstance(x, C):` the member is C's",
    },
    Known {
        symbol: "jinja2.runtime.Undefined._fail_with_undefined_error",
        site: "src/jinja2/environment.py:1051:19",
        reason: "jedi does not narrow by `isinstance` (its goto there finds nothing): inside `if isinstance(x, C):` the member is C's",
    },
    Known {
        symbol: "jinja2.runtime.Undefined.__slots__",
        site: "src/jinja2/runtime.py:1052:15",
        reason: "`del Undefined.__slots__, …` after the classes: jedi's goto on a `del` target lands on a module-level name `jinja2.runtime.__slots__`, not the class attribute the statement deletes",
    },
    Known {
        symbol: "jinja2.runtime.ChainableUndefined.__slots__",
        site: "src/jinja2/runtime.py:1053:24",
        reason: "`del Undefined.__slots__, …` after the classes: jedi's goto on a `del` target lands on a module-level name `jinja2.runtime.__slots__`, not the class attribute the statement deletes",
    },
    Known {
        symbol: "jinja2.runtime.DebugUndefined.__slots__",
        site: "src/jinja2/runtime.py:1054:20",
        reason: "`del Undefined.__slots__, …` after the classes: jedi's goto on a `del` target lands on a module-level name `jinja2.runtime.__slots__`, not the class attribute the statement deletes",
    },
    Known {
        symbol: "jinja2.runtime.StrictUndefined.__slots__",
        site: "src/jinja2/runtime.py:1055:21",
        reason: "`del Undefined.__slots__, …` after the classes: jedi's goto on a `del` target lands on a module-level name `jinja2.runtime.__slots__`, not the class attribute the statement deletes",
    },
    Known {
        symbol: "tests.conftest.env",
        site: "tests/test_inheritance.py:84:27",
        reason: "a test module's own `@pytest.fixture def env()` overrides conftest.py's `env` for its tests (pytest looks up a fixture in the requesting module before conftest.py); jedi sends some of the module's `env` parameters to conftest's",
    },
    Known {
        symbol: "tests.conftest.env",
        site: "tests/test_inheritance.py:85:16",
        reason: "a test module's own `@pytest.fixture def env()` overrides conftest.py's `env` for its tests (pytest looks up a fixture in the requesting module before conftest.py); jedi sends some of the module's `env` parameters to conftest's",
    },
    Known {
        symbol: "tests.conftest.env",
        site: "tests/test_nativetypes.py:21:34",
        reason: "a test module's own `@pytest.fixture def env()` overrides conftest.py's `env` for its tests (pytest looks up a fixture in the requesting module before conftest.py); jedi sends some of the module's `env` parameters to conftest's",
    },
    Known {
        symbol: "tests.conftest.env",
        site: "tests/test_nativetypes.py:22:9",
        reason: "a test module's own `@pytest.fixture def env()` overrides conftest.py's `env` for its tests (pytest looks up a fixture in the requesting module before conftest.py); jedi sends some of the module's `env` parameters to conftest's",
    },
];

#[test]
fn jinja2_references_equal_jedi_but_for_listed_cases() {
    let repo = real_package("jinja2-3.1.4");
    compare_repo(
        repo.path(),
        "jinja2 3.1.4",
        &["src", "tests"],
        JINJA2_KNOWN,
        6000,
    );
}

/// click's own test suite, offline: `src` first on the path (an installed click must not stand
/// in for the repository's), and pytest's newer deprecations, which click 8.1.7's
/// `filterwarnings = error` would turn into collection errors, left as warnings.
const CLICK_TESTS: &str = "env PYTHONPATH=src python3 -m pytest -q -p no:cacheprovider -W ignore::pytest.PytestRemovedIn10Warning tests";

/// Run a rename of `symbol` to `to` on a fresh copy of click, verified batch by batch with
/// click's tests; returns the repository, on the rename's branch.
fn rename_click(symbol: &str, to: &str) -> TempDir {
    let repo = real_package("click-8.1.7");
    let dir = repo.path();
    let recipes = TempDir::new().expect("temp dir");
    let recipe = recipes.path().join("rename.toml");
    std::fs::write(
        &recipe,
        format!(
            "name = \"rename\"\n\n[verify]\ncommands = [\"{CLICK_TESTS}\"]\n\n[[step]]\nkind = \"rename\"\nsymbol = \"{symbol}\"\nto = \"{to}\"\n"
        ),
    )
    .expect("write recipe");
    let recipe = recipe.to_str().expect("utf-8 path");
    ripple_ok(dir, &["run", recipe]);
    let commits = commits_between(dir, "main", "ripple/rename");
    assert!(!commits.is_empty(), "{symbol}: no commits");
    repo
}

/// Python files on the branch where `pattern` (a git grep -E pattern) still matches in code:
/// Sphinx roles in docstrings (`:class:`~click.HelpFormatter``) are documentation, which the
/// plan lists as unsure sites and a rename with `unsure = "report"` leaves.
fn still_there(dir: &Path, pattern: &str) -> Vec<String> {
    let out = Command::new("git")
        .args(["grep", "-nE", pattern, "--", "*.py"])
        .current_dir(dir)
        .output()
        .expect("git grep");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| {
            ![":class:`", ":func:`", ":meth:`", ":attr:`"]
                .iter()
                .any(|r| l.contains(r))
        })
        .map(str::to_string)
        .collect()
}

#[test]
fn click_renames_of_a_function_a_class_an_overridden_method_and_an_attribute_are_green() {
    // A function re-exported by the package and used in tests and an example script.
    let repo = rename_click("click.utils.format_filename", "display_filename");
    assert_eq!(
        still_there(repo.path(), r"\bformat_filename\b"),
        Vec::<String>::new()
    );

    // A class used in string annotations (`formatter: "HelpFormatter"`), subclassed nowhere.
    let repo = rename_click("click.formatting.HelpFormatter", "TextFormatter");
    assert_eq!(
        still_there(repo.path(), r"\bHelpFormatter\b"),
        Vec::<String>::new()
    );

    // A method overridden by Choice and DateTime and by a ParamType subclass a test function
    // defines, called through `self.type`, an annotated attribute.
    let repo = rename_click("click.types.ParamType.get_metavar", "metavar_for");
    let dir = repo.path();
    assert_eq!(still_there(dir, r"\bget_metavar\b"), Vec::<String>::new());
    let custom = std::fs::read_to_string(dir.join("tests/test_formatting.py")).expect("read");
    assert!(
        custom.contains("        def metavar_for(self, param):"),
        "{custom}"
    );

    // An attribute assigned in `__init__` and read through typed contexts across the package;
    // the constructor's parameter of the same name is another thing and stays.
    let repo = rename_click("click.core.Context.resilient_parsing", "tolerant_parsing");
    let dir = repo.path();
    assert_eq!(
        still_there(dir, r"\.resilient_parsing\b"),
        Vec::<String>::new()
    );
    assert!(!still_there(dir, r"resilient_parsing: bool = False").is_empty());
}
