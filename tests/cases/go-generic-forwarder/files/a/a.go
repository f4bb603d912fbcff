package a

import "example.com/gen/util"

// Doubled doubles.
func Doubled(xs []int) []int { return util.Map(xs, func(x int) int { return 2 * x }) }
