package core

import (
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"
)

// validConfig returns preset p with the identity fields filled in.
func validConfig(p func() Config) Config {
	c := p()
	c.NodeID, c.Authority, c.Rand = "node-1", "10.0.0.1:7946", rand.New(rand.NewPCG(1, 2))
	return c
}

var presets = map[string]func() Config{"lan": DefaultLANConfig, "wan": DefaultWANConfig, "local": DefaultLocalConfig}

func TestPresetsValidate(t *testing.T) {
	for name, p := range presets {
		c := validConfig(p)
		if err := c.Validate(); err != nil {
			t.Errorf("%s: Validate = %v, want nil", name, err)
		}
		// The presets leave identity to the caller.
		raw := p()
		if raw.NodeID != "" || raw.Authority != "" || raw.Rand != nil {
			t.Errorf("%s: preset sets identity fields", name)
		}
		// A phiConfig and a tableConfig built from a valid Config are valid.
		if err := phiConfigFrom(c).Validate(); err != nil {
			t.Errorf("%s: PhiConfigFrom(...).Validate = %v", name, err)
		}
	}
	// WAN is slower and more tolerant than LAN, Local faster.
	lan, wan, local := DefaultLANConfig(), DefaultWANConfig(), DefaultLocalConfig()
	if !(wan.HeartbeatInterval > lan.HeartbeatInterval && lan.HeartbeatInterval > local.HeartbeatInterval) {
		t.Errorf("heartbeat intervals wan %v lan %v local %v, want decreasing", wan.HeartbeatInterval, lan.HeartbeatInterval, local.HeartbeatInterval)
	}
	if !(wan.SuspicionMaxTimeout > lan.SuspicionMaxTimeout && lan.SuspicionMaxTimeout > local.SuspicionMaxTimeout) {
		t.Errorf("suspicion timeouts wan %v lan %v local %v, want decreasing", wan.SuspicionMaxTimeout, lan.SuspicionMaxTimeout, local.SuspicionMaxTimeout)
	}
}

// TestValidateEveryDurationAndCount sets every time.Duration and int field of
// Config, found by reflection so that a new field is covered too, to zero and
// to a negative value, and expects an ErrInvalidConfig naming the field.
func TestValidateEveryDurationAndCount(t *testing.T) {
	durationType := reflect.TypeFor[time.Duration]()
	typ := reflect.TypeFor[Config]()
	var checked int
	for i := range typ.NumField() {
		f := typ.Field(i)
		if f.Type != durationType && f.Type.Kind() != reflect.Int {
			continue
		}
		for _, v := range []int64{0, -1, math.MinInt64} {
			for name, p := range presets {
				c := validConfig(p)
				reflect.ValueOf(&c).Elem().Field(i).SetInt(v)
				err := c.Validate()
				if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), f.Name) {
					t.Errorf("%s: %s = %d: err = %v, want ErrInvalidConfig naming %s", name, f.Name, v, err, f.Name)
				}
			}
		}
		checked++
	}
	if checked < 20 {
		t.Errorf("only %d duration and count fields checked; did the Config change shape?", checked)
	}
}

func TestValidateRejects(t *testing.T) {
	tests := []struct {
		field string
		mut   func(*Config)
	}{
		{"NodeID", func(c *Config) { c.NodeID = "" }},
		{"Authority", func(c *Config) { c.Authority = "" }},
		{"Rand", func(c *Config) { c.Rand = nil }},
		{"PhiThreshold", func(c *Config) { c.PhiThreshold = 0 }},
		{"PhiThreshold", func(c *Config) { c.PhiThreshold = -1 }},
		{"PhiThreshold", func(c *Config) { c.PhiThreshold = math.NaN() }},
		{"PhiThreshold", func(c *Config) { c.PhiThreshold = math.Inf(-1) }},
		{"PhiThreshold", func(c *Config) { c.PhiThreshold = math.Inf(1) }}, // would never suspect
		{"Meta", func(c *Config) { c.Meta = make([]byte, c.MaxMetadataBytes+1) }},
		{"SuspicionMaxTimeout", func(c *Config) { c.SuspicionMaxTimeout = c.SuspicionMinTimeout - 1 }},
		{"MaxMessageBytes", func(c *Config) { c.MaxMessageBytes = minMessageBytes - 1 }},
		{"MaxMessageBytes", func(c *Config) { c.MaxMessageBytes = minMessageBytes; c.Meta = make([]byte, c.MaxMetadataBytes) }},
		{"TombstoneRetention", func(c *Config) { c.TombstoneRetention = c.QuarantineTTL - 1 }},
		{"ReconnectTimeout", func(c *Config) { c.ReconnectTimeout = c.TombstoneRetention - 1 }},
	}
	for _, tt := range tests {
		for name, p := range presets {
			c := validConfig(p)
			tt.mut(&c)
			err := c.Validate()
			if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), tt.field) {
				t.Errorf("%s, bad %s: err = %v, want ErrInvalidConfig naming %s", name, tt.field, err, tt.field)
			}
		}
	}
}

func TestValidateAcceptsEdges(t *testing.T) {
	tests := []struct {
		name string
		mut  func(*Config)
	}{
		{"meta at the limit", func(c *Config) { c.Meta = make([]byte, c.MaxMetadataBytes) }},
		{"min == max suspicion timeout", func(c *Config) { c.SuspicionMaxTimeout = c.SuspicionMinTimeout }},
		{"retention == quarantine TTL", func(c *Config) { c.TombstoneRetention = c.QuarantineTTL }},
		{"reconnect timeout == retention", func(c *Config) { c.ReconnectTimeout = c.TombstoneRetention }},
		{"smallest message size", func(c *Config) { c.MaxMessageBytes = minMessageBytes }},
		{"tiny phi threshold", func(c *Config) { c.PhiThreshold = 1e-9 }},
	}
	for _, tt := range tests {
		c := validConfig(DefaultLANConfig)
		tt.mut(&c)
		if err := c.Validate(); err != nil {
			t.Errorf("%s: Validate = %v, want nil", tt.name, err)
		}
	}
}
