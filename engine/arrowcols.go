package engine

import (
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// The input queries produce fixed, NOT NULL column types; these helpers
// append one Arrow column to a Go slice, accepting the integer widths DuckDB
// may choose, and fail on anything unexpected rather than guess.

func checkNoNulls(name string, a arrow.Array) error {
	if a.NullN() > 0 {
		return fmt.Errorf("engine input column %s has %d NULLs", name, a.NullN())
	}
	return nil
}

func appendInt32(dst []int32, name string, a arrow.Array) ([]int32, error) {
	if err := checkNoNulls(name, a); err != nil {
		return dst, err
	}
	switch c := a.(type) {
	case *array.Int32:
		return append(dst, c.Int32Values()...), nil
	case *array.Date32:
		for _, v := range c.Date32Values() {
			dst = append(dst, int32(v))
		}
		return dst, nil
	case *array.Int64:
		for _, v := range c.Int64Values() {
			dst = append(dst, int32(v))
		}
		return dst, nil
	case *array.Int16:
		for _, v := range c.Int16Values() {
			dst = append(dst, int32(v))
		}
		return dst, nil
	case *array.Int8:
		for _, v := range c.Int8Values() {
			dst = append(dst, int32(v))
		}
		return dst, nil
	}
	return dst, fmt.Errorf("engine input column %s: unexpected type %s", name, a.DataType())
}

func appendInt64(dst []int64, name string, a arrow.Array) ([]int64, error) {
	if err := checkNoNulls(name, a); err != nil {
		return dst, err
	}
	switch c := a.(type) {
	case *array.Int64:
		return append(dst, c.Int64Values()...), nil
	case *array.Int32:
		for _, v := range c.Int32Values() {
			dst = append(dst, int64(v))
		}
		return dst, nil
	case *array.Timestamp:
		for _, v := range c.TimestampValues() {
			dst = append(dst, int64(v))
		}
		return dst, nil
	}
	return dst, fmt.Errorf("engine input column %s: unexpected type %s", name, a.DataType())
}

func appendBool(dst []bool, name string, a arrow.Array) ([]bool, error) {
	if err := checkNoNulls(name, a); err != nil {
		return dst, err
	}
	c, ok := a.(*array.Boolean)
	if !ok {
		return dst, fmt.Errorf("engine input column %s: unexpected type %s", name, a.DataType())
	}
	for i := 0; i < c.Len(); i++ {
		dst = append(dst, c.Value(i))
	}
	return dst, nil
}

// appendString clones every value: Arrow strings alias buffers that DuckDB
// frees when the batch is released.
func appendString(dst []string, name string, a arrow.Array) ([]string, error) {
	if err := checkNoNulls(name, a); err != nil {
		return dst, err
	}
	switch c := a.(type) {
	case *array.String:
		for i := 0; i < c.Len(); i++ {
			dst = append(dst, strings.Clone(c.Value(i)))
		}
		return dst, nil
	case *array.LargeString:
		for i := 0; i < c.Len(); i++ {
			dst = append(dst, strings.Clone(c.Value(i)))
		}
		return dst, nil
	case *array.StringView:
		for i := 0; i < c.Len(); i++ {
			dst = append(dst, strings.Clone(c.Value(i)))
		}
		return dst, nil
	}
	return dst, fmt.Errorf("engine input column %s: unexpected type %s", name, a.DataType())
}
