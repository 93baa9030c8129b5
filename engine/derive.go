package engine

import (
	"context"
	"errors"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"

	queries "github.com/assign-dev/assign/sql"
)

// Derived tables are rating statistics that depend on the snapshot alone,
// never on the date or the policy, so a load computes them once and every
// later job reads them. The engine computes them inline (same SQL) when a
// snapshot lacks them.
const (
	LatestRatingsTable       = "latest_ratings"
	UserCategoryRatingsTable = "user_category_ratings"
	SnackRatingsTable        = "snack_ratings"
)

// DeriveTables creates the derived tables in db's default catalog; the
// loader calls it after the validated tables are written.
// Through a DB that takes Arrow input (duck.DB) the tables are computed in
// Go (deriveInGo), the same rows in the same order, unless the snapshot
// does not fit that path.
func DeriveTables(ctx context.Context, db DB) error {
	if ax, ok := db.(arrowExecer); ok {
		err := deriveInGo(ctx, db, ax)
		if !errors.Is(err, errDeriveSQL) {
			return err
		}
	}
	return createDerived(ctx, db, "TABLE", LatestRatingsTable, UserCategoryRatingsTable, SnackRatingsTable)
}

func createDerived(ctx context.Context, db DB, kind, latest, userCat, snackRat string) error {
	stmts := []struct{ name, sql string }{
		{latest, queries.Get("derived_latest_ratings")},
		{userCat, queries.Render("derived_user_category_ratings", map[string]string{"latest": latest})},
		{snackRat, queries.Render("derived_snack_ratings", map[string]string{"latest": latest})},
	}
	for _, s := range stmts {
		if _, err := db.Exec(ctx, fmt.Sprintf("CREATE OR REPLACE %s %s AS %s", kind, s.name, s.sql)); err != nil {
			return fmt.Errorf("derive %s: %w", s.name, err)
		}
	}
	return nil
}

// snapshotHasDerived reports whether the snapshot stores all derived tables.
func snapshotHasDerived(ctx context.Context, db DB) (bool, error) {
	have := map[string]bool{}
	err := db.QueryArrow(ctx, `SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = current_schema()`,
		func(rec arrow.RecordBatch) error {
			names, err := appendString(nil, "table_name", rec.Column(0))
			for _, n := range names {
				have[n] = true
			}
			return err
		})
	if err != nil {
		return false, fmt.Errorf("inspect snapshot tables: %w", err)
	}
	return have[LatestRatingsTable] && have[UserCategoryRatingsTable] && have[SnackRatingsTable], nil
}

// createDerivedTemp computes the derived statistics now, as temp tables.
func createDerivedTemp(ctx context.Context, db DB) (latest, userCat, snackRat string, err error) {
	latest, userCat, snackRat = "eng_latest", "eng_user_category_ratings", "eng_snack_ratings"
	if err := createDerived(ctx, db, "TEMP TABLE", latest, userCat, snackRat); err != nil {
		return "", "", "", err
	}
	return latest, userCat, snackRat, nil
}
