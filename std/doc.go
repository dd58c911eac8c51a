// Package std runs the hearsay protocol on a real network: a msgpack wire
// codec, a UDP transport with address filters and bounded queues, a
// ticker-driven Gossiper, and the Node façade most users want.
package std
