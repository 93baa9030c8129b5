package dbsource_test

import (
	"testing"

	"github.com/assign-dev/assign/internal/dbtest"
)

func TestPostgresRoundTrip(t *testing.T) {
	t.Parallel()
	s, db := pgSource(t, dbtest.PostgresSchema)
	files := loadFiles(t)
	got, err := loadURL(t, pgURL(s, db), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	sameTables(t, files.path(), got.path())
	samePreassign(t, files, got)
}

func TestMariaDBRoundTrip(t *testing.T) {
	t.Parallel()
	s, db := mySource(t, dbtest.MariaDBSchema)
	files := loadFiles(t)
	got, err := loadURL(t, myURL(s, db), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	sameTables(t, files.path(), got.path())
	samePreassign(t, files, got)
}
