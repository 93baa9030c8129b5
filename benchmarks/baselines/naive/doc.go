// Package naive is the independent, deliberately straightforward reference
// implementation of SPEC section 4 (modes preassign and run) and the "naive
// baseline (b)" of the benchmarks: the per-user object loop operations teams
// started with. For every ship date in order and every user shipping on it,
// it asks the snapshot database for that user's NG tags, deliveries,
// ratings, requests and preferences with separate SQL queries, then decides
// eligibility, scores and the box in plain Go. Popularity is computed once.
// Boxes chosen earlier in the horizon are kept in memory and act as
// deliveries on their date; run mode consumes stock from an in-memory lot
// table.
//
// It was written from the SPEC alone, without reading the fast engine, so
// that comparing the two (package benchmarks/compare) checks both readings.
// Speed is not a goal; literal correctness and clarity are.
//
// Readings of the SPEC settled here (each is the most literal one found):
//
//  1. Request closing has no upper bound: any delivery of s to u with
//     shipped_on >= date(t) closes the request, including a snapshot delivery
//     dated after the ship date D. Boxes chosen on earlier dates of the
//     horizon count as deliveries on their date; a box chosen on D does not
//     close anything for D itself.
//  2. Several requests of one (u, s) where only some are open: s is placed
//     at the earliest requested_at among the open ones.
//  3. Step 1 orders the distinct requested snacks by (that earliest open
//     requested_at, snack_id). Timestamps are compared at microsecond
//     precision (DuckDB TIMESTAMP); date(t) is the calendar date of t, no
//     time zone.
//  4. Eligibility of a requested snack is the ordinary eligibility of
//     section 4 (in run mode including usable stock left at the user's
//     turn); a skipped request stays open for later dates.
//  5. Category caps count every snack already in the box, requested ones
//     included; max_per_category = 0 is accepted and makes step 2 take
//     nothing, so only step 3 fills.
//  6. Affinity counts the user's latest ratings of snacks whose category (from
//     snacks) is c, whatever their active flag or launch date. A rating of a
//     snack missing from snacks still counts for popularity (C, and n_s, sum_s
//     of that id) but belongs to no category.
//  7. n / (n + 3) is float64(n) / float64(n+3); every sum of ratings is an
//     exact integer converted to float64 once. Each product of the score is
//     rounded on its own (explicit float64 conversions), so no fused
//     multiply-add can change a result on any architecture.
//  8. prior_weight must be > 0: with m = 0 a snack without ratings would get
//     0/0. Day counts (repeat_window_days, new_snack_days, min_shelf_days)
//     must be >= 0; never_again_rating may be any integer.
//  9. status must equal "active" exactly (the loader normalises it); NG tags
//     match snack tags by exact string equality.
//  10. preassign: stock taken on a date is gone for later dates; each date's
//     demand takes units FEFO from lots usable on that date (best_before >=
//     D + min_shelf_days) with quantity left. stock_usable is the total
//     quantity of lots usable on D0 before any consumption, in both modes.
//  11. run: the user order of a date counts, per shipping user, the snacks
//     eligible under every rule (stock included) at the start of the date,
//     before any user of that date consumed. Each box line takes one unit
//     FEFO from the lots usable on D and records that lot.
//  12. A user whose cadence_days < 1 or box_size < 1 is an invalid snapshot
//     (the loader forbids it) and stops the run with an error rather than
//     dividing by zero.
package naive
