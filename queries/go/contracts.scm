; Contracts: the public face of a definition, what a caller needs and never the body.
; The extractor keeps the declaration up to the body and the doc comment's first paragraph.

; func FetchOrder(id string) (models.Order, error) { … }   →   the signature
(function_declaration
  name: (identifier) @name
  body: (block) @body) @contract.function

; func (s *Store) Get(id string) (models.Order, error) { … }
(method_declaration
  name: (field_identifier) @name
  body: (block) @body) @contract.function

; type Order struct { … }   type Pricer interface { … }   →   the whole type (fields and
; method sets are the contract)
(type_spec
  name: (type_identifier) @name) @contract.type

; type Money = Cents
(type_alias
  name: (type_identifier) @name) @contract.type

; const DefaultCurrency = "EUR"   var ErrNotFound = errors.New("not found")
(const_spec
  name: (identifier) @name) @contract.value

(var_spec
  name: (identifier) @name) @contract.value
