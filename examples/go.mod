module github.com/hearsay-go/hearsay/examples

go 1.26.8

require (
	github.com/hearsay-go/hearsay/core v0.0.0
	github.com/hearsay-go/hearsay/std v0.0.0
)

replace (
	github.com/hearsay-go/hearsay/core => ../core
	github.com/hearsay-go/hearsay/std => ../std
)
