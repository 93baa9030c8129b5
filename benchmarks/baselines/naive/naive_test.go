package naive

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// Every expected box below was worked out by hand from SPEC section 4; the
// comments give the reasoning so a failure can be judged against the SPEC.

func TestCases(t *testing.T) {
	type tc struct {
		name   string
		mode   Mode
		days   int
		policy func(*Policy)
		sql    []string
		boxes  []string // boxLines form; nil means "no rows"
		// sortedSet compares each box's snack ids as a sorted set (for
		// eligibility cases where the order is not the point).
		sortedSet bool
		short     []string
		demand    []string // checked when non-nil
		summary   []string // checked when non-nil
	}
	cases := []tc{
		{
			// Ship dates over 01-10..01-24: cadence from next_ship_on, also
			// before D0; inactive statuses never ship; a skip drops one date
			// without shifting the schedule; a skip on a non-ship date is inert.
			name: "ship dates, cadence, skips, next_ship_on before D0",
			mode: Preassign, days: 15,
			policy: func(p *Policy) { p.RepeatWindowDays = 0 },
			sql: []string{
				`INSERT INTO snacks VALUES (1,'s1','A','2020-01-01',true)`,
				`INSERT INTO users VALUES
					(1,'active',1,7,'2026-01-03'),   -- 01-10, 01-17, 01-24
					(2,'active',1,5,'2026-01-12'),   -- 01-12, 01-17, 01-22
					(3,'paused',1,7,'2026-01-10'),
					(4,'active',1,7,'2026-01-10'),   -- 01-10, (01-17 skipped), 01-24
					(5,'cancelled',1,1,'2026-01-10'),
					(6,'active',1,7,'2026-01-30'),   -- after the horizon
					(7,'active',1,30,'2025-12-11'),  -- 01-10 only
					(8,'active',1,14,'2025-06-01')   -- 223 days before D0: 01-11 (224 = 16*14)`,
				`INSERT INTO skips VALUES (4,'2026-01-17'), (1,'2026-01-11'), (2,'2026-01-13')`,
			},
			boxes: []string{
				"2026-01-10 u1: 1", "2026-01-10 u4: 1", "2026-01-10 u7: 1",
				"2026-01-11 u8: 1",
				"2026-01-12 u2: 1",
				"2026-01-17 u1: 1", "2026-01-17 u2: 1",
				"2026-01-22 u2: 1",
				"2026-01-24 u1: 1", "2026-01-24 u4: 1",
			},
		},
		{
			// Each eligibility rule once (window 180, never-again 2). Eligible:
			// 1 plain, 4 launched on D, 6 tag not NG, 8 delivered exactly
			// D-180, 10 delivered after D, 12 rated 3, 13 latest rating 4.
			name: "eligibility rules",
			mode: Preassign, days: 1,
			policy: func(p *Policy) { p.MaxPerCategory = 20 },
			sql: []string{
				`INSERT INTO snacks VALUES
					(1,'plain','A','2020-01-01',true),
					(2,'inactive','A','2020-01-01',false),
					(3,'launched D+1','A','2026-01-11',true),
					(4,'launched D','A','2026-01-10',true),
					(5,'ng tag','A','2020-01-01',true),
					(6,'other tag','A','2020-01-01',true),
					(7,'delivered D-179','A','2020-01-01',true),
					(8,'delivered D-180','A','2020-01-01',true),
					(9,'delivered D','A','2020-01-01',true),
					(10,'delivered D+1','A','2020-01-01',true),
					(11,'rated 2','A','2020-01-01',true),
					(12,'rated 3','A','2020-01-01',true),
					(13,'rated 1 then 4','A','2020-01-01',true),
					(14,'rated 5 then 2','A','2020-01-01',true),
					(15,'rated 5 and 2 at once','A','2020-01-01',true)`,
				`INSERT INTO snack_tags VALUES (5,'nuts'), (5,'sweet'), (6,'soy')`,
				`INSERT INTO users VALUES (1,'active',20,7,'2026-01-10')`,
				`INSERT INTO user_ng VALUES (1,'nuts'), (1,'dairy')`,
				`INSERT INTO deliveries VALUES (1,7,'2025-07-15'), (1,8,'2025-07-14'), (1,9,'2026-01-10'), (1,10,'2026-01-11')`,
				`INSERT INTO ratings VALUES
					(1,11,2,'2025-01-01 10:00'), (1,12,3,'2025-01-01 10:00'),
					(1,13,1,'2025-01-01 10:00'), (1,13,4,'2025-02-01 10:00'),
					(1,14,5,'2025-01-01 10:00'), (1,14,2,'2025-02-01 10:00'),
					(1,15,5,'2025-03-01 10:00'), (1,15,2,'2025-03-01 10:00')`,
			},
			sortedSet: true,
			boxes:     []string{"2026-01-10 u1: 1 4 6 8 10 12 13"},
			short:     []string{"2026-01-10 u1 7/20"},
		},
		{
			// Scores (see TestScoreTerms for the numbers): order 2 1 6 7 8 4 3.
			// Step 2 under cap 2 takes 2 1 (A full), skips 6, takes 7 (C),
			// 8 4 (B full), skips 3; step 3 walks from the top: 6, then 3.
			name: "score order, caps and the fill pass",
			mode: Preassign, days: 1,
			sql:   scoreSQL,
			boxes: []string{"2026-01-10 u1: 2 1 7 8 4 6 3"},
		},
		{
			name: "fill_ignoring_caps=false leaves the box short",
			mode: Preassign, days: 1,
			policy: func(p *Policy) { p.FillIgnoringCaps = false },
			sql:    scoreSQL,
			boxes:  []string{"2026-01-10 u1: 2 1 7 8 4"},
			short:  []string{"2026-01-10 u1 5/7"},
		},
		{
			// All three score 0.5 (no ratings: C = 3, popn = 0.5): ties by
			// snack_id ascending whatever the insert order.
			name: "ties broken by snack_id",
			mode: Preassign, days: 1,
			sql: []string{
				`INSERT INTO snacks VALUES (10,'x','A','2020-01-01',true), (7,'y','B','2020-01-01',true), (3,'z','A','2020-01-01',true)`,
				`INSERT INTO users VALUES (1,'active',2,7,'2026-01-10')`,
			},
			boxes: []string{"2026-01-10 u1: 3 7"},
		},
		{
			// Requests (window 3, so old deliveries do not block). Open and
			// eligible: 6 @01-03 (its delivery 01-02 is before the request),
			// 5 @01-04 12:00 (earliest of two), 3 @01-05 09:00, 8 @01-06 (its
			// 01-01 request is closed by the 01-01 delivery, the later one is
			// open). Not taken: 4 (requested on D, not before), 2 (closed by
			// a later delivery), 7 (inactive: skipped, no slot), 1 (closed by a
			// snapshot delivery dated after D, reading 1). Three requested A
			// snacks exceed cap 2 but are all taken; step 2 then skips 1 and 4
			// (A full) and takes 2 (B).
			name: "requests: order, duplicates, open rule, ineligible, caps",
			mode: Preassign, days: 1,
			policy: func(p *Policy) { p.RepeatWindowDays = 3 },
			sql: []string{
				`INSERT INTO snacks VALUES
					(1,'a','A','2020-01-01',true), (2,'b','B','2020-01-01',true),
					(3,'c','A','2020-01-01',true), (4,'d','A','2020-01-01',true),
					(5,'e','A','2020-01-01',true), (6,'f','A','2020-01-01',true),
					(7,'g','A','2020-01-01',false), (8,'h','B','2020-01-01',true)`,
				`INSERT INTO users VALUES (1,'active',5,7,'2026-01-10')`,
				`INSERT INTO requests VALUES
					(1,5,'2026-01-05 10:00'), (1,5,'2026-01-04 12:00'),
					(1,3,'2026-01-05 09:00'), (1,4,'2026-01-10 08:00'),
					(1,2,'2026-01-01 00:00'), (1,6,'2026-01-03 00:00'),
					(1,7,'2026-01-02 00:00'), (1,8,'2026-01-01 00:00'),
					(1,8,'2026-01-06 00:00'), (1,1,'2026-01-05 00:00')`,
				`INSERT INTO deliveries VALUES (1,2,'2026-01-02'), (1,6,'2026-01-02'), (1,8,'2026-01-01'), (1,1,'2026-01-20')`,
			},
			boxes: []string{"2026-01-10 u1: 6* 5* 3* 8* 2"},
		},
		{
			name: "requests beyond k are not taken",
			mode: Preassign, days: 1,
			policy: func(p *Policy) { p.RepeatWindowDays = 3 },
			sql: []string{
				`INSERT INTO snacks VALUES (1,'a','A','2020-01-01',true), (2,'b','B','2020-01-01',true), (3,'c','C','2020-01-01',true)`,
				`INSERT INTO users VALUES (1,'active',2,7,'2026-01-10')`,
				`INSERT INTO requests VALUES (1,3,'2026-01-01'), (1,2,'2026-01-02'), (1,1,'2026-01-03')`,
			},
			boxes: []string{"2026-01-10 u1: 3* 2*"},
		},
		{
			// Equal requested_at: snack_id decides.
			name: "requests with equal requested_at",
			mode: Preassign, days: 1,
			sql: []string{
				`INSERT INTO snacks VALUES (1,'a','A','2020-01-01',true), (4,'b','B','2020-01-01',true), (9,'c','C','2020-01-01',true)`,
				`INSERT INTO users VALUES (1,'active',2,7,'2026-01-10')`,
				`INSERT INTO requests VALUES (1,9,'2026-01-02 07:30'), (1,4,'2026-01-02 07:30')`,
			},
			boxes: []string{"2026-01-10 u1: 4* 9*"},
		},
		{
			// Box 1, daily, window 0 (nothing blocked by repeats). 01-10 takes
			// request 3; that box closes it, so 01-11 takes request 2, which
			// had stayed open; 01-12 has no open request: 1 by snack_id.
			name: "boxes earlier in the horizon close requests",
			mode: Preassign, days: 3,
			policy: func(p *Policy) { p.RepeatWindowDays = 0 },
			sql: []string{
				`INSERT INTO snacks VALUES (1,'a','A','2020-01-01',true), (2,'b','A','2020-01-01',true), (3,'c','A','2020-01-01',true)`,
				`INSERT INTO users VALUES (1,'active',1,1,'2026-01-10')`,
				`INSERT INTO requests VALUES (1,3,'2026-01-05 00:00'), (1,2,'2026-01-06 00:00')`,
			},
			boxes: []string{"2026-01-10 u1: 3*", "2026-01-11 u1: 2*", "2026-01-12 u1: 1"},
		},
		{
			// Window 2 blocks shipped_on in (D-2, D]: a box of D blocks D+1
			// only. So 1, 2, 1, 2; the snapshot delivery of 3 on 01-11
			// keeps 3 out on 01-11 and 01-12 (it would not be chosen anyway
			// before 1 and 2 on ties, so it also checks nothing breaks).
			name: "repeat window across the horizon",
			mode: Preassign, days: 4,
			policy: func(p *Policy) { p.RepeatWindowDays = 2 },
			sql: []string{
				`INSERT INTO snacks VALUES (1,'a','A','2020-01-01',true), (2,'b','B','2020-01-01',true), (3,'c','C','2020-01-01',true)`,
				`INSERT INTO users VALUES (1,'active',1,1,'2026-01-10')`,
				`INSERT INTO deliveries VALUES (1,3,'2026-01-11')`,
			},
			boxes: []string{"2026-01-10 u1: 1", "2026-01-11 u1: 2", "2026-01-12 u1: 1", "2026-01-13 u1: 2"},
		},
		{
			// User 1's NG tags exclude every snack: a short box with filled 0
			// and no boxes rows.
			name: "short box with filled 0",
			mode: Preassign, days: 1,
			sql: []string{
				`INSERT INTO snacks VALUES (1,'a','A','2020-01-01',true), (2,'b','A','2020-01-01',true)`,
				`INSERT INTO snack_tags VALUES (1,'x'), (2,'x')`,
				`INSERT INTO users VALUES (1,'active',3,7,'2026-01-10'), (2,'active',1,7,'2026-01-10')`,
				`INSERT INTO user_ng VALUES (1,'x')`,
			},
			boxes: []string{"2026-01-10 u2: 1"},
			short: []string{"2026-01-10 u1 0/3"},
		},
		{
			// Two users take snack 1 daily (window 0). Lots of snack 1 with
			// min shelf 21: C (bb D0+20) never usable; E empty; A 3 units,
			// bb D0+22, usable on D0 and D0+1 only; B 2 units, bb D0+40.
			// D0: A gives 2 (A left 1). D0+1: A 1 then B 1. D0+2: A no longer
			// usable, B gives 1, short 1. D0+3: nothing left, short 2.
			// stock_usable = A 3 + B 2 + E 0; snack 2 (inactive) has a zero row.
			name: "preassign FEFO with a lot expiring inside the horizon",
			mode: Preassign, days: 4,
			policy: func(p *Policy) { p.RepeatWindowDays = 0 },
			sql: []string{
				`INSERT INTO snacks VALUES (1,'a','A','2020-01-01',true), (2,'b','A','2020-01-01',false)`,
				`INSERT INTO users VALUES (1,'active',1,1,'2026-01-10'), (2,'active',1,1,'2026-01-10')`,
				`INSERT INTO stock VALUES
					(1,'B',2,'2026-02-19'), (1,'A',3,'2026-02-01'),
					(1,'E',0,'2026-01-31'), (1,'C',10,'2026-01-30'),
					(2,'S',7,'2026-06-01')`,
			},
			boxes: []string{
				"2026-01-10 u1: 1", "2026-01-10 u2: 1", "2026-01-11 u1: 1", "2026-01-11 u2: 1",
				"2026-01-12 u1: 1", "2026-01-12 u2: 1", "2026-01-13 u1: 1", "2026-01-13 u2: 1",
			},
			demand: []string{
				"2026-01-10 s1 2 2 0", "2026-01-11 s1 2 2 0", "2026-01-12 s1 2 1 1", "2026-01-13 s1 2 0 2",
			},
			summary: []string{"s1 8 5 5 3", "s2 0 7 0 0"},
		},
		{
			// Snack 1 (new, score 0.8) has one unit; snack 2 (0.5) has L10 and
			// L2 (same best_before: "L10" < "L2" as bytes) and an unusable
			// lot. User 3 cannot take 2 (NG), so on 01-10 it has 1 eligible
			// snack with stock against 2 for users 1 and 2 and goes first,
			// taking the last unit of 1; users 1 and 2 get 2 from L10 then L2.
			// On 01-11 user 3 has nothing eligible (no stock of 1): filled 0.
			name: "run: contention for the last unit and user order",
			mode: RunMode, days: 2,
			policy: func(p *Policy) { p.RepeatWindowDays = 0 },
			sql:    contentionSQL,
			boxes: []string{
				"2026-01-10 u1: 2@L10", "2026-01-10 u2: 2@L2", "2026-01-10 u3: 1@Z",
				"2026-01-11 u1: 2@L2", "2026-01-11 u2: 2@L2",
			},
			short:   []string{"2026-01-11 u3 0/1"},
			demand:  []string{"2026-01-10 s1 1 1 0", "2026-01-10 s2 2 2 0", "2026-01-11 s2 2 2 0"},
			summary: []string{"s1 1 1 1 0", "s2 4 6 4 0"},
		},
		{
			// The same snapshot in preassign: stock is ignored, everyone
			// takes snack 1 but user 3... who cannot take 2 and takes 1 as
			// well; snack 1's single unit covers one box on 01-10.
			name: "preassign ignores stock in selection",
			mode: Preassign, days: 2,
			policy: func(p *Policy) { p.RepeatWindowDays = 0 },
			sql:    contentionSQL,
			boxes: []string{
				"2026-01-10 u1: 1", "2026-01-10 u2: 1", "2026-01-10 u3: 1",
				"2026-01-11 u1: 1", "2026-01-11 u2: 1", "2026-01-11 u3: 1",
			},
			demand:  []string{"2026-01-10 s1 3 1 2", "2026-01-11 s1 3 0 3"},
			summary: []string{"s1 6 1 1 5", "s2 0 6 0 0"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := DefaultPolicy()
			if c.policy != nil {
				c.policy(&p)
			}
			res := runCase(t, c.mode, c.days, p, c.sql...)
			got := boxLines(res)
			if c.sortedSet {
				for i, l := range got {
					head, ids, _ := strings.Cut(l, ":")
					f := strings.Fields(ids)
					slices.SortFunc(f, func(a, b string) int {
						x, _ := strconv.Atoi(a)
						y, _ := strconv.Atoi(b)
						return x - y
					})
					got[i] = head + ": " + strings.Join(f, " ")
				}
			}
			equalLines(t, "boxes", got, c.boxes)
			equalLines(t, "short_boxes", shortLines(res), c.short)
			if c.demand != nil {
				equalLines(t, "demand", demandLines(res), c.demand)
			}
			if c.summary != nil {
				equalLines(t, "snack_summary", summaryLines(res), c.summary)
			}
		})
	}
}

// scoreSQL: user 1 ships on D0 with box 7; users 2 and 3 only rate.
// Latest ratings (8 pairs): (1,1)=4 (1,5)=5 (1,3)=3 (2,1)=5 (2,2)=3
// (2,3)=1 [5 and 1 at the same instant: the lower counts; an older 4 is
// ignored] (3,4)=2 (3,1)=5 [the later one, dated after D0, counts].
// Sum 28, count 8: C = 3.5; m = 20.
var scoreSQL = []string{
	`INSERT INTO snacks VALUES
		(1,'s1','A','2020-01-01',true), (2,'s2','A','2025-12-31',true),
		(3,'s3','B','2020-01-01',true), (4,'s4','B','2025-12-11',true),
		(5,'s5','C','2020-01-01',false), (6,'s6','A','2020-01-01',true),
		(7,'s7','C','2020-01-01',true), (8,'s8','B','2025-12-12',true)`,
	`INSERT INTO users VALUES (1,'active',7,7,'2026-01-10'), (2,'paused',7,7,'2026-01-10'), (3,'cancelled',7,7,'2026-01-10')`,
	`INSERT INTO user_prefs VALUES (1,'A',2), (1,'B',-1), (2,'C',2)`,
	`INSERT INTO ratings VALUES
		(1,1,4,'2025-12-01 10:00'), (1,5,5,'2025-12-01 10:00'), (1,3,3,'2025-12-01 00:00'),
		(2,1,5,'2025-12-01 00:00'), (2,2,3,'2025-12-01 00:00'),
		(2,3,5,'2025-12-02 08:00'), (2,3,1,'2025-12-02 08:00'), (2,3,4,'2025-11-01 00:00'),
		(3,4,2,'2025-12-01 00:00'), (3,1,3,'2025-11-01 00:00'), (3,1,5,'2026-02-01 00:00')`,
}

var contentionSQL = []string{
	`INSERT INTO snacks VALUES (1,'new','A','2026-01-05',true), (2,'old','A','2020-01-01',true)`,
	`INSERT INTO snack_tags VALUES (2,'soy')`,
	`INSERT INTO users VALUES (1,'active',1,1,'2026-01-10'), (2,'active',1,1,'2026-01-10'), (3,'active',1,1,'2026-01-10')`,
	`INSERT INTO user_ng VALUES (3,'soy')`,
	`INSERT INTO stock VALUES
		(1,'A0',0,'2026-03-01'), (1,'Z',1,'2026-03-01'),
		(2,'L2',5,'2026-03-01'), (2,'L10',1,'2026-03-01'), (2,'OLD',9,'2026-01-25')`,
}

// TestScoreTerms checks each box line's score against the hand computation.
// popn = ((sum_s + 20*3.5)/(n_s + 20) - 1)/4:
//
//	s1 n=3 sum=14: (84/23 - 1)/4 = 61/92     s2 n=1 sum=3: (73/21 - 1)/4 = 13/21
//	s3 n=2 sum=4:  (74/22 - 1)/4 = 13/22     s4 n=1 sum=2: (72/21 - 1)/4 = 17/28
//	s6, s7, s8 unrated: (70/20 - 1)/4 = 0.625
//
// User 1: pref A = 2/2 = 1, B = -1/2, C = 0. Affinity over user 1's latest
// ratings: A {s1: 4} -> (1/4)*(1/2) = 0.125; B {s3: 3} -> 0; C {s5: 5,
// inactive but counted} -> (1/4)*1 = 0.25. New on D0: s2 (10 days), s8 (29
// days); s4 (30 days) is not.
func TestScoreTerms(t *testing.T) {
	res := runCase(t, Preassign, 1, DefaultPolicy(), scoreSQL...)
	want := map[int64]float64{
		2: 13.0/21 + 0.8*1 + 0.6*0.125 + 0.3,
		1: 61.0/92 + 0.8*1 + 0.6*0.125,
		7: 0.625 + 0.6*0.25,
		8: 0.625 - 0.8*0.5 + 0.3,
		4: 17.0/28 - 0.8*0.5,
		6: 0.625 + 0.8*1 + 0.6*0.125,
		3: 13.0/22 - 0.8*0.5,
	}
	if len(res.Boxes) != len(want) {
		t.Fatalf("got %d box lines, want %d", len(res.Boxes), len(want))
	}
	for _, b := range res.Boxes {
		if w, ok := want[b.SnackID]; !ok || math.Abs(b.Score-w) > 1e-12 {
			t.Errorf("snack %d: score %v, want %v", b.SnackID, b.Score, w)
		}
		if b.Requested || b.LotID.Valid {
			t.Errorf("snack %d: requested %v lot %v, want false and NULL", b.SnackID, b.Requested, b.LotID)
		}
	}
}

// TestScoreWeights checks the weights reach their terms: with only the
// novelty weight non-zero, new snacks score w_novelty and others 0.
func TestScoreWeights(t *testing.T) {
	p := DefaultPolicy()
	p.WPopularity, p.WPreference, p.WAffinity, p.WNovelty = 0, 0, 0, 2.5
	res := runCase(t, Preassign, 1, p, scoreSQL...)
	for _, b := range res.Boxes {
		want := 0.0
		if b.SnackID == 2 || b.SnackID == 8 {
			want = 2.5
		}
		if b.Score != want {
			t.Errorf("snack %d: score %v, want %v", b.SnackID, b.Score, want)
		}
	}
	// New snacks first (2 A, 8 B), then the zeros by snack_id under cap 2:
	// 1 (A), 3 (B), 4 skipped (B full), 6 skipped (A full), 7 (C); the
	// fill pass walks from the top and adds 4 then 6.
	equalLines(t, "boxes", boxLines(res), []string{"2026-01-10 u1: 2 8 1 3 7 4 6"})
}

func TestLatestRatings(t *testing.T) {
	got := latestRatings([]ratingRow{
		{1, 1, 5, 100}, {1, 1, 2, 100}, {1, 1, 4, 50}, // tie at 100: lower wins
		{1, 2, 1, 10}, {1, 2, 4, 20}, // later wins
		{2, 1, 3, 5},
	})
	want := map[pair]int{{1, 1}: 2, {1, 2}: 4, {2, 1}: 3}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%v: got %d, want %d", k, got[k], v)
		}
	}
}

func TestDayArithmetic(t *testing.T) {
	d := mustDay(t, "2026-01-10")
	if s := (d + 22).String(); s != "2026-02-01" {
		t.Errorf("2026-01-10 + 22 = %s", s)
	}
	// date(t) of timestamps before 1970 floors to the day.
	if got := dayOfMicros(-1).String(); got != "1969-12-31" {
		t.Errorf("dayOfMicros(-1) = %s", got)
	}
	if _, err := ParseDay("2026-1-10"); err == nil {
		t.Error("ParseDay accepted 2026-1-10")
	}
}
