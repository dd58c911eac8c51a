module github.com/hearsay-go/hearsay/core

go 1.26.8
