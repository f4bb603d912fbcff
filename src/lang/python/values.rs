//! What Python values are, as far as the source says without running it: each local's
//! binding (an annotated parameter, `x = Order(...)`, `with open_stream() as s`, `for item in
//! items`), the members reached through values (`req.render()`, `make().total`), what
//! functions say they return, and what attributes are assigned. The resolver evaluates these
//! into classes to find which repository member a use like `req.render` is.

use std::collections::{HashMap, HashSet};

use tree_sitter::Node;

use super::shared::{Parents, text};
use crate::lang::facts::{
    FuncDecl, MemberUse, MethodDecl, Reference, ReferenceKind, Segment, Span, TypeDecl, TypeExpr,
    TypeFacts, ValueExpr,
};
use crate::lang::scope::ScopeIndex;

/// Fill `types` with the file's locals, member uses, return annotations and assigned values.
/// `local_imports` are the (scope start, name, import index) an import inside a function
/// binds: values named so are what the import names.
pub(super) fn extract(
    path: &str,
    source: &[u8],
    parents: &Parents<'_>,
    scopes: &ScopeIndex<'_>,
    local_imports: &[(usize, &str, u32)],
    types: &mut TypeFacts,
) -> Vec<Reference> {
    let file = path.rsplit('/').next().unwrap_or(path);
    let tests = file.ends_with(".py") && (file.starts_with("test_") || file.ends_with("_test.py"));
    let mut cx = Values {
        source,
        parents,
        scopes,
        local_imports,
        locals: HashMap::new(),
        receivers: HashSet::new(),
        narrows: source.windows(11).any(|w| w == b"isinstance("),
        tests,
        flows: HashMap::new(),
        rebound_at: HashMap::new(),
    };
    let mut bindings = Vec::new();
    let mut added = Vec::new();
    let mut requests = Vec::new();
    for &node in parents.named() {
        match node.kind() {
            "function_definition" => {
                cx.bind_parameters(node, &mut bindings, &mut requests);
                returns(&cx, node, types);
            }
            "call" => added.extend(added_to(node, source)),
            "class_definition" => record(node, source, parents, types),
            "identifier" => cx.bind(node, local_imports, &mut bindings),
            "if_statement" | "elif_clause" => cx.narrow(node, &mut bindings),
            _ => {}
        }
    }
    cx.flows(&mut bindings);
    // One local per (scope, name), typed as a checker types it: by its annotation if it has
    // one, else by its first binding that is not `None` (later ones must agree with it).
    // Uses an assignment dominates read that assignment's own local instead (`flows`).
    bindings.sort_by_key(|(_, at, _)| *at);
    let mut exprs: Vec<Option<ValueExpr>> = vec![None; cx.locals.len()];
    let mut declared = vec![false; cx.locals.len()];
    for (index, _, bound) in bindings {
        let annotated = matches!(bound, Bound::Typed(_) | Bound::Type(_));
        let expr = match bound {
            Bound::Value(node) => match cx.value(node) {
                Some(v) => v,
                None => continue, // `x = None` says nothing of what x is otherwise
            },
            Bound::Typed(node) => ValueExpr::Typed {
                of: type_expr(node, source),
            },
            Bound::Type(of) => ValueExpr::Typed { of },
            Bound::Fixture(name, receiver) => ValueExpr::Fixture {
                name,
                receiver: receiver.map(|index| Box::new(ValueExpr::Local { index })),
            },
            Bound::Element(node) => ValueExpr::RangeValue {
                of: Box::new(cx.value(node).unwrap_or(ValueExpr::Unknown)),
            },
            Bound::ValueOf(node) => ValueExpr::Index {
                of: Box::new(cx.value(node).unwrap_or(ValueExpr::Unknown)),
            },
            Bound::Unknown => ValueExpr::Unknown,
        };
        let i = index as usize;
        if exprs[i].is_none() || (annotated && !declared[i]) {
            exprs[i] = Some(expr);
            declared[i] = annotated;
        }
    }
    // `contexts = []`, then `contexts.append(ctx)`: what a list the code builds holds.
    for (container, element) in added {
        if let Some(i) = cx.local_of(container)
            && let Some(Some(ValueExpr::Elements { of })) = exprs.get_mut(i as usize)
            && let Some(value) = cx.value(element)
        {
            let value = match element.parent().and_then(|a| a.parent()) {
                Some(call) if is_extend(call, source) => ValueExpr::RangeValue {
                    of: Box::new(value),
                },
                _ => value,
            };
            if !of.contains(&value) {
                of.push(value);
            }
        }
    }
    types.locals = exprs
        .into_iter()
        .map(|e| e.unwrap_or(ValueExpr::Unknown))
        .collect();
    cx.uses(types);
    cx.fixture_requests(&requests)
}

/// How a local got its value.
enum Bound<'t> {
    /// `x = <node>`, `with <node> as x`.
    Value(Node<'t>),
    /// `x: <node>` (a parameter or an annotated assignment).
    Typed(Node<'t>),
    /// A method's receiver: an instance of its class (or the class, for `cls`).
    Type(TypeExpr),
    /// `for x in <node>`.
    Element(Node<'t>),
    /// `for _, x in <node>.items()`: a value of the mapping.
    ValueOf(Node<'t>),
    /// A parameter of a test or a fixture that pytest fills with the fixture of its name;
    /// the test method's receiver, for fixtures its class defines.
    Fixture(String, Option<u32>),
    /// Anything else (`except … as x`, a tuple target, a comprehension variable).
    Unknown,
}

/// An unannotated name's assignment `x = <value>` in a block: the uses after it in that block
/// (and its nested blocks) read its value, unless another binding of `x` comes between.
struct Flow {
    /// Where the assigned name is.
    at: usize,
    /// The end of the assignment statement: where the uses it dominates start.
    from: usize,
    /// The end of the block it is in.
    to: usize,
    /// The start of the function it is in (`usize::MAX` at module level): a nested
    /// function's use reads the name when it is called, not here.
    function: usize,
    /// The assignment's own local.
    index: u32,
}

struct Values<'a, 's> {
    source: &'a [u8],
    parents: &'a Parents<'s>,
    scopes: &'a ScopeIndex<'s>,
    local_imports: &'a [(usize, &'a str, u32)],
    /// (scope, name) → index into the locals.
    locals: HashMap<(usize, String), u32>,
    /// Receiver locals (`self`, `cls`): their direct members are the references' already.
    receivers: HashSet<u32>,
    /// Whether the file calls `isinstance` at all: only then can a branch narrow an attribute.
    narrows: bool,
    /// Whether pytest collects tests from the file (`test_*.py`, `*_test.py`): their `test*`
    /// functions' parameters are fixtures.
    tests: bool,
    /// Per local bound more than once without an annotation: its assignments in blocks.
    flows: HashMap<u32, Vec<Flow>>,
    /// Per such local: where each of its bindings is.
    rebound_at: HashMap<u32, Vec<usize>>,
}

impl Values<'_, '_> {
    fn local(&mut self, scope: usize, name: &str) -> u32 {
        let next = self.locals.len() as u32;
        *self.locals.entry((scope, name.to_string())).or_insert(next)
    }

    /// The innermost function or class around a node, or the module.
    fn enclosing(&self, node: Node<'_>) -> Enclosing<'_> {
        enclosing(node, self.parents)
    }

    /// The class an attribute is narrowed to where it is read, in a file that calls
    /// `isinstance` at all.
    fn narrowed_attribute(&self, node: Node<'_>) -> Option<Node<'_>> {
        if !self.narrows {
            return None;
        }
        narrowed_attribute(node, self.source, self.parents)
    }

    /// The local an identifier read at its position is, if it is one this layer tracks.
    fn local_of(&self, ident: Node<'_>) -> Option<u32> {
        let name = text(ident, self.source);
        let scope = self.scopes.binding_of(name, ident.start_byte())?;
        // Inside `except E as name:`, the name is that clause's own (Python unbinds it after);
        // inside `if isinstance(name, C):`, it is a C there.
        let at = ident.start_byte();
        for n in self
            .parents
            .ancestors(ident)
            .take_while(|n| !matches!(n.kind(), "function_definition" | "lambda"))
        {
            let key = match n.kind() {
                "except_clause" if except_binds(n, name, self.source) => {
                    format!("{name}@{}", n.start_byte())
                }
                "if_statement" | "elif_clause"
                    if n.child_by_field_name("consequence")
                        .is_some_and(|c| c.start_byte() <= at && at < c.end_byte())
                        && isinstance_of(n, self.source)
                            .is_some_and(|(x, _)| text(x, self.source) == name) =>
                {
                    format!("{name}@isinstance@{}", n.start_byte())
                }
                _ => continue,
            };
            if let Some(&index) = self.locals.get(&(scope, key)) {
                return Some(index);
            }
        }
        let merged = self.locals.get(&(scope, name.to_string())).copied()?;
        Some(self.flow_at(merged, ident).unwrap_or(merged))
    }

    /// The assignment of `local` whose value a read of it at `ident` sees, when the code says
    /// so without running it: the last assignment before the read in a block around it, with
    /// no other binding of the name between them nor in a loop around the read that the
    /// assignment is outside of (its next round could bring that binding's value back).
    fn flow_at(&self, local: u32, ident: Node<'_>) -> Option<u32> {
        let flows = self.flows.get(&local)?;
        let at = ident.start_byte();
        let flow = flows
            .iter()
            .filter(|f| f.from <= at && at < f.to)
            .max_by_key(|f| f.at)?;
        let rebound = &self.rebound_at[&local];
        if rebound.iter().any(|&b| flow.at < b && b < at) {
            return None;
        }
        let mut function = usize::MAX;
        for n in self.parents.ancestors(ident) {
            match n.kind() {
                "function_definition" | "lambda" => {
                    function = n.start_byte();
                    break;
                }
                "for_statement" | "while_statement"
                    if n.start_byte() >= flow.from
                        && rebound
                            .iter()
                            .any(|&b| n.start_byte() <= b && b < n.end_byte()) =>
                {
                    return None;
                }
                _ => {}
            }
        }
        (function == flow.function).then_some(flow.index)
    }

    /// Give each assignment of a name bound more than once, and never annotated, a local of its
    /// own (`flow_at` says which uses read it): `env = Environment()` in a test whose `env`
    /// parameter is a fixture, or a name reassigned to another class's instance.
    fn flows<'t>(&mut self, bindings: &mut Vec<(u32, usize, Bound<'t>)>) {
        let mut count: HashMap<u32, (usize, bool)> = HashMap::new();
        for (index, _, bound) in bindings.iter() {
            let entry = count.entry(*index).or_default();
            entry.0 += 1;
            entry.1 |= matches!(bound, Bound::Typed(_) | Bound::Type(_));
        }
        let mut added = Vec::new();
        let mut names: HashMap<u32, (usize, String)> = HashMap::new();
        for (index, at, bound) in bindings.iter() {
            let (n, declared) = count[index];
            if n < 2 || declared {
                continue;
            }
            self.rebound_at.entry(*index).or_default().push(*at);
            let Some((statement, from, to, again)) = dominated(*at, bound) else {
                continue;
            };
            let function = std::iter::successors(statement.parent(), |n| n.parent())
                .find(|n| matches!(n.kind(), "function_definition" | "lambda"))
                .map_or(usize::MAX, |f| f.start_byte());
            if names.is_empty() {
                names = self
                    .locals
                    .iter()
                    .map(|((scope, name), i)| (*i, (*scope, name.clone())))
                    .collect();
            }
            let Some((scope, name)) = names.get(index) else {
                continue;
            };
            let own = self.local(*scope, &format!("{name}@flow@{at}"));
            self.flows.entry(*index).or_default().push(Flow {
                at: *at,
                from,
                to,
                function,
                index: own,
            });
            added.push((own, *at, again));
        }
        bindings.extend(added);
    }

    /// `if isinstance(x, C):` (or `elif`): inside its block, `x` is a `C`.
    fn narrow<'t>(&mut self, statement: Node<'t>, out: &mut Vec<(u32, usize, Bound<'t>)>) {
        let Some((x, class)) = isinstance_of(statement, self.source) else {
            return;
        };
        let name = text(x, self.source);
        let Some(scope) = self.scopes.binding_of(name, x.start_byte()) else {
            return;
        };
        if self.scopes.is_class_body(scope) {
            return;
        }
        let key = format!("{name}@isinstance@{}", statement.start_byte());
        let index = self.local(scope, &key);
        out.push((index, statement.start_byte(), Bound::Typed(class)));
    }

    /// A binding occurrence of a name: how it gets its value.
    fn bind<'t>(
        &mut self,
        node: Node<'t>,
        local_imports: &[(usize, &str, u32)],
        out: &mut Vec<(u32, usize, Bound<'t>)>,
    ) {
        if !self.scopes.binders.contains(&node.id()) {
            return;
        }
        let name = text(node, self.source);
        let Some(scope) = self.scopes.binding_of(name, node.start_byte()) else {
            return;
        };
        if self.scopes.is_class_body(scope)
            || local_imports
                .iter()
                .any(|&(start, n, _)| n == name && self.scopes.range(scope).0 == start)
        {
            return;
        }
        let Some(parent) = node.parent() else {
            return;
        };
        let is_field = |field: &str| {
            parent
                .child_by_field_name(field)
                .is_some_and(|l| l.id() == node.id())
        };
        let bound = match parent.kind() {
            "assignment" if is_field("left") => match (
                parent.child_by_field_name("type"),
                parent.child_by_field_name("right"),
            ) {
                (Some(t), _) => Bound::Typed(t),
                (None, Some(v)) => Bound::Value(v),
                (None, None) => Bound::Unknown,
            },
            "as_pattern_target" => {
                let pattern = parent.parent().filter(|p| p.kind() == "as_pattern");
                let made = pattern.and_then(|p| p.named_child(0));
                match (pattern.and_then(|p| p.parent()), made) {
                    (Some(w), Some(v)) if w.kind() == "with_item" => Bound::Value(v),
                    // `except NotFound as e`: an instance of the class caught, in that clause.
                    (Some(c), Some(t)) if c.kind() == "except_clause" => {
                        let key = format!("{name}@{}", c.start_byte());
                        let index = self.local(scope, &key);
                        out.push((index, node.start_byte(), Bound::Typed(t)));
                        return;
                    }
                    _ => Bound::Unknown,
                }
            }
            "except_clause" if is_field("alias") => match parent.child_by_field_name("value") {
                Some(t) => Bound::Typed(t),
                None => Bound::Unknown,
            },
            // `for i, item in enumerate(items)`, `for key, value in table.items()`.
            "pattern_list" | "tuple_pattern" => self.pair_target(parent, node),
            "for_statement" | "for_in_clause" if is_field("left") => {
                match parent.child_by_field_name("right") {
                    Some(v) => Bound::Element(v),
                    None => Bound::Unknown,
                }
            }
            // Parameters are bound with their function; a def's or class's own name is no
            // value this layer follows through locals.
            "parameters"
            | "typed_parameter"
            | "default_parameter"
            | "typed_default_parameter"
            | "list_splat_pattern"
            | "dictionary_splat_pattern"
            | "lambda_parameters" => return,
            _ => Bound::Unknown,
        };
        let index = self.local(scope, name);
        out.push((index, node.start_byte(), bound));
    }

    /// The second name of a two-name `for` target over `enumerate(x)` (an element of `x`) or
    /// `d.items()` (a value of `d`), the first over `d.items()` (a key).
    fn pair_target<'t>(&self, pattern: Node<'t>, ident: Node<'t>) -> Bound<'t> {
        let mut cursor = pattern.walk();
        let names: Vec<Node<'_>> = pattern.named_children(&mut cursor).collect();
        let Some(statement) = pattern
            .parent()
            .filter(|p| matches!(p.kind(), "for_statement" | "for_in_clause"))
            .filter(|p| {
                p.child_by_field_name("left")
                    .is_some_and(|l| l.id() == pattern.id())
            })
        else {
            return Bound::Unknown;
        };
        let (Some(call), 2) = (statement.child_by_field_name("right"), names.len()) else {
            return Bound::Unknown;
        };
        let second = names[1].id() == ident.id();
        let (Some(function), Some(args)) = (
            call.child_by_field_name("function")
                .filter(|_| call.kind() == "call"),
            call.child_by_field_name("arguments"),
        ) else {
            return Bound::Unknown;
        };
        match (function.kind(), text(function, self.source)) {
            ("identifier", "enumerate") if second => match args.named_child(0) {
                Some(of) => Bound::Element(of),
                None => Bound::Unknown,
            },
            ("attribute", _)
                if function
                    .child_by_field_name("attribute")
                    .is_some_and(|a| text(a, self.source) == "items") =>
            {
                match function.child_by_field_name("object") {
                    Some(of) if second => Bound::ValueOf(of),
                    Some(of) => Bound::Element(of),
                    None => Bound::Unknown,
                }
            }
            _ => Bound::Unknown,
        }
    }

    /// A function's parameters: typed by their annotation; a method's receiver by its class.
    fn bind_parameters<'t>(
        &mut self,
        function: Node<'t>,
        out: &mut Vec<(u32, usize, Bound<'t>)>,
        requests: &mut Vec<(Node<'t>, usize, String)>,
    ) {
        let Some(params) = function.child_by_field_name("parameters") else {
            return;
        };
        let receiver = receiver_class(function, self.source, self.parents);
        let fills = self.tests && is_test_function(function, self.source, self.parents)
            || fixture_decorator(function, self.source).is_some();
        let mut receiver_local = None;
        let mut cursor = params.walk();
        for (i, p) in params.named_children(&mut cursor).enumerate() {
            let (ident, annotation) = match p.kind() {
                "identifier" => (Some(p), None),
                "typed_parameter" => (p.named_child(0), p.child_by_field_name("type")),
                "default_parameter" => (p.child_by_field_name("name"), None),
                "typed_default_parameter" => {
                    (p.child_by_field_name("name"), p.child_by_field_name("type"))
                }
                _ => (None, None), // `*args`, `**kwargs`, `*`, `/`
            };
            let Some(ident) = ident.filter(|n| n.kind() == "identifier") else {
                continue;
            };
            let name = text(ident, self.source);
            let Some(scope) = self.scopes.binding_of(name, ident.start_byte()) else {
                continue;
            };
            let index = self.local(scope, name);
            // pytest fills a parameter without a default by the fixture of its name, whatever
            // its annotation says.
            let asks = fills
                && !(receiver.is_some() && i == 0)
                && matches!(p.kind(), "identifier" | "typed_parameter");
            if asks {
                requests.push((function, scope, name.to_string()));
            }
            let bound = match (&receiver, annotation) {
                (Some(class), _) if i == 0 => {
                    self.receivers.insert(index);
                    receiver_local = Some(index);
                    Bound::Type(class.clone())
                }
                (_, Some(t)) => match self.in_class_body(function, t) {
                    Some(of) => Bound::Type(of),
                    None => Bound::Typed(t),
                },
                _ if asks => Bound::Fixture(name.to_string(), receiver_local),
                _ => Bound::Unknown,
            };
            out.push((index, ident.start_byte(), bound));
        }
    }

    /// A method's annotation that names its class body's own names (`finalize: _Info` for a
    /// class `_Info` defined in the class), with those names qualified by the class; `None`
    /// when it names none.
    fn in_class_body(&self, function: Node<'_>, annotation: Node<'_>) -> Option<TypeExpr> {
        let definition = with_decorators(function);
        let Enclosing::Class(class) = self.enclosing(definition) else {
            return None;
        };
        let at = annotation.start_byte();
        let in_body = |name: &str| {
            self.scopes
                .binding_of(name, at)
                .is_some_and(|scope| self.scopes.is_class_body(scope))
        };
        let mut changed = false;
        let of = qualify(
            type_expr(annotation, self.source),
            &class_path(class, self.source, self.parents),
            &in_body,
            &mut changed,
        );
        changed.then_some(of)
    }

    /// How an expression's value is made; `None` for the `None` literal.
    fn value(&self, node: Node<'_>) -> Option<ValueExpr> {
        Some(match node.kind() {
            "identifier" => match self.local_of(node) {
                Some(index) => ValueExpr::Local { index },
                // A local this layer does not track: what an import inside the function
                // names, never the module-level name it shadows.
                None if let Some(scope) = self
                    .scopes
                    .binding_of(text(node, self.source), node.start_byte()) =>
                {
                    let name = text(node, self.source);
                    let start = self.scopes.range(scope).0;
                    match self
                        .local_imports
                        .iter()
                        .find(|&&(s, n, _)| s == start && n == name)
                    {
                        Some(&(_, _, import)) => ValueExpr::Imported {
                            import,
                            name: name.to_string(),
                        },
                        None => ValueExpr::Unknown,
                    }
                }
                None => ValueExpr::Name {
                    name: text(node, self.source).to_string(),
                },
            },
            // `request.param` in a fixture declared with `params=[A, B]`: one of them.
            "attribute" if let Some(params) = fixture_param(node, self.source, self.parents) => {
                ValueExpr::RangeValue {
                    of: Box::new(self.value(params)?),
                }
            }
            "attribute" if let Some(class) = self.narrowed_attribute(node) => ValueExpr::Typed {
                of: type_expr(class, self.source),
            },
            "attribute" => match (
                node.child_by_field_name("object"),
                node.child_by_field_name("attribute"),
            ) {
                (Some(object), Some(attr)) => ValueExpr::Member {
                    of: Box::new(self.value(object).unwrap_or(ValueExpr::Unknown)),
                    name: text(attr, self.source).to_string(),
                },
                _ => ValueExpr::Unknown,
            },
            "call" if is_super(node, self.source) => match self.enclosing(node) {
                Enclosing::Function(f) => match receiver_class(f, self.source, self.parents) {
                    Some(TypeExpr::Named { qualifier, name }) => ValueExpr::Super {
                        class: match qualifier {
                            Some(q) => format!("{q}.{name}"),
                            None => name,
                        },
                    },
                    _ => ValueExpr::Unknown,
                },
                _ => ValueExpr::Unknown,
            },
            // `typing.cast(T, x)`: a T, whatever x is.
            "call" if let Some(of) = cast_to(node, self.source) => ValueExpr::Typed {
                of: type_expr(of, self.source),
            },
            // `deque([self])`, `list(nodes)`, `sorted(items)`: a container of what x holds.
            "call" if let Some(x) = container_of(node, self.source) => ValueExpr::Elements {
                of: vec![ValueExpr::RangeValue {
                    of: Box::new(self.value(x).unwrap_or(ValueExpr::Unknown)),
                }],
            },
            // `[node]`, `(a, b)`, `{x, *rest}`: a container of its elements.
            "list" | "tuple" | "set" => {
                let mut of = Vec::new();
                let mut cursor = node.walk();
                for element in node.named_children(&mut cursor) {
                    let value = match element.kind() {
                        "list_splat" | "parenthesized_list_splat" => element
                            .named_child(0)
                            .and_then(|x| self.value(x))
                            .map(|x| ValueExpr::RangeValue { of: Box::new(x) }),
                        "comment" => continue,
                        _ => self.value(element),
                    };
                    // `None` among them says nothing of the others.
                    if let Some(value) = value
                        && !of.contains(&value)
                    {
                        of.push(value);
                    }
                }
                ValueExpr::Elements { of }
            }
            // `partial(Serializer, key=…)`: calling it calls Serializer, so it is read as
            // Serializer (its own few attributes, `func`, `args`, are nothing we resolve).
            "call" if let Some(f) = partial_of(node, self.source) => return self.value(f),
            // `dataclasses.replace(x, …)`, `copy.copy(x)`, `x._replace(…)`: a copy, of x's type.
            "call" if copy_of(node, self.source).is_some() => {
                return copy_of(node, self.source).and_then(|x| self.value(x));
            }
            "call" => match node.child_by_field_name("function") {
                Some(callee) => ValueExpr::Call {
                    callee: Box::new(self.value(callee).unwrap_or(ValueExpr::Unknown)),
                    result: 0,
                },
                None => ValueExpr::Unknown,
            },
            "parenthesized_expression" | "await" => {
                return node.named_child(0).and_then(|n| self.value(n));
            }
            "subscript" => match node.child_by_field_name("value") {
                Some(of) => ValueExpr::Index {
                    of: Box::new(self.value(of).unwrap_or(ValueExpr::Unknown)),
                },
                None => ValueExpr::Unknown,
            },
            "none" => return None,
            // `a + b` is `a.__add__(b)`: what the left operand's method returns.
            "binary_operator" => {
                let (Some(left), Some(op)) = (
                    node.child_by_field_name("left"),
                    node.child_by_field_name("operator"),
                ) else {
                    return Some(ValueExpr::Unknown);
                };
                let Some(dunder) = binary_dunder(op.kind()) else {
                    return Some(ValueExpr::Unknown);
                };
                ValueExpr::Call {
                    callee: Box::new(ValueExpr::Member {
                        of: Box::new(self.value(left).unwrap_or(ValueExpr::Unknown)),
                        name: dunder.to_string(),
                    }),
                    result: 0,
                }
            }
            // `warehouse or Warehouse("main")`: what the first operand is, else the second.
            "boolean_operator" => {
                let (Some(left), Some(right)) = (
                    node.child_by_field_name("left"),
                    node.child_by_field_name("right"),
                ) else {
                    return Some(ValueExpr::Unknown);
                };
                let and = node
                    .child_by_field_name("operator")
                    .is_some_and(|o| o.kind() == "and");
                return if and {
                    self.value(right)
                } else {
                    self.value(left).or_else(|| self.value(right))
                };
            }
            // Values of builtin types: never a repository class's instance.
            "string"
            | "concatenated_string"
            | "integer"
            | "float"
            | "true"
            | "false"
            | "dictionary"
            | "list_comprehension"
            | "dictionary_comprehension"
            | "set_comprehension"
            | "generator_expression"
            | "comparison_operator"
            | "not_operator" => ValueExpr::Typed {
                of: TypeExpr::Other,
            },
            _ => ValueExpr::Unknown,
        })
    }

    /// Keywords that name a record's fields: `Order(status="new")` (a dataclass, attrs class,
    /// `NamedTuple`, pydantic-style model; the resolver checks that the class is one), and
    /// `dataclasses.replace(order, status=…)`, `point._replace(x=…)`.
    fn keywords(&self, call: Node<'_>, types: &mut TypeFacts) {
        let (Some(function), Some(args)) = (
            call.child_by_field_name("function"),
            call.child_by_field_name("arguments"),
        ) else {
            return;
        };
        let mut cursor = args.walk();
        let args: Vec<Node<'_>> = args.named_children(&mut cursor).collect();
        let callee = text(function, self.source);
        let of = if matches!(callee, "replace" | "dataclasses.replace") {
            match args.first().filter(|a| a.kind() != "keyword_argument") {
                Some(first) => self.value(*first),
                None => return,
            }
        } else if function.kind() == "attribute"
            && function
                .child_by_field_name("attribute")
                .is_some_and(|a| text(a, self.source) == "_replace")
        {
            function
                .child_by_field_name("object")
                .and_then(|o| self.value(o))
        } else {
            self.value(call)
        };
        let Some(of) = of else {
            return;
        };
        for arg in args.iter().filter(|a| a.kind() == "keyword_argument") {
            if let Some(name) = arg.child_by_field_name("name") {
                types.members.push(MemberUse {
                    of: of.clone(),
                    name: text(name, self.source).to_string(),
                    span: Span::of(name),
                    key: true,
                    shadowed: false,
                });
            }
        }
    }

    /// Members reached through values: `x.name` where `x` is a tracked local (not a
    /// receiver's direct member, nor a dotted name from outside every local, which the
    /// references resolve), or the result of a call, subscript or parenthesised expression.
    fn uses(&self, types: &mut TypeFacts) {
        for &node in self.parents.named() {
            if node.kind() == "call" {
                self.keywords(node, types);
            }
            if node.kind() != "attribute" {
                continue;
            }
            let (Some(object), Some(attr)) = (
                node.child_by_field_name("object"),
                node.child_by_field_name("attribute"),
            ) else {
                continue;
            };
            let mut base = object;
            while base.kind() == "attribute" {
                match base.child_by_field_name("object") {
                    Some(o) => base = o,
                    None => break,
                }
            }
            // A dotted name from a module-level name, or through a receiver, is a reference
            // the resolver walks already.
            // Unless `isinstance` narrows part of the chain (`self.type` in its branch).
            let narrowed = std::iter::successors(Some(object), |o| {
                (o.kind() == "attribute")
                    .then(|| o.child_by_field_name("object"))
                    .flatten()
            })
            .any(|o| o.kind() == "attribute" && self.narrowed_attribute(o).is_some());
            let through_value = narrowed
                || match base.kind() {
                    "identifier" => self
                        .local_of(base)
                        .is_some_and(|i| !self.receivers.contains(&i)),
                    _ => true,
                };
            if !through_value {
                continue;
            }
            let Some(of) = self.value(object) else {
                continue;
            };
            types.members.push(MemberUse {
                of,
                name: text(attr, self.source).to_string(),
                span: Span::of(attr),
                key: false,
                shadowed: false,
            });
        }
        self.attribute_values(types);
    }

    /// What an unannotated function returns, as `values` under `name()` (`make()`,
    /// `Factory.build()`): its first `return` of something other than `None`.
    fn returned(&self, statement: Node<'_>, out: &mut Vec<(usize, String, ValueExpr, bool)>) {
        let Enclosing::Function(function) = self.enclosing(statement) else {
            return;
        };
        if function.child_by_field_name("return_type").is_some() {
            return; // the annotation says it
        }
        let (Some(name), Some(value)) = (
            function.child_by_field_name("name"),
            statement.named_child(0).and_then(|v| self.value(v)),
        ) else {
            return;
        };
        let definition = with_decorators(function);
        let path = match self.enclosing(definition) {
            Enclosing::Module => format!("{}()", text(name, self.source)),
            Enclosing::Class(class) => {
                let path = format!(
                    "{}.{}",
                    class_path(class, self.source, self.parents),
                    text(name, self.source)
                );
                if is_property(function, self.source) {
                    out.push((statement.start_byte(), path.clone(), value.clone(), false));
                }
                format!("{path}()")
            }
            _ => return,
        };
        out.push((statement.start_byte(), path, value, false));
    }

    /// The names by which tests and fixtures ask for fixtures: each such parameter and every
    /// read or rebinding of it in its function (and functions nested in it), since renaming
    /// the fixture renames the variable.
    fn fixture_requests(&self, requests: &[(Node<'_>, usize, String)]) -> Vec<Reference> {
        let mut out = Vec::new();
        for (function, scope, name) in requests {
            let class =
                receiver_class(*function, self.source, self.parents).and_then(|c| match c {
                    TypeExpr::Named {
                        qualifier: Some(q),
                        name,
                    } => Some(format!("{q}.{name}")),
                    TypeExpr::Named { name, .. } => Some(name),
                    _ => None,
                });
            let mut stack = vec![*function];
            while let Some(node) = stack.pop() {
                let mut cursor = node.walk();
                stack.extend(node.named_children(&mut cursor));
                if node.kind() != "identifier" || text(node, self.source) != name.as_str() {
                    continue;
                }
                let not_a_variable = node.parent().is_some_and(|p| {
                    (p.kind() == "keyword_argument" && p.child_by_field_name("name") == Some(node))
                        || (p.kind() == "attribute"
                            && p.child_by_field_name("attribute") == Some(node))
                        || (p.kind() == "function_definition"
                            && p.child_by_field_name("name") == Some(node))
                });
                if not_a_variable || self.scopes.binding_of(name, node.start_byte()) != Some(*scope)
                {
                    continue;
                }
                out.push(Reference {
                    segments: vec![Segment {
                        name: name.clone(),
                        span: Span::of(node),
                    }],
                    kind: ReferenceKind::Fixture,
                    local_import: None,
                    receiver: class.clone(),
                    local_symbol: None,
                    absolute: false,
                });
            }
        }
        out.sort_by_key(|r| r.segments[0].span.start);
        out
    }

    /// What an unannotated fixture gives the tests that name it: its first `return` or
    /// `yield` of something other than `None`, under `name@fixture` (`Class.name@fixture`
    /// for one a test class defines).
    fn fixture_gives(&self, statement: Node<'_>, out: &mut Vec<(usize, String, ValueExpr, bool)>) {
        let Enclosing::Function(function) = self.enclosing(statement) else {
            return;
        };
        if function.child_by_field_name("return_type").is_some()
            || fixture_decorator(function, self.source).is_none()
        {
            return; // not a fixture, or one its annotation types
        }
        let Some(value) = statement
            .named_child(0)
            .filter(|v| v.kind() != "none")
            .and_then(|v| self.value(v))
        else {
            return;
        };
        if let Some(path) = fixture_path(function, self.source, self.parents) {
            out.push((statement.start_byte(), path, value, false));
        }
    }

    /// An annotated fixture gives its annotation's type; one that yields (`-> Iterator[T]`)
    /// an element of it.
    fn annotated_fixture(
        &self,
        function: Node<'_>,
        out: &mut Vec<(usize, String, ValueExpr, bool)>,
    ) {
        let Some(annotation) = function.child_by_field_name("return_type") else {
            return;
        };
        if fixture_decorator(function, self.source).is_none() {
            return;
        }
        let Some(path) = fixture_path(function, self.source, self.parents) else {
            return;
        };
        let of = self
            .in_class_body(function, annotation)
            .unwrap_or_else(|| type_expr(annotation, self.source));
        let typed = ValueExpr::Typed { of };
        let value = if yields(function) {
            ValueExpr::RangeValue {
                of: Box::new(typed),
            }
        } else {
            typed
        };
        out.push((function.start_byte(), path, value, true));
    }

    /// What reading an annotated property gives (`@property def lexer(self) -> Lexer`): its
    /// return annotation, under the property's own path (`Environment.lexer`), as an attribute
    /// assigned that type would be. (An unannotated one: `returned`.)
    fn property(&self, function: Node<'_>, out: &mut Vec<(usize, String, ValueExpr, bool)>) {
        let (Some(name), Some(annotation)) = (
            function.child_by_field_name("name"),
            function.child_by_field_name("return_type"),
        ) else {
            return;
        };
        if !is_property(function, self.source) {
            return;
        }
        let Some(outer) = function.parent() else {
            return;
        };
        let Enclosing::Class(class) = self.enclosing(outer) else {
            return;
        };
        let of = self
            .in_class_body(function, annotation)
            .unwrap_or_else(|| type_expr(annotation, self.source));
        let path = format!(
            "{}.{}",
            class_path(class, self.source, self.parents),
            text(name, self.source)
        );
        out.push((function.start_byte(), path, ValueExpr::Typed { of }, true));
    }

    /// What module-level names, class attributes and attributes assigned through a receiver
    /// are made from: `values` by local path (`LIMIT`, `Client.session`).
    fn attribute_values(&self, types: &mut TypeFacts) {
        let mut assigned: Vec<(usize, String, ValueExpr, bool)> = Vec::new();
        // Every fixture has a value, if only an unknown one: tests asking for it name it.
        let mut fixtures: Vec<String> = Vec::new();
        for &node in self.parents.named() {
            if node.kind() == "return_statement" {
                self.returned(node, &mut assigned);
                self.fixture_gives(node, &mut assigned);
                continue;
            }
            if node.kind() == "yield" {
                self.fixture_gives(node, &mut assigned);
                continue;
            }
            if node.kind() == "function_definition" {
                self.property(node, &mut assigned);
                self.annotated_fixture(node, &mut assigned);
                if fixture_decorator(node, self.source).is_some() {
                    fixtures.extend(fixture_path(node, self.source, self.parents));
                }
                continue;
            }
            if node.kind() != "assignment" {
                continue;
            }
            let Some(left) = node.child_by_field_name("left") else {
                continue;
            };
            let path = match left.kind() {
                "identifier" => match self.enclosing(node) {
                    Enclosing::Module => {
                        if let Some(of) = node
                            .child_by_field_name("right")
                            .and_then(|v| alias_of(v, self.source))
                        {
                            types.types.push(TypeDecl {
                                name: text(left, self.source).to_string(),
                                alias: true,
                                of,
                            });
                        }
                        text(left, self.source).to_string()
                    }
                    Enclosing::Class(class) => {
                        format!(
                            "{}.{}",
                            class_path(class, self.source, self.parents),
                            text(left, self.source)
                        )
                    }
                    Enclosing::Function(_) | Enclosing::Other => continue,
                },
                "attribute" => {
                    let (Some(object), Some(attr)) = (
                        left.child_by_field_name("object"),
                        left.child_by_field_name("attribute"),
                    ) else {
                        continue;
                    };
                    let Enclosing::Function(function) = self.enclosing(node) else {
                        continue;
                    };
                    let Some(class) = receiver_class(function, self.source, self.parents) else {
                        continue;
                    };
                    if object.kind() != "identifier"
                        || !self
                            .local_of(object)
                            .is_some_and(|i| self.receivers.contains(&i))
                    {
                        continue;
                    }
                    match class {
                        TypeExpr::Named {
                            qualifier: Some(q),
                            name,
                        } => format!("{q}.{name}.{}", text(attr, self.source)),
                        TypeExpr::Named { name, .. } => {
                            format!("{name}.{}", text(attr, self.source))
                        }
                        _ => continue,
                    }
                }
                _ => continue,
            };
            let (expr, annotated) = match (
                node.child_by_field_name("type"),
                node.child_by_field_name("right"),
            ) {
                (Some(t), _) => (
                    ValueExpr::Typed {
                        of: type_expr(t, self.source),
                    },
                    true,
                ),
                (None, Some(v)) => match self.value(v) {
                    Some(v) => (v, false),
                    None => continue,
                },
                (None, None) => continue,
            };
            assigned.push((node.start_byte(), path, expr, annotated));
        }
        // As for locals: the annotation, else the first assignment that is not `None`.
        assigned.sort_by_key(|a| a.0);
        let mut at: HashMap<String, (usize, bool)> = HashMap::new();
        for (_, path, expr, annotated) in assigned {
            match at.get(&path) {
                None => {
                    at.insert(path.clone(), (types.values.len(), annotated));
                    types.values.push((path, expr));
                }
                Some(&(i, false)) if annotated => {
                    types.values[i].1 = expr;
                    at.insert(path, (i, true));
                }
                Some(_) => {}
            }
        }
        for path in fixtures {
            if !at.contains_key(&path) {
                types.values.push((path, ValueExpr::Unknown));
            }
        }
    }
}

/// Where a binding of `x` dominates the uses of `x`: the statement, the range (from, to) and
/// the binding again, for its own local.
/// - `x = <value>` directly in a block: the rest of that block. Not `x = None`, which says
///   nothing of what `x` is otherwise.
/// - `for x in <over>:` (or `for k, x in <over>.items():`): the loop's body.
fn dominated<'t>(at: usize, bound: &Bound<'t>) -> Option<(Node<'t>, usize, usize, Bound<'t>)> {
    match *bound {
        Bound::Value(value) if value.kind() != "none" => {
            let statement = value
                .parent()
                .filter(|a| a.kind() == "assignment")
                .and_then(|a| a.parent())
                .filter(|e| e.kind() == "expression_statement")?;
            let block = statement
                .parent()
                .filter(|b| matches!(b.kind(), "block" | "module"))?;
            Some((
                statement,
                statement.end_byte(),
                block.end_byte(),
                Bound::Value(value),
            ))
        }
        Bound::Element(over) | Bound::ValueOf(over) => {
            let statement = std::iter::successors(over.parent(), |n| n.parent())
                .take(3)
                .find(|n| n.kind() == "for_statement")
                .filter(|s| s.start_byte() < at)?;
            let body = statement
                .child_by_field_name("body")
                .filter(|b| b.start_byte() > at)?;
            let again = match bound {
                Bound::Element(_) => Bound::Element(over),
                _ => Bound::ValueOf(over),
            };
            Some((statement, body.start_byte(), body.end_byte(), again))
        }
        _ => None,
    }
}

/// The name and the class of an `if isinstance(name, Class):` condition (a dotted class; a
/// tuple of classes narrows to nothing this layer can follow), also as one operand of an `and`.
fn isinstance_of<'t>(statement: Node<'t>, source: &[u8]) -> Option<(Node<'t>, Node<'t>)> {
    let condition = statement.child_by_field_name("condition")?;
    isinstance_tests(condition, source)
        .into_iter()
        .find(|(x, _)| x.kind() == "identifier")
}

/// Every `isinstance(x, Class)` a condition asserts: the condition itself, or the operands of
/// `and` (`isinstance(self.type, Range) and self.type.min == 0`), where `x` is a name or a
/// dotted attribute.
fn isinstance_tests<'t>(condition: Node<'t>, source: &[u8]) -> Vec<(Node<'t>, Node<'t>)> {
    match condition.kind() {
        "parenthesized_expression" => condition
            .named_child(0)
            .map(|c| isinstance_tests(c, source))
            .unwrap_or_default(),
        "boolean_operator"
            if condition
                .child_by_field_name("operator")
                .is_some_and(|o| o.kind() == "and") =>
        {
            let mut tests = Vec::new();
            for side in ["left", "right"] {
                if let Some(operand) = condition.child_by_field_name(side) {
                    tests.extend(isinstance_tests(operand, source));
                }
            }
            tests
        }
        "call" => {
            let Some(function) = condition.child_by_field_name("function") else {
                return Vec::new();
            };
            if function.kind() != "identifier" || text(function, source) != "isinstance" {
                return Vec::new();
            }
            let Some(args) = condition.child_by_field_name("arguments") else {
                return Vec::new();
            };
            let mut cursor = args.walk();
            let named: Vec<Node<'t>> = args.named_children(&mut cursor).collect();
            match named.as_slice() {
                [x, class]
                    if (x.kind() == "identifier"
                        || x.kind() == "attribute" && is_dotted(text(*x, source)))
                        && matches!(class.kind(), "identifier" | "attribute") =>
                {
                    vec![(*x, *class)]
                }
                _ => Vec::new(),
            }
        }
        _ => Vec::new(),
    }
}

/// The class an attribute expression (`self.type`) is narrowed to where it is read: inside
/// the block of an `if`/`elif` whose condition asserts `isinstance(self.type, C)`, or after
/// that assertion in the condition's own `and` chain.
fn narrowed_attribute<'p>(
    node: Node<'_>,
    source: &[u8],
    parents: &Parents<'p>,
) -> Option<Node<'p>> {
    let written = text(node, source);
    let at = node.start_byte();
    parents
        .ancestors(node)
        .take_while(|n| {
            !matches!(
                n.kind(),
                "function_definition" | "lambda" | "class_definition"
            )
        })
        .filter(|n| matches!(n.kind(), "if_statement" | "elif_clause"))
        .find_map(|n| {
            let condition = n.child_by_field_name("condition")?;
            let inside = n
                .child_by_field_name("consequence")
                .is_some_and(|c| c.start_byte() <= at && at < c.end_byte());
            let in_condition = condition.start_byte() <= at && at < condition.end_byte();
            isinstance_tests(condition, source)
                .into_iter()
                .find(|(x, _)| {
                    text(*x, source) == written && (inside || in_condition && x.end_byte() <= at)
                })
                .map(|(_, class)| class)
        })
}

/// Whether an `except … as name:` clause binds `name`.
fn except_binds(clause: Node<'_>, name: &str, source: &[u8]) -> bool {
    let mut cursor = clause.walk();
    clause.named_children(&mut cursor).any(|c| {
        c.kind() == "as_pattern"
            && c.child_by_field_name("alias")
                .or_else(|| c.named_child(1))
                .is_some_and(|a| text(a, source) == name)
    })
}

/// The type argument of `cast(T, x)`, `typing.cast(…)`, `t.cast(…)`.
fn cast_to<'t>(call: Node<'t>, source: &[u8]) -> Option<Node<'t>> {
    let callee = call.child_by_field_name("function")?;
    let written = text(callee, source);
    if !matches!(written, "cast" | "typing.cast" | "t.cast") {
        return None;
    }
    let arguments = call.child_by_field_name("arguments")?;
    let first = arguments.named_child(0)?;
    (first.kind() != "keyword_argument" && arguments.named_child_count() == 2).then_some(first)
}

/// `functools.partial(f, …)`: the callable it wraps.
fn partial_of<'t>(call: Node<'t>, source: &[u8]) -> Option<Node<'t>> {
    let callee = call.child_by_field_name("function")?;
    if !matches!(text(callee, source), "partial" | "functools.partial") {
        return None;
    }
    let first = call.child_by_field_name("arguments")?.named_child(0)?;
    matches!(first.kind(), "identifier" | "attribute").then_some(first)
}

/// `xs.append(x)`, `xs.add(x)`, `xs.appendleft(x)`, `xs.extend(more)`: the container (an
/// identifier) and what goes in.
fn added_to<'t>(call: Node<'t>, source: &[u8]) -> Option<(Node<'t>, Node<'t>)> {
    let callee = call
        .child_by_field_name("function")
        .filter(|f| f.kind() == "attribute")?;
    let method = text(callee.child_by_field_name("attribute")?, source);
    if !matches!(method, "append" | "appendleft" | "add" | "extend") {
        return None;
    }
    let container = callee
        .child_by_field_name("object")
        .filter(|o| o.kind() == "identifier")?;
    let arguments = call.child_by_field_name("arguments")?;
    let element = arguments.named_child(0)?;
    (arguments.named_child_count() == 1 && element.kind() != "keyword_argument")
        .then_some((container, element))
}

/// Whether a call is `xs.extend(…)` (it adds the elements of its argument).
fn is_extend(call: Node<'_>, source: &[u8]) -> bool {
    call.child_by_field_name("function")
        .and_then(|f| f.child_by_field_name("attribute"))
        .is_some_and(|a| text(a, source) == "extend")
}

/// The iterable a builtin container is made from: `deque(x)`, `list(x)`, `sorted(x)`, with x
/// its one positional argument.
fn container_of<'t>(call: Node<'t>, source: &[u8]) -> Option<Node<'t>> {
    let callee = call.child_by_field_name("function")?;
    if !matches!(
        text(callee, source),
        "list"
            | "tuple"
            | "set"
            | "frozenset"
            | "sorted"
            | "reversed"
            | "iter"
            | "deque"
            | "collections.deque"
    ) {
        return None;
    }
    let arguments = call.child_by_field_name("arguments")?;
    let first = arguments.named_child(0)?;
    (first.kind() != "keyword_argument"
        && first.kind() != "list_splat"
        && first.kind() != "generator_expression"
        && arguments.named_child_count() == 1)
        .then_some(first)
}

/// `super()` or `super(Class, self)`.
fn is_super(call: Node<'_>, source: &[u8]) -> bool {
    call.child_by_field_name("function")
        .is_some_and(|f| f.kind() == "identifier" && text(f, source) == "super")
}

/// The method a binary operator calls on its left operand.
fn binary_dunder(op: &str) -> Option<&'static str> {
    Some(match op {
        "+" => "__add__",
        "-" => "__sub__",
        "*" => "__mul__",
        "/" => "__truediv__",
        "//" => "__floordiv__",
        "%" => "__mod__",
        "**" => "__pow__",
        "@" => "__matmul__",
        "|" => "__or__",
        "&" => "__and__",
        "^" => "__xor__",
        "<<" => "__lshift__",
        ">>" => "__rshift__",
        _ => return None,
    })
}

enum Enclosing<'t> {
    Module,
    Class(Node<'t>),
    Function(Node<'t>),
    Other,
}

/// The innermost function or class around a node, or the module.
fn enclosing<'p>(node: Node<'_>, parents: &Parents<'p>) -> Enclosing<'p> {
    for p in parents.ancestors(node) {
        match p.kind() {
            "function_definition" => return Enclosing::Function(p),
            "class_definition" => return Enclosing::Class(p),
            "lambda"
            | "list_comprehension"
            | "dictionary_comprehension"
            | "set_comprehension"
            | "generator_expression" => return Enclosing::Other,
            _ => {}
        }
    }
    Enclosing::Module
}

/// `Outer.Inner` for a class nested in classes, `test_x.Local` for one defined in a function
/// (as the definitions name them).
fn class_path(class: Node<'_>, source: &[u8], parents: &Parents<'_>) -> String {
    let mut parts = Vec::new();
    let mut n = Some(class);
    while let Some(c) = n {
        if let Some(name) = c.child_by_field_name("name") {
            parts.push(text(name, source));
        }
        n = match enclosing(c, parents) {
            Enclosing::Class(outer) | Enclosing::Function(outer) => Some(outer),
            _ => None,
        };
    }
    parts.reverse();
    parts.join(".")
}

/// The class whose instance a method's first parameter is: for a function directly in a
/// class body that is not a `@staticmethod`.
fn receiver_class(function: Node<'_>, source: &[u8], parents: &Parents<'_>) -> Option<TypeExpr> {
    let mut outer = parents.parent(function)?;
    if outer.kind() == "decorated_definition" {
        let mut cursor = outer.walk();
        if outer
            .named_children(&mut cursor)
            .any(|d| d.kind() == "decorator" && text(d, source).contains("staticmethod"))
        {
            return None;
        }
        outer = parents.parent(outer)?;
    }
    let class = parents
        .parent(outer)
        .filter(|c| c.kind() == "class_definition")?;
    if outer.kind() != "block" {
        return None;
    }
    let path = class_path(class, source, parents);
    Some(match path.rsplit_once('.') {
        Some((q, n)) => TypeExpr::Named {
            qualifier: Some(q.to_string()),
            name: n.to_string(),
        },
        None => TypeExpr::Named {
            qualifier: None,
            name: path,
        },
    })
}

/// Decorators that make a method a property: reading the attribute calls it.
const PROPERTY_DECORATORS: &[&str] = &[
    "property",
    "cached_property",
    "functools.cached_property",
    "abc.abstractproperty",
    "abstractproperty",
];

/// Whether a method is a property's getter (`@property`, `@cached_property`); a
/// `@name.setter` is not: reading goes through the getter.
fn is_property(function: Node<'_>, source: &[u8]) -> bool {
    let Some(outer) = function
        .parent()
        .filter(|p| p.kind() == "decorated_definition")
    else {
        return false;
    };
    let mut cursor = outer.walk();
    outer.named_children(&mut cursor).any(|d| {
        d.kind() == "decorator"
            && d.named_child(0)
                .is_some_and(|e| PROPERTY_DECORATORS.contains(&text(e, source)))
    })
}

/// A function with its decorators (the `decorated_definition` around it, if any): the node
/// whose parent says where the function is defined.
fn with_decorators(function: Node<'_>) -> Node<'_> {
    match function.parent() {
        Some(p) if p.kind() == "decorated_definition" => p,
        _ => function,
    }
}

/// The decorator expression that makes a function a pytest fixture (`@pytest.fixture`,
/// `@pytest.fixture(params=…)`, `@fixture`, `@pytest_asyncio.fixture`).
fn fixture_decorator<'t>(function: Node<'t>, source: &[u8]) -> Option<Node<'t>> {
    let outer = function
        .parent()
        .filter(|p| p.kind() == "decorated_definition")?;
    let mut cursor = outer.walk();
    outer
        .named_children(&mut cursor)
        .filter(|d| d.kind() == "decorator")
        .filter_map(|d| d.named_child(0))
        .find(|e| {
            let callee = match e.kind() {
                "call" => e.child_by_field_name("function"),
                _ => Some(*e),
            };
            callee.is_some_and(|c| {
                let written = text(c, source);
                written == "fixture" || written.ends_with(".fixture")
            })
        })
}

/// Whether pytest collects the function as a test (`test*`, as `python_functions` has it by
/// default) in a module or a class.
fn is_test_function(function: Node<'_>, source: &[u8], parents: &Parents<'_>) -> bool {
    let definition = with_decorators(function);
    function
        .child_by_field_name("name")
        .is_some_and(|n| text(n, source).starts_with("test"))
        && matches!(
            enclosing(definition, parents),
            Enclosing::Module | Enclosing::Class(_)
        )
}

/// Where a fixture's value is kept: `name@fixture`, or `Class.name@fixture` for a method.
/// None for one that `name=` gives another name: tests ask for that name, not the function's.
fn fixture_path(function: Node<'_>, source: &[u8], parents: &Parents<'_>) -> Option<String> {
    let renamed = fixture_decorator(function, source)
        .and_then(|d| d.child_by_field_name("arguments"))
        .is_some_and(|arguments| {
            let mut cursor = arguments.walk();
            arguments.named_children(&mut cursor).any(|a| {
                a.kind() == "keyword_argument"
                    && a.child_by_field_name("name")
                        .is_some_and(|n| text(n, source) == "name")
            })
        });
    if renamed {
        return None;
    }
    let name = text(function.child_by_field_name("name")?, source);
    let definition = with_decorators(function);
    match enclosing(definition, parents) {
        Enclosing::Module => Some(format!("{name}@fixture")),
        Enclosing::Class(class) => Some(format!(
            "{}.{name}@fixture",
            class_path(class, source, parents)
        )),
        _ => None,
    }
}

/// Whether a function's own body yields (not a function or lambda nested in it).
fn yields(function: Node<'_>) -> bool {
    let Some(body) = function.child_by_field_name("body") else {
        return false;
    };
    let mut stack = vec![body];
    while let Some(node) = stack.pop() {
        if node.kind() == "yield" {
            return true;
        }
        if matches!(
            node.kind(),
            "function_definition" | "lambda" | "class_definition"
        ) {
            continue;
        }
        let mut cursor = node.walk();
        stack.extend(node.named_children(&mut cursor));
    }
    false
}

/// `request.param` inside a fixture declared with `params=…`: the params' node.
fn fixture_param<'p>(
    attribute: Node<'_>,
    source: &[u8],
    parents: &Parents<'p>,
) -> Option<Node<'p>> {
    let object = attribute.child_by_field_name("object")?;
    if object.kind() != "identifier"
        || text(attribute.child_by_field_name("attribute")?, source) != "param"
    {
        return None;
    }
    let Enclosing::Function(function) = enclosing(attribute, parents) else {
        return None;
    };
    let parameters = function.child_by_field_name("parameters")?;
    let mut cursor = parameters.walk();
    let name = text(object, source);
    if !parameters
        .named_children(&mut cursor)
        .any(|p| p.kind() == "identifier" && text(p, source) == name)
    {
        return None;
    }
    let decorator = fixture_decorator(function, source)?;
    let arguments = decorator.child_by_field_name("arguments")?;
    let mut cursor = arguments.walk();
    let params = arguments.named_children(&mut cursor).find(|a| {
        a.kind() == "keyword_argument"
            && a.child_by_field_name("name")
                .is_some_and(|n| text(n, source) == "params")
    })?;
    params.child_by_field_name("value")
}

/// Decorators that make a class a record whose constructor takes its fields as keywords.
const RECORD_DECORATORS: &[&str] = &[
    "dataclass",
    "dataclasses.dataclass",
    "pydantic.dataclasses.dataclass",
    "attr.s",
    "attr.attrs",
    "attr.define",
    "attr.frozen",
    "attr.mutable",
    "attrs.define",
    "attrs.frozen",
    "attrs.mutable",
    "define",
    "frozen",
    "mutable",
];

/// A class decorated as a record (`@dataclass`, `@attr.s(auto_attribs=True)`): a `TypeDecl`
/// whose type is a struct, so the resolver knows its constructor's keywords are its fields.
fn record(class: Node<'_>, source: &[u8], parents: &Parents<'_>, types: &mut TypeFacts) {
    let Some(outer) = class
        .parent()
        .filter(|p| p.kind() == "decorated_definition")
    else {
        return;
    };
    let mut cursor = outer.walk();
    let is_record = outer.named_children(&mut cursor).any(|d| {
        d.kind() == "decorator"
            && d.named_child(0).is_some_and(|e| {
                let e = match e.kind() {
                    "call" => e.child_by_field_name("function").unwrap_or(e),
                    _ => e,
                };
                RECORD_DECORATORS.contains(&text(e, source))
            })
    });
    if is_record {
        types.types.push(TypeDecl {
            name: class_path(class, source, parents),
            alias: false,
            of: TypeExpr::Struct {
                fields: Vec::new(),
                embeds: Vec::new(),
            },
        });
    }
}

/// A function's return annotation: a module-level function's in `funcs`, a method's in
/// `methods`.
fn returns(cx: &Values<'_, '_>, function: Node<'_>, types: &mut TypeFacts) {
    let source = cx.source;
    let (Some(name), Some(annotation)) = (
        function.child_by_field_name("name"),
        function.child_by_field_name("return_type"),
    ) else {
        return;
    };
    let results = vec![
        cx.in_class_body(function, annotation)
            .unwrap_or_else(|| type_expr(annotation, source)),
    ];
    let name = text(name, source).to_string();
    let definition = with_decorators(function);
    match cx.enclosing(definition) {
        Enclosing::Module => types.funcs.push(FuncDecl { name, results }),
        Enclosing::Class(class) => types.methods.push(MethodDecl {
            owner: class_path(class, source, cx.parents),
            name,
            results,
        }),
        _ => {}
    }
}

/// An annotation as a type: `Order`, `models.Order`, `"Order"`, `Optional[Order]`,
/// `Order | None`, `list[Order]` (a sequence of them), `dict[str, Order]`.
pub(super) fn type_expr(node: Node<'_>, source: &[u8]) -> TypeExpr {
    match node.kind() {
        "type" | "parenthesized_expression" => node
            .named_child(0)
            .map_or(TypeExpr::Other, |n| type_expr(n, source)),
        "identifier" => TypeExpr::Named {
            qualifier: None,
            name: text(node, source).to_string(),
        },
        "attribute" => {
            let written = text(node, source);
            match written.rsplit_once('.') {
                Some((q, n)) if is_dotted(written) => TypeExpr::Named {
                    qualifier: Some(q.to_string()),
                    name: n.to_string(),
                },
                _ => TypeExpr::Other,
            }
        }
        "string" => {
            let written = text(node, source);
            let inner = written
                .trim_start_matches(['r', 'u', 'R', 'U'])
                .trim_matches(|c| c == '"' || c == '\'');
            string_type(inner)
        }
        // `T | None`, `A | B`
        "binary_operator" => {
            let mut operands = Vec::new();
            let mut stack = vec![node];
            while let Some(n) = stack.pop() {
                let (Some(l), Some(r)) = (
                    n.child_by_field_name("left"),
                    n.child_by_field_name("right"),
                ) else {
                    return TypeExpr::Other;
                };
                if n.child_by_field_name("operator")
                    .is_none_or(|o| o.kind() != "|")
                {
                    return TypeExpr::Other;
                }
                for side in [r, l] {
                    if side.kind() == "binary_operator" {
                        stack.push(side);
                    } else if text(side, source) != "None" {
                        operands.push(type_expr(side, source));
                    }
                }
            }
            union(operands)
        }
        "generic_type" | "subscript" => generic(node, source),
        _ => TypeExpr::Other,
    }
}

/// `Optional[T]`, `Union[T, None]`, `list[T]`, `dict[K, V]`, `Annotated[T, …]`, `Type[T]`.
fn generic(node: Node<'_>, source: &[u8]) -> TypeExpr {
    let (head, args): (Option<Node<'_>>, Vec<Node<'_>>) = if node.kind() == "subscript" {
        let mut cursor = node.walk();
        (
            node.child_by_field_name("value"),
            node.children_by_field_name("subscript", &mut cursor)
                .collect(),
        )
    } else {
        let mut cursor = node.walk();
        let children: Vec<Node<'_>> = node.named_children(&mut cursor).collect();
        let args = children
            .iter()
            .find(|c| c.kind() == "type_parameter")
            .map(|p| {
                let mut c = p.walk();
                p.named_children(&mut c).collect()
            })
            .unwrap_or_default();
        (children.first().copied(), args)
    };
    let Some(head) = head else {
        return TypeExpr::Other;
    };
    let written = text(head, source);
    let name = written.rsplit('.').next().unwrap_or(written);
    let arg = |i: usize| {
        args.get(i)
            .map_or(TypeExpr::Other, |a| type_expr(*a, source))
    };
    match name {
        "Optional" | "Annotated" | "Final" | "ClassVar" => arg(0),
        "Union" => union(
            args.iter()
                .filter(|a| text(**a, source) != "None")
                .map(|a| type_expr(*a, source))
                .collect(),
        ),
        "list" | "List" | "Sequence" | "MutableSequence" | "Iterable" | "Iterator" | "set"
        | "Set" | "frozenset" | "FrozenSet" | "Collection" | "AbstractSet" | "MutableSet"
        | "Generator" | "AsyncIterator" | "AsyncIterable" | "deque" | "Deque" => TypeExpr::Slice {
            of: Box::new(arg(0)),
        },
        "tuple" | "Tuple" if args.len() == 2 && text(args[1], source) == "..." => TypeExpr::Slice {
            of: Box::new(arg(0)),
        },
        "type" | "Type" => TypeExpr::ClassOf {
            of: Box::new(arg(0)),
        },
        "dict" | "Dict" | "Mapping" | "MutableMapping" | "DefaultDict" | "defaultdict"
        | "OrderedDict" => TypeExpr::Map {
            key: Box::new(arg(0)),
            value: Box::new(arg(1)),
        },
        _ => TypeExpr::Named {
            qualifier: written.rsplit_once('.').map(|(q, _)| q.to_string()),
            name: name.to_string(),
        },
    }
}

/// A string annotation: a dotted name, `Optional[...]` of one, or `X | None`.
fn string_type(inner: &str) -> TypeExpr {
    let inner = inner.trim();
    if let Some(rest) = inner
        .strip_prefix("Optional[")
        .or_else(|| inner.strip_prefix("typing.Optional["))
        .and_then(|r| r.strip_suffix(']'))
    {
        return string_type(rest);
    }
    if inner.contains('|') && !inner.contains('[') {
        return union(
            inner
                .split('|')
                .map(str::trim)
                .filter(|t| *t != "None")
                .map(string_type)
                .collect(),
        );
    }
    // `Head[args]`: a generic's head is its class (`"ProgressBar[V]"`); containers as in
    // `generic`.
    if let Some((head, rest)) = inner.split_once('[')
        && let Some(args) = rest.strip_suffix(']')
        && is_dotted(head.trim())
    {
        let head = head.trim();
        let first = args.split(',').next().unwrap_or("").trim();
        return match head.rsplit('.').next().unwrap_or(head) {
            "Optional" | "Annotated" | "Final" | "ClassVar" => string_type(first),
            "list" | "List" | "Sequence" | "Iterable" | "Iterator" | "set" | "Set" => {
                TypeExpr::Slice {
                    of: Box::new(string_type(first)),
                }
            }
            "Type" | "type" => TypeExpr::ClassOf {
                of: Box::new(string_type(first)),
            },
            "Union" if !args.contains('[') => union(
                args.split(',')
                    .map(str::trim)
                    .filter(|t| *t != "None")
                    .map(string_type)
                    .collect(),
            ),
            "Union" | "dict" | "Dict" | "Mapping" | "tuple" | "Tuple" | "Callable" => {
                TypeExpr::Other
            }
            _ => string_type(head),
        };
    }
    if !is_dotted(inner) {
        return TypeExpr::Other;
    }
    match inner.rsplit_once('.') {
        Some((q, n)) => TypeExpr::Named {
            qualifier: Some(q.to_string()),
            name: n.to_string(),
        },
        None => TypeExpr::Named {
            qualifier: None,
            name: inner.to_string(),
        },
    }
}

/// What an annotation naming a module-level name means, when the name is a type alias of a
/// union (`Node = Union[A, B]`, `Optional[...]`, `A | B`) or a type variable
/// with constraints (`T = TypeVar("T", A, B)` is one of them).
fn alias_of(value: Node<'_>, source: &[u8]) -> Option<TypeExpr> {
    match value.kind() {
        "subscript" => {
            let head = text(value.child_by_field_name("value")?, source);
            let head = head.rsplit('.').next().unwrap_or(head);
            matches!(head, "Union" | "Optional").then(|| type_expr(value, source))
        }
        "binary_operator" => match type_expr(value, source) {
            union @ TypeExpr::Union { .. } => Some(union),
            _ => None,
        },
        "call" => {
            let callee = text(value.child_by_field_name("function")?, source);
            if callee.rsplit('.').next() != Some("TypeVar") {
                return None;
            }
            let args = value.child_by_field_name("arguments")?;
            let mut cursor = args.walk();
            let mut constraints = Vec::new();
            for (i, a) in args.named_children(&mut cursor).enumerate() {
                match a.kind() {
                    // A bound says what the value is at least, not which class: a member
                    // its bound lacks may be any subclass's, so the value stays unknown.
                    "keyword_argument" => {}
                    _ if i > 0 => constraints.push(type_expr(a, source)),
                    _ => {} // the variable's own name
                }
            }
            (constraints.len() > 1).then(|| union(constraints))
        }
        _ => None,
    }
}

/// `t` with its unqualified names that `in_body` says the class body binds qualified by
/// `class` (its path in the module).
fn qualify(
    t: TypeExpr,
    class: &str,
    in_body: &dyn Fn(&str) -> bool,
    changed: &mut bool,
) -> TypeExpr {
    let mut again = |t: Box<TypeExpr>| Box::new(qualify(*t, class, in_body, changed));
    match t {
        TypeExpr::Named {
            qualifier: None,
            name,
        } if in_body(&name) => {
            *changed = true;
            TypeExpr::Named {
                qualifier: Some(class.to_string()),
                name,
            }
        }
        TypeExpr::Named {
            qualifier: Some(q),
            name,
        } if in_body(q.split('.').next().unwrap_or(&q)) => {
            *changed = true;
            TypeExpr::Named {
                qualifier: Some(format!("{class}.{q}")),
                name,
            }
        }
        TypeExpr::Slice { of } => TypeExpr::Slice { of: again(of) },
        TypeExpr::ClassOf { of } => TypeExpr::ClassOf { of: again(of) },
        TypeExpr::Map { key, value } => TypeExpr::Map {
            key: again(key),
            value: again(value),
        },
        TypeExpr::Union { of } => TypeExpr::Union {
            of: of
                .into_iter()
                .map(|t| qualify(t, class, in_body, changed))
                .collect(),
        },
        other => other,
    }
}

/// The members of a union, `None` left out: one is that type itself.
fn union(mut of: Vec<TypeExpr>) -> TypeExpr {
    match of.len() {
        0 => TypeExpr::Other,
        1 => of.pop().unwrap_or(TypeExpr::Other),
        _ => TypeExpr::Union { of },
    }
}

fn is_dotted(s: &str) -> bool {
    !s.is_empty()
        && s.split('.').all(|p| {
            p.chars()
                .next()
                .is_some_and(|c| c.is_alphabetic() || c == '_')
                && p.chars().all(|c| c.is_alphanumeric() || c == '_')
        })
}

/// What a call copies, when it is one of the standard library's copies (same type as the
/// original): `dataclasses.replace(x, …)`, `copy.copy(x)`, `copy.deepcopy(x)`,
/// `copy.replace(x, …)`, and a named tuple's `x._replace(…)`.
fn copy_of<'t>(call: Node<'t>, source: &[u8]) -> Option<Node<'t>> {
    let callee = call.child_by_field_name("function")?;
    let first_argument = || {
        let args = call.child_by_field_name("arguments")?;
        args.named_child(0)
            .filter(|a| a.kind() != "keyword_argument")
    };
    match text(callee, source) {
        "dataclasses.replace" | "copy.copy" | "copy.deepcopy" | "copy.replace" => first_argument(),
        _ if callee.kind() == "attribute"
            && callee
                .child_by_field_name("attribute")
                .is_some_and(|a| text(a, source) == "_replace") =>
        {
            callee.child_by_field_name("object")
        }
        _ => None,
    }
}
