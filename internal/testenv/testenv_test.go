package testenv

import "testing"

func TestCI(t *testing.T) {
	for _, tc := range []struct {
		env  string
		want bool
	}{
		{"", false},
		{"true", true},
		{"1", true},
		{"TRUE", true},
		{"false", false},
		{"yes", false},
	} {
		t.Run(tc.env, func(t *testing.T) {
			t.Setenv("CI", tc.env)
			if got := CI(); got != tc.want {
				t.Errorf("CI with CI=%q: got %v, want %v", tc.env, got, tc.want)
			}
		})
	}
}
