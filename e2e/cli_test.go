package e2e

import (
	"os"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/assign-dev/assign/cmd/assign/root"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"assign": func() { os.Exit(root.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) },
	})
}

// TestScripts runs the command-line scripts in testdata/script: whole user
// journeys through the real binary entry point, each in a fresh directory.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Setup: func(env *testscript.Env) error {
			env.Setenv("ASSIGN_HOME", env.WorkDir+"/home")
			return nil
		},
	})
}
