; Local scopes and the names declared in them. In Go a declaration shadows from its position
; to the end of its scope (parameters: the whole function).

(function_declaration) @local.scope
(method_declaration) @local.scope
(func_literal) @local.scope
(block) @local.scope
(for_statement) @local.scope
(if_statement) @local.scope
(expression_switch_statement) @local.scope
(type_switch_statement) @local.scope
(select_statement) @local.scope

; func f(order models.Order, items ...Item) (total Cents, err error)
(parameter_declaration name: (identifier) @local.definition)
(variadic_parameter_declaration name: (identifier) @local.definition)

; FetchOrder := lookup      x, err := f()
(short_var_declaration left: (expression_list (identifier) @local.definition))

; var total Cents      const limit = 3     (inside functions)
(var_spec name: (identifier) @local.definition)
(const_spec name: (identifier) @local.definition)

; for i, o := range orders
(range_clause left: (expression_list (identifier) @local.definition))

; switch v := x.(type)
(type_switch_statement alias: (expression_list (identifier) @local.definition))

; case msg := <-ch:
(receive_statement left: (expression_list (identifier) @local.definition))

; type local struct{}  (inside a function)
(type_spec name: (type_identifier) @local.definition)

; func Map[T any, U any](…)
(type_parameter_declaration name: (identifier) @local.definition)
