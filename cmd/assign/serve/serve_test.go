package serve

import (
	"strings"
	"testing"

	"github.com/assign-dev/assign/cmd/assign/cmdutil"
)

func TestListenNeedsTokenOffLoopback(t *testing.T) {
	t.Setenv(EnvToken, "")
	for _, tc := range []struct {
		args []string
		want string // "" = accepted
	}{
		{nil, ""},
		{[]string{"--listen", "localhost:0"}, ""},
		{[]string{"--listen", "[::1]:8080"}, ""},
		{[]string{"--listen", "0.0.0.0:8080"}, "give --token"},
		{[]string{"--listen", "192.0.2.7:8080"}, "give --token"},
		{[]string{"--listen", "0.0.0.0:8080", "--token", "short"}, "too short"},
		{[]string{"--listen", "0.0.0.0:8080", "--token", "long-enough-secret"}, ""},
		{[]string{"--listen", "8080"}, "want HOST:PORT"},
		{[]string{"--sessions", "0"}, "--sessions"},
	} {
		ios, _, _, _ := cmdutil.Test()
		var got *Options
		cmd := NewCmdServe(cmdutil.New(ios), func(o *Options) error { got = o; return nil })
		cmd.SetArgs(tc.args)
		cmd.SilenceErrors, cmd.SilenceUsage = true, true
		err := cmd.Execute()
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%v: %v", tc.args, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%v: error %v, want %q", tc.args, err, tc.want)
		case tc.want == "" && got == nil:
			t.Errorf("%v: did not run", tc.args)
		}
	}
	// The token may come from the environment.
	t.Setenv(EnvToken, "from-the-environment")
	ios, _, _, _ := cmdutil.Test()
	var got *Options
	cmd := NewCmdServe(cmdutil.New(ios), func(o *Options) error { got = o; return nil })
	cmd.SetArgs([]string{"--listen", "0.0.0.0:8080"})
	if err := cmd.Execute(); err != nil || got.Token != "from-the-environment" || got.loopback {
		t.Errorf("token from the environment: %v %+v", err, got)
	}
}
