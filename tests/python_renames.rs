//! Python renames end to end where scoping and re-exports decide what a name is: a function
//! that imports a same-named function locally, the explicit re-export idiom
//! (`from .core import f as f`), and a script whose file name no import can spell. Every
//! commit passes the repository's own tests.

use std::path::Path;

use crate::common::{
    PYTEST, assert_each_commit_passes, commits_between, repo_with_files, ripple_ok,
    symbol_references,
};

fn recipe(dir: &Path, step: &str) -> String {
    let path = dir.join("rename.toml");
    std::fs::write(
        &path,
        format!(
            "name = \"rename\"\n\n[verify]\ncommands = [\"python3 -m pytest -q -p no:cacheprovider\"]\n\n[[step]]\nkind = \"rename\"\n{step}\n"
        ),
    )
    .expect("write recipe");
    path.to_str().expect("utf-8 path").to_string()
}

/// Plan and run `step` on `dir`; every commit passes pytest. Returns the plan as text.
fn plan_and_run_green(dir: &Path, step: &str) -> String {
    let recipes = tempfile::TempDir::new().expect("temp dir");
    let recipe = recipe(recipes.path(), step);
    let plan = ripple_ok(dir, &["plan", &recipe]);
    ripple_ok(dir, &["run", &recipe]);
    let commits = commits_between(dir, "main", "ripple/rename");
    assert!(!commits.is_empty());
    assert_each_commit_passes(dir, &commits, PYTEST, "ripple/rename");
    plan
}

fn read(dir: &Path, path: &str) -> String {
    std::fs::read_to_string(dir.join(path)).expect("read file")
}

const STREAMS: &[(&str, &str)] = &[
    (
        "streams/__init__.py",
        "from .core import open_stream as open_stream\nfrom .core import reopen\n",
    ),
    (
        "streams/core.py",
        "def open_stream(p):\n    return \"core:\" + p\n\n\ndef reopen(p):\n    from ._impl import open_stream\n\n    return open_stream(p)\n",
    ),
    (
        "streams/_impl.py",
        "def open_stream(p):\n    return \"impl:\" + p\n",
    ),
    (
        "app.py",
        "from streams import open_stream\n\n\ndef main():\n    return open_stream(\"x\")\n\n\ndef local():\n    from streams._impl import open_stream\n\n    return open_stream(\"z\")\n\n\ndef nested():\n    import streams._impl as open_stream\n\n    return open_stream.open_stream(\"n\")\n",
    ),
    (
        "tools/run-checks.py",
        "import sys\n\nsys.path.insert(0, \".\")\n\nfrom streams.core import open_stream  # noqa: E402\n\nprint(open_stream(\"y\"))\n",
    ),
    (
        "tests/test_app.py",
        "import subprocess\nimport sys\n\nimport app\nimport streams\n\n\ndef test_main():\n    assert app.main() == \"core:x\"\n\n\ndef test_local_imports_are_their_own_names():\n    assert app.local() == \"impl:z\"\n    assert app.nested() == \"impl:n\"\n    assert streams.reopen(\"r\") == \"impl:r\"\n\n\ndef test_script():\n    out = subprocess.run([sys.executable, \"tools/run-checks.py\"], check=True, capture_output=True, text=True)\n    assert out.stdout == \"core:y\\n\"\n",
    ),
];

#[test]
fn a_local_import_is_the_name_it_imports_not_the_module_level_one() {
    let repo = repo_with_files(STREAMS);
    let refs = symbol_references(repo.path(), "streams.core.open_stream");
    // The definition, the re-export, app's import and call, the script's import and call; not
    // the calls in `reopen`, `local` and `nested`, which use local names.
    assert!(
        !refs.iter().any(|r| r.starts_with("streams/core.py:8")),
        "{refs:#?}"
    );
    assert!(
        !refs.iter().any(|r| r.starts_with("app.py:11")),
        "{refs:#?}"
    );
    let impl_refs = symbol_references(repo.path(), "streams._impl.open_stream");
    for at in [
        "streams/core.py:6",
        "streams/core.py:8",
        "app.py:9",
        "app.py:11",
        "app.py:17",
    ] {
        assert!(
            impl_refs.iter().any(|r| r.starts_with(at)),
            "{at} missing: {impl_refs:#?}"
        );
    }
}

#[test]
fn a_script_no_import_can_name_is_resolved_and_renamed() {
    let repo = repo_with_files(STREAMS);
    let refs = symbol_references(repo.path(), "streams.core.open_stream");
    for at in ["tools/run-checks.py:5", "tools/run-checks.py:7"] {
        assert!(
            refs.iter().any(|r| r.starts_with(at)),
            "{at} missing: {refs:#?}"
        );
    }
}

#[test]
fn renames_through_local_imports_re_export_idiom_and_scripts_are_green() {
    let repo = repo_with_files(STREAMS);
    plan_and_run_green(
        repo.path(),
        "symbol = \"streams.core.open_stream\"\nto = \"open_channel\"",
    );
    let dir = repo.path();
    assert_eq!(
        read(dir, "streams/__init__.py"),
        "from .core import open_channel as open_channel\nfrom .core import reopen\n"
    );
    let core = read(dir, "streams/core.py");
    assert!(core.starts_with("def open_channel(p):"), "{core}");
    assert!(
        core.contains("    from ._impl import open_stream\n\n    return open_stream(p)\n"),
        "{core}"
    );
    let app = read(dir, "app.py");
    assert!(app.contains("from streams import open_channel\n"), "{app}");
    assert!(app.contains("return open_channel(\"x\")"), "{app}");
    assert!(
        app.contains("from streams._impl import open_stream\n"),
        "{app}"
    );
    assert!(
        app.contains("return open_stream.open_stream(\"n\")"),
        "{app}"
    );
    let script = read(dir, "tools/run-checks.py");
    assert!(
        script.contains("from streams.core import open_channel"),
        "{script}"
    );
    assert!(script.contains("print(open_channel(\"y\"))"), "{script}");
}

/// A test folder without `__init__.py`: pytest's default import mode puts it first on
/// `sys.path`, so `import fakes` is `tests/fakes.py`.
const BASEDIR: &[(&str, &str)] = &[
    (
        "fakes.py",
        "def make():\n    return \"root fakes: not what the tests import\"\n",
    ),
    ("tests/fakes.py", "def make():\n    return \"fake\"\n"),
    (
        "tests/test_fakes.py",
        "import fakes\nfrom fakes import make\n\n\ndef test_make():\n    assert make() == \"fake\"\n    assert fakes.make() == \"fake\"\n",
    ),
];

#[test]
fn a_test_folder_is_an_import_root_as_pytest_makes_it() {
    let repo = repo_with_files(BASEDIR);
    let refs = symbol_references(repo.path(), "tests.fakes.make");
    for at in [
        "tests/test_fakes.py:2",
        "tests/test_fakes.py:6",
        "tests/test_fakes.py:7",
    ] {
        assert!(
            refs.iter().any(|r| r.starts_with(at)),
            "{at} missing: {refs:#?}"
        );
    }
    assert_eq!(
        symbol_references(repo.path(), "fakes.make"),
        Vec::<String>::new()
    );
    plan_and_run_green(repo.path(), "symbol = \"tests.fakes.make\"\nto = \"build\"");
    let test = read(repo.path(), "tests/test_fakes.py");
    assert!(test.contains("from fakes import build\n"), "{test}");
    assert!(test.contains("assert fakes.build() =="), "{test}");
    assert!(read(repo.path(), "fakes.py").starts_with("def make():"));
}

#[test]
fn with_the_importlib_import_mode_a_test_folder_is_no_root() {
    let mut files = BASEDIR.to_vec();
    files.push((
        "pytest.ini",
        "[pytest]\naddopts = --import-mode=importlib\n",
    ));
    let repo = repo_with_files(&files);
    assert_eq!(
        symbol_references(repo.path(), "tests.fakes.make"),
        Vec::<String>::new()
    );
}

/// A hierarchy whose methods are reached through `self` and `cls`: `Sub` inherits `render`
/// from `Base`, `Other` overrides it, and an unrelated class has a method of the same name.
const SHAPES: &[(&str, &str)] = &[
    (
        "shapes/base.py",
        "class Base:\n    registry = []\n\n    def render(self):\n        return \"base\"\n\n    def show(self):\n        return self.render()\n\n    @classmethod\n    def register(cls):\n        cls.registry.append(cls)\n        return cls.registry\n\n    @staticmethod\n    def helper(self):\n        return self.render()\n",
    ),
    (
        "shapes/sub.py",
        "from shapes.base import Base\n\n\nclass Sub(Base):\n    def twice(self):\n        return self.render() + self.render()\n\n\nclass Other(Base):\n    def render(self):\n        return \"other\"\n\n    def show(self):\n        return self.render() + \"!\"\n",
    ),
    (
        "shapes/unrelated.py",
        "class Page:\n    def render(self):\n        return \"page\"\n\n    def show(self):\n        return self.render()\n",
    ),
    (
        "tests/test_shapes.py",
        "from shapes.base import Base\nfrom shapes.sub import Other, Sub\nfrom shapes.unrelated import Page\n\n\ndef test_shapes():\n    assert Sub().show() == \"base\"\n    assert Sub().twice() == \"basebase\"\n    assert Other().show() == \"other!\"\n    assert Page().show() == \"page\"\n    assert Base.register() == [Base]\n",
    ),
];

#[test]
fn self_and_cls_reach_members_along_the_mro() {
    let repo = repo_with_files(SHAPES);
    let dir = repo.path();
    let refs = symbol_references(dir, "shapes.base.Base.render");
    // `show` in Base, `twice` in Sub (inherited); not Other's (it overrides), not Page's, not
    // the static method's `self` (just a parameter).
    assert_eq!(
        refs,
        vec![
            "shapes/base.py:8:21",
            "shapes/sub.py:6:21",
            "shapes/sub.py:6:37"
        ],
        "{refs:#?}"
    );
    assert_eq!(
        symbol_references(dir, "shapes.sub.Other.render"),
        vec!["shapes/sub.py:14:21"]
    );
    assert_eq!(
        symbol_references(dir, "shapes.unrelated.Page.render"),
        vec!["shapes/unrelated.py:6:21"]
    );
    let registry = symbol_references(dir, "shapes.base.Base.registry");
    assert_eq!(
        registry,
        vec!["shapes/base.py:12:13", "shapes/base.py:13:20"],
        "{registry:#?}"
    );
}

#[test]
fn renaming_a_method_renames_its_overrides_and_every_call_through_self() {
    let repo = repo_with_files(SHAPES);
    let dir = repo.path();
    let plan = plan_and_run_green(dir, "symbol = \"shapes.base.Base.render\"\nto = \"draw\"");
    assert!(plan.contains("shapes.sub.Other.render"), "{plan}");
    let base = read(dir, "shapes/base.py");
    assert!(base.contains("    def draw(self):\n"), "{base}");
    assert!(base.contains("        return self.draw()\n"), "{base}");
    // The static method's `self` is a plain parameter: not the class's receiver.
    assert!(
        base.contains("    def helper(self):\n        return self.render()\n"),
        "{base}"
    );
    let sub = read(dir, "shapes/sub.py");
    assert!(sub.contains("return self.draw() + self.draw()"), "{sub}");
    assert!(
        sub.contains("    def draw(self):\n        return \"other\""),
        "{sub}"
    );
    assert!(sub.contains("return self.draw() + \"!\""), "{sub}");
    let page = read(dir, "shapes/unrelated.py");
    assert!(
        page.contains("def render(self)") && page.contains("self.render()"),
        "{page}"
    );
}

#[test]
fn refusing_the_family_lists_the_overrides() {
    let repo = repo_with_files(SHAPES);
    let recipes = tempfile::TempDir::new().expect("temp dir");
    let recipe = recipe(
        recipes.path(),
        "symbol = \"shapes.base.Base.render\"\nto = \"draw\"\nfamily = \"refuse\"",
    );
    let out = crate::common::ripple(repo.path(), &["plan", &recipe]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("shapes.sub.Other.render"), "{err}");
}

/// Attributes a class body assigns and those `__init__` assigns through `self`, one of them
/// assigned again by a subclass.
const ACCOUNTS: &[(&str, &str)] = &[
    (
        "bank/account.py",
        "class Account:\n    currency = \"EUR\"\n\n    def __init__(self, owner):\n        self.owner = owner\n        self.balance = 0\n\n    def deposit(self, amount):\n        self.balance += amount\n        return self.balance\n\n    def label(self):\n        return self.owner + \" \" + self.currency\n\n\nclass Savings(Account):\n    def __init__(self, owner):\n        super().__init__(owner)\n        self.balance = 100\n\n    def interest(self):\n        return self.balance // 10\n",
    ),
    (
        "tests/test_account.py",
        "from bank.account import Account, Savings\n\n\ndef test_accounts():\n    a = Account(\"ann\")\n    assert a.deposit(5) == 5\n    assert a.label() == \"ann EUR\"\n    s = Savings(\"sam\")\n    assert s.interest() == 10\n    assert s.deposit(1) == 101\n",
    ),
];

#[test]
fn attributes_assigned_in_init_are_members_and_rename_with_their_reassignments() {
    let repo = repo_with_files(ACCOUNTS);
    let dir = repo.path();
    let refs = symbol_references(dir, "bank.account.Account.balance");
    for at in ["bank/account.py:9:14", "bank/account.py:10:21"] {
        assert!(
            refs.iter().any(|r| r.starts_with(at)),
            "{at} missing: {refs:#?}"
        );
    }
    assert_eq!(
        symbol_references(dir, "bank.account.Account.currency"),
        vec!["bank/account.py:13:40"]
    );
    let plan = plan_and_run_green(
        dir,
        "symbol = \"bank.account.Account.balance\"\nto = \"funds\"",
    );
    assert!(plan.contains("bank.account.Savings.balance"), "{plan}");
    let source = read(dir, "bank/account.py");
    assert!(!source.contains("balance"), "{source}");
    assert_eq!(source.matches("self.funds").count(), 5, "{source}");
}

/// Methods that code outside the repository calls by name: a hook of an outside base (reached
/// through a repository base), a test method, a special method.
const HOOKS: &[(&str, &str)] = &[
    (
        "checks/base.py",
        "import threading\nimport unittest\n\n\nclass Case(unittest.TestCase):\n    def setUp(self):\n        self.ready = True\n\n    def helper(self):\n        return 1\n\n\nclass Worker(threading.Thread):\n    def run(self):\n        self.done = True\n\n    def __eq__(self, other):\n        return self is other\n",
    ),
    (
        "checks/test_things.py",
        "from checks.base import Case\n\n\nclass TestThings(Case):\n    def setUp(self):\n        super().setUp()\n\n    def test_ready(self):\n        self.assertTrue(self.ready)\n        self.assertEqual(self.helper(), 1)\n",
    ),
];

#[test]
fn methods_outside_code_calls_by_name_are_refused_with_the_reason() {
    let repo = repo_with_files(HOOKS);
    let recipes = tempfile::TempDir::new().expect("temp dir");
    for (symbol, reason) in [
        ("checks.test_things.TestThings.setUp", "unittest.TestCase"),
        (
            "checks.test_things.TestThings.test_ready",
            "unittest.TestCase",
        ),
        ("checks.base.Worker.run", "threading.Thread"),
        ("checks.base.Worker.__eq__", "special method"),
    ] {
        let recipe = recipe(
            recipes.path(),
            &format!("symbol = \"{symbol}\"\nto = \"renamed\""),
        );
        let out = crate::common::ripple(repo.path(), &["plan", &recipe]);
        assert_eq!(out.status.code(), Some(2), "{symbol}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(reason), "{symbol}: {err}");
    }
    // A method of its own is free to rename, and the call through `self` in the subclass
    // follows it.
    plan_and_run_green(
        repo.path(),
        "symbol = \"checks.base.Case.helper\"\nto = \"assist\"",
    );
    let test = read(repo.path(), "checks/test_things.py");
    assert!(test.contains("self.assist()"), "{test}");
}

#[test]
fn a_method_reached_through_annotated_values_and_overrides_renames_green() {
    let repo = crate::common::fixture_repo("python/typed");
    let dir = repo.path();
    let plan = plan_and_run_green(
        dir,
        "symbol = \"typedapp.shapes.Base.draw\"\nto = \"paint\"",
    );
    assert!(plan.contains("typedapp.shapes.Other.draw"), "{plan}");
    let views = read(dir, "src/typedapp/views.py");
    assert!(views.contains("make(\"other\").paint()"), "{views}");
    let shapes = read(dir, "src/typedapp/shapes.py");
    assert!(
        !shapes.contains("self.draw()\n        return") && shapes.contains("def paint(self)"),
        "{shapes}"
    );
    // The static method's `self` is a plain parameter: nothing says what it is.
    assert!(
        shapes.contains("    def helper(self) -> str:\n        return self.draw()"),
        "{shapes}"
    );
    // A fixture parametrised over both classes: a union whose members all rename.
    let tests = read(dir, "tests/test_fixtures.py");
    assert!(tests.contains("shape_kind().paint()"), "{tests}");
    assert!(plan.contains("through a union of classes"), "{plan}");
}

#[test]
fn a_class_used_in_string_annotations_and_through_values_renames_green() {
    let repo = crate::common::fixture_repo("python/typed");
    let dir = repo.path();
    plan_and_run_green(dir, "symbol = \"typedapp.models.Request\"\nto = \"Query\"");
    let models = read(dir, "src/typedapp/models.py");
    assert!(
        models.contains("def child(self, name: str) -> \"Query\":"),
        "{models}"
    );
    assert!(
        models.contains("def __init__(self, req: \"Query\"):"),
        "{models}"
    );
    let init = read(dir, "src/typedapp/__init__.py");
    assert!(
        init.contains("from .models import Query as Query"),
        "{init}"
    );
    let views = read(dir, "src/typedapp/views.py");
    assert!(views.contains("def show(req: Query) -> str:"), "{views}");
    assert!(
        views.contains("extra: \"models.Query | None\" = None"),
        "{views}"
    );
}

const CLOCK: &[(&str, &str)] = &[
    (
        "pyproject.toml",
        "[tool.pytest.ini_options]\npythonpath = [\".\"]\n",
    ),
    ("app/__init__.py", ""),
    (
        "app/clock.py",
        "import time\n\n\ndef now():\n    return time.time()\n\n\nclass Clock:\n    def tick(self):\n        return now()\n\n\ndef stamp():\n    return f\"t={now()}\"\n",
    ),
    (
        "app/report.py",
        "from app import clock\n\n\ndef header():\n    return \"at \" + str(clock.now())\n",
    ),
    (
        "tests/test_clock.py",
        "from unittest import mock\n\nfrom app import clock, report\n\n\ndef test_stamp_uses_the_patched_clock():\n    with mock.patch(\"app.clock.now\", return_value=5):\n        assert clock.stamp() == \"t=5\"\n\n\ndef test_header(monkeypatch):\n    monkeypatch.setattr(\"app.clock.now\", lambda: 7)\n    assert report.header() == \"at 7\"\n\n\ndef test_object():\n    with mock.patch.object(clock, \"now\", return_value=9):\n        assert clock.stamp() == \"t=9\"\n\n\ndef test_tick(monkeypatch):\n    monkeypatch.setattr(clock.Clock, \"tick\", lambda self: 3)\n    assert clock.Clock().tick() == 3\n",
    ),
];

#[test]
fn patch_targets_name_the_symbol_and_rename_with_it_green() {
    let repo = repo_with_files(CLOCK);
    let dir = repo.path();
    let refs = symbol_references(dir, "app.clock.now");
    for site in [
        "tests/test_clock.py:7:32",
        "tests/test_clock.py:12:36",
        "tests/test_clock.py:17:36",
    ] {
        assert!(
            refs.iter().any(|r| r.starts_with(site)),
            "{site} missing in {refs:?}"
        );
    }
    // Left behind, `mock.patch("app.clock.now")` would patch the alias while `stamp` calls the
    // new name: the test file renames with the definition, in one commit.
    let plan = plan_and_run_green(dir, "symbol = \"app.clock.now\"\nto = \"current_time\"");
    assert!(plan.contains("patch target string"), "{plan}");
    let test = read(dir, "tests/test_clock.py");
    assert!(
        test.contains("mock.patch(\"app.clock.current_time\""),
        "{test}"
    );
    assert!(
        test.contains("monkeypatch.setattr(\"app.clock.current_time\""),
        "{test}"
    );
    assert!(
        test.contains("mock.patch.object(clock, \"current_time\""),
        "{test}"
    );

    let repo = repo_with_files(CLOCK);
    let dir = repo.path();
    plan_and_run_green(dir, "symbol = \"app.clock.Clock.tick\"\nto = \"advance\"");
    let test = read(dir, "tests/test_clock.py");
    assert!(
        test.contains("monkeypatch.setattr(clock.Clock, \"advance\""),
        "{test}"
    );
}

#[test]
fn isinstance_narrows_a_value_to_its_class_in_the_branch() {
    // `if isinstance(thing, Request): thing.render()` is Request's; the `elif` for Page is
    // Page's own `render`, which stays.
    let repo = crate::common::fixture_repo("python/typed");
    let dir = repo.path();
    plan_and_run_green(
        dir,
        "symbol = \"typedapp.models.Request.render\"\nto = \"to_text\"",
    );
    let views = read(dir, "src/typedapp/views.py");
    assert!(
        views.contains(
            "    if isinstance(thing, Request):\n        return thing.to_text()\n    elif isinstance(thing, models.Page):\n        return thing.render()"
        ),
        "{views}"
    );
}

/// One global bound by an import on one platform and by a `def` on the others (click's
/// `_compat._get_windows_console_stream`).
const PLATFORMS: &[(&str, &str)] = &[
    ("pkg/__init__.py", ""),
    (
        "pkg/_win.py",
        "def get_stream(x):\n    return \"win\" + x\n",
    ),
    (
        "pkg/compat.py",
        "import sys\n\nif sys.platform.startswith(\"win\"):\n    from ._win import get_stream\nelse:\n\n    def get_stream(x):\n        return \"posix\" + x\n\n\ndef text():\n    return get_stream(\"!\")\n",
    ),
    (
        "tests/test_compat.py",
        "import subprocess\nimport sys\n\nfrom pkg.compat import text\n\n\ndef test_here():\n    assert text() == \"posix!\"\n\n\ndef test_on_windows():\n    # The other branch, as Windows runs it.\n    code = \"import sys; sys.platform = 'win32'; from pkg.compat import text; print(text())\"\n    out = subprocess.run([sys.executable, \"-c\", code], check=True, capture_output=True, text=True)\n    assert out.stdout == \"win!\\n\"\n",
    ),
];

#[test]
fn a_name_bound_by_an_import_and_a_def_keeps_working_on_both_platforms() {
    // Renaming the imported function keeps the module's name (`new as old`); renaming the
    // module's own function makes the import bind the new name (`old as new`). Both branches
    // run in the tests, the Windows one in a subprocess with `sys.platform` set.
    let repo = repo_with_files(PLATFORMS);
    let dir = repo.path();
    plan_and_run_green(
        dir,
        "symbol = \"pkg._win.get_stream\"\nto = \"open_console\"",
    );
    let compat = read(dir, "pkg/compat.py");
    assert!(
        compat.contains("from ._win import open_console as get_stream\n"),
        "{compat}"
    );
    assert!(compat.contains("return get_stream(\"!\")"), "{compat}");

    let repo = repo_with_files(PLATFORMS);
    let dir = repo.path();
    plan_and_run_green(
        dir,
        "symbol = \"pkg.compat.get_stream\"\nto = \"open_console\"",
    );
    let compat = read(dir, "pkg/compat.py");
    assert!(
        compat.contains("from ._win import get_stream as open_console\n"),
        "{compat}"
    );
    assert!(compat.contains("def open_console(x):"), "{compat}");
    assert!(compat.contains("return open_console(\"!\")"), "{compat}");
}

/// A function named outside code: an entry point in pyproject.toml (exact), a settings string
/// and documentation (likely, never proven). The tests resolve the entry points and the
/// setting with the interpreter.
const MENTIONED: &[(&str, &str)] = &[
    (
        "pyproject.toml",
        "[project]\nname = \"billing\"\nversion = \"1.0\"\n\n[project.scripts]\nbill = \"billing.cli:main\"\nbill-menu = \"billing.cli:main_menu\"\n\n[tool.pytest.ini_options]\npythonpath = [\"src\"]\n",
    ),
    ("src/billing/__init__.py", ""),
    (
        "src/billing/cli.py",
        "def main():\n    \"\"\"Print the bill.\"\"\"\n    return \"bill\"\n\n\ndef main_menu():\n    return \"menu\"\n",
    ),
    (
        "src/billing/settings.py",
        "# The handler the scheduler imports by its path.\nHANDLER = \"billing.cli.main\"\n",
    ),
    (
        "docs/api.rst",
        "API\n===\n\n.. autofunction:: billing.cli.main\n\nCall :func:`billing.cli.main` to print the bill.\n",
    ),
    (
        "tests/test_cli.py",
        "import importlib\nimport tomllib\nfrom pathlib import Path\n\nfrom billing import settings\n\n\ndef load(path):\n    module, _, attr = path.replace(\":\", \".\").rpartition(\".\")\n    return getattr(importlib.import_module(module), attr)\n\n\ndef test_entry_points_resolve():\n    scripts = tomllib.loads(Path(\"pyproject.toml\").read_text())[\"project\"][\"scripts\"]\n    assert load(scripts[\"bill\"])() == \"bill\"\n    assert load(scripts[\"bill-menu\"])() == \"menu\"\n\n\ndef test_the_settings_handler_resolves():\n    assert load(settings.HANDLER)() == \"bill\"\n",
    ),
];

#[test]
fn entry_points_rename_with_the_symbol_and_other_mentions_are_listed() {
    let step = "symbol = \"billing.cli.main\"\nto = \"print_bill\"";

    // Report (the default): the entry point is renamed, the rest listed; the setting is run
    // by something, so the old name stays as an alias for it.
    let repo = repo_with_files(MENTIONED);
    let dir = repo.path();
    let plan = plan_and_run_green(dir, step);
    assert!(
        plan.contains("pyproject.toml      names `main` in an entry point (`module:object`)"),
        "{plan}"
    );
    for listed in [
        "docs/api.rst:4:31 (an autodoc directive)",
        "docs/api.rst:6:25 (a Sphinx cross-reference role)",
        "src/billing/settings.py:2:24 (a dotted path in a string)",
    ] {
        assert!(plan.contains(listed), "{listed} in\n{plan}");
    }
    assert!(
        plan.contains("`main` stays as a deprecated alias after the run"),
        "{plan}"
    );
    assert!(
        read(dir, "pyproject.toml")
            .contains("bill = \"billing.cli:print_bill\"\nbill-menu = \"billing.cli:main_menu\"")
    );
    assert!(read(dir, "src/billing/settings.py").contains("\"billing.cli.main\""));
    assert!(read(dir, "docs/api.rst").contains(":func:`billing.cli.main`"));

    // `unsure = "rename"`: every mention goes, and no alias is needed.
    let repo = repo_with_files(MENTIONED);
    let dir = repo.path();
    plan_and_run_green(dir, &format!("{step}\nunsure = \"rename\""));
    assert!(read(dir, "src/billing/settings.py").contains("\"billing.cli.print_bill\""));
    let docs = read(dir, "docs/api.rst");
    assert!(
        docs.contains(".. autofunction:: billing.cli.print_bill\n"),
        "{docs}"
    );
    assert!(docs.contains(":func:`billing.cli.print_bill`"), "{docs}");
    assert!(!read(dir, "src/billing/cli.py").contains("main = print_bill"));

    // `unsure = "fail"`: refused, pointing at the symbol in the recipe.
    let repo = repo_with_files(MENTIONED);
    let dir = repo.path();
    let recipes = tempfile::TempDir::new().expect("temp dir");
    let recipe = recipe(recipes.path(), &format!("{step}\nunsure = \"fail\""));
    let out = crate::common::ripple(dir, &["plan", &recipe]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("3 places outside code may name `billing.cli.main` by its path"),
        "{err}"
    );
    assert!(err.contains("symbol = \"billing.cli.main\""), "{err}");
}

#[test]
fn a_generic_base_is_its_class_for_the_mro() {
    // `class Mixin(Serializer[str])` (itsdangerous): `super().dump` in the mixin is the
    // generic base's method.
    let repo = repo_with_files(&[
        ("pkg/__init__.py", ""),
        (
            "pkg/base.py",
            "import typing as t\n\nT = t.TypeVar(\"T\")\n\n\nclass Serializer(t.Generic[T]):\n    def dump(self, obj):\n        return str(obj)\n",
        ),
        (
            "pkg/mixin.py",
            "from .base import Serializer\n\n\nclass Mixin(Serializer[str]):\n    def dump(self, obj):\n        return \"m\" + super().dump(obj)\n",
        ),
    ]);
    let refs = symbol_references(repo.path(), "pkg.base.Serializer.dump");
    assert!(refs.contains(&"pkg/mixin.py:6:30".to_string()), "{refs:#?}");
}
