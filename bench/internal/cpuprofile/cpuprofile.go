// Package cpuprofile writes a CPU profile of a benchmark's process.
package cpuprofile

import (
	"fmt"
	"os"
	"runtime/pprof"
)

// Start starts a CPU profile written to path, and returns the function
// that stops it and closes the file; a stop that cannot finish the file
// says so on standard error, naming the program. An empty path profiles
// nothing.
func Start(program, path string) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cannot write the CPU profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cannot start the CPU profile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			fmt.Fprintln(os.Stderr, program+": the CPU profile may be incomplete:", err)
		}
	}, nil
}
