package main

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/hearsay-go/hearsay/core"
)

// settings collects the -set flags: Field=value pairs that override fields
// of the chosen preset, so that a variant of a preset can be measured with
// one command.
type settings []string

func (s *settings) String() string { return strings.Join(*s, " ") }

// Set takes one Field=value pair; it is checked by apply.
func (s *settings) Set(v string) error {
	if !strings.Contains(v, "=") {
		return fmt.Errorf("want Field=value, got %q", v)
	}
	*s = append(*s, v)
	return nil
}

// apply sets each named field of cfg: durations as Go durations (500ms),
// counts as integers, thresholds as numbers, switches as true or false.
// Only the timing, count, size and switch fields of core.Config can be set;
// identity and randomness are the simulator's.
func (s settings) apply(cfg *core.Config) error {
	v := reflect.ValueOf(cfg).Elem()
	for _, kv := range s {
		name, val, _ := strings.Cut(kv, "=")
		f, ok := v.Type().FieldByName(name)
		if !ok || !f.IsExported() {
			return fmt.Errorf("-set %s: core.Config has no field %s", kv, name)
		}
		field := v.FieldByIndex(f.Index)
		switch {
		case f.Type == reflect.TypeFor[time.Duration]():
			d, err := time.ParseDuration(val)
			if err != nil {
				return fmt.Errorf("-set %s: %w", kv, err)
			}
			field.SetInt(int64(d))
		case f.Type.Kind() == reflect.Int:
			n, err := strconv.Atoi(val)
			if err != nil {
				return fmt.Errorf("-set %s: %w", kv, err)
			}
			field.SetInt(int64(n))
		case f.Type.Kind() == reflect.Bool:
			b, err := strconv.ParseBool(val)
			if err != nil {
				return fmt.Errorf("-set %s: %w", kv, err)
			}
			field.SetBool(b)
		case f.Type.Kind() == reflect.Float64:
			x, err := strconv.ParseFloat(val, 64)
			if err != nil {
				return fmt.Errorf("-set %s: %w", kv, err)
			}
			field.SetFloat(x)
		default:
			return fmt.Errorf("-set %s: %s cannot be set from the command line", kv, name)
		}
	}
	if len(s) == 0 {
		return nil
	}
	check := *cfg
	check.NodeID, check.Authority, check.Rand = "check", "10.0.0.1:7946", rand.New(rand.NewPCG(1, 1))
	if err := check.Validate(); err != nil {
		return fmt.Errorf("-set %s: %w", s.String(), err)
	}
	return nil
}
