package main

import (
	"sort"

	"github.com/hearsay-go/hearsay/core"
	"github.com/prometheus/client_golang/prometheus"
)

// allStatuses lists every status, so that members by status exports a zero
// rather than no series for a status no member is in.
var allStatuses = []core.NodeStatus{
	core.StatusJoining, core.StatusUp, core.StatusSuspect,
	core.StatusLeaving, core.StatusRemoved, core.StatusDead,
}

// collector exports a Source's members and counters, read at scrape time.
type collector struct {
	src Source

	members, incarnation                              *prometheus.Desc
	msgsSent, msgsRecv, bytesSent, bytesRecv, dropped *prometheus.Desc
	suspRaised, suspRefuted, refutations, deadDecl    *prometheus.Desc
	ticks, tickLag, tickLagMax, stalls, eventsDrop    *prometheus.Desc
	plainRecv, localHealth                            *prometheus.Desc
}

func newCollector(src Source) *collector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("hearsay_"+name, help, labels, nil)
	}
	return &collector{
		src:         src,
		members:     d("members", "Members in this node's table, by status (Dead and Removed tombstones included).", "status"),
		incarnation: d("local_incarnation", "This node's own incarnation."),
		msgsSent:    d("messages_sent_total", "Datagrams sent."),
		msgsRecv:    d("messages_received_total", "Datagrams received, before filtering and decoding."),
		bytesSent:   d("bytes_sent_total", "Bytes sent."),
		bytesRecv:   d("bytes_received_total", "Bytes received."),
		dropped:     d("dropped_total", "Messages dropped or refused, by reason.", "reason"),
		suspRaised:  d("suspicions_raised_total", "Members this node's failure detector made Suspect."),
		suspRefuted: d("suspicions_refuted_total", "Suspicions held here that the suspect refuted."),
		refutations: d("refutations_total", "Times this node raised its incarnation to refute a suspicion or a death."),
		deadDecl:    d("dead_declared_total", "Members this node declared Dead itself."),
		ticks:       d("ticks_total", "Ticks of the gossip loop."),
		tickLag:     d("tick_lag_seconds_total", "Sum of the gossip loop's tick lags since start: how late each tick's step began after its tick fired."),
		tickLagMax:  d("tick_lag_max_seconds", "Largest lag of a single tick of the gossip loop since start."),
		stalls:      d("tick_stalls_total", "Ticks so late that the node blamed itself, not its peers (local health)."),
		eventsDrop:  d("events_dropped_total", "Events a slow subscriber did not take."),
		localHealth: d("local_health", "Lifeguard local-health score: 0 when healthy; raised when this node hears nothing, must refute suspicions of itself or stalls, and it then waits longer before accusing anyone."),
		plainRecv:   d("plaintext_received_total", "Unsealed datagrams accepted although a keyring is set (--keyring-plaintext accept or send); stays put once every node seals."),
	}
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.members, c.incarnation, c.msgsSent, c.msgsRecv, c.bytesSent,
		c.bytesRecv, c.dropped, c.suspRaised, c.suspRefuted, c.refutations, c.deadDecl, c.ticks,
		c.tickLag, c.tickLagMax, c.stalls, c.eventsDrop, c.plainRecv, c.localHealth} {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	byStatus := make(map[core.NodeStatus]int)
	for _, r := range c.src.Records() {
		byStatus[r.Status]++
	}
	for _, s := range allStatuses {
		ch <- prometheus.MustNewConstMetric(c.members, prometheus.GaugeValue, float64(byStatus[s]), s.String())
	}
	ch <- prometheus.MustNewConstMetric(c.incarnation, prometheus.GaugeValue, float64(c.src.LocalNode().Incarnation))

	k := c.src.Counters()
	counter := func(d *prometheus.Desc, v uint64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v))
	}
	counter(c.msgsSent, k.MessagesSent)
	counter(c.msgsRecv, k.MessagesReceived)
	counter(c.bytesSent, k.BytesSent)
	counter(c.bytesRecv, k.BytesReceived)
	counter(c.suspRaised, k.SuspicionsRaised)
	counter(c.suspRefuted, k.SuspicionsRefuted)
	counter(c.refutations, k.Refutations)
	counter(c.deadDecl, k.DeadDeclared)
	counter(c.ticks, k.Ticks)
	counter(c.stalls, k.StallsForgiven)
	counter(c.eventsDrop, k.EventsDropped)
	counter(c.plainRecv, k.PlaintextReceived)
	ch <- prometheus.MustNewConstMetric(c.tickLag, prometheus.CounterValue, k.TickLag.Seconds())
	ch <- prometheus.MustNewConstMetric(c.tickLagMax, prometheus.GaugeValue, k.TickLagMax.Seconds())
	ch <- prometheus.MustNewConstMetric(c.localHealth, prometheus.GaugeValue, float64(k.LocalHealth))
	reasons := make([]string, 0, len(k.Drops))
	for r := range k.Drops {
		reasons = append(reasons, r)
	}
	sort.Strings(reasons)
	for _, r := range reasons {
		ch <- prometheus.MustNewConstMetric(c.dropped, prometheus.CounterValue, float64(k.Drops[r]), r)
	}
}
