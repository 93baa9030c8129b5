package cmdutil

import (
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"syscall"

	"github.com/assign-dev/assign/duck"
)

// Exit codes. Scripts rely on them; keep them stable.
const (
	ExitOK      = 0
	ExitFailure = 1 // the command failed; stderr says why
	ExitUsage   = 2 // bad flags or arguments
	ExitAlert   = 3 // the command worked and found what it was asked to alert on
	// ExitNoShipments: preassign, run or report was given a range in which
	// no user ships, so there was nothing to plan and nothing was written.
	ExitNoShipments = 4
	ExitInternal    = 70
	// ExitInterrupted is the exit code after Ctrl-C (128 + SIGINT, as a
	// shell reports it); after SIGTERM it is ExitTerminated.
	ExitInterrupted = 130
	ExitTerminated  = 143
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

// InterruptedError is what a command returns when it was interrupted and
// left something behind, so that the one line printed at exit stays true
// ("interrupted; run X was saved, the report was not written"). Without it
// an interrupted command is reported as "interrupted; nothing was written":
// every writer in assign publishes atomically, so that is the default.
type InterruptedError struct{ Msg string }

func (e *InterruptedError) Error() string { return e.Msg }

// Interrupted builds an InterruptedError; the message starts with
// "interrupted; ".
func Interrupted(format string, args ...any) error {
	return &InterruptedError{Msg: fmt.Sprintf(format, args...)}
}

// ErrSilent fails the command without printing anything more.
var ErrSilent = errors.New("silent error")

// quotedPath finds the file a DuckDB I/O message names ("... file \"/x/y\": ...").
var quotedPath = regexp.MustCompile(`"(/[^"]+)"`)

// DiskFull reports whether err comes from a full disk (or an exhausted
// quota), from Go's file functions or DuckDB's, and the file being written
// when the error names one. The command boundary turns it into one plain
// sentence: the driver's wording ("IO Error: Could not write file ...") says
// the same thing less clearly and twice.
func DiskFull(err error) (path string, ok bool) {
	if err == nil {
		return "", false
	}
	if !errors.Is(err, syscall.ENOSPC) && !errors.Is(err, syscall.EDQUOT) && !duck.IsDiskFull(err) {
		return "", false
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Path, true
	}
	if m := quotedPath.FindStringSubmatch(err.Error()); m != nil {
		return m[1], true
	}
	return "", true
}
