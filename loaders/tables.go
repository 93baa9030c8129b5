package loaders

import "strings"

// Type is the SQL type of a snapshot column (SPEC section 2).
type Type int

// The column types of the snapshot schema.
const (
	Bigint Type = iota
	Integer
	Date
	Timestamp
	Boolean
	Varchar
)

// SQL is the DuckDB name of the type.
func (t Type) SQL() string {
	return [...]string{"BIGINT", "INTEGER", "DATE", "TIMESTAMP", "BOOLEAN", "VARCHAR"}[t]
}

// Column is one column of a snapshot table. Every column is required and
// non-NULL.
type Column struct {
	Name string
	Type Type
}

// Check is a rule on one column's typed value, e.g. "rating 1..5". Pred is a
// DuckDB predicate over the column (written {c}) that holds for valid values.
type Check struct {
	Column string
	Rule   string
	Pred   string
}

// Ref says that Column must hold a key of table To (whose key column has the
// same name): "user in users", "snack_id in snacks".
type Ref struct {
	Column string
	To     string
}

// Table is one table of an extract with its validation rules, exactly as
// SPEC section 2 states them.
type Table struct {
	Name     string
	Columns  []Column
	Required bool
	Key      []string // unique together; empty when the table has no key
	Checks   []Check
	Refs     []Ref
}

// Tables are the extract tables in SPEC order. Every reference points to an
// earlier table, so loading in this order can check references against the
// rows already accepted (which is what makes the reject cascade one pass).
var Tables = []Table{
	{
		Name:     "snacks",
		Required: true,
		Columns:  cols("snack_id", Bigint, "name", Varchar, "category", Varchar, "launched_on", Date, "active", Boolean),
		Key:      []string{"snack_id"},
		Checks: []Check{
			{Column: "name", Rule: "name non-empty", Pred: "trim({c}) <> ''"},
			{Column: "category", Rule: "category non-empty", Pred: "trim({c}) <> ''"},
		},
	},
	{
		Name:    "snack_tags",
		Columns: cols("snack_id", Bigint, "tag", Varchar),
		Key:     []string{"snack_id", "tag"},
		Refs:    []Ref{{Column: "snack_id", To: "snacks"}},
	},
	{
		Name:     "users",
		Required: true,
		Columns:  cols("user_id", Bigint, "status", Varchar, "box_size", Integer, "cadence_days", Integer, "next_ship_on", Date),
		Key:      []string{"user_id"},
		Checks: []Check{
			{Column: "status", Rule: "status in active/paused/cancelled", Pred: "{c} IN ('active', 'paused', 'cancelled')"},
			{Column: "box_size", Rule: "box_size 1..20", Pred: "{c} BETWEEN 1 AND 20"},
			{Column: "cadence_days", Rule: "cadence_days 1..90", Pred: "{c} BETWEEN 1 AND 90"},
		},
	},
	{
		Name:    "skips",
		Columns: cols("user_id", Bigint, "ship_on", Date),
		Key:     []string{"user_id", "ship_on"},
		Refs:    []Ref{{Column: "user_id", To: "users"}},
	},
	{
		Name:    "user_ng",
		Columns: cols("user_id", Bigint, "tag", Varchar),
		Key:     []string{"user_id", "tag"},
		Refs:    []Ref{{Column: "user_id", To: "users"}},
	},
	{
		// SPEC states no reference rule for user_prefs, so none is invented.
		Name:    "user_prefs",
		Columns: cols("user_id", Bigint, "category", Varchar, "weight", Integer),
		Key:     []string{"user_id", "category"},
		Checks:  []Check{{Column: "weight", Rule: "weight -2..2", Pred: "{c} BETWEEN -2 AND 2"}},
	},
	{
		Name:    "deliveries",
		Columns: cols("user_id", Bigint, "snack_id", Bigint, "shipped_on", Date),
		Refs:    []Ref{{Column: "user_id", To: "users"}, {Column: "snack_id", To: "snacks"}},
	},
	{
		Name:    "ratings",
		Columns: cols("user_id", Bigint, "snack_id", Bigint, "rating", Integer, "rated_at", Timestamp),
		Checks:  []Check{{Column: "rating", Rule: "rating 1..5", Pred: "{c} BETWEEN 1 AND 5"}},
		Refs:    []Ref{{Column: "user_id", To: "users"}, {Column: "snack_id", To: "snacks"}},
	},
	{
		Name:    "requests",
		Columns: cols("user_id", Bigint, "snack_id", Bigint, "requested_at", Timestamp),
		Refs:    []Ref{{Column: "user_id", To: "users"}, {Column: "snack_id", To: "snacks"}},
	},
	{
		Name:     "stock",
		Required: true,
		Columns:  cols("snack_id", Bigint, "lot_id", Varchar, "quantity", Integer, "best_before", Date),
		Key:      []string{"snack_id", "lot_id"},
		Checks:   []Check{{Column: "quantity", Rule: "quantity >= 0", Pred: "{c} >= 0"}},
		Refs:     []Ref{{Column: "snack_id", To: "snacks"}},
	},
}

func cols(spec ...any) []Column {
	var out []Column
	for i := 0; i < len(spec); i += 2 {
		out = append(out, Column{Name: spec[i].(string), Type: spec[i+1].(Type)})
	}
	return out
}

// TableByName returns the table named name (lowercase), or false.
func TableByName(name string) (Table, bool) {
	for _, t := range Tables {
		if t.Name == name {
			return t, true
		}
	}
	return Table{}, false
}

func (t Table) columnIndex(name string) int {
	for i, c := range t.Columns {
		if c.Name == name {
			return i
		}
	}
	return -1
}

// keyRule is the uniqueness rule as SPEC words it: "snack_id unique" or
// "(snack_id, tag) unique".
func (t Table) keyRule() string {
	if len(t.Key) == 1 {
		return t.Key[0] + " unique"
	}
	return "(" + strings.Join(t.Key, ", ") + ") unique"
}
