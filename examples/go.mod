module github.com/hearsay-go/hearsay/examples

go 1.24.0

require (
	github.com/hearsay-go/hearsay/core v0.1.0
	github.com/hearsay-go/hearsay/std v0.1.0
	go.uber.org/goleak v1.3.0
)

require (
	github.com/shamaton/msgpack/v2 v2.4.0 // indirect
	golang.org/x/net v0.50.0 // indirect
	golang.org/x/sys v0.41.0 // indirect
)

replace (
	github.com/hearsay-go/hearsay/core => ../core
	github.com/hearsay-go/hearsay/std => ../std
)
