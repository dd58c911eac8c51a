// Command hearsay-flood plays a stranger who can send UDP datagrams to
// hearsay members, to measure what it can make them do. It writes datagrams
// with its own msgpack encoder, as anyone could, never with std's.
//
// Reflection (-mode reflect): every target is sent join requests (bare, and
// with the filler an honest requester adds), digests of 1, 4 and 128
// buckets and heartbeats, all naming a victim socket as their sender, once
// from a stranger's socket and once from the victim's own socket (as a
// forged source address would; -spoof=false leaves that out); the tool then
// counts the bytes each socket got back (the victim's, for both):
//
//	go run ./tools/cmd/hearsay-flood -mode reflect -target 127.0.0.1:7946,127.0.0.1:7947
//
// Distinct senders (-mode senders): the target is sent -senders heartbeats,
// digests and join requests, each naming a sender of its own, from
// -sources source addresses on 127.0.0.0/8; the target's resident memory
// and live heap are read from its /metrics (a hearsay agent's) before the
// flood, right after it and -settle later:
//
//	go run ./tools/cmd/hearsay-flood -mode senders -target 127.0.0.1:7946 \
//	    -senders 300000 -sources 256 -metrics http://127.0.0.1:8946/metrics -settle 2m
//
// It prints one JSON object. Only 127.0.0.0/8 addresses are used.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/shamaton/msgpack/v2"
)

// Message kinds, as std/wire.go numbers them.
const (
	kindHeartbeat   = 1
	kindJoinRequest = 3
	kindDigest      = 5
)

// message is the wire form of a message without records (7 elements), and
// filled the 9-element form with a Cookie (Accusations nil).
type message struct {
	Kind    uint8
	From    string
	FromID  string
	Seq     uint64
	Entries []struct{}
	Digest  []uint64
	Want    []uint32
}

type messageWithCookie struct {
	Kind        uint8
	From        string
	FromID      string
	Seq         uint64
	Entries     []struct{}
	Digest      []uint64
	Want        []uint32
	Accusations []struct{}
	Cookie      []byte
}

// datagram returns the plain datagram of m labelled label, with filler
// bytes in its Cookie when filler > 0.
func datagram(label string, m message, filler int) []byte {
	var body []byte
	var err error
	if filler > 0 {
		body, err = msgpack.MarshalAsArray(messageWithCookie{m.Kind, m.From, m.FromID, m.Seq, nil, m.Digest, nil, nil, make([]byte, filler)})
	} else {
		body, err = msgpack.MarshalAsArray(m)
	}
	if err != nil {
		panic(err) // the types above always encode
	}
	out := append([]byte{'h', 's', 1, byte(len(label))}, label...)
	return append(out, body...)
}

// requests returns what a stranger sends a member, naming from as the
// sender: join requests, digests and heartbeats.
func requests(label, from string, seq uint64) [][]byte {
	var out [][]byte
	out = append(out, datagram(label, message{Kind: kindJoinRequest, From: from, FromID: "stranger", Seq: seq}, 0))
	out = append(out, datagram(label, message{Kind: kindJoinRequest, From: from, FromID: "stranger", Seq: seq + 1}, 64))
	for _, n := range []int{1, 4, 128} {
		out = append(out, datagram(label, message{Kind: kindDigest, From: from, FromID: "stranger", Seq: seq + 2, Digest: make([]uint64, n)}, 0))
		out = append(out, datagram(label, message{Kind: kindDigest, From: from, FromID: "stranger", Seq: seq + 3, Digest: make([]uint64, n)}, 64))
	}
	out = append(out, datagram(label, message{Kind: kindHeartbeat, From: from, FromID: "stranger", Seq: seq + 4, Digest: []uint64{42}}, 0))
	return out
}

// counter is a UDP socket that counts the bytes it sends and receives.
type counter struct {
	conn       *net.UDPConn
	sent, recv int
	datagrams  int
}

func listen(ip netip.Addr) (*counter, error) {
	conn, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, 0)))
	if err != nil {
		return nil, err
	}
	return &counter{conn: conn}, nil
}

func (c *counter) addr() string { return c.conn.LocalAddr().(*net.UDPAddr).AddrPort().String() }

func (c *counter) send(to *net.UDPAddr, b []byte) error {
	n, err := c.conn.WriteToUDP(b, to)
	c.sent += n
	return err
}

// readUntilQuiet reads until nothing has arrived for quiet.
func (c *counter) readUntilQuiet(quiet time.Duration) error {
	buf := make([]byte, 65536)
	for {
		if err := c.conn.SetReadDeadline(time.Now().Add(quiet)); err != nil {
			return err
		}
		n, _, err := c.conn.ReadFromUDP(buf)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return nil
		}
		if err != nil {
			return err
		}
		c.recv += n
		c.datagrams++
	}
}

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "hearsay-flood:", err)
		os.Exit(1)
	}
}

func run(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("hearsay-flood", flag.ContinueOnError)
	var (
		mode    = fs.String("mode", "reflect", "reflect or senders")
		targets = fs.String("target", "", "gossip addresses of the members, IP:PORT[,IP:PORT...] on 127.0.0.0/8")
		label   = fs.String("label", "", "the cluster label")
		senders = fs.Int("senders", 300000, "senders: how many distinct senders")
		sources = fs.Int("sources", 256, "senders: how many source addresses (127.2.0.0/16) they send from")
		rate    = fs.Int("rate", 50000, "senders: datagrams per second")
		metrics = fs.String("metrics", "", "senders: the target's /metrics URL, to read its memory")
		settle  = fs.Duration("settle", 2*time.Minute, "senders: how long after the flood to read the memory again")
		quiet   = fs.Duration("quiet", 2*time.Second, "reflect: stop reading once nothing arrived for this long")
		spoof   = fs.Bool("spoof", true, "reflect: also send the requests from the victim's socket, as a forged source address would")
	)
	if err := fs.Parse(args); err != nil {
		return err
	}
	var to []*net.UDPAddr
	for _, s := range strings.Split(*targets, ",") {
		ap, err := netip.ParseAddrPort(strings.TrimSpace(s))
		if err != nil || !ap.Addr().IsLoopback() {
			return fmt.Errorf("-target %q: want IP:PORT on 127.0.0.0/8", s)
		}
		to = append(to, net.UDPAddrFromAddrPort(ap))
	}
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	switch *mode {
	case "reflect":
		r, err := reflect(to, *label, *quiet, *spoof)
		if err != nil {
			return err
		}
		return enc.Encode(r)
	case "senders":
		r, err := flood(to[0], *label, *senders, *sources, *rate, *metrics, *settle)
		if err != nil {
			return err
		}
		return enc.Encode(r)
	}
	return fmt.Errorf("-mode %q: want reflect or senders", *mode)
}

// reflectReport is what -mode reflect measured.
type reflectReport struct {
	Targets int `json:"targets"`
	// The stranger's socket sent requests naming the victim.
	StrangerSent     int     `json:"stranger_sent_bytes"`
	StrangerReceived int     `json:"stranger_received_bytes"`
	StrangerRatio    float64 `json:"stranger_ratio"`
	// The victim's socket sent the same requests (a forged source), unless
	// -spoof=false; it receives what answers both.
	VictimSent     int     `json:"victim_sent_bytes"`
	VictimReceived int     `json:"victim_received_bytes"`
	VictimRatio    float64 `json:"victim_ratio"`
}

func reflect(to []*net.UDPAddr, label string, quiet time.Duration, spoof bool) (reflectReport, error) {
	lo := netip.MustParseAddr("127.0.0.1")
	stranger, err := listen(lo)
	if err != nil {
		return reflectReport{}, err
	}
	defer stranger.conn.Close()
	victim, err := listen(lo)
	if err != nil {
		return reflectReport{}, err
	}
	defer victim.conn.Close()
	for i, t := range to {
		for _, b := range requests(label, victim.addr(), uint64(10*i+1)) {
			if err := stranger.send(t, b); err != nil {
				return reflectReport{}, err
			}
			if !spoof {
				continue
			}
			if err := victim.send(t, b); err != nil {
				return reflectReport{}, err
			}
		}
	}
	errs := make(chan error, 2)
	go func() { errs <- stranger.readUntilQuiet(quiet) }()
	go func() { errs <- victim.readUntilQuiet(quiet) }()
	if err := errors.Join(<-errs, <-errs); err != nil {
		return reflectReport{}, err
	}
	return reflectReport{
		Targets:      len(to),
		StrangerSent: stranger.sent, StrangerReceived: stranger.recv, StrangerRatio: float64(stranger.recv) / float64(stranger.sent),
		VictimSent: victim.sent, VictimReceived: victim.recv, VictimRatio: float64(victim.recv) / float64(max(1, victim.sent)),
	}, nil
}

// floodReport is what -mode senders measured.
type floodReport struct {
	Senders     int     `json:"senders"`
	Sources     int     `json:"sources"`
	Datagrams   int     `json:"datagrams"`
	Bytes       int     `json:"bytes"`
	Seconds     float64 `json:"seconds"`
	RepliesGot  int     `json:"replies_received"`
	Before      memory  `json:"before"`
	After       memory  `json:"after_flood"`
	Settled     memory  `json:"after_settle"`
	SettleAfter string  `json:"settle"`
}

// memory is what the target's /metrics says about its memory.
type memory struct {
	RSSBytes       float64 `json:"rss_bytes"`
	HeapInuseBytes float64 `json:"heap_inuse_bytes"`
}

func flood(to *net.UDPAddr, label string, senders, sources, rate int, metricsURL string, settle time.Duration) (floodReport, error) {
	r := floodReport{Senders: senders, Sources: sources, SettleAfter: settle.String()}
	var err error
	if r.Before, err = readMemory(metricsURL); err != nil {
		return r, err
	}
	socks := make([]*counter, sources)
	for i := range socks {
		ip := netip.AddrFrom4([4]byte{127, 2, byte(i >> 8), byte(i)})
		if socks[i], err = listen(ip); err != nil {
			return r, fmt.Errorf("bind %s: %w", ip, err)
		}
		defer socks[i].conn.Close()
	}
	start := time.Now()
	for i := range senders {
		// Each sender names itself: an address on 127.1.0.0/16 and a port.
		from := netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 1, byte(i >> 16), byte(i >> 8)}), uint16(1024+i%256)).String()
		var b []byte
		switch i % 4 {
		case 0, 1:
			b = datagram(label, message{Kind: kindHeartbeat, From: from, FromID: "s" + strconv.Itoa(i), Seq: uint64(i + 1), Digest: []uint64{uint64(i)}}, 0)
		case 2:
			b = datagram(label, message{Kind: kindDigest, From: from, FromID: "s" + strconv.Itoa(i), Seq: uint64(i + 1), Digest: []uint64{uint64(i)}}, 64)
		case 3:
			b = datagram(label, message{Kind: kindJoinRequest, From: from, FromID: "s" + strconv.Itoa(i), Seq: uint64(i + 1)}, 64)
		}
		if err := socks[i%sources].send(to, b); err != nil {
			return r, err
		}
		r.Datagrams++
		r.Bytes += len(b)
		if rate > 0 && i%1000 == 999 {
			if ahead := time.Duration(i+1)*time.Second/time.Duration(rate) - time.Since(start); ahead > 0 {
				time.Sleep(ahead)
			}
		}
	}
	r.Seconds = time.Since(start).Seconds()
	for _, s := range socks {
		if err := s.readUntilQuiet(time.Millisecond); err != nil {
			return r, err
		}
		r.RepliesGot += s.datagrams
	}
	if r.After, err = readMemory(metricsURL); err != nil {
		return r, err
	}
	if metricsURL != "" {
		time.Sleep(settle)
	}
	r.Settled, err = readMemory(metricsURL)
	return r, err
}

// readMemory reads process_resident_memory_bytes and
// go_memstats_heap_inuse_bytes from a Prometheus text endpoint; nothing
// when url is empty.
func readMemory(url string) (memory, error) {
	var m memory
	if url == "" {
		return m, nil
	}
	resp, err := http.Get(url)
	if err != nil {
		return m, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 2 {
			continue
		}
		v, err := strconv.ParseFloat(f[1], 64)
		if err != nil {
			continue
		}
		switch f[0] {
		case "process_resident_memory_bytes":
			m.RSSBytes = v
		case "go_memstats_heap_inuse_bytes":
			m.HeapInuseBytes = v
		}
	}
	return m, sc.Err()
}
