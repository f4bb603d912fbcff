//! Facts: what one file says about itself, extracted by tree-sitter queries.
//!
//! Facts are plain data (serde) and depend only on the file's own bytes, so they can be
//! computed in parallel, cached by blob id and printed. Nothing here looks at another file:
//! turning a name into a file or a symbol elsewhere is the resolvers' job (`lang::*::resolve`).

use serde::{Deserialize, Serialize};

use crate::lang::Language;

/// A position in a file: 1-based line and column (column counted in bytes, as tree-sitter and
/// most editors' "byte column" do), plus the byte range the edit stage needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Span {
    /// 1-based line.
    pub line: u32,
    /// 1-based column, in bytes.
    pub column: u32,
    /// First byte.
    pub start: u32,
    /// One past the last byte.
    pub end: u32,
}

impl Span {
    /// The span of a tree-sitter node.
    pub fn of(node: tree_sitter::Node<'_>) -> Span {
        let p = node.start_position();
        let r = node.byte_range();
        Span {
            line: p.row as u32 + 1,
            column: p.column as u32 + 1,
            start: r.start as u32,
            end: r.end as u32,
        }
    }
}

/// Everything extracted from one source file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileFacts {
    /// Repository-relative path with `/` separators.
    pub path: String,
    /// The language the file was parsed as.
    pub language: Language,
    /// Go: the name in the `package` clause (may differ from the folder's name).
    pub package_name: Option<String>,
    /// Go: the `//go:build` expression, or a constraint implied by the file name
    /// (`_linux.go`, `_test.go` is not a constraint). Files are kept whatever the constraint.
    pub build_constraint: Option<String>,
    /// Its imports, in file order.
    pub imports: Vec<Import>,
    /// What it defines at module level (and members of what it defines).
    pub definitions: Vec<Definition>,
    /// The uses of names that may be repository symbols.
    pub references: Vec<Reference>,
    /// Error and missing nodes tree-sitter recovered from; facts are still extracted.
    pub parse_errors: u32,
    /// Made by a generator (Go's `// Code generated … DO NOT EDIT.`, protoc's `DO NOT EDIT!`):
    /// never edited; its uses are regenerated.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub generated: bool,
    /// Generator directives in the file (Go `//go:generate …`), as (line, command).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub generators: Vec<(u32, String)>,
    /// Names in directives outside code (`//go:linkname local path.Name`, the words of a
    /// `//go:generate` line): uses a compiler does not check, reported as unsure sites.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mentions: Vec<Segment>,
    /// What the type layer reads: type shapes, how values are made, member accesses.
    #[serde(default, skip_serializing_if = "TypeFacts::is_empty")]
    pub types: TypeFacts,
}

/// One import as written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Import {
    /// The whole import statement (or the imported module's name in `import a, b`).
    pub span: Span,
    /// The import as a person would quote it (`shopcore.db.queries`, `..db`, `"io/ioutil"`).
    pub text: String,
    /// Which form of import it is.
    pub kind: ImportKind,
    /// Where it sits (module level, a function, a guard).
    pub context: ImportContext,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "form", rename_all = "snake_case")]
/// The forms of import the languages have.
pub enum ImportKind {
    /// Python `import a.b.c` or `import a.b.c as x`.
    Module {
        /// The dotted module name.
        module: String,
        /// `as` name, if any.
        alias: Option<String>,
    },
    /// Python `from [.]*module import name [as alias], …` or `import *`.
    From {
        /// How many leading dots (0: absolute).
        level: u32,
        /// The module after the dots (may be empty: `from . import x`).
        module: String,
        /// The names imported.
        names: Vec<ImportedName>,
        /// `import *`.
        star: bool,
    },
    /// Python `importlib.import_module(...)` / `__import__(...)`: the module when the argument
    /// is a string literal, `None` when it is computed at run time.
    Dynamic {
        /// The module, when the argument is a string literal.
        module: Option<String>,
    },
    /// Go `import alias "path"`; alias is a name, `.` or `_`.
    Package {
        /// The import path, without quotes.
        path: String,
        /// `alias`, `.` or `_`, if given.
        alias: Option<String>,
    },
}

/// One name of a `from … import …`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportedName {
    /// The name as the module defines it.
    pub name: String,
    /// `as` name, if any.
    pub alias: Option<String>,
    /// The span of `name` (not of the alias): what a rename rewrites.
    pub span: Span,
    /// The span of the alias: for the explicit re-export idiom (`import x as x`), which
    /// renames with the name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias_span: Option<Span>,
}

/// Where an import sits, because it changes what a missing module means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportContext {
    /// At module level, executed on import.
    Module,
    /// Inside a function body: lazy, often to break a cycle.
    Function,
    /// Under `if TYPE_CHECKING:`: never executed.
    TypeChecking,
    /// Under `try: … except ImportError:`: optional.
    Guarded,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
/// What kind of thing a symbol is (the planner and the compat shims differ by kind).
pub enum SymbolKind {
    /// A module-level function.
    Function,
    /// A Python class.
    Class,
    /// A method (Python: a function in a class; Go: a function with a receiver).
    Method,
    /// A module- or package-level variable.
    Variable,
    /// A constant (Go `const`; Python by the upper-case naming convention).
    Constant,
    /// A type alias or a named type that is neither a struct nor an interface.
    Type,
    /// A Go struct type.
    Struct,
    /// A Go interface type.
    Interface,
    /// A field of a Go struct (an embedded field is named after its type).
    Field,
}

impl SymbolKind {
    /// The kind as reports name it.
    pub fn name(self) -> &'static str {
        match self {
            SymbolKind::Function => "function",
            SymbolKind::Class => "class",
            SymbolKind::Method => "method",
            SymbolKind::Variable => "variable",
            SymbolKind::Constant => "constant",
            SymbolKind::Type => "type",
            SymbolKind::Struct => "struct",
            SymbolKind::Interface => "interface",
            SymbolKind::Field => "field",
        }
    }

    /// Kinds whose members (`Class.method`, `Type.Method`) can be reached through the name.
    pub fn has_members(self) -> bool {
        matches!(
            self,
            SymbolKind::Class | SymbolKind::Type | SymbolKind::Struct | SymbolKind::Interface
        )
    }
}

/// A top-level definition or a member of one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Definition {
    /// The defined name.
    pub name: String,
    /// Enclosing classes (Python) or the receiver type (Go), outermost first.
    pub parents: Vec<String>,
    /// What it defines.
    pub kind: SymbolKind,
    /// The span of the name.
    pub span: Span,
    /// The byte range of the whole definition (for contracts and edits).
    pub range: (u32, u32),
    /// Go: capitalised; Python: no leading underscore.
    pub exported: bool,
}

impl Definition {
    /// The path of the symbol inside its module: `Class.method`, `Type.Method`, `name`.
    pub fn local_path(&self) -> String {
        let mut s = String::new();
        for p in &self.parents {
            s.push_str(p);
            s.push('.');
        }
        s.push_str(&self.name);
        s
    }
}

/// A use of a name that may resolve to a repository symbol: a bare name, or a dotted chain
/// (`q.fetch_order`, `store.FetchOrder`, `models.Order.Total`) that the resolver walks segment
/// by segment. Names bound locally (parameters, local variables) are never recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reference {
    /// The name and what follows it through dots, each with its own span.
    pub segments: Vec<Segment>,
    /// Where the use is.
    pub kind: ReferenceKind,
    /// The import (an index into [`FileFacts::imports`]) inside a function or class body that
    /// binds the first name here: Python makes that name local to the whole body, so it is
    /// what the import names, never the module-level name it may shadow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_import: Option<u32>,
    /// The class (its path in the module, `Outer.Inner`) whose method's receiver the first
    /// name is (`self`, `cls`): what follows it is looked up along that class's MRO.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receiver: Option<String>,
    /// The symbol (its path in the module, and its kind) a local binding of the first name
    /// defines: a class a function defines (`test_x.Local`), or a member read in its own class
    /// body (`next = __next__`). A local name, but a symbol all the same.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_symbol: Option<(String, SymbolKind)>,
    /// The first names are a module's dotted path from the import roots (`mock.patch`'s
    /// target), not a name bound in the file.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub absolute: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
/// One name of a dotted use.
pub struct Segment {
    /// The name.
    pub name: String,
    /// Where it is.
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
/// Where a use of a symbol appears (a rename treats them alike, reports tell them apart).
pub enum ReferenceKind {
    /// Code: a call, a value, a type, an attribute or selector.
    Code,
    /// The name in an import statement (`from m import name`).
    Import,
    /// A string in Python's `__all__`.
    AllEntry,
    /// A Python string annotation (forward reference), `x: "Order"`.
    StringAnnotation,
    /// A definition's own name (listed with references so a rename finds every place).
    Definition,
    /// A Go example function's name naming it, by go vet's rules (`ExampleParse`,
    /// `ExampleServer_Handle`): the part of the name that is the symbol's.
    Example,
    /// A string naming the symbol for a test double: its dotted path in `mock.patch("pkg.mod.f")`
    /// or `monkeypatch.setattr("pkg.mod.f", …)`, or its attribute name in
    /// `mock.patch.object(Class, "f")` / `monkeypatch.setattr(Class, "f", …)`. Left behind, the
    /// patch silently stops replacing anything (or fails to find the attribute).
    PatchTarget,
    /// A pytest fixture asked for by name: a test's or a fixture's parameter, and each read of
    /// it in that function (`receiver` is the test's class, whose fixtures come first).
    /// pytest matches the parameter to the fixture by name, so a fixture renamed alone fails
    /// every test that asks for it ("fixture 'old' not found").
    Fixture,
}

impl ReferenceKind {
    /// The kind as reports name it.
    pub fn name(self) -> &'static str {
        match self {
            ReferenceKind::Code => "code",
            ReferenceKind::Import => "import",
            ReferenceKind::AllEntry => "__all__",
            ReferenceKind::StringAnnotation => "annotation",
            ReferenceKind::Definition => "definition",
            ReferenceKind::Example => "example",
            ReferenceKind::PatchTarget => "patch target",
            ReferenceKind::Fixture => "fixture request",
        }
    }
}

// --- type facts -------------------------------------------------------------------------
//
// Type facts: what one file says about the types of its values, as plain data for the type
// layer of a resolver.
//
// A name alone does not say which method `s.Put()` calls: the type of `s` does. The extractor
// records, per file, the declared shapes of types (fields, embedded types, methods and their
// results) and, for every member access, an expression saying how the operand's value was
// made (`Local` → `Call` → `Member` …). Nothing here looks at another file: the resolver
// evaluates the expressions across files and packages, once every file's facts are known, so
// facts stay per file, parallel and cacheable like the rest.

/// A type as the source writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TypeExpr {
    /// `Order`, `models.Order`, `List[int]` (type arguments dropped: an instantiation's members
    /// are its generic declaration's).
    Named {
        /// The package qualifier, if written.
        qualifier: Option<String>,
        /// The type's name.
        name: String,
    },
    /// `*T`.
    Pointer {
        /// `T`.
        of: Box<TypeExpr>,
    },
    /// `[]T`, `[N]T`, `[...]T`.
    Slice {
        /// The element type.
        of: Box<TypeExpr>,
    },
    /// `map[K]V`.
    Map {
        /// `K`.
        key: Box<TypeExpr>,
        /// `V`.
        value: Box<TypeExpr>,
    },
    /// `chan T`, `<-chan T`, `chan<- T`.
    Chan {
        /// The element type.
        of: Box<TypeExpr>,
    },
    /// `func(…) (R1, R2)`: what a call of it gives.
    Func {
        /// The result types, one per result (a named group `(a, b T)` counts twice).
        results: Vec<TypeExpr>,
    },
    /// An anonymous struct: its fields are no symbols, but those its embedded types promote
    /// may be.
    Struct {
        /// Its fields, with their types (embedded ones named by their type's name).
        fields: Vec<(String, TypeExpr)>,
        /// Its embedded types.
        embeds: Vec<TypeExpr>,
    },
    /// An anonymous interface: its methods are no symbols.
    Interface,
    /// A type parameter: its members are its constraint's, which the layer does not follow.
    TypeParameter,
    /// Python's `type[T]` / `Type[T]`: the class `T` itself, which a call makes an instance of
    /// (`context_class: type[Context]`, then `self.context_class(…)`).
    ClassOf {
        /// `T`.
        of: Box<TypeExpr>,
    },
    /// Python's `Union[A, B]` / `A | B` (`None` left out): a value that is one of them, so
    /// a member used through it is each one's that has it.
    Union {
        /// `A`, `B`, ….
        of: Vec<TypeExpr>,
    },
    /// Anything the type layer does not look into.
    Other,
}

/// How a value was made: what the resolver evaluates to find the value's type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "value", rename_all = "snake_case")]
pub enum ValueExpr {
    /// A local of this file: an index into [`TypeFacts::locals`].
    Local {
        /// The index.
        index: u32,
    },
    /// A name not bound locally: package-level, an imported package, predeclared.
    Name {
        /// The name.
        name: String,
    },
    /// `x.name`: a field, a method value, or a member of a package.
    Member {
        /// `x`.
        of: Box<ValueExpr>,
        /// `name`.
        name: String,
    },
    /// A call of `callee`, the `result`-th value it returns (a conversion when the callee is
    /// a type).
    Call {
        /// What is called.
        callee: Box<ValueExpr>,
        /// Which result (0 for single-valued calls).
        result: u32,
    },
    /// A value of the written type: `var x T`, `new(T)` (as `*T`), a composite literal `T{}`,
    /// a type assertion `x.(T)`, a parameter.
    Typed {
        /// The type.
        of: TypeExpr,
    },
    /// `&x`.
    Addr {
        /// `x`.
        of: Box<ValueExpr>,
    },
    /// `*x`.
    Deref {
        /// `x`.
        of: Box<ValueExpr>,
    },
    /// `x[i]`: an element of a slice, array or map (or an instantiation `f[T]`).
    Index {
        /// `x`.
        of: Box<ValueExpr>,
    },
    /// The key of `range x`.
    RangeKey {
        /// `x`.
        of: Box<ValueExpr>,
    },
    /// The value of `range x`.
    RangeValue {
        /// `x`.
        of: Box<ValueExpr>,
    },
    /// `<-x`.
    Recv {
        /// `x`.
        of: Box<ValueExpr>,
    },
    /// Python: a name an import inside a function binds (an index into
    /// [`FileFacts::imports`]): what that import names, not the module-level name it shadows.
    Imported {
        /// The import.
        import: u32,
        /// The name it binds.
        name: String,
    },
    /// Python: `super()` in a method of `class` (its path in the module): the members after
    /// the class along the MRO.
    Super {
        /// The class whose method calls `super()`.
        class: String,
    },
    /// Python: a builtin container of the values `of` (`[node, other]`, `deque([self])`,
    /// `list(nodes)`): the container is a builtin; indexing, iterating or popping it gives
    /// one of `of`.
    Elements {
        /// The elements' values, each distinct one once.
        of: Vec<ValueExpr>,
    },
    /// Python: a parameter pytest fills with the fixture of its name (`def test_x(client):`):
    /// what that fixture function returns or yields, looked up as pytest does (the test's
    /// class, its module, then `conftest.py` of its folder and those above).
    Fixture {
        /// The parameter's name, which is the fixture's.
        name: String,
        /// The receiver of the test method, for fixtures its class defines.
        receiver: Option<Box<ValueExpr>>,
    },
    /// Nothing the type layer follows (literals, comparisons, …).
    Unknown,
}

/// A member reached through a value: `x.name`, or a key of a composite literal `T{name: …}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberUse {
    /// The operand (for a literal key: a value of the literal's type).
    pub of: ValueExpr,
    /// The member's name.
    pub name: String,
    /// Where the name is.
    pub span: Span,
    /// A composite-literal key: a field of a struct literal, or a plain expression for a map.
    pub key: bool,
    /// A key whose name is also a local here: as a map key it would be that local.
    pub shadowed: bool,
}

/// A field of a named struct type (embedded ones are named after their type).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldDecl {
    /// The struct type's name.
    pub owner: String,
    /// The field's name.
    pub name: String,
    /// Its type.
    pub of: TypeExpr,
    /// Embedded: its members are promoted to the struct.
    pub embedded: bool,
}

/// A method of a named type, or of an interface.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MethodDecl {
    /// The receiver's (or interface's) type name.
    pub owner: String,
    /// The method's name.
    pub name: String,
    /// Its result types.
    pub results: Vec<TypeExpr>,
}

/// A named type's declaration, with what the members are looked up in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TypeDecl {
    /// The name.
    pub name: String,
    /// `type A = B`: A is B.
    pub alias: bool,
    /// The type written after the name (`Other` for a struct or an interface: their members
    /// are in `fields`, `methods` and `embeds`).
    pub of: TypeExpr,
}

/// An interface embedding another (`type ReadWriter interface { Reader; Writer }`); in Python,
/// a class and one of its bases, in the order written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmbedDecl {
    /// The embedding interface.
    pub owner: String,
    /// The embedded one.
    pub of: TypeExpr,
}

/// A package-level function and what it returns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FuncDecl {
    /// Its name.
    pub name: String,
    /// Its result types.
    pub results: Vec<TypeExpr>,
}

/// Everything the type layer reads from one file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TypeFacts {
    /// Named types declared at package level.
    pub types: Vec<TypeDecl>,
    /// Fields of those types that are structs.
    pub fields: Vec<FieldDecl>,
    /// Methods (with receivers) and interface methods.
    pub methods: Vec<MethodDecl>,
    /// Interfaces embedded in interfaces.
    pub embeds: Vec<EmbedDecl>,
    /// Package-level functions.
    pub funcs: Vec<FuncDecl>,
    /// Package-level variables and constants, by name, with how their value is made.
    pub values: Vec<(String, ValueExpr)>,
    /// Locals of every function body: how each was made (parameters as `Typed`).
    pub locals: Vec<ValueExpr>,
    /// Every member access through a value, in file order.
    pub members: Vec<MemberUse>,
}

impl TypeFacts {
    /// Whether the file had nothing the type layer reads.
    pub fn is_empty(&self) -> bool {
        *self == TypeFacts::default()
    }
}

/// Count the error and missing nodes of a parse (0 for a clean file, cheaply).
pub fn count_parse_errors(root: tree_sitter::Node<'_>) -> u32 {
    if !root.has_error() {
        return 0;
    }
    let mut count = 0;
    let mut cursor = root.walk();
    let mut stack = vec![root];
    while let Some(node) = stack.pop() {
        if node.is_error() || node.is_missing() {
            count += 1;
            continue;
        }
        if node.has_error() {
            stack.extend(node.children(&mut cursor));
        }
    }
    count
}
