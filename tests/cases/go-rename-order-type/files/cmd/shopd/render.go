package main

import (
	api "example.com/shop/api/v2"
	"example.com/shop/models"
)

func render(o models.Order) api.OrderResponse {
	return api.OrderResponse{Order: o, Total: "0"}
}
