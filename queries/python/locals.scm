; Local scopes and the names bound in them (the nvim-treesitter `locals` convention).
; A reference whose name is bound in an enclosing function, lambda, comprehension or its own
; class body refers to that local, not to a module-level or imported symbol.

(function_definition) @local.scope
(lambda) @local.scope
(class_definition) @local.scope
(list_comprehension) @local.scope
(set_comprehension) @local.scope
(dictionary_comprehension) @local.scope
(generator_expression) @local.scope

; A function's annotations and defaults, and a class's bases, are evaluated where the def or
; class statement runs: `def visit(self, nodes: nodes.Node)` reads the module `nodes` there, a
; method's `-> _Info` the class body's `_Info`.
(typed_parameter type: (_) @local.outside)
(typed_default_parameter type: (_) @local.outside)
(typed_default_parameter value: (_) @local.outside)
(default_parameter value: (_) @local.outside)
(function_definition return_type: (_) @local.outside)
(class_definition superclasses: (_) @local.outside)

; def f(order, *items, total=0, tax: float = 0.2, **extra)
(parameters (identifier) @local.definition)
(lambda_parameters (identifier) @local.definition)
(default_parameter name: (identifier) @local.definition)
(typed_parameter (identifier) @local.definition)
(typed_default_parameter name: (identifier) @local.definition)
(list_splat_pattern (identifier) @local.definition)
(dictionary_splat_pattern (identifier) @local.definition)

; fetch_order = lambda: None     a, b = pair     total += 1
(assignment left: (_) @local.definition)
(augmented_assignment left: (identifier) @local.definition)
(named_expression name: (identifier) @local.definition)

; for order in orders: ...      [o for o in orders]
(for_statement left: (_) @local.definition)
(for_in_clause left: (_) @local.definition)

; with open(p) as fh: ...      except ValueError as err: ...
(as_pattern alias: (_) @local.definition)

; nested def / class inside a function
(function_definition name: (identifier) @local.definition.outer)
(class_definition name: (identifier) @local.definition.outer)

; global name / nonlocal name: assignments in this scope are not local
(global_statement (identifier) @local.global)
(nonlocal_statement (identifier) @local.global)

; import json / import a.b as ab / from ._impl import open_stream as o, inside a function or
; class body: the name is local to it (at module level no scope contains it: not a local)
(import_statement name: (dotted_name . (identifier) @local.definition))
(import_statement name: (aliased_import alias: (identifier) @local.definition))
(import_from_statement name: (dotted_name (identifier) @local.definition))
(import_from_statement name: (aliased_import alias: (identifier) @local.definition))
