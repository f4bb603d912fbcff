; Imports of a Python file. The Python resolver reads the captured statement's fields
; (name / alias / module_name / wildcard_import) itself.

; import shopcore.db.queries
; import shopcore.db.queries as q
(import_statement) @import

; from shopcore.db import queries, fetch_order as fo
; from ..db.queries import fetch_order
; from shopcore.pricing.rules import *
(import_from_statement) @import.from

; importlib.import_module("shopcore.plugins.loyalty")
(call
  function: (attribute
    object: (identifier) @_lib
    attribute: (identifier) @_fn)
  arguments: (argument_list . (_) @import.dynamic)
  (#eq? @_lib "importlib")
  (#eq? @_fn "import_module"))

; from importlib import import_module; import_module("shopcore.plugins.loyalty")
; __import__("shopcore.plugins.loyalty")
(call
  function: (identifier) @_fn
  arguments: (argument_list . (_) @import.dynamic)
  (#any-of? @_fn "import_module" "__import__"))
