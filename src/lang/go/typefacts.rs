//! Type facts of one Go file: type shapes, function results, how every local was made, and
//! every member access through a value, from one walk of the tree with Go's block scopes.
//!
//! Also the members that are symbols without a declaration of their own in the queries: struct
//! fields (embedded ones named after their type) and interface methods.

use std::collections::HashMap;

use tree_sitter::Node;

use super::text;
use crate::lang::facts::{Definition, Span, SymbolKind};
use crate::lang::facts::{
    EmbedDecl, FieldDecl, FuncDecl, MemberUse, MethodDecl, TypeDecl, TypeExpr, TypeFacts, ValueExpr,
};

/// The type facts of a file, and the member definitions (fields, interface methods) they add.
pub(super) fn extract(root: Node<'_>, source: &[u8]) -> (TypeFacts, Vec<Definition>) {
    let mut w = Walker {
        source,
        facts: TypeFacts::default(),
        definitions: Vec::new(),
        scopes: Vec::new(),
    };
    let mut cursor = root.walk();
    for decl in root.named_children(&mut cursor) {
        w.top_level(decl);
    }
    (w.facts, w.definitions)
}

struct Walker<'s> {
    source: &'s [u8],
    facts: TypeFacts,
    definitions: Vec<Definition>,
    /// Block scopes of the function being walked.
    scopes: Vec<HashMap<String, Binding>>,
}

/// A field of a struct type as written.
struct FieldSpec<'t> {
    /// Its `field_declaration` (one may declare several fields: `A, B int`).
    declaration: Node<'t>,
    /// The name (an embedded field's is its type's name).
    name: Node<'t>,
    of: TypeExpr,
    embedded: bool,
}

/// What a name declared in a function (or a type parameter list) is.
enum Binding {
    /// A local value: an index into `facts.locals`.
    Value(u32),
    /// A local type (what it is written as) or a type parameter (`TypeExpr::TypeParameter`).
    Type(TypeExpr),
}

fn named_children<'t>(node: Node<'t>) -> Vec<Node<'t>> {
    let mut cursor = node.walk();
    node.named_children(&mut cursor).collect()
}

fn field_children<'t>(node: Node<'t>, field: &str) -> Vec<Node<'t>> {
    let mut cursor = node.walk();
    node.children_by_field_name(field, &mut cursor).collect()
}

fn is_exported(name: &str) -> bool {
    name.chars().next().is_some_and(char::is_uppercase)
}

/// The operator token of a unary or binary expression.
fn operator<'s>(node: Node<'_>, source: &'s [u8]) -> &'s str {
    node.child_by_field_name("operator")
        .map(|o| text(o, source))
        .unwrap_or("")
}

/// Whether a clause declares (`:=`) rather than assigns.
fn declares(node: Node<'_>) -> bool {
    let mut cursor = node.walk();
    node.children(&mut cursor).any(|c| c.kind() == ":=")
}

impl<'s> Walker<'s> {
    fn text(&self, node: Node<'_>) -> &'s str {
        text(node, self.source)
    }

    fn top_level(&mut self, decl: Node<'_>) {
        match decl.kind() {
            "function_declaration" => {
                if let Some(name) = decl.child_by_field_name("name") {
                    let results = self.generic_results(decl);
                    self.facts.funcs.push(FuncDecl {
                        name: self.text(name).to_string(),
                        results,
                    });
                }
                self.function(decl);
            }
            "method_declaration" => {
                if let (Some(name), Some(owner)) = (
                    decl.child_by_field_name("name"),
                    receiver_type(decl, self.source),
                ) {
                    let results = self.generic_results(decl);
                    self.facts.methods.push(MethodDecl {
                        owner: owner.to_string(),
                        name: self.text(name).to_string(),
                        results,
                    });
                }
                self.function(decl);
            }
            "type_declaration" => {
                for spec in named_children(decl) {
                    self.type_spec(spec);
                }
            }
            "var_declaration" | "const_declaration" => {
                for (name, value) in self.declared_values(decl) {
                    self.facts.values.push((self.text(name).to_string(), value));
                }
            }
            _ => {}
        }
    }

    fn type_spec(&mut self, spec: Node<'_>) {
        let (Some(name), Some(ty)) = (
            spec.child_by_field_name("name"),
            spec.child_by_field_name("type"),
        ) else {
            return;
        };
        let owner = self.text(name).to_string();
        let alias = spec.kind() == "type_alias";
        self.scopes.push(HashMap::new());
        self.bind_type_parameters(spec);
        let of = match ty.kind() {
            "struct_type" => {
                self.struct_fields(&owner, ty);
                TypeExpr::Other
            }
            "interface_type" => {
                self.interface_members(&owner, ty);
                TypeExpr::Other
            }
            _ => self.type_expr(ty),
        };
        self.scopes.pop();
        self.facts.types.push(TypeDecl {
            name: owner,
            alias,
            of,
        });
    }

    /// The fields of a struct type as written, each with its name node (an embedded field's
    /// is its type's name: `*pkg.T`, `pkg.T`, `T[X]` are all named `T`).
    fn fields_of<'t>(&self, struct_type: Node<'t>) -> Vec<FieldSpec<'t>> {
        let mut out = Vec::new();
        let Some(list) = named_children(struct_type)
            .into_iter()
            .find(|c| c.kind() == "field_declaration_list")
        else {
            return out;
        };
        for field in named_children(list) {
            let Some(ty) = field
                .child_by_field_name("type")
                .filter(|_| field.kind() == "field_declaration")
            else {
                continue;
            };
            let names = field_children(field, "name");
            let mut of = self.type_expr(ty);
            let embedded = names.is_empty();
            let named: Vec<Node<'t>> = if embedded {
                let mut cursor = field.walk();
                if field.children(&mut cursor).any(|c| c.kind() == "*") {
                    of = TypeExpr::Pointer { of: Box::new(of) };
                }
                type_name_node(ty).into_iter().collect()
            } else {
                names
            };
            out.extend(named.into_iter().map(|name| FieldSpec {
                declaration: field,
                name,
                of: of.clone(),
                embedded,
            }));
        }
        out
    }

    fn struct_fields(&mut self, owner: &str, ty: Node<'_>) {
        for f in self.fields_of(ty) {
            let name = self.text(f.name).to_string();
            self.definitions.push(Definition {
                name: name.clone(),
                parents: vec![owner.to_string()],
                kind: SymbolKind::Field,
                span: Span::of(f.name),
                range: (
                    f.declaration.start_byte() as u32,
                    f.declaration.end_byte() as u32,
                ),
                exported: is_exported(&name),
            });
            self.facts.fields.push(FieldDecl {
                owner: owner.to_string(),
                name,
                of: f.of,
                embedded: f.embedded,
            });
        }
    }

    fn interface_members(&mut self, owner: &str, ty: Node<'_>) {
        for elem in named_children(ty) {
            match elem.kind() {
                "method_elem" => {
                    let Some(name) = elem.child_by_field_name("name") else {
                        continue;
                    };
                    let method = self.text(name).to_string();
                    let results = self.results(elem);
                    self.definitions.push(Definition {
                        name: method.clone(),
                        parents: vec![owner.to_string()],
                        kind: SymbolKind::Method,
                        span: Span::of(name),
                        range: (elem.start_byte() as u32, elem.end_byte() as u32),
                        exported: is_exported(&method),
                    });
                    self.facts.methods.push(MethodDecl {
                        owner: owner.to_string(),
                        name: method,
                        results,
                    });
                }
                "type_elem" => {
                    // `Reader` alone embeds it; `~int | string` is a constraint, not a method set.
                    let types = named_children(elem);
                    if let [one] = types.as_slice() {
                        let of = self.type_expr(*one);
                        if matches!(of, TypeExpr::Named { .. }) {
                            self.facts.embeds.push(EmbedDecl {
                                owner: owner.to_string(),
                                of,
                            });
                        }
                    }
                }
                _ => {}
            }
        }
    }

    /// The names a `var`/`const` declaration declares, each with how its value is made.
    fn declared_values<'t>(&mut self, decl: Node<'t>) -> Vec<(Node<'t>, ValueExpr)> {
        let mut out = Vec::new();
        let mut previous: Option<Vec<ValueExpr>> = None;
        for spec in specs(decl) {
            let names = field_children(spec, "name");
            let mut values = self.spec_values(spec, names.len());
            if values.is_none() && decl.kind() == "const_declaration" {
                // `const ( A Kind = iota; B; C )`: B and C repeat A's expression.
                values = previous.clone();
            }
            previous = values.clone();
            for (i, name) in names.into_iter().enumerate() {
                let value = values
                    .as_ref()
                    .and_then(|v| v.get(i).cloned())
                    .unwrap_or(ValueExpr::Unknown);
                out.push((name, value));
            }
        }
        out
    }

    /// The values a `var`/`const` spec gives its names: each its own expression, the results
    /// of one multi-valued expression, or the declared type; `None` when it says nothing.
    fn spec_values(&mut self, spec: Node<'_>, count: usize) -> Option<Vec<ValueExpr>> {
        let exprs: Vec<Node<'_>> = spec
            .child_by_field_name("value")
            .map(named_children)
            .unwrap_or_default();
        for e in &exprs {
            self.walk(*e);
        }
        if let Some(ty) = spec.child_by_field_name("type") {
            let of = self.type_expr(ty);
            return Some(vec![ValueExpr::Typed { of }; count]);
        }
        if exprs.is_empty() {
            return None;
        }
        Some(self.assigned(&exprs, count))
    }

    /// What each of `count` names gets from the right-hand side `exprs`.
    fn assigned(&self, exprs: &[Node<'_>], count: usize) -> Vec<ValueExpr> {
        if exprs.len() == count {
            return exprs.iter().map(|e| self.value(*e)).collect();
        }
        let Some(single) = exprs.first().filter(|_| exprs.len() == 1) else {
            return vec![ValueExpr::Unknown; count];
        };
        let single = unparen(*single);
        (0..count)
            .map(|i| match single.kind() {
                "call_expression" => match self.value(single) {
                    ValueExpr::Call { callee, .. } => ValueExpr::Call {
                        callee,
                        result: i as u32,
                    },
                    v if i == 0 => v,
                    _ => ValueExpr::Unknown,
                },
                // `v, ok := m[k]`, `v, ok := x.(T)`, `v, ok := <-ch`.
                _ if i == 0 => self.value(single),
                _ => ValueExpr::Unknown,
            })
            .collect()
    }

    /// The results of a declaration, read with its type parameters in scope.
    fn generic_results(&mut self, func: Node<'_>) -> Vec<TypeExpr> {
        self.scopes.push(HashMap::new());
        self.bind_type_parameters(func);
        let results = self.results(func);
        self.scopes.pop();
        results
    }

    fn results(&self, func: Node<'_>) -> Vec<TypeExpr> {
        let Some(result) = func.child_by_field_name("result") else {
            return Vec::new();
        };
        if result.kind() != "parameter_list" {
            return vec![self.type_expr(result)];
        }
        let mut out = Vec::new();
        for p in named_children(result) {
            let Some(ty) = p.child_by_field_name("type") else {
                continue;
            };
            let of = self.type_expr(ty);
            let n = field_children(p, "name").len().max(1);
            out.extend(std::iter::repeat_n(of, n));
        }
        out
    }

    fn type_expr(&self, node: Node<'_>) -> TypeExpr {
        let boxed =
            |n: Option<Node<'_>>| Box::new(n.map_or(TypeExpr::Other, |n| self.type_expr(n)));
        match node.kind() {
            "type_identifier" | "identifier" => match self.local_type(self.text(node)) {
                Some(local) => local.clone(),
                None => TypeExpr::Named {
                    qualifier: None,
                    name: self.text(node).to_string(),
                },
            },
            "qualified_type" => match (
                node.child_by_field_name("package"),
                node.child_by_field_name("name"),
            ) {
                (Some(p), Some(n)) => TypeExpr::Named {
                    qualifier: Some(self.text(p).to_string()),
                    name: self.text(n).to_string(),
                },
                _ => TypeExpr::Other,
            },
            // `pkg.T` where the grammar reads an expression (`new(pkg.T)`).
            "selector_expression" => match (
                node.child_by_field_name("operand")
                    .filter(|o| o.kind() == "identifier"),
                node.child_by_field_name("field"),
            ) {
                (Some(p), Some(n)) => TypeExpr::Named {
                    qualifier: Some(self.text(p).to_string()),
                    name: self.text(n).to_string(),
                },
                _ => TypeExpr::Other,
            },
            "generic_type" => node
                .child_by_field_name("type")
                .map_or(TypeExpr::Other, |t| self.type_expr(t)),
            "pointer_type" => TypeExpr::Pointer {
                of: boxed(node.named_child(0)),
            },
            "slice_type" | "array_type" | "implicit_length_array_type" => TypeExpr::Slice {
                of: boxed(node.child_by_field_name("element")),
            },
            "map_type" => TypeExpr::Map {
                key: boxed(node.child_by_field_name("key")),
                value: boxed(node.child_by_field_name("value")),
            },
            "channel_type" => TypeExpr::Chan {
                of: boxed(node.child_by_field_name("value")),
            },
            "function_type" => TypeExpr::Func {
                results: self.results(node),
            },
            "struct_type" => {
                let specs = self.fields_of(node);
                let embeds = specs
                    .iter()
                    .filter(|f| f.embedded)
                    .map(|f| f.of.clone())
                    .collect();
                let fields = specs
                    .into_iter()
                    .map(|f| (self.text(f.name).to_string(), f.of))
                    .collect();
                TypeExpr::Struct { fields, embeds }
            }
            "interface_type" => TypeExpr::Interface,
            "parenthesized_type" => node
                .named_child(0)
                .map_or(TypeExpr::Other, |t| self.type_expr(t)),
            _ => TypeExpr::Other,
        }
    }

    fn lookup(&self, name: &str) -> Option<u32> {
        match self.scopes.iter().rev().find_map(|s| s.get(name))? {
            Binding::Value(index) => Some(*index),
            Binding::Type(_) => None,
        }
    }

    fn local_type(&self, name: &str) -> Option<&TypeExpr> {
        match self.scopes.iter().rev().find_map(|s| s.get(name))? {
            Binding::Type(t) => Some(t),
            Binding::Value(_) => None,
        }
    }

    /// Bind the type parameters of a declaration (`[T any, U comparable]`), or of a generic
    /// receiver (`(l *List[T])`), in the current scope.
    fn bind_type_parameters(&mut self, decl: Node<'_>) {
        let mut names = Vec::new();
        if let Some(list) = decl.child_by_field_name("type_parameters") {
            for p in named_children(list) {
                names.extend(field_children(p, "name"));
            }
        }
        if let Some(recv) = decl.child_by_field_name("receiver") {
            let mut stack = vec![recv];
            while let Some(n) = stack.pop() {
                if n.kind() == "type_arguments" {
                    for arg in named_children(n) {
                        // `List[T]`: T is a type_elem holding a type_identifier.
                        let mut inner = arg;
                        while inner.kind() == "type_elem" {
                            match inner.named_child(0) {
                                Some(i) => inner = i,
                                None => break,
                            }
                        }
                        if inner.kind() == "type_identifier" {
                            names.push(inner);
                        }
                    }
                } else {
                    stack.extend(named_children(n));
                }
            }
        }
        for name in names {
            let name = self.text(name).to_string();
            if let Some(scope) = self.scopes.last_mut() {
                scope.insert(name, Binding::Type(TypeExpr::TypeParameter));
            }
        }
    }

    fn bind(&mut self, name: Node<'_>, value: ValueExpr) {
        let name = self.text(name);
        if name == "_" {
            return;
        }
        let index = self.facts.locals.len() as u32;
        self.facts.locals.push(value);
        if let Some(scope) = self.scopes.last_mut() {
            scope.insert(name.to_string(), Binding::Value(index));
        }
    }

    /// How the value of an expression is made.
    fn value(&self, node: Node<'_>) -> ValueExpr {
        let of = |n: Option<Node<'_>>| Box::new(n.map_or(ValueExpr::Unknown, |n| self.value(n)));
        match node.kind() {
            "identifier" => match self.lookup(self.text(node)) {
                Some(index) => ValueExpr::Local { index },
                None => ValueExpr::Name {
                    name: self.text(node).to_string(),
                },
            },
            "selector_expression" => match node.child_by_field_name("field") {
                Some(field) => ValueExpr::Member {
                    of: of(node.child_by_field_name("operand")),
                    name: self.text(field).to_string(),
                },
                None => ValueExpr::Unknown,
            },
            "call_expression" => self.call(node),
            "type_conversion_expression" | "type_assertion_expression" | "composite_literal" => {
                match node.child_by_field_name("type") {
                    Some(t) => ValueExpr::Typed {
                        of: self.type_expr(t),
                    },
                    None => ValueExpr::Unknown,
                }
            }
            "unary_expression" => {
                let operand = node.child_by_field_name("operand");
                match operator(node, self.source) {
                    "&" => ValueExpr::Addr { of: of(operand) },
                    "*" => ValueExpr::Deref { of: of(operand) },
                    "<-" => ValueExpr::Recv { of: of(operand) },
                    "-" | "+" | "^" => *of(operand),
                    _ => ValueExpr::Unknown,
                }
            }
            "binary_expression" => match operator(node, self.source) {
                "+" | "-" | "*" | "/" | "%" | "&" | "|" | "^" | "&^" | "<<" | ">>" => {
                    *of(node.child_by_field_name("left"))
                }
                _ => ValueExpr::Unknown,
            },
            "parenthesized_expression" => *of(node.named_child(0)),
            "index_expression" => ValueExpr::Index {
                of: of(node.child_by_field_name("operand")),
            },
            "slice_expression" => *of(node.child_by_field_name("operand")),
            "func_literal" => ValueExpr::Typed {
                of: TypeExpr::Func {
                    results: self.results(node),
                },
            },
            _ => ValueExpr::Unknown,
        }
    }

    fn call(&self, node: Node<'_>) -> ValueExpr {
        let Some(function) = node.child_by_field_name("function") else {
            return ValueExpr::Unknown;
        };
        let args: Vec<Node<'_>> = node
            .child_by_field_name("arguments")
            .map(named_children)
            .unwrap_or_default();
        if function.kind() == "identifier" && self.lookup(self.text(function)).is_none() {
            let first = args.first().copied();
            match self.text(function) {
                "new" => {
                    return ValueExpr::Typed {
                        of: TypeExpr::Pointer {
                            of: Box::new(first.map_or(TypeExpr::Other, |a| self.type_expr(a))),
                        },
                    };
                }
                "make" => {
                    return ValueExpr::Typed {
                        of: first.map_or(TypeExpr::Other, |a| self.type_expr(a)),
                    };
                }
                "append" | "min" | "max" => {
                    return first.map_or(ValueExpr::Unknown, |a| self.value(a));
                }
                "len" | "cap" | "copy" | "complex" | "real" | "imag" | "recover" | "panic"
                | "print" | "println" | "delete" | "close" | "clear" => {
                    return ValueExpr::Unknown;
                }
                _ => {}
            }
        }
        ValueExpr::Call {
            callee: Box::new(self.value(function)),
            result: 0,
        }
    }

    /// Parameters (and receiver, and named results) of a function, bound in a new scope, then
    /// its body.
    fn function(&mut self, func: Node<'_>) {
        self.scopes.push(HashMap::new());
        self.bind_type_parameters(func);
        for field in ["receiver", "parameters", "result"] {
            let Some(list) = func
                .child_by_field_name(field)
                .filter(|l| l.kind() == "parameter_list")
            else {
                continue;
            };
            for p in named_children(list) {
                let Some(ty) = p.child_by_field_name("type") else {
                    continue;
                };
                let mut of = self.type_expr(ty);
                if p.kind() == "variadic_parameter_declaration" {
                    of = TypeExpr::Slice { of: Box::new(of) };
                }
                for name in field_children(p, "name") {
                    self.bind(name, ValueExpr::Typed { of: of.clone() });
                }
            }
        }
        if let Some(body) = func.child_by_field_name("body") {
            self.walk(body);
        }
        self.scopes.pop();
    }

    fn scoped(&mut self, node: Node<'_>) {
        self.scopes.push(HashMap::new());
        let mut cursor = node.walk();
        for child in node.named_children(&mut cursor) {
            self.walk(child);
        }
        self.scopes.pop();
    }

    /// Record member accesses and bind locals, in source order.
    fn walk(&mut self, node: Node<'_>) {
        if node.named_child_count() == 0 {
            return;
        }
        match node.kind() {
            "func_literal" => self.function(node),
            "block"
            | "for_statement"
            | "if_statement"
            | "expression_switch_statement"
            | "select_statement"
            | "expression_case"
            | "default_case"
            | "communication_case" => self.scoped(node),
            "type_switch_statement" => self.type_switch(node),
            "short_var_declaration" => {
                let right: Vec<Node<'_>> = node
                    .child_by_field_name("right")
                    .map(named_children)
                    .unwrap_or_default();
                for r in &right {
                    self.walk(*r);
                }
                let left: Vec<Node<'_>> = node
                    .child_by_field_name("left")
                    .map(named_children)
                    .unwrap_or_default();
                let values = self.assigned(&right, left.len());
                for (name, value) in left.into_iter().zip(values) {
                    // `x, err := …` with `err` already declared in this scope reuses it.
                    let redeclared = self
                        .scopes
                        .last()
                        .is_some_and(|s| s.contains_key(self.text(name)));
                    if !redeclared {
                        self.bind(name, value);
                    }
                }
            }
            "var_declaration" | "const_declaration" => {
                for (name, value) in self.declared_values(node) {
                    self.bind(name, value);
                }
            }
            "range_clause" | "receive_statement" => {
                let right = node.child_by_field_name("right");
                if let Some(r) = right {
                    self.walk(r);
                }
                let left: Vec<Node<'_>> = node
                    .child_by_field_name("left")
                    .map(named_children)
                    .unwrap_or_default();
                if !declares(node) {
                    for l in left {
                        self.walk(l);
                    }
                    return;
                }
                let of = Box::new(right.map_or(ValueExpr::Unknown, |r| self.value(r)));
                for (i, name) in left.into_iter().enumerate() {
                    let value = match (node.kind(), i) {
                        ("range_clause", 0) => ValueExpr::RangeKey { of: of.clone() },
                        ("range_clause", 1) => ValueExpr::RangeValue { of: of.clone() },
                        ("receive_statement", 0) => (*of).clone(),
                        _ => ValueExpr::Unknown,
                    };
                    self.bind(name, value);
                }
            }
            "selector_expression" => {
                if let (Some(operand), Some(field)) = (
                    node.child_by_field_name("operand"),
                    node.child_by_field_name("field"),
                ) {
                    self.facts.members.push(MemberUse {
                        of: self.value(operand),
                        name: self.text(field).to_string(),
                        span: Span::of(field),
                        key: false,
                        shadowed: false,
                    });
                    self.walk(operand);
                }
            }
            "composite_literal" => {
                if let (Some(ty), Some(body)) = (
                    node.child_by_field_name("type"),
                    node.child_by_field_name("body"),
                ) {
                    let of = ValueExpr::Typed {
                        of: self.type_expr(ty),
                    };
                    self.literal(body, of);
                }
            }
            // Local types are no symbols; their values' members are looked up in what they
            // are written as.
            "type_declaration" => {
                for spec in named_children(node) {
                    let (Some(name), Some(ty)) = (
                        spec.child_by_field_name("name"),
                        spec.child_by_field_name("type"),
                    ) else {
                        continue;
                    };
                    let of = self.type_expr(ty);
                    let name = self.text(name).to_string();
                    if let Some(scope) = self.scopes.last_mut() {
                        scope.insert(name, Binding::Type(of));
                    }
                }
            }
            _ => {
                let mut cursor = node.walk();
                for child in node.named_children(&mut cursor) {
                    self.walk(child);
                }
            }
        }
    }

    /// The elements of a composite literal of the value `of`: keys name its fields, elided
    /// inner literals (`[]T{{…}}`) are its elements.
    fn literal(&mut self, body: Node<'_>, of: ValueExpr) {
        let element = || ValueExpr::Index {
            of: Box::new(of.clone()),
        };
        for child in named_children(body) {
            match child.kind() {
                "keyed_element" => {
                    let parts = named_children(child);
                    let (Some(key), Some(value)) = (parts.first(), parts.get(1)) else {
                        continue;
                    };
                    match key.named_child(0) {
                        Some(k) if k.kind() == "identifier" => {
                            self.facts.members.push(MemberUse {
                                of: of.clone(),
                                name: self.text(k).to_string(),
                                span: Span::of(k),
                                key: true,
                                shadowed: self.lookup(self.text(k)).is_some(),
                            });
                        }
                        Some(k) if k.kind() == "literal_value" => self.literal(k, element()),
                        Some(k) => self.walk(k),
                        None => {}
                    }
                    self.element(*value, element());
                }
                "literal_element" => self.element(child, element()),
                _ => self.walk(child),
            }
        }
    }

    fn element(&mut self, element: Node<'_>, of: ValueExpr) {
        match element.named_child(0) {
            Some(inner) if inner.kind() == "literal_value" => self.literal(inner, of),
            Some(inner) => self.walk(inner),
            None => {}
        }
    }

    fn type_switch(&mut self, node: Node<'_>) {
        self.scopes.push(HashMap::new());
        if let Some(init) = node.child_by_field_name("initializer") {
            self.walk(init);
        }
        let value = node.child_by_field_name("value");
        if let Some(v) = value {
            self.walk(v);
        }
        let alias = node
            .child_by_field_name("alias")
            .and_then(|a| a.named_child(0));
        for clause in named_children(node) {
            if !matches!(clause.kind(), "type_case" | "default_case") {
                continue;
            }
            self.scopes.push(HashMap::new());
            if let Some(alias) = alias {
                let types = field_children(clause, "type");
                let bound = match types.as_slice() {
                    [one] if self.text(*one) != "nil" => ValueExpr::Typed {
                        of: self.type_expr(*one),
                    },
                    _ => value.map_or(ValueExpr::Unknown, |v| self.value(v)),
                };
                self.bind(alias, bound);
            }
            let types = field_children(clause, "type");
            for child in named_children(clause) {
                if !types.iter().any(|t| t.id() == child.id()) {
                    self.walk(child);
                }
            }
            self.scopes.pop();
        }
        self.scopes.pop();
    }
}

/// The specs of a `var`/`const` declaration, grouped or not.
fn specs(decl: Node<'_>) -> Vec<Node<'_>> {
    let mut out = Vec::new();
    for child in named_children(decl) {
        match child.kind() {
            "var_spec" | "const_spec" => out.push(child),
            "var_spec_list" | "const_spec_list" => out.extend(
                named_children(child)
                    .into_iter()
                    .filter(|c| matches!(c.kind(), "var_spec" | "const_spec")),
            ),
            _ => {}
        }
    }
    out
}

fn unparen(mut node: Node<'_>) -> Node<'_> {
    while node.kind() == "parenthesized_expression" {
        match node.named_child(0) {
            Some(inner) => node = inner,
            None => break,
        }
    }
    node
}

/// The name node of a type (`T`, `pkg.T`, `T[X]`), as an embedded field is named.
fn type_name_node(ty: Node<'_>) -> Option<Node<'_>> {
    match ty.kind() {
        "type_identifier" => Some(ty),
        "qualified_type" => ty.child_by_field_name("name"),
        "generic_type" => ty.child_by_field_name("type").and_then(type_name_node),
        "pointer_type" => ty.named_child(0).and_then(type_name_node),
        _ => None,
    }
}

/// The receiver's type name of a method declaration (`(s *Store)`, `(l List[T])`).
fn receiver_type<'s>(method: Node<'_>, source: &'s [u8]) -> Option<&'s str> {
    let list = method.child_by_field_name("receiver")?;
    let param = named_children(list)
        .into_iter()
        .find(|p| p.kind() == "parameter_declaration")?;
    let name = type_name_node(param.child_by_field_name("type")?)?;
    Some(text(name, source))
}
