package plan

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/assign-dev/assign/duck"
	"github.com/assign-dev/assign/engine"
	queries "github.com/assign-dev/assign/sql"
)

// NoShipmentsError is a job whose range has no shipping user on any date:
// there is nothing to plan, and no run is written (an empty run would
// become the latest one and hide the last real forecast).
type NoShipmentsError struct {
	Snapshot string
	From, To engine.Day
	// Next is the first date after the range on which an active user is
	// scheduled to ship; HasNext is false when no user is active.
	Next    engine.Day
	HasNext bool
}

func (e *NoShipmentsError) Error() string {
	when := fmt.Sprintf("from %s to %s", e.From, e.To)
	if e.From == e.To {
		when = "on " + e.From.String()
	}
	msg := fmt.Sprintf("no user ships %s on snapshot %s, so no run was written", when, e.Snapshot)
	if !e.HasNext {
		return msg + "; the snapshot has no active user"
	}
	return msg + fmt.Sprintf("; the next date a user is scheduled to ship is %s", e.Next)
}

// NextShipDate is the first date on or after from on which an active user
// of the snapshot db is scheduled to ship (skips aside); ok is false when
// no user is active.
func NextShipDate(ctx context.Context, db *duck.DB, from engine.Day) (next engine.Day, ok bool, err error) {
	var d sql.NullTime
	if err := db.QueryRow(ctx, queries.Get("next_ship_date"), from.String()).Scan(&d); err != nil {
		return 0, false, fmt.Errorf("find the next ship date: %w", duck.Clean(err))
	}
	if !d.Valid {
		return 0, false, nil
	}
	return engine.DayOf(d.Time), true, nil
}

// noShipments returns a NoShipmentsError when no user ships on any date
// of res, else nil.
func noShipments(ctx context.Context, db *duck.DB, snapshot string, res *engine.Result, d0 engine.Day, days int) error {
	for _, d := range res.Dates {
		if len(d.Users) > 0 {
			return nil
		}
	}
	e := &NoShipmentsError{Snapshot: snapshot, From: d0, To: d0 + engine.Day(days-1)}
	var err error
	if e.Next, e.HasNext, err = NextShipDate(ctx, db, d0+engine.Day(days)); err != nil {
		return err
	}
	return e
}
