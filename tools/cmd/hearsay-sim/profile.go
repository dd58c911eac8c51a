package main

import (
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
)

// profileFlags are the flags that write Go profiles of a run, for
// `go tool pprof`.
type profileFlags struct {
	cpu, mem string
}

func (f *profileFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.cpu, "cpuprofile", "", "write a CPU profile of the run to this file")
	fs.StringVar(&f.mem, "memprofile", "", "write a heap profile to this file at the end of the run (in use: as of the run's last garbage collection, when the simulation was still live)")
}

// start begins the CPU profile, if asked for; the returned function stops it
// and writes the heap profile, if asked for. Errors are returned, not fatal:
// a failed profile should not hide the run's result.
func (f *profileFlags) start() (stop func() error, err error) {
	var cpu *os.File
	if f.cpu != "" {
		cpu, err = os.Create(f.cpu)
		if err != nil {
			return nil, fmt.Errorf("-cpuprofile: %w", err)
		}
		if err := pprof.StartCPUProfile(cpu); err != nil {
			cpu.Close()
			return nil, fmt.Errorf("-cpuprofile: %w", err)
		}
	}
	return func() error {
		if cpu != nil {
			pprof.StopCPUProfile()
			if err := cpu.Close(); err != nil {
				return fmt.Errorf("-cpuprofile: %w", err)
			}
		}
		if f.mem == "" {
			return nil
		}
		mem, err := os.Create(f.mem)
		if err != nil {
			return fmt.Errorf("-memprofile: %w", err)
		}
		// No runtime.GC here: the finished simulation is garbage now, and the
		// profile's in-use figures are those of the last collection, taken
		// while it ran.
		if err := pprof.WriteHeapProfile(mem); err != nil {
			mem.Close()
			return fmt.Errorf("-memprofile: %w", err)
		}
		return mem.Close()
	}, nil
}
