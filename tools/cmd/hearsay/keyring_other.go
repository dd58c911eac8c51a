//go:build !unix

package main

import (
	"io/fs"
	"os"
)

// openKeyringFile opens path for reading.
func openKeyringFile(path string) (*os.File, error) { return os.Open(path) }

// fileOwner reports no owner: outside Unix, file ownership is not checked.
func fileOwner(fs.FileInfo) (int, bool) { return 0, false }
