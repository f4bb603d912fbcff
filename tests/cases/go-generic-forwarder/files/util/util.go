// Package util has helpers.
package util

// Map applies f to every element.
func Map[T any, U any](xs []T, f func(T) U) []U {
	out := make([]U, 0, len(xs))
	for _, x := range xs {
		out = append(out, f(x))
	}
	return out
}

// Box holds a value.
type Box struct{ V int }

// Add adds n to the box, variadically.
func (b *Box) Add(n int, more ...int) int {
	b.V += n
	for _, m := range more {
		b.V += m
	}
	return b.V
}
