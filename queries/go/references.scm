; Uses of names. Every identifier and type name is a candidate; the extractor drops those in
; definition positions and those a local declaration shadows, and walks selector chains
; (`store.FetchOrder`, `models.Order.Total`) upwards from their root identifier.

; FetchOrder(id)      store.FetchOrder      f := st.FetchOrder
(identifier) @reference

; Order{ID: 1}      func (o *Order) Total()      v.(Order)
(type_identifier) @reference.type

; models.Order{…}      struct { models.Order }      v.(*models.Order)
(qualified_type
  package: (package_identifier) @reference.package
  name: (type_identifier) @reference.name)
