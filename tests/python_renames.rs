//! Python renames end to end where scoping and re-exports decide what a name is: a function
//! that imports a same-named function locally, the explicit re-export idiom
//! (`from .core import f as f`), and a script whose file name no import can spell. Every
//! commit passes the repository's own tests.

use std::path::Path;

use crate::common::{
    assert_each_commit_passes, commits_between, repo_with_files, ripple_ok, symbol_references,
};

const PYTEST: &[&[&str]] = &[&["python3", "-m", "pytest", "-q", "-p", "no:cacheprovider"]];

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
