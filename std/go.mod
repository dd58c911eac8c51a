module github.com/hearsay-go/hearsay/std

go 1.26.8

require github.com/hearsay-go/hearsay/core v0.0.0

replace github.com/hearsay-go/hearsay/core => ../core
