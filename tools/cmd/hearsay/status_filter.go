package main

import (
	"fmt"
	"strings"

	"github.com/hearsay-go/hearsay/core"
)

// statusFilter is a set of statuses to show: `hearsay members -status`
// and `GET /v1/members?status=`.
type statusFilter map[core.NodeStatus]bool

// statusAliases are serf's status names, accepted for the statuses they
// mean: a serf member is alive, leaving, left or failed.
var statusAliases = map[string]core.NodeStatus{
	"alive":  core.StatusUp,
	"left":   core.StatusRemoved,
	"failed": core.StatusDead,
}

// statusNames lists the names parseStatusFilter accepts, for its errors.
const statusNames = "joining, up, suspect, leaving, removed, dead (or serf's alive, left, failed)"

// parseStatusFilter reads a comma-separated list of status names ("up",
// "suspect,dead"). An empty list filters nothing (nil); an unknown name is
// an error.
func parseStatusFilter(list string) (statusFilter, error) {
	if list == "" {
		return nil, nil
	}
	f := statusFilter{}
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(name)
		st, ok := statusByName(name)
		if !ok {
			return nil, fmt.Errorf("unknown status %q: want %s", name, statusNames)
		}
		f[st] = true
	}
	return f, nil
}

// statusByName returns the status a name or alias stands for.
func statusByName(name string) (core.NodeStatus, bool) {
	if st, ok := statusAliases[name]; ok {
		return st, true
	}
	for _, st := range allStatuses {
		if st.String() == name {
			return st, true
		}
	}
	return 0, false
}

// keeps reports whether the filter shows a record in status st; a nil
// filter shows all.
func (f statusFilter) keeps(st core.NodeStatus) bool { return f == nil || f[st] }
