; Package-level definitions. The extractor drops those inside function bodies.

; func FetchOrder(id string) (models.Order, error)
(function_declaration
  name: (identifier) @name) @definition.function

; func (o Order) Total() Cents      func (w *Warehouse) FetchOrder()
(method_declaration
  receiver: (parameter_list
    (parameter_declaration
      type: [
        (type_identifier) @receiver
        (pointer_type (type_identifier) @receiver)
        (generic_type type: (type_identifier) @receiver)
        (pointer_type (generic_type type: (type_identifier) @receiver))
      ]))
  name: (field_identifier) @name) @definition.method

; type Order struct { … }     type Pricer interface { … }     type Cents int64
(type_spec
  name: (type_identifier) @name
  type: (_) @type) @definition.type

; type Money = Cents
(type_alias
  name: (type_identifier) @name) @definition.type

; const DefaultCurrency = "EUR"
(const_spec
  name: (identifier) @name) @definition.constant

; var ErrNotFound = errors.New("not found")
(var_spec
  name: (identifier) @name) @definition.variable
