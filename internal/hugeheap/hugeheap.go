// Package hugeheap asks the kernel to back the Go heap with transparent
// huge pages (2 MiB) where it allows them only on request (the default
// "madvise" mode of most distributions), which Go's runtime does not
// request itself.
//
// A planning job touches a few hundred megabytes of fresh heap (the
// sidecar's rows, the engine's arrays, the output's batches). With 4 KiB
// pages each page is a fault, zeroed and mapped one by one, and all of
// them are unmapped again when the process exits: on a medium preassign
// that was about 0.2 s of the job's 1.3 s of CPU, and 15-25 ms of the
// exit alone (measured in benchmarks/RESULTS.md). Faults on two cores at
// once also slow each other. With huge pages the same memory takes a
// few hundred faults.
package hugeheap

// DefaultSize is how much of the heap Reserve covers: the peak heap of a
// large (3 million users) job fits.
const DefaultSize = 2 << 30
