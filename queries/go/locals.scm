; Local scopes and the names declared in them (@local.statement: the declaration, whose end
; is where the name becomes visible). In Go a declaration shadows from its position
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
(short_var_declaration left: (expression_list (identifier) @local.definition)) @local.statement

; var total Cents      const limit = 3     (inside functions)
(var_spec name: (identifier) @local.definition) @local.statement
(const_spec name: (identifier) @local.definition) @local.statement

; for i, o := range orders
(range_clause left: (expression_list (identifier) @local.definition)) @local.statement

; switch v := x.(type)
(type_switch_statement alias: (expression_list (identifier) @local.definition))

; case msg := <-ch:
(receive_statement left: (expression_list (identifier) @local.definition)) @local.statement

; type local struct{}  (inside a function)
(type_spec name: (type_identifier) @local.definition) @local.statement

; func Map[T any, U any](…)
(type_parameter_declaration name: (identifier) @local.definition)
