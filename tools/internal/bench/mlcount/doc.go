// Package mlcount wraps hashicorp/memberlist's own NetTransport with
// counters, so that the benchmark counts memberlist's traffic at the same
// place as hearsay's: datagrams and their payload bytes as the transport
// hands them to the socket, and the bytes and TCP segments of its streams
// (push/pull anti-entropy, fallback TCP pings).
//
// hearsay-bench uses it for its in-process members and the memberlist-agent
// command for its one member.
//
// # Usage
//
//	tr, err := mlcount.Listen("127.0.0.1", 0, mlcount.Options{CountReceived: true})
//	if err != nil { ... }
//	conf := memberlist.DefaultLANConfig()
//	conf.BindAddr, conf.BindPort = "127.0.0.1", tr.GetAutoBindPort()
//	conf.AdvertisePort = conf.BindPort
//	conf.Transport = tr
//	ml, err := memberlist.Create(conf)
//	...
//	c := tr.Counts() // cumulative since Listen
package mlcount
