package engine

import (
	"fmt"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// Large per-user inputs (deliveries: 10 million rows at the medium scale)
// arrive as many record batches. Appending them to one growing slice per
// column copies every value again at each growth and keeps the collector
// busy; instead each batch's column is copied once into an exact-size part,
// and grouping by user scatters the parts straight into the final arrays.

// chunked is one column of a query result, batch by batch.
type chunked[T any] struct {
	parts [][]T
	n     int
}

func (c *chunked[T]) push(p []T) {
	if len(p) > 0 {
		c.parts = append(c.parts, p)
		c.n += len(p)
	}
}

// int32Parts collects an integer or date column as int32 parts.
func int32Parts(dst *chunked[int32]) sink {
	return func(name string, a arrow.Array) error {
		v, err := appendInt32(make([]int32, 0, a.Len()), name, a)
		dst.push(v)
		return err
	}
}

// int64Parts collects an integer or timestamp column as int64 parts.
func int64Parts(dst *chunked[int64]) sink {
	return func(name string, a arrow.Array) error {
		v, err := appendInt64(make([]int64, 0, a.Len()), name, a)
		dst.push(v)
		return err
	}
}

// dayParts collects a DATE column as Day parts.
func dayParts(dst *chunked[Day]) sink {
	return func(name string, a arrow.Array) error {
		if err := checkNoNulls(name, a); err != nil {
			return err
		}
		c, ok := a.(*array.Date32)
		if !ok {
			return fmt.Errorf("engine input column %s: unexpected type %s, want DATE", name, a.DataType())
		}
		v := make([]Day, c.Len())
		for i, x := range c.Date32Values() {
			v[i] = Day(x)
		}
		dst.push(v)
		return nil
	}
}

// csrPositions counting-sorts entries by key (0 <= key < n): it returns CSR
// offsets (len n+1) and, for every entry in arrival order, its place in the
// grouped order. The grouping is stable, so it is deterministic. When drop
// is set, an entry with key -1 is left out (its place is -1).
func csrPositions(n int, keys *chunked[int32], drop bool) (start, pos []int32, err error) {
	start = make([]int32, n+1)
	for _, p := range keys.parts {
		for _, k := range p {
			if k < 0 || int(k) >= n {
				if drop && k == -1 {
					continue
				}
				return nil, nil, fmt.Errorf("engine input: index %d outside 0..%d", k, n-1)
			}
			start[k+1]++
		}
	}
	for i := 0; i < n; i++ {
		start[i+1] += start[i]
	}
	next := slices.Clone(start[:n])
	pos = make([]int32, keys.n)
	i := 0
	for _, p := range keys.parts {
		for _, k := range p {
			if k < 0 {
				pos[i] = -1
				i++
				continue
			}
			pos[i] = next[k]
			next[k]++
			i++
		}
	}
	keys.parts = nil
	return start, pos, nil
}

// scatter places the entries of src at pos (leaving out those at -1,
// which csrPositions dropped) and frees src's parts; n is the number of
// entries kept.
func scatter[T any](src *chunked[T], pos []int32, n int32) []T {
	out := make([]T, n)
	i := 0
	for j, p := range src.parts {
		for _, v := range p {
			if k := pos[i]; k >= 0 {
				out[k] = v
			}
			i++
		}
		src.parts[j] = nil
	}
	src.parts = nil
	return out
}
