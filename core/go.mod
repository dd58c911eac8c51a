module github.com/hearsay-go/hearsay/core

go 1.24.0
