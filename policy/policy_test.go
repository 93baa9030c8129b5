package policy

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		doc     string
		want    func(p *Policy)
		wantErr string
	}{
		{name: "empty keeps defaults", doc: "", want: func(p *Policy) {}},
		{name: "overrides", doc: "max_per_category = 1\nfill_ignoring_caps = false\nw_novelty = 0.5\nprior_weight = 5\n",
			want: func(p *Policy) { p.MaxPerCategory, p.FillIgnoringCaps, p.WNovelty, p.PriorWeight = 1, false, 0.5, 5 }},
		{name: "integer for a float", doc: "w_affinity = 1\n", want: func(p *Policy) { p.WAffinity = 1 }},
		{name: "unknown key", doc: "max_per_categry = 3\n", wantErr: `unknown key "max_per_categry"`},
		{name: "out of range", doc: "max_per_category = 21\n", wantErr: "max_per_category = 21 is out of range: allowed 0..20"},
		{name: "negative window", doc: "repeat_window_days = -1\n", wantErr: "repeat_window_days = -1 is out of range"},
		{name: "zero prior", doc: "prior_weight = 0\n", wantErr: "prior_weight = 0 is out of range"},
		{name: "wrong type", doc: "fill_ignoring_caps = \"yes\"\n", wantErr: "fill_ignoring_caps"},
		{name: "syntax", doc: "max_per_category = = 2\n", wantErr: "line 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse("p.toml", []byte(tt.doc), Default())
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want it to contain %q", err, tt.wantErr)
				}
				if !strings.Contains(err.Error(), "p.toml") {
					t.Fatalf("error %q does not name the file", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := Default()
			tt.want(&want)
			if got != want {
				t.Fatalf("got %+v, want %+v", got, want)
			}
		})
	}
}

func TestTOMLRoundTrip(t *testing.T) {
	p := Default()
	p.MaxPerCategory = 3
	p.WNovelty = 0.125
	got, err := Parse("round trip", []byte(p.TOML()), Default())
	if err != nil {
		t.Fatal(err)
	}
	if got != p {
		t.Fatalf("got %+v, want %+v", got, p)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("max_per_category = 2\n"))
	f.Add([]byte("w_novelty = 1e308\nprior_weight = -0\n"))
	f.Add([]byte("[x]\ny = 1"))
	f.Add([]byte("max_per_category = 99999999999999999999\n"))
	f.Add([]byte("w_affinity = nan\nw_novelty = inf\n"))
	f.Add([]byte("fill_ignoring_caps = true\nfill_ignoring_caps = false\n"))
	f.Add([]byte("\xef\xbb\xbfnew_snack_days = 7 # comment\r\n"))
	f.Fuzz(func(t *testing.T, doc []byte) {
		p, err := Parse("fuzz", doc, Default())
		if err != nil {
			// One sentence naming the file, never a raw decoder dump.
			if msg := err.Error(); !strings.HasPrefix(msg, "policy file fuzz") || strings.Contains(msg, "\n") {
				t.Fatalf("error %q does not name the file in one line", msg)
			}
			return
		}
		if verr := p.Validate(); verr != nil {
			t.Fatalf("Parse accepted an invalid policy: %v", verr)
		}
		// What is accepted can be written back and read as the same policy.
		again, err := Parse("round trip", []byte(p.TOML()), Default())
		if err != nil || again != p {
			t.Fatalf("accepted %+v, but its TOML reads back as %+v (%v)", p, again, err)
		}
	})
}
