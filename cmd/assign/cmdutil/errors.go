package cmdutil

import (
	"errors"
	"fmt"
)

// Exit codes. Scripts rely on them; keep them stable.
const (
	ExitOK       = 0
	ExitFailure  = 1 // the command failed; stderr says why
	ExitUsage    = 2 // bad flags or arguments
	ExitAlert    = 3 // the command worked and found what it was asked to alert on
	ExitInternal = 70
)

// FlagError is a usage mistake: the command prints it with a usage hint and
// exits with ExitUsage.
type FlagError struct{ Err error }

func (e *FlagError) Error() string { return e.Err.Error() }
func (e *FlagError) Unwrap() error { return e.Err }

// FlagErrorf builds a FlagError.
func FlagErrorf(format string, args ...any) error {
	return &FlagError{Err: fmt.Errorf(format, args...)}
}

// ExitError carries a specific exit code. When Err is nil nothing is printed
// (the command already reported).
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}
func (e *ExitError) Unwrap() error { return e.Err }

// ErrSilent fails the command without printing anything more.
var ErrSilent = errors.New("silent error")
