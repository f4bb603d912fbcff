//! The Go type layer: evaluates the type facts of every file across packages, by go/types'
//! rules, to find which field or method each `x.name` and each literal key `T{name: …}`
//! denotes: promotion through embedded fields (shallowest depth wins, two at one depth is no
//! match), methods of value and pointer receivers, interface method sets (embedded interfaces
//! included), defined types (`type B A` has A's fields and none of its methods), aliases,
//! generics (an instantiation is its generic declaration).
//!
//! A use whose operand's type cannot be known from the facts is not dropped: when its name is
//! the name of some repository member it is an unsure site, with the reason.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};

use super::PREDECLARED_TYPES;
use crate::lang::facts::{FieldDecl, TypeExpr, ValueExpr};
use crate::lang::facts::{FileFacts, ReferenceKind, SymbolKind};
use crate::lang::{FileId, ResolvedReference, UnsureReason, UnsureReference};

/// What a file's names refer to outside its own package.
pub(super) struct FileScope {
    /// The package the file belongs to: an index into the packages.
    pub package: usize,
    /// Import names → the repository package (`None`: a package outside the repository).
    pub imports: HashMap<String, Option<usize>>,
    /// Packages imported with `.`.
    pub dots: Vec<usize>,
}

/// One package's members, as the type layer looks them up.
#[derive(Default)]
pub(super) struct PackageTypes {
    /// The symbol ID prefix (the import path, `…_test` for an external test package).
    pub prefix: String,
    types: HashMap<String, TypeEntry>,
    funcs: HashMap<String, (usize, Vec<TypeExpr>)>,
    values: HashMap<String, (usize, ValueExpr)>,
}

#[derive(Default)]
struct TypeEntry {
    /// (file, written type, alias); `None` until the declaration is seen.
    decl: Option<(usize, TypeExpr, bool)>,
    kind: Option<SymbolKind>,
    fields: Vec<(usize, FieldDecl)>,
    methods: HashMap<String, (usize, Vec<TypeExpr>)>,
    embeds: Vec<(usize, TypeExpr)>,
}

/// The fields of a struct: (its package, its name, (file, field) each).
type StructFields<'l> = (usize, String, &'l [(usize, FieldDecl)]);

#[derive(Debug, Clone, PartialEq)]
enum Ty {
    Named(usize, String),
    Pointer(Box<Ty>),
    Slice(Box<Ty>),
    Map(Box<Ty>, Box<Ty>),
    Chan(Box<Ty>),
    Func(Vec<Ty>),
    /// An anonymous struct: (fields, embedded types).
    Struct(Vec<(String, Ty)>, Vec<Ty>),
    /// A type used as a value: a conversion `T(x)`, a method expression `T.M`.
    TypeValue(Box<Ty>),
    Package(usize),
    /// Predeclared, or from outside the repository: its members are not repository symbols.
    Outside,
    Unknown(UnsureReason),
}

enum Member {
    Field(String, Ty),
    Method(String, Vec<Ty>),
    Outside,
    Unknown(UnsureReason),
    Missing,
    /// A member that is certainly no repository symbol (a field of an anonymous struct).
    NotSymbol(Ty),
}

/// How deep type evaluation follows chains (defined types, embedded fields, values made from
/// values) before it gives up with an unsure result.
const MAX_DEPTH: u32 = 24;

/// The type layer over the Go files of the repository.
pub(super) struct TypeLayer<'a> {
    files: &'a [(FileId, &'a FileFacts)],
    scopes: &'a [FileScope],
    packages: Vec<PackageTypes>,
    /// Member name → the IDs of every repository field and method with that name.
    member_names: HashMap<String, Vec<String>>,
    locals: RefCell<HashMap<(usize, u32), Ty>>,
    values: RefCell<HashMap<(usize, String), Ty>>,
}

impl<'a> TypeLayer<'a> {
    /// Index the type facts of `files` (each with its scope, by position) into `prefixes.len()`
    /// packages.
    pub fn new(
        files: &'a [(FileId, &'a FileFacts)],
        scopes: &'a [FileScope],
        prefixes: Vec<String>,
    ) -> TypeLayer<'a> {
        let mut packages: Vec<PackageTypes> = prefixes
            .into_iter()
            .map(|prefix| PackageTypes {
                prefix,
                ..PackageTypes::default()
            })
            .collect();
        for (li, (_, facts)) in files.iter().enumerate() {
            let pkg = &mut packages[scopes[li].package];
            let t = &facts.types;
            for d in &t.types {
                let entry = pkg.types.entry(d.name.clone()).or_default();
                if entry.decl.is_none() {
                    entry.decl = Some((li, d.of.clone(), d.alias));
                    entry.kind = facts
                        .definitions
                        .iter()
                        .find(|def| def.parents.is_empty() && def.name == d.name)
                        .map(|def| def.kind);
                }
            }
            for f in &t.fields {
                pkg.types
                    .entry(f.owner.clone())
                    .or_default()
                    .fields
                    .push((li, f.clone()));
            }
            for m in &t.methods {
                pkg.types
                    .entry(m.owner.clone())
                    .or_default()
                    .methods
                    .entry(m.name.clone())
                    .or_insert_with(|| (li, m.results.clone()));
            }
            for e in &t.embeds {
                pkg.types
                    .entry(e.owner.clone())
                    .or_default()
                    .embeds
                    .push((li, e.of.clone()));
            }
            for f in &t.funcs {
                pkg.funcs
                    .entry(f.name.clone())
                    .or_insert_with(|| (li, f.results.clone()));
            }
            for (name, value) in &t.values {
                pkg.values
                    .entry(name.clone())
                    .or_insert_with(|| (li, value.clone()));
            }
        }
        let mut member_names: HashMap<String, Vec<String>> = HashMap::new();
        for pkg in &packages {
            for (type_name, entry) in &pkg.types {
                let members = entry
                    .fields
                    .iter()
                    .map(|(_, f)| &f.name)
                    .chain(entry.methods.keys());
                for m in members {
                    member_names
                        .entry(m.clone())
                        .or_default()
                        .push(format!("{}.{type_name}.{m}", pkg.prefix));
                }
            }
        }
        for ids in member_names.values_mut() {
            ids.sort();
            ids.dedup();
        }
        TypeLayer {
            files,
            scopes,
            packages,
            member_names,
            locals: RefCell::default(),
            values: RefCell::default(),
        }
    }

    /// Every member use of every file: the references it resolves, the unsure sites it
    /// leaves, and which embedded fields are named after which type (they rename together).
    pub fn resolve(
        &self,
    ) -> (
        Vec<ResolvedReference>,
        Vec<UnsureReference>,
        Vec<(String, String)>,
    ) {
        let mut references = Vec::new();
        let mut unsure = Vec::new();
        for (li, (file, facts)) in self.files.iter().enumerate() {
            for use_ in &facts.types.members {
                let of = self.eval(li, &use_.of, 0);
                let found = if use_.key {
                    match self.key(&of, &use_.name) {
                        // A map key: a plain name, of this package or a dot import.
                        Member::Missing if !use_.shadowed => {
                            if let Some(symbol) = self.package_symbol(li, &use_.name) {
                                references.push(ResolvedReference {
                                    via: None,
                                    file: *file,
                                    symbol,
                                    span: use_.span,
                                    kind: ReferenceKind::Code,
                                });
                            }
                            continue;
                        }
                        // `sync.Pool{New: …}` or `url.Values{key: …}`: a field of a type
                        // outside the repository, or a map key naming a value of ours.
                        Member::Outside if !use_.shadowed => {
                            if let Some(symbol) = self.package_symbol(li, &use_.name) {
                                unsure.push(UnsureReference {
                                    file: *file,
                                    span: use_.span,
                                    name: use_.name.clone(),
                                    reason: UnsureReason::OutsideLiteral,
                                    candidates: vec![symbol],
                                });
                            }
                            continue;
                        }
                        found => found,
                    }
                } else {
                    match &of {
                        // `pkg.Name`: the name resolver's.
                        Ty::Package(_) => continue,
                        // A method expression `T.M`, `(*T).M`.
                        Ty::TypeValue(t) => match self.lookup(t, &use_.name, 0) {
                            m @ Member::Method(..) => m,
                            _ => continue,
                        },
                        _ => self.lookup(&of, &use_.name, 0),
                    }
                };
                match found {
                    Member::Field(symbol, _) | Member::Method(symbol, _) => {
                        references.push(ResolvedReference {
                            via: None,
                            file: *file,
                            symbol,
                            span: use_.span,
                            kind: ReferenceKind::Code,
                        })
                    }
                    Member::Unknown(reason) => {
                        if let Some(candidates) = self.member_names.get(&use_.name) {
                            unsure.push(UnsureReference {
                                file: *file,
                                span: use_.span,
                                name: use_.name.clone(),
                                reason,
                                candidates: candidates.clone(),
                            });
                        }
                    }
                    Member::Outside | Member::Missing | Member::NotSymbol(_) => {}
                }
            }
        }
        // Directives name symbols where no compiler checks them.
        for (li, (file, facts)) in self.files.iter().enumerate() {
            for m in &facts.mentions {
                let (pkg, name) = match m.name.rsplit_once('.') {
                    Some((path, name)) => (self.packages.iter().find(|p| p.prefix == path), name),
                    None => (
                        Some(&self.packages[self.scopes[li].package]),
                        m.name.as_str(),
                    ),
                };
                let Some(pkg) = pkg.filter(|p| {
                    p.values.contains_key(name)
                        || p.funcs.contains_key(name)
                        || p.types.get(name).is_some_and(|e| e.decl.is_some())
                }) else {
                    continue;
                };
                unsure.push(UnsureReference {
                    file: *file,
                    span: m.span,
                    name: name.to_string(),
                    reason: UnsureReason::Directive,
                    candidates: vec![format!("{}.{name}", pkg.prefix)],
                });
            }
        }
        let mut embedded = Vec::new();
        for pkg in &self.packages {
            for (owner, entry) in &pkg.types {
                for (li, f) in entry.fields.iter().filter(|(_, f)| f.embedded) {
                    if let Ty::Named(tp, tn) = strip_pointer(self.resolve_type(*li, &f.of, 0)) {
                        embedded.push((
                            format!("{}.{owner}.{}", pkg.prefix, f.name),
                            format!("{}.{tn}", self.packages[tp].prefix),
                        ));
                    }
                }
            }
        }
        (references, unsure, embedded)
    }

    /// The ID of the package-level value or function a bare name in file `li` denotes.
    fn package_symbol(&self, li: usize, name: &str) -> Option<String> {
        let scope = &self.scopes[li];
        std::iter::once(scope.package)
            .chain(scope.dots.iter().copied())
            .map(|p| &self.packages[p])
            .find(|p| p.values.contains_key(name) || p.funcs.contains_key(name))
            .map(|p| format!("{}.{name}", p.prefix))
    }

    /// Method families: an interface's method and the methods of every repository type that
    /// implements the interface (by method names; promoted methods included), joined
    /// transitively. A rename of one is a rename of all, or the interface breaks.
    pub fn families(&self) -> Vec<Vec<String>> {
        let mut parent: HashMap<String, String> = HashMap::new();
        fn root(parent: &mut HashMap<String, String>, id: &str) -> String {
            let mut at = id.to_string();
            while let Some(p) = parent.get(&at).filter(|p| **p != at) {
                at = p.clone();
            }
            at
        }
        let mut interfaces = Vec::new();
        let mut concrete = Vec::new();
        for (p, pkg) in self.packages.iter().enumerate() {
            for (n, entry) in &pkg.types {
                match entry.kind {
                    Some(SymbolKind::Interface) => {
                        let mut names = Vec::new();
                        self.interface_names(p, n, &mut names, &mut HashSet::new(), 0);
                        names.sort();
                        names.dedup();
                        if !names.is_empty() {
                            interfaces.push((p, n.clone(), names));
                        }
                    }
                    Some(_) => concrete.push((p, n.clone())),
                    None => {}
                }
            }
        }
        interfaces.sort();
        concrete.sort();
        // Which concrete types have a method of each name (own or promoted): only those that
        // have all of an interface's names are looked up.
        let mut memo: HashMap<(usize, String), HashSet<String>> = HashMap::new();
        let mut by_name: HashMap<String, Vec<usize>> = HashMap::new();
        let mut sets = Vec::with_capacity(concrete.len());
        for (i, (p, n)) in concrete.iter().enumerate() {
            let set = self.method_names(*p, n, &mut memo, 0);
            for name in &set {
                by_name.entry(name.clone()).or_default().push(i);
            }
            sets.push(set);
        }
        for (p, n, names) in &interfaces {
            let Some(rarest) = names
                .iter()
                .map(|name| by_name.get(name).map_or(&[][..], Vec::as_slice))
                .min_by_key(|c| c.len())
            else {
                continue;
            };
            for &ci in rarest {
                if !names.iter().all(|name| sets[ci].contains(name)) {
                    continue;
                }
                let (tp, tn) = &concrete[ci];
                let t = Ty::Named(*tp, tn.clone());
                let mut methods = Vec::new();
                for name in names {
                    match self.lookup(&t, name, 0) {
                        Member::Method(id, _) => methods.push((name, id)),
                        _ => break,
                    }
                }
                if methods.len() != names.len() {
                    continue;
                }
                for (name, id) in methods {
                    let Some(Member::Method(iface, _)) =
                        self.interface_method(*p, n, name, &mut HashSet::new(), 0)
                    else {
                        continue;
                    };
                    let (a, b) = (root(&mut parent, &iface), root(&mut parent, &id));
                    parent.entry(a.clone()).or_insert_with(|| a.clone());
                    parent.entry(b.clone()).or_insert_with(|| b.clone());
                    if a != b {
                        parent.insert(b, a);
                    }
                }
            }
        }
        let mut groups: HashMap<String, Vec<String>> = HashMap::new();
        let ids: Vec<String> = parent.keys().cloned().collect();
        for id in ids {
            let r = root(&mut parent, &id);
            groups.entry(r).or_default().push(id);
        }
        let mut out: Vec<Vec<String>> = groups
            .into_values()
            .filter(|g| g.len() > 1)
            .map(|mut g| {
                g.sort();
                g
            })
            .collect();
        out.sort();
        out
    }

    /// The names of the methods a named type has, its own and those its embedded fields
    /// promote (a superset is fine: it only narrows which types are looked up).
    fn method_names(
        &self,
        p: usize,
        n: &str,
        memo: &mut HashMap<(usize, String), HashSet<String>>,
        depth: u32,
    ) -> HashSet<String> {
        let key = (p, n.to_string());
        if let Some(set) = memo.get(&key) {
            return set.clone();
        }
        memo.insert(key.clone(), HashSet::new());
        let mut set = HashSet::new();
        if let Some(entry) = self.packages[p].types.get(n) {
            set.extend(entry.methods.keys().cloned());
            if depth < MAX_DEPTH {
                let embedded = entry
                    .fields
                    .iter()
                    .filter(|(_, f)| f.embedded)
                    .map(|(li, f)| (*li, &f.of))
                    .chain(entry.embeds.iter().map(|(li, of)| (*li, of)));
                for (li, of) in embedded {
                    if let Ty::Named(p2, n2) = strip_pointer(self.resolve_type(li, of, 0)) {
                        set.extend(self.method_names(p2, &n2, memo, depth + 1));
                    }
                }
            }
        }
        memo.insert(key, set.clone());
        set
    }

    /// The method names of an interface the repository declares (embedded repository
    /// interfaces included; those of interfaces from outside are unknown and left out).
    fn interface_names(
        &self,
        p: usize,
        n: &str,
        out: &mut Vec<String>,
        seen: &mut HashSet<(usize, String)>,
        depth: u32,
    ) {
        if depth > MAX_DEPTH || !seen.insert((p, n.to_string())) {
            return;
        }
        let Some(entry) = self.packages[p].types.get(n) else {
            return;
        };
        out.extend(entry.methods.keys().cloned());
        for (li, of) in &entry.embeds {
            if let Ty::Named(p2, n2) = self.resolve_type(*li, of, depth + 1) {
                self.interface_names(p2, &n2, out, seen, depth + 1);
            }
        }
    }

    /// A key of a composite literal of type `of`: a field of the struct itself (embedded
    /// fields by their name; promoted fields cannot be keys).
    fn key(&self, of: &Ty, name: &str) -> Member {
        match self.under(of, 0) {
            Ty::Named(p, n) => match self.struct_fields(p, &n, 0) {
                Some((owner_pkg, owner, fields)) => fields
                    .iter()
                    .find(|(_, f)| f.name == name)
                    .map_or(Member::Missing, |(li, f)| {
                        Member::Field(
                            format!("{}.{owner}.{name}", self.packages[owner_pkg].prefix),
                            self.resolve_type(*li, &f.of, 0),
                        )
                    }),
                None => Member::Missing,
            },
            Ty::Struct(fields, _) => match fields.iter().find(|(f, _)| f == name) {
                Some((_, t)) => Member::NotSymbol(t.clone()),
                None => Member::Missing,
            },
            Ty::Unknown(reason) => Member::Unknown(reason),
            Ty::Outside => Member::Outside,
            _ => Member::Missing,
        }
    }

    /// The struct fields a named type has: its own, or those of the type it is defined as.
    fn struct_fields(&self, p: usize, n: &str, depth: u32) -> Option<StructFields<'_>> {
        let entry = self.packages[p].types.get(n)?;
        if entry.kind == Some(SymbolKind::Struct) {
            return Some((p, n.to_string(), &entry.fields));
        }
        let (li, of, _) = entry.decl.as_ref()?;
        if depth > MAX_DEPTH {
            return None;
        }
        match self.resolve_type(*li, of, depth + 1) {
            Ty::Named(p2, n2) => self.struct_fields(p2, &n2, depth + 1),
            _ => None,
        }
    }

    /// The type a named type is defined as, when it is not a struct or interface (`type IDs
    /// []ID`); otherwise the type itself.
    fn under(&self, t: &Ty, depth: u32) -> Ty {
        let Ty::Named(p, n) = t else {
            return t.clone();
        };
        let Some(entry) = self.packages[*p].types.get(n) else {
            return t.clone();
        };
        match (&entry.decl, entry.kind) {
            (Some((li, of, _)), Some(SymbolKind::Type)) if depth < MAX_DEPTH => {
                match self.resolve_type(*li, of, depth + 1) {
                    Ty::Unknown(r) => Ty::Unknown(r),
                    u @ Ty::Named(..) => self.under(&u, depth + 1),
                    u => u,
                }
            }
            _ => t.clone(),
        }
    }

    fn lookup(&self, t: &Ty, name: &str, depth: u32) -> Member {
        let t = match t {
            Ty::Pointer(inner) => inner.as_ref().clone(),
            other => other.clone(),
        };
        match &t {
            Ty::Named(..) => {}
            Ty::Struct(fields, embeds) => {
                if let Some((_, t)) = fields.iter().find(|(f, _)| f == name) {
                    return Member::NotSymbol(t.clone());
                }
                let mut found = embeds
                    .iter()
                    .map(|e| self.lookup(e, name, depth + 1))
                    .filter(|m| !matches!(m, Member::Missing));
                return match (found.next(), found.next()) {
                    (Some(m), None) => m,
                    _ => Member::Missing,
                };
            }
            Ty::Unknown(reason) => return Member::Unknown(*reason),
            Ty::Outside => return Member::Outside,
            _ => return Member::Missing,
        }
        let mut level = vec![t];
        let mut seen: HashSet<(usize, String)> = HashSet::new();
        let mut opaque: Option<Member> = None;
        for _ in 0..MAX_DEPTH.saturating_sub(depth) {
            let mut found: Vec<Member> = Vec::new();
            let mut next = Vec::new();
            for t in &level {
                let Ty::Named(p, n) = t else { continue };
                if !seen.insert((*p, n.clone())) {
                    continue;
                }
                let prefix = &self.packages[*p].prefix;
                let Some(entry) = self.packages[*p].types.get(n) else {
                    continue;
                };
                if let Some((li, results)) = entry.methods.get(name) {
                    found.push(Member::Method(
                        format!("{prefix}.{n}.{name}"),
                        self.resolve_all(*li, results),
                    ));
                    continue;
                }
                let interface = match entry.kind {
                    Some(SymbolKind::Interface) => true,
                    Some(SymbolKind::Type) => matches!(
                        self.under(t, 0),
                        Ty::Named(p2, n2) if self.packages[p2].types.get(&n2)
                            .is_some_and(|e| e.kind == Some(SymbolKind::Interface))
                    ),
                    _ => false,
                };
                if interface {
                    if let Some(m) = self.interface_method(*p, n, name, &mut HashSet::new(), 0) {
                        found.push(m);
                    }
                    continue;
                }
                let Some((fp, owner, fields)) = self.struct_fields(*p, n, 0) else {
                    continue;
                };
                for (li, f) in fields {
                    if f.name == name {
                        found.push(Member::Field(
                            format!("{}.{owner}.{name}", self.packages[fp].prefix),
                            self.resolve_type(*li, &f.of, 0),
                        ));
                    }
                    if f.embedded {
                        match strip_pointer(self.resolve_type(*li, &f.of, 0)) {
                            named @ Ty::Named(..) => next.push(named),
                            Ty::Unknown(r) => opaque = Some(Member::Unknown(r)),
                            _ => {
                                if opaque.is_none() {
                                    opaque = Some(Member::Outside)
                                }
                            }
                        }
                    }
                }
            }
            match found.len() {
                0 => {}
                1 => return found.pop().unwrap_or(Member::Missing),
                // Two at the same depth: the selector is ambiguous (it would not compile).
                _ => return Member::Missing,
            }
            if next.is_empty() {
                break;
            }
            level = next;
        }
        opaque.unwrap_or(Member::Missing)
    }

    /// A method of an interface, declared in it or in an interface it embeds (the method is
    /// the embedded interface's own), or of the interface a named type is defined as.
    fn interface_method(
        &self,
        p: usize,
        n: &str,
        name: &str,
        seen: &mut HashSet<(usize, String)>,
        depth: u32,
    ) -> Option<Member> {
        if depth > MAX_DEPTH || !seen.insert((p, n.to_string())) {
            return None;
        }
        let entry = self.packages[p].types.get(n)?;
        if let Some((li, results)) = entry.methods.get(name) {
            return Some(Member::Method(
                format!("{}.{n}.{name}", self.packages[p].prefix),
                self.resolve_all(*li, results),
            ));
        }
        let mut embedded: Vec<(usize, TypeExpr)> = entry.embeds.clone();
        if entry.kind == Some(SymbolKind::Type)
            && let Some((li, of, _)) = &entry.decl
        {
            embedded.push((*li, of.clone()));
        }
        for (li, of) in embedded {
            match self.resolve_type(li, &of, depth + 1) {
                Ty::Named(p2, n2) => {
                    if let Some(m) = self.interface_method(p2, &n2, name, seen, depth + 1) {
                        return Some(m);
                    }
                }
                Ty::Unknown(r) => return Some(Member::Unknown(r)),
                _ => {}
            }
        }
        None
    }

    fn resolve_all(&self, li: usize, types: &[TypeExpr]) -> Vec<Ty> {
        types.iter().map(|t| self.resolve_type(li, t, 0)).collect()
    }

    /// A written type, read in file `li`.
    fn resolve_type(&self, li: usize, t: &TypeExpr, depth: u32) -> Ty {
        if depth > MAX_DEPTH {
            return Ty::Unknown(UnsureReason::TooDeep);
        }
        let boxed = |t: &TypeExpr| Box::new(self.resolve_type(li, t, depth + 1));
        match t {
            TypeExpr::Named { qualifier, name } => {
                let scope = &self.scopes[li];
                let pkg = match qualifier {
                    None => {
                        if self.packages[scope.package].types.contains_key(name) {
                            Some(scope.package)
                        } else if let Some(&d) = scope
                            .dots
                            .iter()
                            .find(|&&d| self.packages[d].types.contains_key(name))
                        {
                            Some(d)
                        } else if PREDECLARED_TYPES.contains(&name.as_str()) {
                            return Ty::Outside;
                        } else {
                            return Ty::Unknown(UnsureReason::UnresolvedName);
                        }
                    }
                    Some(q) => match scope.imports.get(q) {
                        Some(Some(p)) => Some(*p),
                        Some(None) => return Ty::Outside,
                        None => return Ty::Unknown(UnsureReason::UnresolvedName),
                    },
                };
                let Some(p) = pkg else {
                    return Ty::Unknown(UnsureReason::UnresolvedName);
                };
                match self.packages[p]
                    .types
                    .get(name)
                    .and_then(|e| e.decl.as_ref())
                {
                    Some((dli, of, true)) => self.resolve_type(*dli, of, depth + 1),
                    Some(_) => Ty::Named(p, name.clone()),
                    None => Ty::Unknown(UnsureReason::UnresolvedName),
                }
            }
            TypeExpr::Pointer { of } => Ty::Pointer(boxed(of)),
            TypeExpr::Slice { of } => Ty::Slice(boxed(of)),
            TypeExpr::Map { key, value } => Ty::Map(boxed(key), boxed(value)),
            TypeExpr::Chan { of } => Ty::Chan(boxed(of)),
            TypeExpr::Func { results } => Ty::Func(
                results
                    .iter()
                    .map(|r| self.resolve_type(li, r, depth + 1))
                    .collect(),
            ),
            TypeExpr::Struct { fields, embeds } => Ty::Struct(
                fields
                    .iter()
                    .map(|(n, t)| (n.clone(), self.resolve_type(li, t, depth + 1)))
                    .collect(),
                embeds
                    .iter()
                    .map(|e| self.resolve_type(li, e, depth + 1))
                    .collect(),
            ),
            TypeExpr::Interface => Ty::Outside,
            TypeExpr::TypeParameter => Ty::Unknown(UnsureReason::TypeParameter),
            // Python's; no Go type is written so.
            // Python's alone: never in Go facts.
            TypeExpr::ClassOf { .. } | TypeExpr::Union { .. } | TypeExpr::Other => {
                Ty::Unknown(UnsureReason::AnonymousType)
            }
        }
    }

    /// A name that is not a local, read in file `li`.
    fn name(&self, li: usize, name: &str, depth: u32) -> Ty {
        let scope = &self.scopes[li];
        if let Some(t) = self.package_member(scope.package, name, depth) {
            return t;
        }
        if let Some(binding) = scope.imports.get(name) {
            return binding.map_or(Ty::Outside, Ty::Package);
        }
        for &d in &scope.dots {
            if let Some(t) = self.package_member(d, name, depth) {
                return t;
            }
        }
        if PREDECLARED_TYPES.contains(&name) {
            return Ty::TypeValue(Box::new(Ty::Outside));
        }
        if matches!(name, "nil" | "true" | "false" | "iota") {
            return Ty::Outside;
        }
        Ty::Unknown(UnsureReason::UnresolvedName)
    }

    fn package_member(&self, p: usize, name: &str, depth: u32) -> Option<Ty> {
        let pkg = &self.packages[p];
        if let Some((li, value)) = pkg.values.get(name) {
            let key = (p, name.to_string());
            if let Some(t) = self.values.borrow().get(&key) {
                return Some(t.clone());
            }
            self.values
                .borrow_mut()
                .insert(key.clone(), Ty::Unknown(UnsureReason::TooDeep));
            let t = self.eval(*li, value, depth + 1);
            self.values.borrow_mut().insert(key, t.clone());
            return Some(t);
        }
        if let Some((li, results)) = pkg.funcs.get(name) {
            return Some(Ty::Func(self.resolve_all(*li, results)));
        }
        if pkg.types.get(name).is_some_and(|e| e.decl.is_some()) {
            let t = TypeExpr::Named {
                qualifier: None,
                name: name.to_string(),
            };
            let li = pkg.types[name].decl.as_ref().map_or(0, |d| d.0);
            return Some(Ty::TypeValue(Box::new(self.resolve_type(
                li,
                &t,
                depth + 1,
            ))));
        }
        None
    }

    /// The type of a value, made as `e` says, in file `li`.
    fn eval(&self, li: usize, e: &ValueExpr, depth: u32) -> Ty {
        if depth > MAX_DEPTH {
            return Ty::Unknown(UnsureReason::TooDeep);
        }
        let d = depth + 1;
        match e {
            ValueExpr::Local { index } => {
                let key = (li, *index);
                if let Some(t) = self.locals.borrow().get(&key) {
                    return t.clone();
                }
                self.locals
                    .borrow_mut()
                    .insert(key, Ty::Unknown(UnsureReason::TooDeep));
                let made = self.files[li]
                    .1
                    .types
                    .locals
                    .get(*index as usize)
                    .cloned()
                    .unwrap_or(ValueExpr::Unknown);
                let t = self.eval(li, &made, d);
                self.locals.borrow_mut().insert(key, t.clone());
                t
            }
            ValueExpr::Name { name } => self.name(li, name, d),
            ValueExpr::Member { of, name } => match self.eval(li, of, d) {
                Ty::Package(p) => self
                    .package_member(p, name, d)
                    .unwrap_or(Ty::Unknown(UnsureReason::UnresolvedName)),
                Ty::Outside => Ty::Outside,
                Ty::TypeValue(t) => match self.lookup(&t, name, d) {
                    Member::Method(_, results) => Ty::Func(results),
                    Member::Outside => Ty::Outside,
                    _ => Ty::Unknown(UnsureReason::UnresolvedName),
                },
                of => match self.lookup(&of, name, d) {
                    Member::Field(_, t) | Member::NotSymbol(t) => t,
                    Member::Method(_, results) => Ty::Func(results),
                    Member::Outside => Ty::Outside,
                    Member::Unknown(r) => Ty::Unknown(r),
                    Member::Missing => Ty::Unknown(UnsureReason::UnresolvedName),
                },
            },
            ValueExpr::Call { callee, result } => match self.eval(li, callee, d) {
                Ty::Func(results) => results
                    .get(*result as usize)
                    .cloned()
                    .unwrap_or(Ty::Unknown(UnsureReason::UntrackedExpression)),
                Ty::TypeValue(t) => *t,
                Ty::Outside => Ty::Outside,
                Ty::Unknown(r) => Ty::Unknown(r),
                _ => Ty::Unknown(UnsureReason::UntrackedExpression),
            },
            ValueExpr::Typed { of } => self.resolve_type(li, of, d),
            ValueExpr::Addr { of } => match self.eval(li, of, d) {
                Ty::Unknown(r) => Ty::Unknown(r),
                Ty::Outside => Ty::Outside,
                t => Ty::Pointer(Box::new(t)),
            },
            ValueExpr::Deref { of } => match self.eval(li, of, d) {
                Ty::Pointer(t) => *t,
                Ty::TypeValue(t) => Ty::TypeValue(Box::new(Ty::Pointer(t))),
                Ty::Outside => Ty::Outside,
                Ty::Unknown(r) => Ty::Unknown(r),
                _ => Ty::Unknown(UnsureReason::UntrackedExpression),
            },
            ValueExpr::Index { of } => {
                let t = self.eval(li, of, d);
                match self.under(&strip_pointer(t.clone()), d) {
                    Ty::Slice(e) => *e,
                    Ty::Map(_, v) => *v,
                    _ => match t {
                        // `f[T]`, `List[T]`: an instantiation is its generic declaration.
                        Ty::Func(_) | Ty::TypeValue(_) => t,
                        Ty::Unknown(r) => Ty::Unknown(r),
                        _ => Ty::Outside,
                    },
                }
            }
            ValueExpr::RangeKey { of } | ValueExpr::RangeValue { of } => {
                let key = matches!(e, ValueExpr::RangeKey { .. });
                let t = self.eval(li, of, d);
                match (self.under(&strip_pointer(t), d), key) {
                    (Ty::Slice(_), true) => Ty::Outside,
                    (Ty::Slice(e), false) => *e,
                    (Ty::Map(k, _), true) => *k,
                    (Ty::Map(_, v), false) => *v,
                    (Ty::Chan(e), true) => *e,
                    (Ty::Unknown(r), _) => Ty::Unknown(r),
                    (Ty::Outside, _) => Ty::Outside,
                    _ => Ty::Unknown(UnsureReason::UntrackedExpression),
                }
            }
            ValueExpr::Recv { of } => match self.under(&self.eval(li, of, d), d) {
                Ty::Chan(e) => *e,
                Ty::Unknown(r) => Ty::Unknown(r),
                Ty::Outside => Ty::Outside,
                _ => Ty::Unknown(UnsureReason::UntrackedExpression),
            },
            ValueExpr::Unknown
            | ValueExpr::Super { .. }
            | ValueExpr::Fixture { .. }
            | ValueExpr::Imported { .. }
            | ValueExpr::Elements { .. } => Ty::Unknown(UnsureReason::UntrackedExpression),
        }
    }
}

fn strip_pointer(t: Ty) -> Ty {
    match t {
        Ty::Pointer(inner) => *inner,
        other => other,
    }
}
