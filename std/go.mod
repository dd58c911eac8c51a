module github.com/hearsay-go/hearsay/std

go 1.24.0

require (
	github.com/hearsay-go/hearsay/core v0.1.0
	github.com/shamaton/msgpack/v2 v2.4.0
	github.com/stretchr/testify v1.12.1
	go.uber.org/goleak v1.3.0
	golang.org/x/net v0.50.0
)

require (
	go.yaml.in/yaml/v3 v3.0.5 // indirect
	golang.org/x/sys v0.41.0 // indirect
)

replace github.com/hearsay-go/hearsay/core => ../core
