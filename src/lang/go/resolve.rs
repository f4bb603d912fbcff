//! The Go resolver. A package is a folder; its import path is the module path of the nearest
//! `go.mod` above it plus the folder's path below that `go.mod` (so a nested module is its own
//! module). All files of a package share one scope; `package foo_test` files in the same
//! folder form a separate external test package.

use std::collections::HashMap;

use super::typing::{FileScope, TypeLayer};

use crate::lang::facts::{FileFacts, ImportKind, ReferenceKind, Span, SymbolKind};
use crate::lang::{
    FileId, ImportTarget, Manifests, Resolution, ResolvedImport, ResolvedReference, SymbolDef,
};

fn parent(path: &str) -> &str {
    path.rsplit_once('/').map(|(d, _)| d).unwrap_or("")
}

/// The `module` directive of a go.mod file.
fn module_path(go_mod: &str) -> Option<String> {
    go_mod.lines().find_map(|line| {
        let rest = line.trim().strip_prefix("module")?;
        if !rest.starts_with([' ', '\t']) {
            return None;
        }
        let path = rest.trim().trim_matches('"');
        (!path.is_empty()).then(|| path.to_string())
    })
}

/// Modules of the repository as (folder, module path), deepest folder first; for each, the
/// repository folders its `replace` directives point other module paths at; and the folders a
/// `go.work` at the root `use`s.
struct Modules {
    mods: Vec<(String, String)>,
    replaced: HashMap<String, Vec<(String, String)>>,
    workspace: Vec<String>,
}

impl Modules {
    fn detect(manifests: &Manifests) -> Modules {
        let mut mods: Vec<(String, String)> = Vec::new();
        let mut replaced: HashMap<String, Vec<(String, String)>> = HashMap::new();
        for (dir, text) in manifests.named("go.mod") {
            let Some(path) = module_path(text) else {
                continue;
            };
            mods.push((dir.to_string(), path));
            let targets = super::modfile::replacements(text)
                .into_iter()
                .filter_map(|(module, target)| {
                    Some((
                        module,
                        crate::lang::shared::normalize_relative(dir, &target)?,
                    ))
                })
                .collect();
            replaced.insert(dir.to_string(), targets);
        }
        mods.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.0.cmp(&b.0)));
        let workspace = manifests
            .named("go.work")
            .filter(|(dir, _)| dir.is_empty())
            .flat_map(|(_, text)| super::modfile::workspace_uses(text))
            .filter_map(|u| crate::lang::shared::normalize_relative("", &u))
            .collect();
        Modules {
            mods,
            replaced,
            workspace,
        }
    }

    /// The folder of the module `dir` belongs to, if any.
    fn module_of(&self, dir: &str) -> Option<&(String, String)> {
        self.mods.iter().find(|(mdir, _)| {
            mdir.is_empty()
                || dir == mdir
                || dir
                    .strip_prefix(mdir.as_str())
                    .is_some_and(|r| r.starts_with('/'))
        })
    }

    /// Whether code in module folder `from` builds against the repository's files of the
    /// module in folder `to` (path `to_path`): the same module, a `replace` of that path with
    /// that folder, or a workspace that uses both. Otherwise it imports a published version.
    fn sees_local(&self, from: &str, to: &str, to_path: &str) -> bool {
        from == to
            || self
                .replaced
                .get(from)
                .is_some_and(|r| r.iter().any(|(m, folder)| m == to_path && folder == to))
            || (self.workspace.iter().any(|w| w == from) && self.workspace.iter().any(|w| w == to))
    }

    /// The import path of a folder (the folder itself when no go.mod covers it).
    fn import_path(&self, dir: &str) -> String {
        for (mdir, mpath) in &self.mods {
            if mdir.is_empty() {
                return if dir.is_empty() {
                    mpath.clone()
                } else {
                    format!("{mpath}/{dir}")
                };
            }
            if dir == mdir {
                return mpath.clone();
            }
            if let Some(rest) = dir.strip_prefix(mdir.as_str())
                && let Some(rest) = rest.strip_prefix('/')
            {
                return format!("{mpath}/{rest}");
            }
        }
        dir.to_string()
    }

    /// The folder an import path names, if a repository module covers it (longest module path
    /// first, so a nested module wins over its parent) and code in folder `from` builds against
    /// that module's files here (see [`Modules::sees_local`]).
    fn folder(&self, import: &str, from: &str) -> Option<String> {
        let mut best: Option<(&str, &str)> = None;
        for (mdir, mpath) in &self.mods {
            let covers = import == mpath
                || import
                    .strip_prefix(mpath.as_str())
                    .is_some_and(|r| r.starts_with('/'));
            if covers && best.is_none_or(|(_, p)| mpath.len() > p.len()) {
                best = Some((mdir, mpath));
            }
        }
        let (mdir, mpath) = best?;
        if let Some((from_mod, _)) = self.module_of(from)
            && !self.sees_local(from_mod, mdir, mpath)
        {
            return None;
        }
        let rest = import[mpath.len()..].trim_start_matches('/');
        Some(match (mdir.is_empty(), rest.is_empty()) {
            (true, _) => rest.to_string(),
            (false, true) => mdir.to_string(),
            (false, false) => format!("{mdir}/{rest}"),
        })
    }
}

/// How JSON and text show a folder: `.` for the repository root.
fn display_folder(dir: &str) -> String {
    if dir.is_empty() {
        ".".to_string()
    } else {
        dir.to_string()
    }
}

/// The name a package is imported as when the import has no alias and the package is not in
/// the repository: the last path element, without a `/vN` major version or `.vN` suffix.
fn default_name(import: &str) -> String {
    let mut elems: Vec<&str> = import.split('/').collect();
    if elems.len() > 1
        && let Some(last) = elems.last()
        && last.len() > 1
        && last.starts_with('v')
        && last[1..].chars().all(|c| c.is_ascii_digit())
    {
        elems.pop();
    }
    let last = elems.last().copied().unwrap_or(import);
    let last = last.split('.').next().unwrap_or(last);
    last.trim_start_matches("go-").replace('-', "_")
}

#[derive(Default)]
struct Package {
    /// local path → (kind, exported)
    defs: HashMap<String, (SymbolKind, bool)>,
    id_prefix: String,
}

/// Resolve every Go file's imports and references.
pub fn resolve(files: &[(FileId, &FileFacts)], manifests: &Manifests) -> Resolution {
    let modules = Modules::detect(manifests);
    let mut out = Resolution::default();

    // Packages: (folder, package name) → scope; folder → name of its non-test package.
    let mut packages: HashMap<(String, String), Package> = HashMap::new();
    // The same packages by index, for the type layer.
    let mut package_index: HashMap<(String, String), usize> = HashMap::new();
    let mut prefixes: Vec<String> = Vec::new();
    let mut folder_names: HashMap<String, String> = HashMap::new();
    let key_of = |facts: &FileFacts| -> (String, String) {
        (
            parent(&facts.path).to_string(),
            facts.package_name.clone().unwrap_or_default(),
        )
    };
    for &(file, facts) in files {
        let key = key_of(facts);
        let import_path = modules.import_path(&key.0);
        let is_test = facts.path.ends_with("_test.go");
        let external_test = is_test && key.1.ends_with("_test");
        if !is_test {
            folder_names
                .entry(key.0.clone())
                .or_insert_with(|| key.1.clone());
            // An import of the folder depends on the package's non-test files.
            out.packages.push((display_folder(&key.0), file));
        }
        out.modules.push((file, import_path.clone()));
        let next = prefixes.len();
        package_index.entry(key.clone()).or_insert_with(|| {
            prefixes.push(if external_test {
                format!("{import_path}_test")
            } else {
                import_path.clone()
            });
            next
        });
        let pkg = packages.entry(key).or_insert_with(|| Package {
            defs: HashMap::new(),
            id_prefix: if external_test {
                format!("{import_path}_test")
            } else {
                import_path
            },
        });
        for (i, def) in facts.definitions.iter().enumerate() {
            let local = def.local_path();
            if pkg.defs.contains_key(&local) {
                continue;
            }
            out.symbols.push(SymbolDef {
                id: format!("{}.{local}", pkg.id_prefix),
                file,
                definition: i,
            });
            pkg.defs.insert(local, (def.kind, def.exported));
        }
    }

    let mut scopes: Vec<FileScope> = Vec::with_capacity(files.len());
    for &(file, facts) in files {
        let key = key_of(facts);
        let mut bindings: HashMap<String, String> = HashMap::new();
        let mut dots: Vec<String> = Vec::new();
        let mut scope = FileScope {
            package: package_index[&key],
            imports: HashMap::new(),
            dots: Vec::new(),
        };
        for import in &facts.imports {
            let ImportKind::Package { path, alias } = &import.kind else {
                continue;
            };
            let folder = modules.folder(path, &key.0);
            let target = match &folder {
                Some(f) if folder_names.contains_key(f) => ImportTarget::Folder(display_folder(f)),
                Some(f) => ImportTarget::Unresolved(format!(
                    "no Go package in folder {} of this repository",
                    display_folder(f)
                )),
                None if path.split('/').next().is_some_and(|e| e.contains('.')) => {
                    ImportTarget::External
                }
                None => ImportTarget::Stdlib,
            };
            out.imports.push(ResolvedImport {
                file,
                line: import.span.line,
                text: import.text.clone(),
                target: target.clone(),
                context: import.context,
                dynamic: false,
            });
            let Some(folder) = folder.filter(|f| folder_names.contains_key(f)) else {
                if !matches!(alias.as_deref(), Some("_" | ".")) {
                    let name = alias.clone().unwrap_or_else(|| default_name(path));
                    scope.imports.insert(name, None);
                }
                continue;
            };
            let index = package_index
                .get(&(folder.clone(), folder_names[&folder].clone()))
                .copied();
            match alias.as_deref() {
                Some("_") => {}
                Some(".") => {
                    scope.dots.extend(index);
                    dots.push(folder)
                }
                Some(name) => {
                    scope.imports.insert(name.to_string(), index);
                    bindings.insert(name.to_string(), folder);
                }
                None => {
                    let name = folder_names
                        .get(&folder)
                        .cloned()
                        .unwrap_or_else(|| default_name(path));
                    scope.imports.insert(name.clone(), index);
                    bindings.insert(name, folder);
                }
            }
        }

        let own = packages.get(&key);
        let lookup_in = |folder: &str, name: &str, exported_only: bool| {
            let pkg_name = folder_names.get(folder)?;
            let pkg = packages.get(&(folder.to_string(), pkg_name.clone()))?;
            let (kind, exported) = pkg.defs.get(name)?;
            (!exported_only || *exported).then(|| (format!("{}.{name}", pkg.id_prefix), *kind))
        };
        for reference in &facts.references {
            let Some((first, rest)) = reference.segments.split_first() else {
                continue;
            };
            let mut rest = rest.iter();
            // The first segment: an imported package, a name of this package, or a name a
            // dot import brings in.
            let mut current: Option<(String, SymbolKind)> = None;
            if let Some(folder) = bindings.get(&first.name) {
                let Some(seg) = rest.next() else { continue };
                current = lookup_in(folder, &seg.name, true);
                if let Some((id, _)) = &current {
                    out.references.push(ResolvedReference {
                        via: None,
                        file,
                        symbol: id.clone(),
                        span: seg.span,
                        kind: reference.kind,
                    });
                }
            } else {
                if let Some(pkg) = own
                    && let Some((kind, _)) = pkg.defs.get(&first.name)
                {
                    current = Some((format!("{}.{}", pkg.id_prefix, first.name), *kind));
                }
                if current.is_none() {
                    current = dots.iter().find_map(|f| lookup_in(f, &first.name, true));
                }
                if let Some((id, _)) = &current {
                    out.references.push(ResolvedReference {
                        via: None,
                        file,
                        symbol: id.clone(),
                        span: first.span,
                        kind: reference.kind,
                    });
                }
            }
            // Members: `Type.Method` (method expressions) when the type is known.
            while let (Some((id, kind)), Some(seg)) = (&current, rest.next()) {
                if !kind.has_members() {
                    break;
                }
                let member = format!("{id}.{}", seg.name);
                let (prefix, type_name) = id.rsplit_once('.').unwrap_or(("", id));
                let found = packages
                    .values()
                    .find(|p| p.id_prefix == prefix)
                    .and_then(|p| p.defs.get(&format!("{type_name}.{}", seg.name)));
                let Some((member_kind, _)) = found else { break };
                out.references.push(ResolvedReference {
                    via: None,
                    file,
                    symbol: member.clone(),
                    span: seg.span,
                    kind: reference.kind,
                });
                current = Some((member, *member_kind));
            }
        }
        if let Some(pkg) = own {
            for def in &facts.definitions {
                out.references.push(ResolvedReference {
                    via: None,
                    file,
                    symbol: format!("{}.{}", pkg.id_prefix, def.local_path()),
                    span: def.span,
                    kind: ReferenceKind::Definition,
                });
            }
        }
        // Example functions of the folder's test files name the package's symbols.
        if facts.path.ends_with("_test.go")
            && let Some(pkg_name) = folder_names.get(&key.0)
            && let Some(pkg) = packages.get(&(key.0.clone(), pkg_name.clone()))
        {
            for def in &facts.definitions {
                if def.kind != SymbolKind::Function || def.local_path().contains('.') {
                    continue;
                }
                for (offset, local) in example_targets(&def.name, |n| pkg.defs.contains_key(n)) {
                    let start = def.span.start + offset as u32;
                    let name = local.rsplit('.').next().unwrap_or(&local);
                    out.references.push(ResolvedReference {
                        via: None,
                        file,
                        symbol: format!("{}.{local}", pkg.id_prefix),
                        span: Span {
                            line: def.span.line,
                            column: def.span.column + offset as u32,
                            start,
                            end: start + name.len() as u32,
                        },
                        kind: ReferenceKind::Example,
                    });
                }
            }
        }
        scopes.push(scope);
    }
    let layer = TypeLayer::new(files, &scopes, prefixes);
    let (references, unsure, renamed_with) = layer.resolve();
    out.families = layer.families();
    out.references.extend(references);
    out.unsure = unsure;
    out.renamed_with = renamed_with;
    out
}

/// What a Go example function's name refers to, by go vet's rules: `ExampleF` and
/// `ExampleF_suffix` name F (a function or type), `ExampleT_M` and `ExampleT_M_suffix` the
/// method (or field) M of T and T itself, `Example` and `Example_suffix` the package; a suffix
/// starts with a lower-case letter. Each as (byte offset in the name, the package-local path
/// `F` or `T.M`), for names `known` says the package defines.
fn example_targets(name: &str, known: impl Fn(&str) -> bool) -> Vec<(usize, String)> {
    let Some(rest) = name.strip_prefix("Example") else {
        return Vec::new();
    };
    let mut parts = rest.split('_');
    let Some(first) = parts
        .next()
        .filter(|p| p.starts_with(|c: char| c.is_uppercase()))
    else {
        return Vec::new();
    };
    if !known(first) {
        return Vec::new();
    }
    let mut out = vec![(7, first.to_string())];
    if let Some(member) = parts
        .next()
        .filter(|p| p.starts_with(|c: char| c.is_uppercase()))
    {
        let local = format!("{first}.{member}");
        if known(&local) {
            out.push((7 + first.len() + 1, local));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_names_by_go_vets_rules() {
        let known = |n: &str| ["ParsePrice", "Server", "Server.Handle"].contains(&n);
        let t = |name: &str| example_targets(name, known);
        assert_eq!(t("ExampleParsePrice"), [(7, "ParsePrice".to_string())]);
        assert_eq!(
            t("ExampleParsePrice_euros"),
            [(7, "ParsePrice".to_string())]
        );
        assert_eq!(
            t("ExampleServer_Handle_twice"),
            [(7, "Server".to_string()), (14, "Server.Handle".to_string())]
        );
        assert_eq!(t("ExampleServer_Close"), [(7, "Server".to_string())]);
        assert!(t("Example").is_empty());
        assert!(t("Example_basic").is_empty());
        assert!(t("ExampleUnknown").is_empty());
        assert!(t("TestParsePrice").is_empty());
    }

    #[test]
    fn default_names_follow_go_conventions() {
        assert_eq!(default_name("github.com/spf13/cobra"), "cobra");
        assert_eq!(default_name("gopkg.in/yaml.v3"), "yaml");
        assert_eq!(default_name("github.com/jackc/pgx/v5"), "pgx");
        assert_eq!(default_name("github.com/mattn/go-sqlite3"), "sqlite3");
    }

    #[test]
    fn nested_modules_win_over_their_parent() {
        let manifests = Manifests {
            files: vec![
                ("go.mod".into(), "module example.com/shop\n".into()),
                (
                    "tools/go.mod".into(),
                    "module example.com/shop/tools\n".into(),
                ),
            ],
        };
        let m = Modules::detect(&manifests);
        assert_eq!(m.import_path("tools/seed"), "example.com/shop/tools/seed");
        assert_eq!(m.import_path(""), "example.com/shop");
        assert_eq!(
            m.folder("example.com/shop/tools/seed", "tools/seed")
                .as_deref(),
            Some("tools/seed")
        );
        assert_eq!(
            m.folder("example.com/shop/models", "").as_deref(),
            Some("models")
        );
        assert_eq!(m.folder("example.com/shop", "cmd").as_deref(), Some(""));
        assert_eq!(m.folder("example.com/other", ""), None);
        // The nested module requires the outer one at a published version: not these files.
        assert_eq!(m.folder("example.com/shop/models", "tools/seed"), None);
    }

    #[test]
    fn a_replace_or_a_workspace_makes_another_module_local() {
        let outer = (
            "go.mod".to_string(),
            "module example.com/shop\n".to_string(),
        );
        let replaced = Manifests {
            files: vec![
                outer.clone(),
                (
                    "tools/go.mod".into(),
                    "module example.com/shop/tools\n\nrequire example.com/shop v1.2.0\n\nreplace example.com/shop => ../\n".into(),
                ),
            ],
        };
        let m = Modules::detect(&replaced);
        assert_eq!(
            m.folder("example.com/shop/models", "tools/seed").as_deref(),
            Some("models")
        );
        let workspace = Manifests {
            files: vec![
                outer,
                (
                    "tools/go.mod".into(),
                    "module example.com/shop/tools\n".into(),
                ),
                (
                    "go.work".into(),
                    "go 1.22\n\nuse (\n\t.\n\t./tools\n)\n".into(),
                ),
            ],
        };
        let m = Modules::detect(&workspace);
        assert_eq!(
            m.folder("example.com/shop/models", "tools/seed").as_deref(),
            Some("models")
        );
    }
}
