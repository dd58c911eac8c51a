package std_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/hearsay-go/hearsay/core"
	"github.com/hearsay-go/hearsay/std"
)

// startPair starts nodes a and b on loopback with one shared key, b
// joining a, and waits until b has joined.
func startPair(ctx context.Context) (a, b *std.Node) {
	key := make([]byte, std.KeySize) // in production: 32 random bytes, shared by every node
	keyring, err := std.NewKeyring(key)
	if err != nil {
		log.Fatal(err)
	}
	config := func(id string, seeds ...string) std.Config {
		cfg := std.DefaultConfig()
		cfg.Core = core.DefaultLocalConfig()
		cfg.Core.NodeID = id
		cfg.Transport.BindAddr = "127.0.0.1:0"
		cfg.Transport.Keyring = keyring // user messages are sealed like the rest
		cfg.Seeds = seeds
		return cfg
	}
	if a, err = std.Start(ctx, config("a")); err != nil {
		log.Fatal(err)
	}
	if b, err = std.Start(ctx, config("b", a.Addr())); err != nil {
		log.Fatal(err)
	}
	if err := b.Join(ctx); err != nil {
		log.Fatal(err)
	}
	waitFor(ctx, a, b.Addr(), core.StatusUp)
	return a, b
}

// nextMessage returns the next user message of events, or nil when ctx
// ends first.
func nextMessage(ctx context.Context, events <-chan core.Event) *core.UserMessage {
	for {
		select {
		case e := <-events:
			if e.User != nil {
				return e.User
			}
		case <-ctx.Done():
			return nil
		}
	}
}

// A direct message to one member and a broadcast to all; the receiver's
// subscription delivers both (Seq is 0 for a direct message).
func ExampleNode_Broadcast() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a, b := startPair(ctx)
	defer a.Close()
	defer b.Close()
	events, stop := b.Subscribe()
	defer stop()

	if err := a.SendTo(ctx, b.Addr(), []byte("hello b")); err != nil {
		log.Fatal(err)
	}
	if m := nextMessage(ctx, events); m != nil {
		fmt.Printf("direct from %s (seq %d): %s\n", m.FromID, m.Seq, m.Payload)
	}
	if err := a.Broadcast(ctx, []byte("cache flush")); err != nil {
		log.Fatal(err)
	}
	if m := nextMessage(ctx, events); m != nil {
		fmt.Printf("broadcast from %s (seq set: %v): %s\n", m.FromID, m.Seq != 0, m.Payload)
	}
	// Output:
	// direct from a (seq 0): hello b
	// broadcast from a (seq set: true): cache flush
}

// A node changes its metadata at runtime; the other members get an update
// event (From == To) with the new record.
func ExampleNode_SetMeta() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a, b := startPair(ctx)
	defer a.Close()
	defer b.Close()
	events, stop := a.Subscribe()
	defer stop()

	if err := b.SetMeta(ctx, []byte("role=db")); err != nil {
		log.Fatal(err)
	}
	for {
		select {
		case e := <-events:
			if m := e.Member; m != nil && m.Record.NodeID == "b" && m.From == m.To {
				fmt.Printf("%s is still %s, metadata %q\n", m.Record.NodeID, m.To, m.Record.Meta)
				return
			}
		case <-ctx.Done():
			log.Fatal(ctx.Err())
		}
	}
	// Output:
	// b is still up, metadata "role=db"
}
