package b

import (
	"strconv"

	"example.com/gen/util"
)

// Strings formats.
func Strings(xs []int) []string { return util.Map(xs, strconv.Itoa) }
