// Package reliability holds the tests that check assign loses nothing on bad
// input, faults and concurrency (docs/RELIABILITY.md has the figures):
//
//   - a corpus of bad extracts, one folder per defect under the repository's
//     testdata/bad/, each loaded through the real command entry point into a
//     home that already has a good current snapshot;
//   - kill -9 of real load, preassign and report processes at seeded random
//     moments, then checks that every listed snapshot, run and report is
//     complete and that a rerun succeeds;
//   - a full disk (a small tmpfs) under load, preassign and report;
//   - loads racing with query and preassign readers.
//
// The package has no code of its own beyond this comment: everything is in
// its tests, which re-execute the test binary as the assign command.
package reliability
