//go:build unix

package main

import (
	"io/fs"
	"os"
	"syscall"
)

// openKeyringFile opens path for reading without blocking on a FIFO or a
// device (the caller then refuses what is not a regular file).
func openKeyringFile(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
}

// fileOwner returns the user ID that owns the file fi describes.
func fileOwner(fi fs.FileInfo) (int, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return int(st.Uid), true
}
