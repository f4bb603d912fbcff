; Definitions. The extractor keeps those at module level and members of module-level classes
; (methods, nested classes); definitions inside function bodies are locals, not symbols.

; def fetch_order(order_id): ...
(function_definition
  name: (identifier) @name) @definition.function

; class Order: ...
(class_definition
  name: (identifier) @name) @definition.class

; TAX_RATE = 0.2
; TAX_RATE: float = 0.2
(expression_statement
  (assignment
    left: (identifier) @name) @definition.variable)

; Money = Decimal          (type aliases written as assignments are variables too)
; type Money = Decimal
(type_alias_statement
  left: (type (identifier) @name)) @definition.type
