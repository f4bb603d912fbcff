; Uses of names. Every identifier is a candidate; the extractor drops the ones in definition,
; parameter, keyword and import positions and those a local binding shadows, and walks
; attribute chains (`q.fetch_order`) upwards from their root identifier.

; fetch_order(1)      q.fetch_order      Order
(identifier) @reference

; def total(o: "Order") -> "Money": ...   (forward references are true references)
(type
  (string) @reference.annotation)

; formatter_class: t.Type["HelpFormatter"], Optional["Order"]: strings nested in an annotation
; (the extractor walks the annotation; `Literal["a"]` holds values, not names)
(type
  [(subscript) (generic_type) (binary_operator)] @reference.annotation_nested)

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

; mock.patch("shopcore.db.queries.fetch_order"), patch(…), mocker.patch(…):
; the target is the symbol's dotted path from the import roots.
(call
  function: [(identifier) @_patch
             (attribute attribute: (identifier) @_patch)]
  arguments: (argument_list . (string) @reference.patch)
  (#eq? @_patch "patch"))

; monkeypatch.setattr("shopcore.db.queries.fetch_order", fake), monkeypatch.delattr("…")
(call
  function: (attribute
    object: (identifier) @_monkeypatch
    attribute: (identifier) @_set)
  arguments: (argument_list . (string) @reference.patch)
  (#eq? @_monkeypatch "monkeypatch")
  (#any-of? @_set "setattr" "delattr"))

; mock.patch.object(queries.Cache, "get"), mocker.patch.object(…): an attribute by name.
(call
  function: (attribute
    object: [(identifier) @_patch
             (attribute attribute: (identifier) @_patch)]
    attribute: (identifier) @_object)
  arguments: (argument_list . (_) @patch.target . (string) @reference.patch_attr)
  (#eq? @_patch "patch")
  (#eq? @_object "object"))

; monkeypatch.setattr(queries.Cache, "get", fake), monkeypatch.delattr(Cache, "get")
(call
  function: (attribute
    object: (identifier) @_monkeypatch
    attribute: (identifier) @_set)
  arguments: (argument_list . (_) @patch.target . (string) @reference.patch_attr)
  (#eq? @_monkeypatch "monkeypatch")
  (#any-of? @_set "setattr" "delattr"))
