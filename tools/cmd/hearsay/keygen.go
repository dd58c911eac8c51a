package main

import (
	"encoding/base64"
	"fmt"
	"io"

	"github.com/hearsay-go/hearsay/std"
)

// keygenUsage is `hearsay keygen -h`.
const keygenUsage = `usage: hearsay keygen

Prints a new random key (32 bytes from the operating system's random source,
base64) for a --keyring file: one key per line, the first is primary.
For example, to start a keyring readable by its owner only:

  (umask 077 && hearsay keygen > keyring)
`

// runKeygen prints a new keyring key in base64 and a newline.
func runKeygen(args []string, stdout, stderr io.Writer) int {
	for _, a := range args {
		switch a {
		case "-h", "-help", "--help":
			fmt.Fprint(stdout, keygenUsage)
			return exitOK
		}
	}
	if len(args) > 0 {
		fmt.Fprintf(stderr, "hearsay: keygen: unexpected argument %q (see -h)\n", args[0])
		return exitUsage
	}
	key, err := std.GenerateKey()
	if err != nil {
		fmt.Fprintf(stderr, "hearsay keygen: %v\n", err)
		return exitFailure
	}
	fmt.Fprintln(stdout, base64.StdEncoding.EncodeToString(key))
	return exitOK
}
