; Imports of a Go file and its package clause.

; package store
(package_clause (package_identifier) @package)

; import "example.com/shop/models"
; import st "example.com/shop/internal/store"
; import . "example.com/shop/models"
; import _ "example.com/shop/pricing"
(import_spec
  name: (_)? @import.alias
  path: (_) @import.path) @import
