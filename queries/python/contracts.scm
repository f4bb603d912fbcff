; Contracts: the public face of a definition, what a caller needs and never the body.
; The extractor keeps the text from the definition's start (decorators included) to its body,
; the first paragraph of the docstring, and for classes their method signatures and fields.

; def fetch_order(order_id: int) -> Order:   →   the signature line(s)
(function_definition
  name: (identifier) @name
  body: (block) @body) @contract.function

; class Order:   →   header, docstring summary, fields, method signatures
(class_definition
  name: (identifier) @name
  body: (block) @body) @contract.class

; TIMEOUT = 30   DATABASE_URL: str = "…"   →   the assignment, its value cut when long
(module
  (expression_statement
    (assignment
      left: (identifier) @name) @contract.value))
