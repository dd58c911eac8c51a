package core_test

import (
	"testing"
	"time"

	"github.com/hearsay-go/hearsay/core"
	"github.com/hearsay-go/hearsay/core/sim"
)

const (
	victim   = "192.0.2.1:7946"  // an address that never sent anything
	attacker = "192.0.2.66:4000" // where the requests really come from
)

// filler is what an honest requester without a cookie adds to its request
// so that the cookie challenge answering it is no larger than it.
var filler = make([]byte, 64)

// strangerRequests are the requests a stranger can send a member: a join
// request and a digest (each answered in full with the view, or the records
// of every bucket, if answered at all), and a heartbeat whose table hash
// differs from everyone's (which could start an anti-entropy exchange); the
// join request and the digest both bare and with filler. Each names from as
// its sender.
func strangerRequests(from string, buckets int) []core.Message {
	return []core.Message{
		{Kind: core.MessageJoinRequest, From: from, FromID: "x", Seq: 1},
		{Kind: core.MessageJoinRequest, From: from, FromID: "x", Seq: 2, Cookie: filler},
		{Kind: core.MessageDigest, From: from, FromID: "x", Seq: 3, Digest: make([]uint64, buckets)},
		{Kind: core.MessageDigest, From: from, FromID: "x", Seq: 4, Digest: make([]uint64, buckets), Cookie: filler},
		{Kind: core.MessageHeartbeat, From: from, FromID: "x", Seq: 5, Digest: []uint64{42}},
	}
}

// A stranger's requests make a 20-member cluster send no more to any address
// than was sent from it: requests sent from the victim's address (spoofed)
// reflect at most their own size to it, and requests naming the victim as
// their sender but sent from the attacker's address are answered at the
// attacker's address, never at the victim's. Whatever the cluster sends to
// either address afterwards (gossip, probes) counts too.
func TestRequestsAreNeitherReflectedNorAmplified(t *testing.T) {
	sentTo := map[string]int{}
	counting := false
	o := sim.Options{Nodes: 20, Seed: 5}
	o.OnOutcome = func(_ int, out core.Outcome) {
		if counting {
			for _, m := range out.Outbound {
				sentTo[m.Target] += core.EstimateSize(m.Message)
			}
		}
	}
	c := settled(t, o)
	counting = true
	sentFrom := map[string]int{}
	for i := range c.Len() {
		buckets, _, _ := c.Coordinator(i).DigestBuckets()
		for _, source := range []string{victim, attacker} {
			for _, m := range strangerRequests(victim, buckets) {
				sentFrom[source] += core.EstimateSize(m)
				_ = c.Inject(i, core.GossipInbound{Source: source, Message: m}) // some are refused
			}
		}
		c.Run(c.Tick())
	}
	c.Run(30 * time.Second)
	t.Logf("sent from the victim's address %d bytes, to it %d; from the attacker's %d, to it %d",
		sentFrom[victim], sentTo[victim], sentFrom[attacker], sentTo[attacker])
	for _, addr := range []string{victim, attacker} {
		if sentTo[addr] > sentFrom[addr] {
			t.Errorf("the cluster sent %s %d bytes for requests of %d bytes from it", addr, sentTo[addr], sentFrom[addr])
		}
	}
	if sentTo[attacker] == 0 {
		t.Error("nothing answered the requests at their source: the test tests nothing")
	}
	if !c.Converged() {
		t.Error("the cluster did not stay converged")
	}
}

// The requester that repeats its request with the cookie it was given gets
// the full answer, at its source; the same request replayed from that
// address is not answered in full again, and neither is a second request
// within the per-source interval.
func TestCookieUnlocksTheFullAnswerOnce(t *testing.T) {
	c := settled(t, sim.Options{Nodes: 20, Seed: 7})
	seed := c.Coordinator(0)
	ask := func(m core.Message) core.Outcome {
		o, err := seed.HandleGossip(c.NodeNow(0), core.GossipInbound{Source: attacker, Message: m})
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	join := core.Message{Kind: core.MessageJoinRequest, From: attacker, FromID: "newcomer", Seq: 77, Cookie: filler}
	o := ask(join)
	if len(o.Outbound) != 1 || o.Outbound[0].Message.Kind != core.MessageCookie || o.Outbound[0].Target != attacker {
		t.Fatalf("a join request without a cookie: want one cookie challenge to %s, got %+v", attacker, o.Outbound)
	}
	if got, limit := core.EstimateSize(o.Outbound[0].Message), core.EstimateSize(join); got > limit {
		t.Fatalf("the challenge is %d bytes, over the request's %d", got, limit)
	}
	join.Cookie = o.Outbound[0].Message.Cookie

	o = ask(join)
	records := 0
	for _, out := range o.Outbound {
		if out.Message.Kind != core.MessageJoinReply || out.Target != attacker {
			t.Fatalf("a join request with its cookie: want join replies to %s, got a %s to %s", attacker, out.Message.Kind, out.Target)
		}
		records += len(out.Message.Entries)
	}
	if records != 20 {
		t.Fatalf("the full answer holds %d records, want the 20 members", records)
	}

	limited := seed.Stats().RepliesLimited
	for range 1000 {
		if o := ask(join); len(o.Outbound) != 0 {
			t.Fatalf("a replayed join request was answered: %+v", o.Outbound)
		}
	}
	join.Seq = 78 // a new request, too soon
	if o := ask(join); len(o.Outbound) != 0 {
		t.Fatalf("a second join request within the per-source interval was answered: %+v", o.Outbound)
	}
	if got := seed.Stats().RepliesLimited - limited; got != 1001 {
		t.Errorf("RepliesLimited grew by %d, want 1001", got)
	}
	c.Run(c.Config().JoinRetryInterval)
	join.Seq = 79
	if o := ask(join); len(o.Outbound) == 0 || o.Outbound[0].Message.Kind != core.MessageJoinReply {
		t.Fatalf("a new join request after the per-source interval: want the view, got %+v", o.Outbound)
	}
}

// A cookie is bound to the address it was given to: presented from another
// address it is refused (and the other address challenged); it is accepted
// for one to two cookie epochs, and not after.
func TestCookieIsBoundToItsAddressAndExpires(t *testing.T) {
	c := settled(t, sim.Options{Nodes: 3, Seed: 9})
	seed := c.Coordinator(0)
	buckets, _, _ := seed.DigestBuckets()
	// A node ID as long as the members' (16 hex digits), as the challenge
	// names the member's.
	digest := core.Message{Kind: core.MessageDigest, From: attacker, FromID: "00000000000000aa", Seq: 5, Digest: make([]uint64, buckets), Cookie: filler}
	for i := range digest.Digest {
		digest.Digest[i] = ^uint64(0) // nine bytes each: room for a challenge without filler
	}
	handle := func(source string) core.Outcome {
		o, _ := seed.HandleGossip(c.NodeNow(0), core.GossipInbound{Source: source, Message: digest})
		return o
	}
	o := handle(attacker)
	if len(o.Outbound) != 1 || o.Outbound[0].Message.Kind != core.MessageCookie {
		t.Fatalf("want a cookie challenge, got %+v", o.Outbound)
	}
	digest.Cookie = o.Outbound[0].Message.Cookie

	answered := func(o core.Outcome, to string) bool {
		return len(o.Outbound) > 0 && o.Outbound[0].Message.Kind == core.MessageDigestReply && o.Outbound[0].Target == to
	}
	digest.Seq = 6
	o = handle(victim)
	if len(o.Outbound) != 1 || o.Outbound[0].Message.Kind != core.MessageCookie || o.Outbound[0].Target != victim {
		t.Fatalf("a cookie presented from another address: want a challenge to that address, got %+v", o.Outbound)
	}
	digest.Seq = 7
	if o = handle(attacker); !answered(o, attacker) {
		t.Fatalf("the cookie was refused at its own address: %+v", o.Outbound)
	}

	period := seed.CookiePeriod()
	c.Run(period) // one epoch later: still accepted (the previous epoch's)
	digest.Seq = 8
	if o = handle(attacker); !answered(o, attacker) {
		t.Fatalf("the cookie was refused within its second epoch: %+v", o.Outbound)
	}
	if fresh := o.Outbound[0].Message.Cookie; len(fresh) != core.CookieBytes {
		t.Errorf("the answer to a cookie of the previous epoch carries no fresh cookie")
	}
	c.Run(period) // two epochs later: refused
	digest.Seq = 9
	o = handle(attacker)
	if len(o.Outbound) != 1 || o.Outbound[0].Message.Kind != core.MessageCookie {
		t.Fatalf("an expired cookie: want a new challenge, got %+v", o.Outbound)
	}
}

// Members validate one another as a side effect of anti-entropy: a digest
// carries the cookie its peer gave the sender, a digest reply carries a
// fresh one when the one presented is about to expire, and between members
// whose views agree the whole answer is smaller than the digest (and carries
// a cookie). Over ten minutes of a 20-member cluster in which a member
// crashes and another joins, every digest is answered or challenged, few are
// challenged, and no reply limit is hit.
func TestMembersValidateEachOtherInPassing(t *testing.T) {
	c := settled(t, sim.Options{Nodes: 20, Seed: 13})
	var before, after core.CoordinatorStats
	sum := func(s *core.CoordinatorStats) {
		*s = core.CoordinatorStats{}
		for i := range c.Len() {
			coord := c.Coordinator(i)
			if coord == nil {
				continue // not started yet
			}
			st := coord.Stats()
			s.AntiEntropyRounds += st.AntiEntropyRounds
			s.DigestsServed += st.DigestsServed
			s.CookieChallenges += st.CookieChallenges
			s.RepliesLimited += st.RepliesLimited
			s.RepliesWithheld += st.RepliesWithheld
		}
	}
	sum(&before)
	c.Run(2 * time.Minute)
	c.Crash(19)
	c.Run(2 * time.Minute)
	joiner, err := c.AddNode()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Join(joiner, 3); err != nil {
		t.Fatal(err)
	}
	c.Run(6 * time.Minute)
	sum(&after)
	rounds := after.AntiEntropyRounds - before.AntiEntropyRounds
	served := after.DigestsServed - before.DigestsServed
	challenges := after.CookieChallenges - before.CookieChallenges
	t.Logf("10 min, 20 members, a crash and a join: %d digests sent, %d answered, %d challenges, %d replies limited, %d withheld",
		rounds, served, challenges, after.RepliesLimited-before.RepliesLimited, after.RepliesWithheld-before.RepliesWithheld)
	// A few digests go to the crashed member, and one may be in flight at
	// either end of the count.
	if lost := int64(rounds) - int64(served) - int64(challenges); lost > int64(rounds)/100 {
		t.Errorf("%d digests were neither answered nor challenged (of %d)", lost, rounds)
	}
	if challenges*10 > rounds {
		t.Errorf("%d challenges for %d digests: members do not keep one another's cookies", challenges, rounds)
	}
	if after.RepliesLimited != before.RepliesLimited {
		t.Errorf("the cluster hit a reply limit %d times", after.RepliesLimited-before.RepliesLimited)
	}
	if !c.Converged() {
		t.Error("the cluster did not converge")
	}
}
