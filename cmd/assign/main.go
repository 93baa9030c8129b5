// Command assign plans snack-subscription boxes. See 'assign --help'.
package main

import (
	"os"

	"github.com/assign-dev/assign/cmd/assign/root"
)

func main() { os.Exit(root.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }
