module github.com/hearsay-go/hearsay/examples

go 1.26.8

require (
	github.com/hearsay-go/hearsay/core v0.0.0
	github.com/hearsay-go/hearsay/std v0.0.0
	go.uber.org/goleak v1.3.0
)

require (
	github.com/shamaton/msgpack/v2 v2.4.0 // indirect
	golang.org/x/net v0.62.0 // indirect
	golang.org/x/sys v0.49.0 // indirect
)

replace (
	github.com/hearsay-go/hearsay/core => ../core
	github.com/hearsay-go/hearsay/std => ../std
)
