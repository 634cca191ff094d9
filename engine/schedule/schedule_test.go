package schedule

import (
	"errors"
	"testing"
	"time"

	"github.com/stevedore-dev/stevedore/engine/errdef"
)

func TestParseNext(t *testing.T) {
	base := time.Date(2026, 3, 14, 1, 30, 0, 0, time.UTC)
	tests := []struct {
		name     string
		interval time.Duration
		cron     string
		want     time.Time // zero: never
		desc     string
		bad      bool
	}{
		{name: "on demand", desc: "on demand"},
		{name: "interval", interval: 2 * time.Second, want: base.Add(2 * time.Second), desc: "every 2s"},
		{name: "nightly", cron: "0 3 * * *", want: time.Date(2026, 3, 14, 3, 0, 0, 0, time.UTC), desc: "cron 0 3 * * *"},
		{name: "descriptor", cron: "@daily", want: time.Date(2026, 3, 15, 0, 0, 0, 0, time.UTC), desc: "cron @daily"},
		{name: "both", interval: time.Hour, cron: "@daily", bad: true},
		{name: "negative", interval: -time.Second, bad: true},
		{name: "seconds field refused", cron: "*/5 * * * * *", bad: true},
		{name: "garbage", cron: "nightly", bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Parse(tt.interval, tt.cron)
			if tt.bad {
				if !errors.Is(err, errdef.ErrInvalid) {
					t.Fatalf("Parse: %v, want ErrInvalid", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := s.Next(base.In(time.UTC)); !got.Equal(tt.want) {
				t.Errorf("Next = %v, want %v", got, tt.want)
			}
			if s.IsZero() != tt.want.IsZero() {
				t.Errorf("IsZero = %v", s.IsZero())
			}
			if s.String() != tt.desc {
				t.Errorf("String = %q, want %q", s.String(), tt.desc)
			}
		})
	}
}

func TestGuard(t *testing.T) {
	t0 := time.Unix(1000, 0)
	g := NewGuard("sync job a", t0)
	end, err := g.Begin(t0.Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	var busy *BusyError
	if _, err := g.Begin(t0.Add(2 * time.Second)); !errors.As(err, &busy) || !errors.Is(err, errdef.ErrUnavailable) || !busy.Since.Equal(t0.Add(time.Second)) {
		t.Fatalf("second Begin: %v, want a BusyError since t0+1s", err)
	}
	if running, since, ended := g.State(); !running || !since.Equal(t0.Add(time.Second)) || !ended.Equal(t0) {
		t.Errorf("State = %v %v %v", running, since, ended)
	}
	end(t0.Add(3 * time.Second))
	end(t0.Add(9 * time.Second)) // a second call changes nothing
	if running, _, ended := g.State(); running || !ended.Equal(t0.Add(3*time.Second)) {
		t.Errorf("after end: running %v, ended %v", running, ended)
	}
	if _, err := g.Begin(t0.Add(4 * time.Second)); err != nil {
		t.Errorf("Begin after end: %v", err)
	}
}
