// Package sqlonly is baseline (a) of the benchmarks: SPEC section 4
// "preassign" written as DuckDB SQL only, a small fixed group of set-based
// statements per ship date with window functions, the way a competent
// analyst would write it. Go only renders the embedded .sql files, runs them
// in order and copies the result tables to CSV; no decision is made in Go.
// It is the speed baseline the engine must beat and an independent check of
// its output, written from the SPEC alone (it never reads package engine).
//
// Per run: prepare.sql builds the date-independent inputs once (latest
// ratings, popularity term per snack, affinity per user and category,
// never-again pairs, request state, lots). Per ship date D in order:
// day_calendar.sql (who ships, live snacks, per-user category terms, pairs
// blocked by NG tag, repeat window or rating), day_requests.sql (step 1),
// day_candidates.sql (every eligible pair scored; the box_size best per
// user and category, found with a top-N aggregate then ranked by a window),
// day_select.sql (steps 2 and 3 as window ranks, box lines appended to
// boxes, which later dates read as deliveries), day_stock.sql (demand and
// FEFO cover of D). summary.sql then builds snack_summary.
//
// Readings of the SPEC settled here, each the most literal one:
//
//  1. Request closing has no upper bound: any delivery of s to u with
//     shipped_on >= date(t) closes the request, a snapshot delivery dated
//     after D included. Boxes chosen on earlier dates of the horizon count
//     as deliveries on their date; a box chosen on D closes nothing on D.
//  2. Several requests of one pair of which only some are open: s goes in at
//     the earliest requested_at among the open ones; ties of that timestamp
//     are broken by snack_id. date(t) is the calendar date of the timestamp.
//  3. A requested snack must pass the ordinary eligibility of D (active,
//     launched, no NG tag, repeat window, never-again); one that fails uses
//     no slot and stays open.
//  4. Category caps count the requested snacks in the box; step 2 in a
//     category holding q requested snacks takes at most cap - q (none when
//     q >= cap).
//  5. Popularity counts the latest rating of every pair, a rating of a snack
//     id missing from snacks included (it moves C); affinity only counts
//     snacks present in snacks, since a missing snack has no category.
//     Preferences for a category no snack has are ignored.
//  6. Sums of ratings are exact integers converted to DOUBLE once; n / (n+3)
//     is DOUBLE(n) / DOUBLE(n+3); a missing preference or affinity is 0 and
//     still multiplied by its weight, and novelty 0 still adds w_nov * 0, so
//     every score is the exact formula of the SPEC (signed zeros included).
//     prior_weight 0 with an unrated snack gives NaN (IEEE), which DuckDB
//     orders above every number; the shared policy validation forbids m = 0.
//  7. status must equal 'active' exactly; a user shipping on D with no
//     eligible snack is a short box with filled 0 and no boxes rows.
//  8. NG tags match snack tags by exact string equality.
//  9. A lot usable on D has best_before >= D + min_shelf_days; FEFO order is
//     (best_before, lot_id as UTF-8 bytes); lots with no units left are
//     passed over; each date takes only from lots usable on that date.
//  10. snack_summary counts every snack of snacks; its sums are over the
//     dates of the horizon; demand rows exist only for demand > 0.
//
// Scores are ordered by their DOUBLE value, ties by snack_id, so the output
// is the same at any thread count.
package sqlonly
