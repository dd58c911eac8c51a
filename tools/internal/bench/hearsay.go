package bench

import (
	"context"
	"errors"
)

// NewHearsay is the Factory of the hearsay side. Placeholder until std.Node
// lands: every cluster fails to seed.
func NewHearsay(s Setting, formation int) Cluster { return unavailable{} }

type unavailable struct{}

func (unavailable) Library() string    { return "hearsay" }
func (unavailable) Settings() []string { return []string{"std.Node not available yet"} }
func (unavailable) Seed(context.Context) error {
	return errors.New("hearsay: std.Node not available yet")
}
func (unavailable) Grow(context.Context, int)        {}
func (unavailable) Size() int                        { return 0 }
func (unavailable) ActiveCount(int) int              { return 0 }
func (unavailable) Gone(int, int) bool               { return false }
func (unavailable) Live(int) bool                    { return false }
func (unavailable) Crash(int) error                  { return nil }
func (unavailable) Leave(context.Context, int) error { return nil }
func (unavailable) Traffic() Traffic                 { return Traffic{} }
func (unavailable) Transitions() Transitions         { return Transitions{} }
func (unavailable) Errors() []error                  { return nil }
func (unavailable) Close() error                     { return nil }
