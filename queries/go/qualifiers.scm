; Uses of an imported package's name: what decides whether an import is still needed after a
; rewrite. Example: `os.ReadFile(p)` uses `os`; `var x io.Reader` uses `io`.

; os.ReadFile
(selector_expression
  operand: (identifier) @qualifier)

; io.Reader in a type position
(qualified_type
  package: (package_identifier) @qualifier)
