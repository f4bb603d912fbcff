//! The Python resolver: module names from source roots, imports to files, names to symbols.
//!
//! Roots come from the project's manifests (`pyproject.toml`: setuptools `where` and
//! `package-dir`, poetry `packages.from`, hatch wheel `packages`, pytest `pythonpath`;
//! `setup.cfg`; `setup.py`), falling back to `src/` when it holds packages; the repository root
//! is always a root. A file's module name comes from the deepest root that contains it.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::LazyLock;

use rayon::prelude::*;

use crate::lang::facts::{
    FileFacts, Import, ImportContext, ImportKind, ReferenceKind, Segment, SymbolKind, TypeExpr,
    ValueExpr,
};
use crate::lang::{
    FileId, ImportTarget, Manifests, Resolution, ResolvedImport, ResolvedReference, SymbolDef,
    UnsureReason, UnsureReference,
};

static STDLIB: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    include_str!("stdlib.txt")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .collect()
});

/// The folders module names are computed from, deepest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PythonRoots {
    roots: Vec<String>,
    /// pytest puts test files' basedirs on `sys.path` (its `prepend` and `append` import
    /// modes; not `importlib`).
    pytest_basedirs: bool,
}

impl PythonRoots {
    /// Detect roots from the manifests, with `src/` as a fallback.
    pub fn detect(manifests: &Manifests, python_paths: &[&str]) -> PythonRoots {
        let mut roots: BTreeSet<String> = BTreeSet::new();
        roots.insert(String::new());
        for (dir, text) in manifests.named("pyproject.toml") {
            if let Ok(value) = text.parse::<toml::Table>() {
                for root in pyproject_roots(&value) {
                    roots.insert(join(dir, &root));
                }
            }
        }
        for (dir, text) in manifests.named("setup.cfg") {
            for root in setup_cfg_roots(text) {
                roots.insert(join(dir, &root));
            }
        }
        for (dir, text) in manifests.named("setup.py") {
            for root in setup_py_roots(text) {
                roots.insert(join(dir, &root));
            }
        }
        // Heuristic: a `src/` folder beside a manifest (or at the root) that holds Python code.
        let mut manifest_dirs: Vec<&str> = manifests.files.iter().map(|(p, _)| parent(p)).collect();
        manifest_dirs.push("");
        for dir in manifest_dirs {
            let src = join(dir, "src");
            let prefix = format!("{src}/");
            if python_paths.iter().any(|p| p.starts_with(&prefix)) {
                roots.insert(src);
            }
        }
        let mut roots: Vec<String> = roots.into_iter().collect();
        roots.sort_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
        // `--import-mode=importlib` in any pytest configuration (pyproject, setup.cfg,
        // pytest.ini, tox.ini) puts nothing on `sys.path`.
        let importlib = manifests.files.iter().any(|(path, text)| {
            ["pyproject.toml", "setup.cfg", "pytest.ini", "tox.ini"]
                .iter()
                .any(|m| path == m || path.ends_with(&format!("/{m}")))
                && ["--import-mode=importlib", "--import-mode importlib"]
                    .iter()
                    .any(|o| text.contains(o))
        });
        PythonRoots {
            roots,
            pytest_basedirs: !importlib,
        }
    }

    /// The roots, deepest first (`""` is the repository's root).
    pub fn folders(&self) -> &[String] {
        &self.roots
    }

    /// The dotted module name of a Python file, or `None` when a path component is not an
    /// identifier (such a file cannot be imported by name).
    pub fn module_of(&self, path: &str) -> Option<String> {
        let root = self
            .roots
            .iter()
            .find(|r| r.is_empty() || path.starts_with(&format!("{r}/")))?;
        let rel = if root.is_empty() {
            path
        } else {
            &path[root.len() + 1..]
        };
        let rel = rel
            .strip_suffix(".py")
            .or_else(|| rel.strip_suffix(".pyi"))?;
        let mut parts: Vec<&str> = rel.split('/').collect();
        if parts.last() == Some(&"__init__") {
            parts.pop();
        }
        if parts.is_empty() || !parts.iter().all(|p| is_identifier(p)) {
            return None;
        }
        Some(parts.join("."))
    }

    /// The folder of a package name under the root `file` was found in.
    fn folder_of(&self, path: &str, module: &str) -> String {
        let root = self
            .roots
            .iter()
            .find(|r| r.is_empty() || path.starts_with(&format!("{r}/")))
            .map(String::as_str)
            .unwrap_or("");
        join(root, &module.replace('.', "/"))
    }
}

fn is_identifier(s: &str) -> bool {
    s.chars()
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_')
        && s.chars().all(|c| c.is_alphanumeric() || c == '_')
}

fn parent(path: &str) -> &str {
    path.rsplit_once('/').map(|(d, _)| d).unwrap_or("")
}

fn join(dir: &str, rel: &str) -> String {
    let rel = rel.trim_start_matches("./").trim_end_matches('/');
    match (dir.is_empty(), rel.is_empty() || rel == ".") {
        (true, true) => String::new(),
        (true, false) => rel.to_string(),
        (false, true) => dir.to_string(),
        (false, false) => format!("{dir}/{rel}"),
    }
}

fn pyproject_roots(value: &toml::Table) -> Vec<String> {
    let mut out = Vec::new();
    let get = |path: &[&str]| -> Option<&toml::Value> {
        let mut v = value.get(path[0])?;
        for key in &path[1..] {
            v = v.get(key)?;
        }
        Some(v)
    };
    let strings = |v: Option<&toml::Value>| -> Vec<String> {
        match v {
            Some(toml::Value::Array(a)) => a
                .iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect(),
            Some(toml::Value::String(s)) => vec![s.clone()],
            _ => Vec::new(),
        }
    };
    out.extend(strings(get(&[
        "tool",
        "setuptools",
        "packages",
        "find",
        "where",
    ])));
    if let Some(toml::Value::Table(dirs)) = get(&["tool", "setuptools", "package-dir"])
        && let Some(root) = dirs.get("").and_then(|v| v.as_str())
    {
        out.push(root.to_string());
    }
    out.extend(strings(get(&[
        "tool",
        "pytest",
        "ini_options",
        "pythonpath",
    ])));
    if let Some(toml::Value::Array(pkgs)) = get(&["tool", "poetry", "packages"]) {
        for p in pkgs {
            if let Some(from) = p.get("from").and_then(|v| v.as_str()) {
                out.push(from.to_string());
            }
        }
    }
    for pkg in strings(get(&[
        "tool", "hatch", "build", "targets", "wheel", "packages",
    ])) {
        out.push(parent(pkg.trim_end_matches('/')).to_string());
    }
    out
}

fn setup_cfg_roots(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut section = String::new();
    let mut key = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('#') || trimmed.starts_with(';') || trimmed.is_empty() {
            continue;
        }
        if trimmed.starts_with('[') {
            section = trimmed.trim_matches(['[', ']']).trim().to_string();
            continue;
        }
        let continuation = line.starts_with([' ', '\t']);
        let value = if !continuation && let Some((k, v)) = trimmed.split_once('=') {
            key = k.trim().to_string();
            v.trim()
        } else {
            trimmed
        };
        match (section.as_str(), key.as_str()) {
            ("options", "package_dir") => {
                if let Some(root) = value.strip_prefix('=') {
                    out.push(root.trim().to_string());
                } else if let Some((name, root)) = value.split_once('=')
                    && name.trim().is_empty()
                {
                    out.push(root.trim().to_string());
                }
            }
            ("options.packages.find", "where") if !value.is_empty() => out.push(value.to_string()),
            _ => {}
        }
    }
    out
}

fn setup_py_roots(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    for quote in ['"', '\''] {
        let pd = format!("package_dir={{{quote}{quote}:{quote}");
        if let Some(i) = compact.find(&pd) {
            let rest = &compact[i + pd.len()..];
            if let Some(end) = rest.find(quote) {
                out.push(rest[..end].to_string());
            }
        }
        let wh = format!("where={quote}");
        if let Some(i) = compact.find(&wh) {
            let rest = &compact[i + wh.len()..];
            if let Some(end) = rest.find(quote) {
                out.push(rest[..end].to_string());
            }
        }
    }
    out
}

/// What a name is bound to in a module's namespace, before it is followed.
#[derive(Debug, Clone)]
enum Binding {
    /// `import a.b.c` binds `a` to module `a`; `import a.b as x` binds `x` to `a.b`.
    Module(String),
    /// `from m import name [as alias]` where `m.name` is not a module.
    Name { module: String, name: String },
}

/// A resolved value: a module, or a symbol with its kind.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Value {
    Module(String),
    Symbol(String, SymbolKind),
}

/// Imports inside functions, by index into the file's imports → the names each binds.
type LocalBindings = HashMap<u32, Vec<(String, Binding)>>;

struct Module<'a> {
    file: Option<FileId>,
    facts: Option<&'a FileFacts>,
    /// local path (`Class.method`) → kind; the first definition of a path wins.
    defs: HashMap<String, SymbolKind>,
    bindings: HashMap<String, Binding>,
    stars: Vec<String>,
    all: Option<Vec<String>>,
    /// class path → its bases as written (qualifier, name), in order.
    bases: HashMap<String, Vec<(Option<String>, String)>>,
    /// Local path (`LIMIT`, `Client.session`) → what is assigned to it; for a property
    /// (`Environment.lexer`), what its getter returns.
    values: HashMap<String, ValueExpr>,
    /// Local path of a function or method → its return annotation.
    returns: HashMap<String, TypeExpr>,
    /// Classes decorated as records (`@dataclass`, `@attr.s`): their fields are keywords.
    records: HashSet<String>,
    /// Classes with a base the resolver cannot see (`class Bad(serializer.signer)` in a
    /// test): a member they do not define may come from it.
    hidden_bases: HashSet<String>,
    /// Type aliases and type variables (`Node = Union[A, B]`, `T = TypeVar("T", A, B)`) →
    /// the type an annotation naming them means.
    aliases: HashMap<String, TypeExpr>,
    /// Imports inside functions (by index into the file's imports) → the names they bind.
    local_imports: LocalBindings,
}

impl<'a> Module<'a> {
    /// A file's namespace before its definitions and bindings are read.
    fn of(file: FileId, facts: &'a FileFacts) -> Module<'a> {
        Module {
            file: Some(file),
            facts: Some(facts),
            defs: HashMap::new(),
            bindings: HashMap::new(),
            stars: Vec::new(),
            all: None,
            bases: HashMap::new(),
            values: HashMap::new(),
            returns: HashMap::new(),
            records: HashSet::new(),
            hidden_bases: HashSet::new(),
            aliases: HashMap::new(),
            local_imports: HashMap::new(),
        }
    }
}

struct Index<'a> {
    modules: HashMap<String, Module<'a>>,
    /// Packages without `__init__.py` (namespace packages) → their folder.
    namespaces: HashMap<String, String>,
    /// Member name → the IDs of the repository's methods and attributes of that name.
    member_names: HashMap<String, Vec<String>>,
    /// Each class with bases → its MRO, computed once: member lookups ask for it constantly.
    mros: HashMap<String, Vec<String>>,
    /// Folder → the namespace of the `conftest.py` in it: the fixtures the tests there and
    /// below see.
    conftests: HashMap<String, String>,
}

impl Index<'_> {
    /// `module` when it hands `name` out without defining it: it imports it by name, or a
    /// star import brings it. A use reached that way needs the path to keep working.
    fn binds_without_defining(&self, module: &str, name: &str) -> Option<String> {
        let m = self.modules.get(module)?;
        let through_star = || m.stars.iter().any(|star| self.exports(star, name));
        (!m.defs.contains_key(name) && (m.bindings.contains_key(name) || through_star()))
            .then(|| module.to_string())
    }

    /// For a bare name of `module` that none of its own statements binds: the module whose
    /// star import brought it, when that module does not define it either.
    fn star_via(&self, module: &str, name: &str) -> Option<String> {
        let m = self.modules.get(module)?;
        if m.defs.contains_key(name) || m.bindings.contains_key(name) {
            return None;
        }
        let star = m.stars.iter().find(|star| self.exports(star, name))?;
        self.binds_without_defining(star, name)
    }

    fn exists(&self, module: &str) -> bool {
        self.modules.contains_key(module) || self.namespaces.contains_key(module)
    }

    /// Look `name` up in `module`'s namespace, following re-exports and star imports.
    fn lookup(&self, module: &str, name: &str, depth: u32) -> Option<Value> {
        if depth > 16 {
            return None;
        }
        let sub = format!("{module}.{name}");
        if let Some(m) = self.modules.get(module) {
            if let Some(kind) = m.defs.get(name) {
                return Some(Value::Symbol(sub, *kind));
            }
            if let Some(b) = m.bindings.get(name)
                && !self.exists(&sub)
            {
                return self.follow(b, depth + 1);
            }
        }
        if self.exists(&sub) {
            return Some(Value::Module(sub));
        }
        let m = self.modules.get(module)?;
        for star in &m.stars {
            if self.exports(star, name) {
                return self.lookup(star, name, depth + 1);
            }
        }
        None
    }

    fn follow(&self, binding: &Binding, depth: u32) -> Option<Value> {
        match binding {
            Binding::Module(m) => self.exists(m).then(|| Value::Module(m.clone())),
            Binding::Name { module, name } => self.lookup(module, name, depth),
        }
    }

    /// Whether `from module import *` brings `name`.
    /// Without `__all__`, every public name of the module's namespace, including those its own
    /// star imports brought.
    fn exports(&self, module: &str, name: &str) -> bool {
        self.exports_at(module, name, 0)
    }

    fn exports_at(&self, module: &str, name: &str, depth: u32) -> bool {
        let Some(m) = self.modules.get(module) else {
            return false;
        };
        match &m.all {
            Some(all) => all.iter().any(|n| n == name),
            None => {
                !name.starts_with('_')
                    && (m.defs.contains_key(name)
                        || m.bindings.contains_key(name)
                        || (depth < 16
                            && m.stars
                                .iter()
                                .any(|star| self.exports_at(star, name, depth + 1))))
            }
        }
    }

    /// A member of a class as Python finds it: in the class, then along its MRO (bases in the
    /// repository only; a base from outside ends the search there).
    fn member_in_mro(&self, id: &str, name: &str) -> Option<Value> {
        self.linearisation(id)
            .iter()
            .find_map(|class| self.member(class, name))
    }

    /// A member as `super()` in a method of the class finds it: after the class in its MRO.
    fn member_after(&self, id: &str, name: &str) -> Option<Value> {
        self.linearisation(id)
            .iter()
            .skip(1)
            .find_map(|class| self.member(class, name))
    }

    /// Whether a base along the class's MRO is one the resolver cannot see, so a member the
    /// MRO lacks may still exist.
    fn hides_bases(&self, id: &str) -> bool {
        self.linearisation(id).iter().any(|class| {
            self.split_symbol(class).is_some_and(|(module, local)| {
                self.modules
                    .get(module)
                    .is_some_and(|m| m.hidden_bases.contains(local))
            })
        })
    }

    /// A class's MRO: the one computed when the index was built, else (while building it, or
    /// for a class without bases) computed now.
    fn linearisation(&self, id: &str) -> std::borrow::Cow<'_, [String]> {
        match self.mros.get(id) {
            Some(mro) => std::borrow::Cow::Borrowed(mro.as_slice()),
            None => std::borrow::Cow::Owned(self.mro(id, 0)),
        }
    }

    /// A class's C3 linearisation over its bases in the repository (`[id]` past a depth that
    /// only a cycle reaches; depth-first order when the bases are inconsistent, as Python
    /// would refuse the class anyway).
    fn mro(&self, id: &str, depth: u32) -> Vec<String> {
        let mut out = vec![id.to_string()];
        if depth > 32 {
            return out;
        }
        let bases = self.bases_of(id, depth);
        let mut seqs: Vec<Vec<String>> = bases.iter().map(|b| self.mro(b, depth + 1)).collect();
        seqs.push(bases);
        loop {
            seqs.retain(|s| !s.is_empty());
            if seqs.is_empty() {
                return out;
            }
            let head = seqs
                .iter()
                .map(|s| &s[0])
                .find(|h| !seqs.iter().any(|s| s[1..].contains(h)))
                .cloned();
            let Some(head) = head else {
                for class in seqs.into_iter().flatten() {
                    if !out.contains(&class) {
                        out.push(class);
                    }
                }
                return out;
            };
            for s in &mut seqs {
                if s[0] == head {
                    s.remove(0);
                }
            }
            out.push(head);
        }
    }

    /// The repository classes a class derives from, resolved in its module's namespace.
    fn bases_of(&self, id: &str, depth: u32) -> Vec<String> {
        let Some((module, local)) = self.split_symbol(id) else {
            return Vec::new();
        };
        let Some(written) = self.modules.get(module).and_then(|m| m.bases.get(local)) else {
            return Vec::new();
        };
        written
            .iter()
            .filter_map(|(qualifier, name)| {
                let mut parts = qualifier
                    .iter()
                    .flat_map(|q| q.split('.'))
                    .chain([name.as_str()]);
                let mut value = self.lookup(module, parts.next()?, depth);
                for part in parts {
                    value = match value? {
                        Value::Module(m) => self.lookup(&m, part, depth),
                        Value::Symbol(s, k) if k.has_members() => self.member(&s, part),
                        Value::Symbol(..) => None,
                    };
                }
                match value? {
                    Value::Symbol(s, SymbolKind::Class) => Some(s),
                    _ => None,
                }
            })
            .collect()
    }

    /// The bases outside the repository along a class's MRO, by dotted path where an import
    /// names it (`from unittest import TestCase` → `unittest.TestCase`), `builtins.X` for a
    /// builtin; `object` (every class's) is left out.
    fn outside_bases(&self, id: &str) -> Vec<String> {
        let mut out = Vec::new();
        for class in self.linearisation(id).iter() {
            let Some((module, local)) = self.split_symbol(class) else {
                continue;
            };
            let Some(m) = self.modules.get(module) else {
                continue;
            };
            for (qualifier, name) in m.bases.get(local).into_iter().flatten() {
                let written = match qualifier {
                    Some(q) => format!("{q}.{name}"),
                    None => name.clone(),
                };
                let (first, rest) = written.split_once('.').unwrap_or((&written, ""));
                if let Some(Value::Symbol(..) | Value::Module(_)) =
                    self.lookup(module, first, 0).and_then(|v| {
                        rest.split('.')
                            .filter(|p| !p.is_empty())
                            .try_fold(v, |v, part| match v {
                                Value::Module(sub) => self.lookup(&sub, part, 0),
                                Value::Symbol(s, k) if k.has_members() => self.member(&s, part),
                                Value::Symbol(..) => None,
                            })
                    })
                {
                    continue; // a repository class (its own bases are in the MRO)
                }
                let path = match m.bindings.get(first) {
                    Some(Binding::Module(module)) => dotted(module, rest),
                    Some(Binding::Name { module, name }) => dotted(&dotted(module, name), rest),
                    None if m.defs.contains_key(first) => continue,
                    None => format!("builtins.{written}"),
                };
                if path != "builtins.object" && !out.contains(&path) {
                    out.push(path);
                }
            }
        }
        out
    }

    /// A symbol ID split at its module: (`pkg.mod`, `Class.method`).
    fn split_symbol<'i>(&self, id: &'i str) -> Option<(&'i str, &'i str)> {
        let mut split = id.len();
        while let Some(i) = id[..split].rfind('.') {
            if self.modules.contains_key(&id[..i]) {
                return Some((&id[..i], &id[i + 1..]));
            }
            split = i;
        }
        None
    }

    /// A member of a symbol (`Class.method`), when the symbol's module defines it.
    fn member(&self, id: &str, name: &str) -> Option<Value> {
        // Split at the module boundary: the longest prefix that is a module.
        let mut split = id.len();
        while let Some(i) = id[..split].rfind('.') {
            let (module, local) = (&id[..i], &id[i + 1..]);
            if let Some(m) = self.modules.get(module) {
                let path = format!("{local}.{name}");
                return m
                    .defs
                    .get(&path)
                    .map(|k| Value::Symbol(format!("{id}.{name}"), *k));
            }
            split = i;
        }
        None
    }
}

/// What a value is, as far as the code says.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Ty {
    /// An instance of a repository class.
    Instance(String),
    /// A repository class itself.
    Class(String),
    /// A repository function or method: calling it gives what it is annotated to return.
    Callable(String),
    /// A repository module.
    Module(String),
    /// `super()` in a method of a repository class: the members after it along its MRO.
    After(String),
    /// Something from outside the repository (a builtin's value, an outside class's
    /// instance): none of its members are the repository's.
    Outside,
    /// One of several repository classes or their instances (a `Union[A, B]` annotation),
    /// never fewer than two.
    Either(Vec<Ty>),
}

/// How deep value definitions are followed (`a = b`, `b = c()`, …).
const MAX_VALUE_DEPTH: u32 = 24;

impl Index<'_> {
    /// What a resolved name is as a value.
    fn ty_of_value(&self, value: Value, depth: u32) -> Option<Ty> {
        match value {
            Value::Module(m) => Some(Ty::Module(m)),
            Value::Symbol(id, SymbolKind::Class) => Some(Ty::Class(id)),
            // A property (a method with a value): reading it gives what its getter returns.
            Value::Symbol(id, SymbolKind::Method) if self.has_value(&id) => {
                self.ty_of_symbol(&id, depth + 1)
            }
            Value::Symbol(id, SymbolKind::Function | SymbolKind::Method) => Some(Ty::Callable(id)),
            Value::Symbol(id, _) => self.ty_of_symbol(&id, depth + 1),
        }
    }

    /// Whether `values` says what reading the symbol gives (for a method: a property).
    fn has_value(&self, id: &str) -> bool {
        self.split_symbol(id)
            .and_then(|(module, local)| self.modules.get(module)?.values.get(local))
            .is_some()
    }

    /// What a variable or attribute holds: what its definition assigns.
    fn ty_of_symbol(&self, id: &str, depth: u32) -> Option<Ty> {
        let (module, local) = self.split_symbol(id)?;
        let m = self.modules.get(module)?;
        let expr = m.values.get(local)?;
        self.eval(module, m.facts?, expr, depth + 1)
    }

    /// The class a written type is, in `module`'s namespace.
    fn ty_of_type(&self, module: &str, of: &TypeExpr) -> Option<Ty> {
        self.ty_of_type_at(module, of, 0)
    }

    /// `ty_of_type`, `depth` aliases in (`Node = Union[A, B]`, `T = TypeVar("T", A, B)`).
    fn ty_of_type_at(&self, module: &str, of: &TypeExpr, depth: u32) -> Option<Ty> {
        if depth > MAX_VALUE_DEPTH {
            return None;
        }
        match of {
            TypeExpr::Named { qualifier, name } => {
                let parts: Vec<&str> = qualifier
                    .iter()
                    .flat_map(|q| q.split('.'))
                    .chain([name.as_str()])
                    .collect();
                match self.resolve_dotted(module, &parts) {
                    Some(Value::Symbol(id, SymbolKind::Class)) => Some(Ty::Instance(id)),
                    Some(Value::Symbol(id, SymbolKind::Variable | SymbolKind::Constant)) => {
                        let (defined_in, local) = self.split_symbol(&id)?;
                        let alias = self.modules.get(defined_in)?.aliases.get(local)?;
                        self.ty_of_type_at(defined_in, alias, depth + 1)
                    }
                    Some(_) => None,
                    None => Some(Ty::Outside), // a type the repository does not define
                }
            }
            TypeExpr::ClassOf { of } => match self.ty_of_type_at(module, of, depth + 1)? {
                Ty::Instance(c) => Some(Ty::Class(c)),
                Ty::Either(tys) => Some(Ty::Either(
                    tys.into_iter()
                        .map(|t| match t {
                            Ty::Instance(c) => Ty::Class(c),
                            other => other,
                        })
                        .collect(),
                )),
                other => Some(other),
            },
            // The repository's classes among the members; the others' members are not ours.
            TypeExpr::Union { of } => Some(either(
                of.iter()
                    .filter_map(|t| self.ty_of_type_at(module, t, depth + 1))
                    .collect(),
            )),
            _ => Some(Ty::Outside),
        }
    }

    /// A dotted name (`models.Order`) in `module`'s namespace.
    fn resolve_dotted(&self, module: &str, parts: &[&str]) -> Option<Value> {
        let (first, rest) = parts.split_first()?;
        let mut value = self.lookup(module, first, 0);
        for part in rest {
            value = match value? {
                Value::Module(m) => self.lookup(&m, part, 0),
                Value::Symbol(s, SymbolKind::Class) => self.member_in_mro(&s, part),
                Value::Symbol(s, k) if k.has_members() => self.member(&s, part),
                Value::Symbol(..) => None,
            };
        }
        value
    }

    /// What a value made as `expr` in a file of `module` is.
    fn eval(&self, module: &str, facts: &FileFacts, expr: &ValueExpr, depth: u32) -> Option<Ty> {
        if depth > MAX_VALUE_DEPTH {
            return None;
        }
        match expr {
            ValueExpr::Local { index } => {
                let local = facts.types.locals.get(*index as usize)?;
                self.eval(module, facts, local, depth + 1)
            }
            ValueExpr::Name { name } => match self.lookup(module, name, 0) {
                Some(v) => self.ty_of_value(v, depth),
                None => self.is_outside_name(module, name).then_some(Ty::Outside),
            },
            ValueExpr::Member { of, name } => match self.eval(module, facts, of, depth + 1)? {
                Ty::Instance(c) | Ty::Class(c) => match self.member_in_mro(&c, name) {
                    Some(v) => self.ty_of_value(v, depth),
                    None => (!self.outside_bases(&c).is_empty()).then_some(Ty::Outside),
                },
                Ty::Module(m) => self
                    .lookup(&m, name, 0)
                    .and_then(|v| self.ty_of_value(v, depth)),
                Ty::Outside => Some(Ty::Outside),
                Ty::After(c) => self
                    .member_after(&c, name)
                    .and_then(|v| self.ty_of_value(v, depth)),
                Ty::Callable(_) => None,
                Ty::Either(tys) => match self.members_of_either(&tys, name).as_slice() {
                    [] => Some(Ty::Outside),
                    found => Some(either(
                        found
                            .iter()
                            .filter_map(|v| self.ty_of_value(v.clone(), depth))
                            .collect(),
                    )),
                },
            },
            // `orders.get(key)`, `queue.pop()`: an element of a container the annotation types.
            ValueExpr::Call { callee, .. }
                if let ValueExpr::Member { of, name } = &**callee
                    && let Some(element) = self.element_of(module, facts, of, name, depth) =>
            {
                element
            }
            ValueExpr::Call { callee, .. } => {
                let called = self.eval(module, facts, callee, depth + 1)?;
                self.call(called, depth)
            }
            ValueExpr::Typed { of } => self.ty_of_type(module, of),
            ValueExpr::Super { class } => Some(Ty::After(format!("{module}.{class}"))),
            ValueExpr::Imported { import, name } => {
                let bindings = self.modules.get(module)?.local_imports.get(import)?;
                let (_, binding) = bindings.iter().find(|(n, _)| n == name)?;
                match self.follow(binding, 0) {
                    Some(v) => self.ty_of_value(v, depth),
                    None => Some(Ty::Outside), // an import from outside the repository
                }
            }
            ValueExpr::Index { of } | ValueExpr::RangeValue { of }
                if let Some(element) = self.element_of_container(module, facts, of, depth) =>
            {
                element
            }
            ValueExpr::Index { of } | ValueExpr::RangeValue { of } => {
                let key = matches!(expr, ValueExpr::RangeValue { .. });
                match self
                    .type_of(module, facts, of, depth + 1)
                    .and_then(|(m, written)| self.element_of_type(&m, &written, key))
                {
                    Some(element) => element,
                    None => match self.eval(module, facts, of, depth + 1)? {
                        Ty::Outside => Some(Ty::Outside),
                        _ => None,
                    },
                }
            }
            // A builtin list, tuple, set or deque: its own methods are the builtin's.
            ValueExpr::Elements { .. } => Some(Ty::Outside),
            ValueExpr::Fixture { name, receiver } => {
                self.fixture(module, facts, name, receiver.as_deref(), depth)
            }
            _ => None,
        }
    }

    /// What calling a value of type `called` gives: an instance of a class, what a function
    /// returns; of one of several callables (`request.param` of `params=[A, B]`), one of
    /// theirs.
    fn call(&self, called: Ty, depth: u32) -> Option<Ty> {
        match called {
            Ty::Class(c) => Some(Ty::Instance(c)),
            Ty::Callable(f) => {
                let (defined_in, local) = self.split_symbol(&f)?;
                let m = self.modules.get(defined_in)?;
                match m.returns.get(local) {
                    Some(returns) => self.ty_of_type(defined_in, returns),
                    // Unannotated: what its first `return` gives.
                    None => {
                        let returned = m.values.get(&format!("{local}()"))?;
                        self.eval(defined_in, m.facts?, returned, depth + 1)
                    }
                }
            }
            Ty::Outside => Some(Ty::Outside),
            Ty::Either(tys) => {
                let results = tys
                    .into_iter()
                    .map(|ty| self.call(ty, depth + 1))
                    .collect::<Option<Vec<Ty>>>()?;
                Some(either(results))
            }
            Ty::Instance(_) | Ty::Module(_) | Ty::After(_) => None,
        }
    }

    /// What the fixture `name` gives a test in `module` (a method of `receiver`'s class). A
    /// fixture a base class defines is not followed for a subclass's test: it may ask for
    /// fixtures the subclass overrides (`signer_factory`), which its own `self` cannot say.
    fn fixture(
        &self,
        module: &str,
        facts: &FileFacts,
        name: &str,
        receiver: Option<&ValueExpr>,
        depth: u32,
    ) -> Option<Ty> {
        let class = match receiver.and_then(|r| self.eval(module, facts, r, depth + 1)) {
            Some(Ty::Instance(class)) => Some(class),
            _ => None,
        };
        let (m, local) = self.find_fixture(module, &facts.path, name, class.as_deref())?;
        if let Some(class) = &class
            && local.contains('.')
            && format!("{m}.{local}") != format!("{class}.{name}")
        {
            return None;
        }
        let defined_in = self.modules.get(&m)?;
        let expr = defined_in.values.get(&format!("{local}@fixture"))?;
        self.eval(&m, defined_in.facts?, expr, depth + 1)
    }

    /// Where the fixture `name` a test in `module` (at `path`, a method of `class`) asks for
    /// is defined, found as pytest finds it: a fixture method of the test's class (along its
    /// MRO), one the module defines or imports, then one in the `conftest.py` of the
    /// module's folder and of each folder above it. The namespace and the fixture's local
    /// path in it.
    fn find_fixture(
        &self,
        module: &str,
        path: &str,
        name: &str,
        class: Option<&str>,
    ) -> Option<(String, String)> {
        let is_fixture = |module: &str, local: &str| {
            self.modules
                .get(module)
                .is_some_and(|m| m.values.contains_key(&format!("{local}@fixture")))
        };
        if let Some(class) = class {
            for class in self.linearisation(class).iter() {
                if let Some((m, local)) = self.split_symbol(class) {
                    let local = format!("{local}.{name}");
                    if is_fixture(m, &local) {
                        return Some((m.to_string(), local));
                    }
                }
            }
        }
        let in_namespace = |namespace: &str| {
            if let Some(Value::Symbol(id, SymbolKind::Function)) = self.lookup(namespace, name, 0)
                && let Some((m, local)) = self.split_symbol(&id)
                && is_fixture(m, local)
            {
                return Some((m.to_string(), local.to_string()));
            }
            // A script's own fixture: its namespace is keyed by path, its symbols are none.
            is_fixture(namespace, name).then(|| (namespace.to_string(), name.to_string()))
        };
        if let Some(found) = in_namespace(module) {
            return Some(found);
        }
        let mut folder = path;
        while !folder.is_empty() {
            folder = folder.rsplit_once('/').map_or("", |(parent, _)| parent);
            if let Some(conftest) = self.conftests.get(folder)
                && conftest != module
                && let Some(found) = in_namespace(conftest)
            {
                return Some(found);
            }
        }
        None
    }

    /// What an element of a value of the written type `of` is: of `list[T]` a T, of
    /// `dict[K, V]` a K when iterated (`key`), else a V; of a union of containers one of
    /// theirs. None when `of` is no container the annotations type.
    fn element_of_type(&self, module: &str, of: &TypeExpr, key: bool) -> Option<Option<Ty>> {
        match of {
            TypeExpr::Slice { of } => Some(self.ty_of_type(module, of)),
            TypeExpr::Map { key: k, value } => {
                Some(self.ty_of_type(module, if key { k } else { value }))
            }
            TypeExpr::Other => Some(Some(Ty::Outside)),
            TypeExpr::Union { of } => {
                let elements = of
                    .iter()
                    .map(|t| self.element_of_type(module, t, key))
                    .collect::<Option<Vec<Option<Ty>>>>()?;
                Some(
                    elements
                        .into_iter()
                        .collect::<Option<Vec<Ty>>>()
                        .map(either),
                )
            }
            _ => None,
        }
    }

    /// What an element of `of` is when `of` is a builtin container the code builds
    /// (`[node]`, `deque([self])`): one of the values it is built from. None when `of` is not
    /// one.
    fn element_of_container(
        &self,
        module: &str,
        facts: &FileFacts,
        of: &ValueExpr,
        depth: u32,
    ) -> Option<Option<Ty>> {
        if depth > MAX_VALUE_DEPTH {
            return None;
        }
        match of {
            ValueExpr::Local { index } => {
                let local = facts.types.locals.get(*index as usize)?;
                self.element_of_container(module, facts, local, depth + 1)
            }
            // `[]` that nothing the layer reads adds to: its elements are unknown.
            ValueExpr::Elements { of } if of.is_empty() => Some(None),
            ValueExpr::Elements { of } => Some(
                of.iter()
                    .map(|e| self.eval(module, facts, e, depth + 1))
                    .collect::<Option<Vec<Ty>>>()
                    .map(either),
            ),
            _ => None,
        }
    }

    /// What a container method gives when `of` is annotated as a container: `get`, `pop`,
    /// `setdefault` of a mapping give a value; `pop` of a sequence an element. None when `of`
    /// is not a container the annotations type.
    fn element_of(
        &self,
        module: &str,
        facts: &FileFacts,
        of: &ValueExpr,
        method: &str,
        depth: u32,
    ) -> Option<Option<Ty>> {
        if !matches!(method, "get" | "pop" | "popleft" | "setdefault") {
            return None;
        }
        if matches!(method, "pop" | "popleft")
            && let Some(element) = self.element_of_container(module, facts, of, depth + 1)
        {
            return Some(element);
        }
        match self.type_of(module, facts, of, depth + 1)? {
            (m, TypeExpr::Map { value, .. }) => Some(self.ty_of_type(&m, &value)),
            (m, TypeExpr::Slice { of }) if method == "pop" => Some(self.ty_of_type(&m, &of)),
            _ => None,
        }
    }

    /// The written type of a value, with the module it is written in: for `list[Order]` and
    /// `dict[str, Order]`, whose elements a subscript or a `for` gives.
    fn type_of(
        &self,
        module: &str,
        facts: &FileFacts,
        expr: &ValueExpr,
        depth: u32,
    ) -> Option<(String, TypeExpr)> {
        if depth > MAX_VALUE_DEPTH {
            return None;
        }
        let of_symbol = |id: &str| {
            let (defined_in, local) = self.split_symbol(id)?;
            let m = self.modules.get(defined_in)?;
            self.type_of(defined_in, m.facts?, m.values.get(local)?, depth + 1)
        };
        match expr {
            ValueExpr::Local { index } => {
                let local = facts.types.locals.get(*index as usize)?;
                self.type_of(module, facts, local, depth + 1)
            }
            ValueExpr::Typed { of } => Some((module.to_string(), of.clone())),
            ValueExpr::Name { name } => match self.lookup(module, name, 0)? {
                Value::Symbol(id, SymbolKind::Variable | SymbolKind::Constant) => of_symbol(&id),
                _ => None,
            },
            ValueExpr::Member { of, name } => match self.eval(module, facts, of, depth + 1)? {
                Ty::Instance(c) | Ty::Class(c) => match self.member_in_mro(&c, name)? {
                    Value::Symbol(id, SymbolKind::Field | SymbolKind::Method) => of_symbol(&id),
                    _ => None,
                },
                // `node.args` where `node: Union[Call, Filter]`: the type every class writes
                // for it (both `args: list[Expr]`), or the union of theirs.
                Ty::Either(tys) => {
                    let written = self
                        .members_of_either(&tys, name)
                        .into_iter()
                        .map(|v| match v {
                            Value::Symbol(id, SymbolKind::Field | SymbolKind::Method) => {
                                of_symbol(&id)
                            }
                            _ => None,
                        })
                        .collect::<Option<Vec<_>>>()?;
                    // Written in one module (a family of node classes), several types are
                    // a union of them.
                    let (first, rest) = written.split_first()?;
                    if rest.iter().all(|w| w == first) {
                        Some(first.clone())
                    } else if rest.iter().all(|(m, _)| *m == first.0) {
                        let of = written.iter().map(|(_, t)| t.clone()).collect();
                        Some((first.0.clone(), TypeExpr::Union { of }))
                    } else {
                        None
                    }
                }
                Ty::Module(m) => match self.lookup(&m, name, 0)? {
                    Value::Symbol(id, SymbolKind::Variable | SymbolKind::Constant) => {
                        of_symbol(&id)
                    }
                    _ => None,
                },
                _ => None,
            },
            ValueExpr::Call { callee, .. } => match self.eval(module, facts, callee, depth + 1)? {
                Ty::Callable(f) => {
                    let (defined_in, local) = self.split_symbol(&f)?;
                    let returns = self.modules.get(defined_in)?.returns.get(local)?;
                    Some((defined_in.to_string(), returns.clone()))
                }
                _ => None,
            },
            _ => None,
        }
    }

    /// A name that is an import from outside the repository or a builtin.
    fn is_outside_name(&self, module: &str, name: &str) -> bool {
        match self.modules.get(module).and_then(|m| m.bindings.get(name)) {
            Some(_) => true, // bound by an import the repository does not satisfy
            None => BUILTINS.binary_search(&name).is_ok(),
        }
    }

    /// Whether a class's constructor takes its fields as keywords: a record (`@dataclass`,
    /// attrs) along its MRO, or one deriving from `NamedTuple`, `TypedDict` or a pydantic-style
    /// `BaseModel`.
    fn is_record(&self, id: &str) -> bool {
        self.linearisation(id).iter().any(|class| {
            self.split_symbol(class).is_some_and(|(m, local)| {
                self.modules
                    .get(m)
                    .is_some_and(|m| m.records.contains(local))
            })
        }) || self.outside_bases(id).iter().any(|base| {
            let name = base.rsplit('.').next().unwrap_or(base);
            matches!(
                name,
                "NamedTuple" | "TypedDict" | "BaseModel" | "BaseSettings" | "Struct"
            )
        })
    }

    /// The members named `name` of a union's classes, each once (an inherited one is one).
    fn members_of_either(&self, tys: &[Ty], name: &str) -> Vec<Value> {
        let mut found: Vec<Value> = Vec::new();
        for ty in tys {
            if let Ty::Instance(c) | Ty::Class(c) = ty
                && let Some(v) = self.member_in_mro(c, name)
                && !found.contains(&v)
            {
                found.push(v);
            }
        }
        found
    }

    /// The repository members (methods and attributes) named `name`: what a use of it
    /// through a value of unknown type may be.
    fn members_named(&self, name: &str) -> Vec<String> {
        self.member_names.get(name).cloned().unwrap_or_default()
    }
}

/// What a union of these types is: the repository's among them, each once; outside types
/// when none is.
fn either(tys: Vec<Ty>) -> Ty {
    let mut members: Vec<Ty> = Vec::new();
    for ty in tys {
        let flat = match ty {
            Ty::Either(inner) => inner,
            Ty::Outside => continue,
            other => vec![other],
        };
        for t in flat {
            if !members.contains(&t) {
                members.push(t);
            }
        }
    }
    match members.len() {
        0 => Ty::Outside,
        1 => members.pop().unwrap_or(Ty::Outside),
        _ => Ty::Either(members),
    }
}

/// Python's builtin names whose values are never a repository class's instance.
const BUILTINS: &[&str] = &[
    "abs",
    "ascii",
    "bin",
    "bool",
    "bytearray",
    "bytes",
    "callable",
    "chr",
    "compile",
    "complex",
    "dict",
    "dir",
    "divmod",
    "enumerate",
    "float",
    "format",
    "frozenset",
    "hasattr",
    "hash",
    "hex",
    "id",
    "input",
    "int",
    "isinstance",
    "issubclass",
    "len",
    "list",
    "memoryview",
    "object",
    "oct",
    "open",
    "ord",
    "pow",
    "print",
    "range",
    "repr",
    "round",
    "set",
    "slice",
    "str",
    "sum",
    "tuple",
    "zip",
];

/// Members reached through values (`req.render()`, `make_order().total`): the member of the
/// class the value is an instance of, along its MRO; an unsure site when the code does not
/// say what the value is and the repository has a member of that name.
fn resolve_members(
    file: FileId,
    facts: &FileFacts,
    namespace: &str,
    index: &Index<'_>,
    out: &mut Resolution,
) {
    for member in &facts.types.members {
        let seg = Segment {
            name: member.name.clone(),
            span: member.span,
        };
        if member.key {
            // A keyword of a record's constructor, `replace` or `_replace`: a field.
            let class = match &member.of {
                ValueExpr::Call { callee, .. } => match index.eval(namespace, facts, callee, 0) {
                    Some(Ty::Class(c)) => Some(c),
                    _ => None,
                },
                of => match index.eval(namespace, facts, of, 0) {
                    Some(Ty::Instance(c)) => Some(c),
                    _ => None,
                },
            };
            if let Some(class) = class.filter(|c| index.is_record(c))
                && let Some(Value::Symbol(id, SymbolKind::Field)) =
                    index.member_in_mro(&class, &member.name)
            {
                out.references.push(ResolvedReference {
                    via: None,
                    file,
                    symbol: id,
                    span: member.span,
                    kind: ReferenceKind::Code,
                });
            }
            continue;
        }
        let found = match index.eval(namespace, facts, &member.of, 0) {
            Some(Ty::Instance(c) | Ty::Class(c)) => {
                let found = index.member_in_mro(&c, &member.name);
                if found.is_none() && index.hides_bases(&c) {
                    out.unsure.extend(unsure(file, &seg, index));
                }
                found
            }
            Some(Ty::After(c)) => {
                let found = index.member_after(&c, &member.name);
                if found.is_none()
                    && (index.hides_bases(&c)
                        || index.split_symbol(&c).is_none_or(|(m, local)| {
                            index
                                .modules
                                .get(m)
                                .is_none_or(|m| !m.defs.contains_key(local))
                        }))
                {
                    // `super()` in a class the layer does not know (one inside a function),
                    // or one with a base it cannot see.
                    out.unsure.extend(unsure(file, &seg, index));
                }
                found
            }
            Some(Ty::Module(m)) => index.lookup(&m, &member.name, 0),
            Some(Ty::Either(tys)) => match index.members_of_either(&tys, &member.name).as_slice() {
                [one] => Some(one.clone()),
                [] => None,
                several => {
                    out.unsure.push(union_unsure(file, &seg, several));
                    None
                }
            },
            Some(Ty::Outside | Ty::Callable(_)) => None,
            None => {
                out.unsure.extend(unsure(file, &seg, index));
                None
            }
        };
        if let Some(Value::Symbol(id, _)) = found {
            out.references.push(ResolvedReference {
                via: None,
                file,
                symbol: id,
                span: member.span,
                kind: ReferenceKind::Code,
            });
        }
    }
}

/// A use of a member name through a value of unknown type, when the repository has members
/// of that name.
fn unsure(file: FileId, seg: &Segment, index: &Index<'_>) -> Option<UnsureReference> {
    let candidates = index.members_named(&seg.name);
    (!candidates.is_empty()).then(|| UnsureReference {
        file,
        span: seg.span,
        name: seg.name.clone(),
        reason: UnsureReason::Untyped,
        candidates,
    })
}

/// A use of a member through a union whose classes have several members of that name.
fn union_unsure(file: FileId, seg: &Segment, several: &[Value]) -> UnsureReference {
    UnsureReference {
        file,
        span: seg.span,
        name: seg.name.clone(),
        reason: UnsureReason::Union,
        candidates: several
            .iter()
            .filter_map(|v| match v {
                Value::Symbol(id, _) => Some(id.clone()),
                Value::Module(_) => None,
            })
            .collect(),
    }
}

/// The package a relative import starts from: the module's own package for `__init__.py`,
/// its parent otherwise, then one level up per extra dot.
fn relative_base(module: &str, is_package: bool, level: u32) -> Option<String> {
    if module.is_empty() {
        return None; // a script: no package to be relative to
    }
    let mut parts: Vec<&str> = module.split('.').collect();
    if !is_package {
        parts.pop();
    }
    for _ in 1..level {
        parts.pop()?;
    }
    Some(parts.join("."))
}

/// The module a `from [.]*m import …` in `module` imports from, or `None` when the dots climb
/// above the top package.
pub fn from_base(module: &str, is_package: bool, level: u32, m: &str) -> Option<String> {
    if level == 0 {
        Some(m.to_string())
    } else {
        relative_base(module, is_package, level).map(|b| dotted(&b, m))
    }
}

fn dotted(base: &str, rest: &str) -> String {
    match (base.is_empty(), rest.is_empty()) {
        (true, _) => rest.to_string(),
        (false, true) => base.to_string(),
        (false, false) => format!("{base}.{rest}"),
    }
}

/// Resolve every Python file's imports and references.
pub fn resolve(files: &[(FileId, &FileFacts)], roots: &PythonRoots) -> Resolution {
    let mut out = Resolution::default();
    let mut module_names: HashMap<FileId, String> = HashMap::new();
    let mut index = Index {
        modules: HashMap::new(),
        namespaces: HashMap::new(),
        member_names: HashMap::new(),
        mros: HashMap::new(),
        conftests: HashMap::new(),
    };
    let mut package_folders: HashMap<String, String> = HashMap::new();

    // Modules, packages and namespace packages.
    for &(id, facts) in files {
        let Some(module) = roots.module_of(&facts.path) else {
            continue;
        };
        let is_stub = facts.path.ends_with(".pyi");
        if let Some(existing) = index.modules.get(&module)
            && (is_stub || existing.facts.is_some_and(|f| !f.path.ends_with(".pyi")))
        {
            continue; // a .py beats its .pyi stub; otherwise the first path wins
        }
        let parts: Vec<&str> = module.split('.').collect();
        for n in 1..parts.len() {
            let pkg = parts[..n].join(".");
            package_folders
                .entry(pkg.clone())
                .or_insert_with(|| roots.folder_of(&facts.path, &pkg));
        }
        module_names.insert(id, module.clone());
        index.modules.insert(module, Module::of(id, facts));
    }
    // Files no import can name (`tools/run-checks.py`, a file outside every root) still run
    // and import: their namespaces are keyed by path, which no dotted name can equal.
    let mut scripts: HashSet<FileId> = HashSet::new();
    for &(id, facts) in files {
        if !module_names.contains_key(&id) && !facts.path.ends_with(".pyi") {
            scripts.insert(id);
            index
                .modules
                .insert(facts.path.clone(), Module::of(id, facts));
        }
    }
    for (pkg, folder) in package_folders {
        if !index.modules.contains_key(&pkg) {
            index.namespaces.insert(pkg, folder);
        }
    }

    for (key, m) in &index.modules {
        if let Some(facts) = m.facts
            && (facts.path == "conftest.py" || facts.path.ends_with("/conftest.py"))
        {
            let folder = facts.path.rsplit_once('/').map_or("", |(folder, _)| folder);
            index.conftests.insert(folder.to_string(), key.clone());
        }
    }

    let basedirs = if roots.pytest_basedirs {
        test_basedirs(files, &module_names)
    } else {
        HashMap::new()
    };

    // Definitions and bindings of each module (needed before any lookup).
    let names: Vec<String> = index.modules.keys().cloned().collect();
    for module in &names {
        let (facts, file) = {
            let m = &index.modules[module];
            (m.facts, m.file)
        };
        let (Some(facts), Some(file)) = (facts, file) else {
            continue;
        };
        let is_package =
            facts.path.ends_with("__init__.py") || facts.path.ends_with("__init__.pyi");
        let script = scripts.contains(&file);
        // A script's own names shadow what it imports, but are no symbols: nothing imports them.
        let empty = HashMap::new();
        let place = Place {
            module: if script { "" } else { module.as_str() },
            is_package,
            basedir: basedirs.get(&file).unwrap_or(&empty),
        };
        let mut defs = HashMap::new();
        for (i, def) in facts.definitions.iter().enumerate() {
            let local = def.local_path();
            if !script && !defs.contains_key(local.as_str()) {
                out.symbols.push(SymbolDef {
                    id: format!("{module}.{local}"),
                    file,
                    definition: i,
                });
            }
            defs.entry(local).or_insert(def.kind);
        }
        let mut bindings = HashMap::new();
        let mut stars = Vec::new();
        for import in &facts.imports {
            // An import inside a function binds a local of that function, not a module name.
            if import.context == ImportContext::Function {
                continue;
            }
            if let ImportKind::From {
                level,
                module: m,
                star: true,
                ..
            } = &import.kind
                && let Some(base) = place.base_of(*level, m)
            {
                stars.push(base);
            }
            bindings.extend(import_bindings(import, &place, &index));
        }
        let all: Vec<String> = facts
            .references
            .iter()
            .filter(|r| r.kind == ReferenceKind::AllEntry && r.segments.len() == 1)
            .map(|r| r.segments[0].name.clone())
            .collect();
        let m = index
            .modules
            .get_mut(module)
            .expect("module was inserted above");
        m.defs = defs;
        m.bindings = bindings;
        m.stars = stars;
        m.all = (!all.is_empty()).then_some(all);
        m.values = facts.types.values.iter().cloned().collect();
        m.records = facts
            .types
            .types
            .iter()
            .filter(|t| matches!(t.of, TypeExpr::Struct { .. }))
            .map(|t| t.name.clone())
            .collect();
        m.aliases = facts
            .types
            .types
            .iter()
            .filter(|t| t.alias)
            .map(|t| (t.name.clone(), t.of.clone()))
            .collect();
        m.returns = facts
            .types
            .funcs
            .iter()
            .map(|f| (f.name.clone(), &f.results))
            .chain(
                facts
                    .types
                    .methods
                    .iter()
                    .map(|f| (format!("{}.{}", f.owner, f.name), &f.results)),
            )
            .filter_map(|(path, results)| Some((path, results.first()?.clone())))
            .collect();
        for base in &facts.types.embeds {
            match &base.of {
                TypeExpr::Named { qualifier, name } => m
                    .bases
                    .entry(base.owner.clone())
                    .or_default()
                    .push((qualifier.clone(), name.clone())),
                _ => {
                    m.hidden_bases.insert(base.owner.clone());
                }
            }
        }
    }

    for (name, m) in &index.modules {
        for (path, kind) in &m.defs {
            if matches!(kind, SymbolKind::Method | SymbolKind::Field)
                && let Some((_, member)) = path.rsplit_once('.')
            {
                index
                    .member_names
                    .entry(member.to_string())
                    .or_default()
                    .push(format!("{name}.{path}"));
            }
        }
    }
    for ids in index.member_names.values_mut() {
        ids.sort();
    }

    // What imports inside functions bind, for the values named after them.
    let mut local: Vec<(String, LocalBindings)> = Vec::new();
    for &(file, facts) in files {
        let is_package =
            facts.path.ends_with("__init__.py") || facts.path.ends_with("__init__.pyi");
        let empty = HashMap::new();
        let basedir = basedirs.get(&file).unwrap_or(&empty);
        let (namespace, module) = match module_names.get(&file) {
            Some(m) => (m.as_str(), m.as_str()),
            None if scripts.contains(&file) => (facts.path.as_str(), ""),
            None => continue,
        };
        let place = Place {
            module,
            is_package,
            basedir,
        };
        let bindings: LocalBindings = facts
            .imports
            .iter()
            .enumerate()
            .filter(|(_, i)| i.context == ImportContext::Function)
            .map(|(i, import)| (i as u32, import_bindings(import, &place, &index)))
            .collect();
        if !bindings.is_empty() {
            local.push((namespace.to_string(), bindings));
        }
    }
    for (namespace, bindings) in local {
        if let Some(m) = index.modules.get_mut(&namespace) {
            m.local_imports = bindings;
        }
    }

    let classes: Vec<String> = index
        .modules
        .iter()
        .flat_map(|(name, m)| m.bases.keys().map(move |class| format!("{name}.{class}")))
        .collect();
    let mros: HashMap<String, Vec<String>> = classes
        .into_iter()
        .map(|id| {
            let mro = index.mro(&id, 0);
            (id, mro)
        })
        .collect();
    index.mros = mros;

    // Imports and references of each file: each reads the index only, so files resolve in
    // parallel; their results join in file order, as the serial loop made them.
    let per_file: Vec<Resolution> = files
        .par_iter()
        .map(|&(file, facts)| {
            let mut out = Resolution::default();
            let is_package =
                facts.path.ends_with("__init__.py") || facts.path.ends_with("__init__.pyi");
            let empty = HashMap::new();
            let basedir = basedirs.get(&file).unwrap_or(&empty);
            if let Some(module) = module_names.get(&file) {
                out.modules.push((file, module.clone()));
                let place = Place {
                    module,
                    is_package,
                    basedir,
                };
                resolve_imports(file, facts, &place, &index, &mut out);
                resolve_references(file, facts, &place, module, &index, &mut out);
                resolve_members(file, facts, module, &index, &mut out);
            } else if scripts.contains(&file) {
                let place = Place {
                    module: "",
                    is_package: false,
                    basedir,
                };
                resolve_imports(file, facts, &place, &index, &mut out);
                resolve_references(file, facts, &place, &facts.path, &index, &mut out);
                resolve_members(file, facts, &facts.path, &index, &mut out);
            }
            out
        })
        .collect();
    for part in per_file {
        out.extend(part);
    }
    out.families = overrides(&index);
    out.outside_bases = index
        .modules
        .iter()
        .flat_map(|(name, m)| m.bases.keys().map(move |class| format!("{name}.{class}")))
        .filter_map(|id| {
            let bases = index.outside_bases(&id);
            (!bases.is_empty()).then_some((id, bases))
        })
        .collect();
    out
}

/// Members that keep one name together: a method or attribute, the ones of its bases it
/// overrides, and theirs in turn (a rename of one that left the others would silently stop
/// the override, or split one instance attribute in two).
fn overrides(index: &Index<'_>) -> Vec<Vec<String>> {
    let mut parent: HashMap<String, String> = HashMap::new();
    fn root<'m>(parent: &'m HashMap<String, String>, mut id: &'m str) -> String {
        while let Some(p) = parent.get(id) {
            if p == id {
                break;
            }
            id = p;
        }
        id.to_string()
    }
    let mut modules: Vec<(&String, &Module<'_>)> = index.modules.iter().collect();
    modules.sort_by_key(|(name, _)| *name);
    for (name, module) in modules {
        let mut classes: Vec<&String> = module.bases.keys().collect();
        classes.sort();
        for class in classes {
            let id = format!("{name}.{class}");
            let mro = index.linearisation(&id);
            let mut members: Vec<(&String, &SymbolKind)> = module
                .defs
                .iter()
                .filter(|(path, kind)| {
                    matches!(kind, SymbolKind::Method | SymbolKind::Field)
                        && path
                            .strip_prefix(class.as_str())
                            .and_then(|rest| rest.strip_prefix('.'))
                            .is_some_and(|rest| !rest.contains('.'))
                })
                .collect();
            members.sort();
            for (path, _) in members {
                let member = &path[class.len() + 1..];
                let Some(Value::Symbol(base, SymbolKind::Method | SymbolKind::Field)) =
                    mro[1..].iter().find_map(|c| index.member(c, member))
                else {
                    continue;
                };
                let (a, b) = (
                    root(&parent, &format!("{id}.{member}")),
                    root(&parent, &base),
                );
                if a != b {
                    parent.insert(a.clone(), b.clone());
                    parent.entry(b.clone()).or_insert(b);
                }
            }
        }
    }
    let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for id in parent.keys() {
        groups
            .entry(root(&parent, id))
            .or_default()
            .push(id.clone());
    }
    groups
        .into_values()
        .map(|mut g| {
            g.sort();
            g
        })
        .collect()
}

/// Where an import runs: the module relative imports start from (`""` for a script), and
/// the modules of the folder pytest puts first on `sys.path` for it (see [`test_basedirs`]).
struct Place<'c> {
    module: &'c str,
    is_package: bool,
    basedir: &'c HashMap<String, String>,
}

impl Place<'_> {
    /// The module an absolute import of `m` finds: one in the pytest basedir first.
    fn absolute(&self, m: &str) -> String {
        let (top, rest) = m.split_once('.').unwrap_or((m, ""));
        match self.basedir.get(top) {
            Some(key) if rest.is_empty() => key.clone(),
            Some(key) => format!("{key}.{rest}"),
            None => m.to_string(),
        }
    }

    /// The module `from [.]*m import …` imports from.
    fn base_of(&self, level: u32, m: &str) -> Option<String> {
        if level == 0 {
            Some(self.absolute(m))
        } else {
            from_base(self.module, self.is_package, level, m)
        }
    }
}

/// pytest's prepend import mode (its default, and `append`): a test module or `conftest.py` in
/// a folder without `__init__.py` runs with the first folder upward that has none (its
/// *basedir*) on `sys.path`, so `import fakes` there is `<basedir>/fakes.py`. Per file of such
/// a basedir (every file in it sees the path): top-level name → the index key of the module.
fn test_basedirs(
    files: &[(FileId, &FileFacts)],
    module_names: &HashMap<FileId, String>,
) -> HashMap<FileId, HashMap<String, String>> {
    let paths: HashSet<&str> = files.iter().map(|(_, f)| f.path.as_str()).collect();
    let has_init = |dir: &str| {
        let init = join(dir, "__init__.py");
        paths.contains(init.as_str())
    };
    // basedir of each file
    let basedir_of = |path: &str| -> String {
        let mut dir = parent(path).to_string();
        while !dir.is_empty() && has_init(&dir) {
            dir = parent(&dir).to_string();
        }
        dir
    };
    let is_test = |path: &str| {
        let name = path.rsplit('/').next().unwrap_or(path);
        name == "conftest.py"
            || (name.starts_with("test_") || name.ends_with("_test.py")) && name.ends_with(".py")
    };
    let key_of = |path: &str, id: FileId| {
        module_names
            .get(&id)
            .cloned()
            .unwrap_or_else(|| path.to_string())
    };
    // basedirs pytest collects from → their top-level modules
    let mut dirs: HashMap<String, HashMap<String, String>> = HashMap::new();
    for &(_, f) in files {
        if is_test(&f.path) {
            dirs.entry(basedir_of(&f.path)).or_default();
        }
    }
    dirs.remove(""); // the repository root is a root already
    for &(id, f) in files {
        let dir = parent(&f.path);
        let (folder, name) = match f.path.rsplit_once('/') {
            Some((d, n)) => (d, n),
            None => ("", f.path.as_str()),
        };
        if let Some(top) = name.strip_suffix(".py")
            && top != "__init__"
            && let Some(modules) = dirs.get_mut(folder)
        {
            modules
                .entry(top.to_string())
                .or_insert_with(|| key_of(&f.path, id));
        }
        if name == "__init__.py"
            && let Some((up, pkg)) = dir.rsplit_once('/').or(Some(("", dir)))
            && let Some(modules) = dirs.get_mut(up)
        {
            modules.insert(pkg.to_string(), key_of(&f.path, id));
        }
    }
    let mut out = HashMap::new();
    for &(id, f) in files {
        if let Some(modules) = dirs.get(&basedir_of(&f.path))
            && !modules.is_empty()
        {
            out.insert(id, modules.clone());
        }
    }
    out
}

/// The names one import binds in the namespace it runs in, and to what.
fn import_bindings(
    import: &Import,
    place: &Place<'_>,
    index: &Index<'_>,
) -> Vec<(String, Binding)> {
    match &import.kind {
        ImportKind::Module { module: m, alias } => match alias {
            Some(a) => vec![(a.clone(), Binding::Module(place.absolute(m)))],
            None => {
                let first = m.split('.').next().unwrap_or(m.as_str());
                vec![(first.to_string(), Binding::Module(place.absolute(first)))]
            }
        },
        ImportKind::From {
            level,
            module: m,
            names,
            ..
        } => {
            let Some(base) = place.base_of(*level, m) else {
                return Vec::new();
            };
            names
                .iter()
                .map(|n| {
                    let full = dotted(&base, &n.name);
                    let bound = n.alias.clone().unwrap_or_else(|| n.name.clone());
                    let binding = if index.exists(&full) {
                        Binding::Module(full)
                    } else {
                        Binding::Name {
                            module: base.clone(),
                            name: n.name.clone(),
                        }
                    };
                    (bound, binding)
                })
                .collect()
        }
        ImportKind::Dynamic { .. } | ImportKind::Package { .. } => Vec::new(),
    }
}

fn target_of(module: &str, index: &Index<'_>) -> ImportTarget {
    if let Some(m) = index.modules.get(module)
        && let Some(file) = m.file
    {
        return ImportTarget::File(file);
    }
    if let Some(folder) = index.namespaces.get(module) {
        return ImportTarget::Folder(folder.clone());
    }
    let top = module.split('.').next().unwrap_or(module);
    if index.exists(top) {
        ImportTarget::Unresolved(format!("no module `{module}` in the repository"))
    } else if STDLIB.contains(top) {
        ImportTarget::Stdlib
    } else {
        ImportTarget::External
    }
}

fn resolve_imports(
    file: FileId,
    facts: &FileFacts,
    place: &Place<'_>,
    index: &Index<'_>,
    out: &mut Resolution,
) {
    for import in &facts.imports {
        let mut push = |target: ImportTarget, dynamic: bool| {
            out.imports.push(ResolvedImport {
                file,
                line: import.span.line,
                text: import.text.clone(),
                target,
                context: import.context,
                dynamic,
            });
        };
        match &import.kind {
            ImportKind::Module { module: m, .. } => {
                push(target_of(&place.absolute(m), index), false)
            }
            ImportKind::Dynamic { module: Some(m) } => push(target_of(m, index), true),
            ImportKind::Dynamic { module: None } => push(
                ImportTarget::Unresolved("module name computed at run time".into()),
                true,
            ),
            ImportKind::From {
                level,
                module: m,
                names,
                star,
            } => {
                let base = place.base_of(*level, m);
                let Some(base) = base.filter(|b| !b.is_empty()) else {
                    push(
                        ImportTarget::Unresolved("relative import beyond the top package".into()),
                        false,
                    );
                    continue;
                };
                let mut base_needed = *star;
                for n in names {
                    let full = dotted(&base, &n.name);
                    if index.exists(&full) {
                        push(target_of(&full, index), false);
                    } else {
                        base_needed = true;
                        if let Some(Value::Symbol(id, _)) = index.lookup(&base, &n.name, 0) {
                            let via = index.binds_without_defining(&base, &n.name);
                            // `import f as f` (the explicit re-export idiom) names it twice.
                            let idiom = n
                                .alias_span
                                .filter(|_| n.alias.as_deref() == Some(n.name.as_str()));
                            for span in std::iter::once(n.span).chain(idiom) {
                                out.references.push(ResolvedReference {
                                    via: via.clone(),
                                    file,
                                    symbol: id.clone(),
                                    span,
                                    kind: ReferenceKind::Import,
                                });
                            }
                        }
                    }
                }
                if base_needed {
                    push(target_of(&base, index), false);
                }
            }
            ImportKind::Package { .. } => {}
        }
    }
}

/// `namespace` is where the file's names are looked up (a module, a script's path).
fn resolve_references(
    file: FileId,
    facts: &FileFacts,
    place: &Place<'_>,
    namespace: &str,
    index: &Index<'_>,
    out: &mut Resolution,
) {
    let module = namespace;
    let mut pending = Vec::new();
    for reference in &facts.references {
        if reference.kind == ReferenceKind::Fixture {
            let class = reference
                .receiver
                .as_ref()
                .map(|class| format!("{namespace}.{class}"));
            for seg in &reference.segments {
                if let Some((m, local)) =
                    index.find_fixture(namespace, &facts.path, &seg.name, class.as_deref())
                    && index.modules.get(&m).is_some_and(|d| {
                        d.defs.contains_key(&local) && d.facts.is_some_and(|f| f.path != m)
                    })
                {
                    out.references.push(ResolvedReference {
                        via: None,
                        file,
                        symbol: format!("{m}.{local}"),
                        span: seg.span,
                        kind: reference.kind,
                    });
                }
            }
            continue;
        }
        // `mock.patch("pkg.mod.Class.attr")`: the longest prefix that is a module, then its
        // members; the names of the module path are no symbol's.
        let (first, rest, start) = if reference.absolute {
            let names: Vec<&str> = reference.segments.iter().map(|s| s.name.as_str()).collect();
            let Some(k) = (1..names.len())
                .rev()
                .find(|&k| index.exists(&names[..k].join(".")))
            else {
                continue;
            };
            (
                &reference.segments[k],
                &reference.segments[k + 1..],
                Some(names[..k].join(".")),
            )
        } else {
            let Some((first, rest)) = reference.segments.split_first() else {
                continue;
            };
            (first, rest, None)
        };
        // `patch.object(models.Order, "total")`: the names before the string are code of their
        // own; only the attribute is the patch's.
        let only_last = reference.kind == ReferenceKind::PatchTarget && !reference.absolute;
        let last_span = reference.segments.last().map(|s| s.span);
        let mut value = match reference.local_import {
            _ if start.is_some() => start
                .as_deref()
                .and_then(|m| index.lookup(m, &first.name, 0)),
            _ if reference.local_symbol.is_some() => reference
                .local_symbol
                .as_ref()
                .map(|(path, kind)| Value::Symbol(format!("{namespace}.{path}"), *kind)),
            _ if reference.receiver.is_some() => reference
                .receiver
                .as_ref()
                .map(|class| Value::Symbol(format!("{namespace}.{class}"), SymbolKind::Class)),
            Some(i) => facts.imports.get(i as usize).and_then(|import| {
                import_bindings(import, place, index)
                    .into_iter()
                    .find(|(name, _)| *name == first.name)
                    .and_then(|(_, b)| index.follow(&b, 0))
            }),
            None => index.lookup(module, &first.name, 0),
        };
        let mut emit = |value: &Option<Value>, seg: &Segment, via: Option<String>| {
            if only_last && Some(seg.span) != last_span {
                return;
            }
            if let Some(Value::Symbol(id, _)) = value {
                out.references.push(ResolvedReference {
                    via,
                    file,
                    symbol: id.clone(),
                    span: seg.span,
                    kind: reference.kind,
                });
            }
        };
        if reference.receiver.is_none() {
            // `self` itself is no use of its class.
            let via = match (&start, reference.local_import) {
                (Some(m), _) => index.binds_without_defining(m, &first.name),
                (None, None) => index.star_via(module, &first.name),
                (None, Some(_)) => None,
            };
            emit(&value, first, via);
        }
        for seg in rest {
            let mut via = None;
            value = match &value {
                Some(Value::Module(m)) => {
                    via = index.binds_without_defining(m, &seg.name);
                    index.lookup(m, &seg.name, 0)
                }
                Some(Value::Symbol(id, SymbolKind::Class)) => {
                    let found = index.member_in_mro(id, &seg.name);
                    if found.is_none() && index.hides_bases(id) {
                        pending.extend(unsure(file, seg, index));
                    }
                    found
                }
                Some(Value::Symbol(id, kind)) if kind.has_members() => index.member(id, &seg.name),
                // A variable, an attribute or a property: a member of what it holds.
                Some(Value::Symbol(id, kind))
                    if matches!(
                        kind,
                        SymbolKind::Variable | SymbolKind::Constant | SymbolKind::Field
                    ) || (*kind == SymbolKind::Method && index.has_value(id)) =>
                {
                    match index.ty_of_symbol(id, 0) {
                        Some(Ty::Instance(c) | Ty::Class(c)) => index.member_in_mro(&c, &seg.name),
                        Some(Ty::After(c)) => index.member_after(&c, &seg.name),
                        Some(Ty::Module(m)) => index.lookup(&m, &seg.name, 0),
                        Some(Ty::Either(tys)) => {
                            match index.members_of_either(&tys, &seg.name).as_slice() {
                                [one] => Some(one.clone()),
                                [] => None,
                                several => {
                                    pending.push(union_unsure(file, seg, several));
                                    None
                                }
                            }
                        }
                        Some(Ty::Outside | Ty::Callable(_)) => None,
                        None => {
                            pending.extend(unsure(file, seg, index));
                            None
                        }
                    }
                }
                _ => None,
            };
            if value.is_none() {
                break;
            }
            emit(&value, seg, via);
        }
    }
    out.unsure.extend(pending);
    // Every definition is a place a rename must change too.
    for def in &facts.definitions {
        out.references.push(ResolvedReference {
            via: None,
            file,
            symbol: format!("{module}.{}", def.local_path()),
            span: def.span,
            kind: ReferenceKind::Definition,
        });
    }
}
