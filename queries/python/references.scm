; Uses of names. Every identifier is a candidate; the extractor drops the ones in definition,
; parameter, keyword and import positions and those a local binding shadows, and walks
; attribute chains (`q.fetch_order`) upwards from their root identifier.

; fetch_order(1)      q.fetch_order      Order
(identifier) @reference

; def total(o: "Order") -> "Money": ...   (forward references are true references)
(type
  (string) @reference.annotation)

; __all__ = ["fetch_order", "Order"]
(expression_statement
  (assignment
    left: (identifier) @_all
    right: [(list (string) @reference.all) (tuple (string) @reference.all)])
  (#eq? @_all "__all__"))

; __all__ += ["fetch_order"]
(expression_statement
  (augmented_assignment
    left: (identifier) @_all
    right: [(list (string) @reference.all) (tuple (string) @reference.all)])
  (#eq? @_all "__all__"))
