package naive

import (
	"math"
	"testing"
)

// The SPEC case suite (internal/spectest) is run against this baseline by
// spectest_test.go; the tests here check its parts (score terms, latest
// ratings) on their own.

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
