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
        }
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
