//! A generated repository for benchmarks: `python` Python modules in packages of 100 and `go`
//! Go files in packages of 50, each importing and calling a few earlier ones, so the graph has
//! realistic fan-in and fan-out. Shared by the criterion benches and `examples/synthetic_repo`.

use std::fmt::Write as _;
use std::path::Path;

/// `git init` the folder and commit everything, as a user's repository would be (isolated from
/// the user's git configuration).
pub fn commit_repo(root: &Path) {
    for args in [
        &["init", "-q"][..],
        &["add", "-A"][..],
        &["commit", "-q", "-m", "synthetic"][..],
    ] {
        let status = std::process::Command::new("git")
            .args(args)
            .current_dir(root)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_NAME", "bench")
            .env("GIT_AUTHOR_EMAIL", "bench@ripple.invalid")
            .env("GIT_COMMITTER_NAME", "bench")
            .env("GIT_COMMITTER_EMAIL", "bench@ripple.invalid")
            .status()
            .expect("run git");
        assert!(status.success(), "git {args:?}");
    }
}

/// Write the repository's files under `root` (which must exist).
pub fn write_repo(root: &Path, python: usize, go: usize) -> std::io::Result<()> {
    std::fs::write(
        root.join("pyproject.toml"),
        "[project]\nname = \"synth\"\n\n[tool.setuptools.packages.find]\nwhere = [\"src\"]\n",
    )?;
    std::fs::write(root.join("go.mod"), "module example.com/synth\n\ngo 1.22\n")?;
    for i in 0..python {
        let (pkg, module) = (i / 100, i % 100);
        let dir = root.join(format!("src/synth/p{pkg}"));
        if module == 0 {
            std::fs::create_dir_all(&dir)?;
            std::fs::write(
                dir.join("__init__.py"),
                "from .m0 import f0_0\n\n__all__ = [\"f0_0\"]\n",
            )?;
        }
        let mut s =
            String::from("\"\"\"Generated module.\"\"\"\nimport os\nfrom typing import List\n\n");
        let deps: Vec<usize> = [1usize, 7, 31]
            .iter()
            .filter(|&&d| i >= d)
            .map(|d| i - d)
            .collect();
        for &d in &deps {
            let _ = writeln!(
                s,
                "from synth.p{}.m{} import f{}_0, Model{}",
                d / 100,
                d % 100,
                d,
                d
            );
        }
        if i >= 100 {
            let _ = writeln!(s, "import synth.p{} as base", i / 100 - 1);
        }
        let _ = write!(
            s,
            "\n\nclass Model{i}:\n    \"\"\"A model.\"\"\"\n\n    def __init__(self, value: int) -> None:\n        self.value = value\n\n    def total(self, items: List[int]) -> int:\n        local = sum(items)\n        return local + self.value\n\n"
        );
        for f in 0..3 {
            let _ = writeln!(
                s,
                "\ndef f{i}_{f}(x: int) -> int:\n    \"\"\"Compute something.\"\"\"\n    y = x * {f} + len(os.sep)"
            );
            for &d in &deps {
                let _ = writeln!(s, "    y += f{d}_0(y) + Model{d}(y).total([y])");
            }
            if i >= 100 && f == 0 {
                let _ = writeln!(s, "    y += base.f0_0(y)");
            }
            let _ = writeln!(s, "    return y\n");
        }
        std::fs::write(dir.join(format!("m{module}.py")), s)?;
    }
    for i in 0..go {
        let (pkg, file) = (i / 50, i % 50);
        let dir = root.join(format!("pkg/g{pkg}"));
        if file == 0 {
            std::fs::create_dir_all(&dir)?;
        }
        let mut s = format!(
            "// Package g{pkg} is generated.\npackage g{pkg}\n\nimport (\n\t\"fmt\"\n\t\"strings\"\n"
        );
        let deps: Vec<usize> = [1usize, 3]
            .iter()
            .filter(|&&d| pkg >= d)
            .map(|d| pkg - d)
            .collect();
        for &d in &deps {
            let _ = writeln!(s, "\n\tg{d} \"example.com/synth/pkg/g{d}\"");
        }
        let _ = write!(
            s,
            ")\n\n// Item{file} is a generated type.\ntype Item{file} struct {{\n\tName  string\n\tCount int\n}}\n\n// Describe says what the item is.\nfunc (it *Item{file}) Describe() string {{\n\treturn fmt.Sprintf(\"%s:%d\", strings.ToUpper(it.Name), it.Count)\n}}\n\n"
        );
        for f in 0..3 {
            let _ = writeln!(
                s,
                "// F{file}x{f} computes something.\nfunc F{file}x{f}(x int) int {{\n\ty := x + {f}"
            );
            for &d in &deps {
                let _ = writeln!(
                    s,
                    "\ty += g{d}.F{file}x0(y)\n\tv := g{d}.Item{file}{{Name: \"n\", Count: y}}\n\ty += len(v.Describe())"
                );
            }
            if file > 0 {
                let _ = writeln!(s, "\ty += F{}x0(y)", file - 1);
            }
            let _ = writeln!(s, "\treturn y\n}}\n");
        }
        std::fs::write(dir.join(format!("f{file}.go")), s)?;
    }
    Ok(())
}
