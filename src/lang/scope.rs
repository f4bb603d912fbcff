//! Local scopes as byte ranges, so that "is this name bound locally here?" is a hash lookup
//! plus a range check instead of a walk up the tree (`Node::parent` costs a descent from the
//! root in tree-sitter, and the graph build asks this for every identifier).

use std::collections::{HashMap, HashSet};

/// One scope: its byte range and whether it is a class body (Python's class scope is visible
/// only directly inside it, not in nested functions).
#[derive(Debug, Clone, Copy)]
struct Range {
    start: usize,
    end: usize,
    class_body: bool,
}

/// The local scopes of one file and the names bound in each.
#[derive(Debug, Default)]
pub(crate) struct ScopeIndex<'s> {
    ranges: Vec<Range>,
    /// name → (scope index, byte offset from which the binding is visible)
    bindings: HashMap<&'s str, Vec<(usize, usize)>>,
    /// name → scopes that declare it `global` / `nonlocal`
    globals: HashMap<&'s str, Vec<usize>>,
    /// Identifier nodes that bind a name (never references themselves).
    pub binders: HashSet<usize>,
    /// Parts of a scope's node evaluated in the scope around it (a Python function's
    /// annotations and defaults, a class's bases), before `seal`: (start, end).
    outside: Vec<(usize, usize)>,
    /// After `seal`, per scope: its parts evaluated outside it.
    holes: Vec<Vec<(usize, usize)>>,
}

impl<'s> ScopeIndex<'s> {
    /// Register a scope node (call for all scopes before adding bindings).
    pub fn add_scope(&mut self, start: usize, end: usize, class_body: bool) {
        self.ranges.push(Range {
            start,
            end,
            class_body,
        });
    }

    /// A part of the innermost scope around it that is evaluated outside that scope: names
    /// in it are looked up in the scopes around (`def f(nodes: nodes.Node)` reads the module
    /// `nodes` in its annotation, the parameter in its body).
    pub fn add_outside(&mut self, start: usize, end: usize) {
        self.outside.push((start, end));
    }

    /// Sort the scopes so that lookups can find the innermost one.
    pub fn seal(&mut self) {
        self.ranges
            .sort_by(|a, b| a.start.cmp(&b.start).then(b.end.cmp(&a.end)));
        self.holes = vec![Vec::new(); self.ranges.len()];
        for (start, end) in std::mem::take(&mut self.outside) {
            if let Some(scope) = self.innermost(start) {
                self.holes[scope].push((start, end));
            }
        }
    }

    /// The innermost scope whose range holds `pos`, holes or not.
    fn innermost(&self, pos: usize) -> Option<usize> {
        self.ranges
            .iter()
            .enumerate()
            .rfind(|(_, r)| r.start <= pos && pos < r.end)
            .map(|(i, _)| i)
    }

    /// Whether a name at `pos` is in `scope`: in its range, outside its holes.
    fn holds(&self, scope: usize, pos: usize) -> bool {
        let r = self.ranges[scope];
        r.start <= pos
            && pos < r.end
            && self
                .holes
                .get(scope)
                .is_none_or(|h| !h.iter().any(|&(s, e)| s <= pos && pos < e))
    }

    /// The innermost scope around `pos` that binds `name`, whatever its visibility there: where
    /// a definition at `pos` (a method, a class in a function) is bound.
    pub fn binder_around(&self, name: &str, pos: usize) -> Option<usize> {
        self.bindings
            .get(name)?
            .iter()
            .map(|&(scope, _)| scope)
            .filter(|&scope| {
                let r = self.ranges[scope];
                r.start <= pos && pos < r.end
            })
            .max_by_key(|&scope| self.ranges[scope].start)
    }

    /// The innermost scope containing `pos`, skipping `skip` levels outwards.
    pub fn scope_at(&self, pos: usize, skip: usize) -> Option<usize> {
        let mut containing: Vec<usize> = (0..self.ranges.len())
            .filter(|&i| self.holds(i, pos))
            .collect();
        // Sorted by start (then larger first): the last containing range is the innermost.
        for _ in 0..skip {
            containing.pop();
        }
        containing.pop()
    }

    /// The byte range of a scope `scope_at` returned.
    pub fn range(&self, scope: usize) -> (usize, usize) {
        let r = self.ranges[scope];
        (r.start, r.end)
    }

    pub fn bind(&mut self, name: &'s str, scope: usize, visible_from: usize) {
        self.bindings
            .entry(name)
            .or_default()
            .push((scope, visible_from));
    }

    pub fn declare_global(&mut self, name: &'s str, scope: usize) {
        self.globals.entry(name).or_default().push(scope);
    }

    /// Whether `name` read at byte `pos` refers to a local binding.
    pub fn shadows(&self, name: &str, pos: usize) -> bool {
        self.binding_of(name, pos).is_some()
    }

    /// Whether the innermost scope at `pos` declares `name` global (or nonlocal): its
    /// assignments bind the outer name, not a local.
    pub fn declares_global(&self, name: &str, pos: usize) -> bool {
        self.scope_at(pos, 0)
            .is_some_and(|s| self.globals.get(name).is_some_and(|g| g.contains(&s)))
    }

    /// Whether a scope is a class body.
    pub fn is_class_body(&self, scope: usize) -> bool {
        self.ranges[scope].class_body
    }

    /// The scope whose binding `name` read at byte `pos` refers to, if it is a local.
    pub fn binding_of(&self, name: &str, pos: usize) -> Option<usize> {
        let bindings = self.bindings.get(name)?;
        let mut innermost = None;
        let mut best = None;
        for &(scope, from) in bindings {
            let r = self.ranges[scope];
            if !(from <= pos && self.holds(scope, pos)) {
                continue;
            }
            if r.class_body {
                let inner = *innermost.get_or_insert_with(|| self.scope_at(pos, 0));
                if inner != Some(scope) {
                    continue;
                }
            }
            if self.globals.get(name).is_some_and(|g| g.contains(&scope)) {
                continue;
            }
            // The innermost binding scope: the one that starts last.
            if best.is_none_or(|b: usize| self.ranges[b].start < r.start) {
                best = Some(scope);
            }
        }
        best
    }
}
