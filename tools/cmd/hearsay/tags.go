package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/hearsay-go/hearsay/core"
	"github.com/hearsay-go/hearsay/std"
)

// A running agent's tags change through PUT (or POST) /v1/tags, which
// `hearsay tags -set KEY=VALUE -delete KEY` calls, as serf tags does. The
// node publishes its new metadata (std.Node.SetMeta): it is gossiped like
// any change, every member reports an "update" event, and members,
// /v1/members and the live page show the new tags.

// tagChange is the body of PUT /v1/tags: tags to set (added or replaced)
// and keys to delete (a key the agent does not have is ignored).
type tagChange struct {
	Set    map[string]string `json:"set"`
	Delete []string          `json:"delete"`
}

// errBadTags: a tag change the agent refuses (HTTP 400).
var errBadTags = errors.New("bad tag change")

// apply returns tags changed by c, after checking c as --tag checks its
// pairs; tags is not modified.
func (c tagChange) apply(tags map[string]string) (map[string]string, error) {
	if len(c.Set) == 0 && len(c.Delete) == 0 {
		return nil, fmt.Errorf("%w: nothing to set or delete", errBadTags)
	}
	out := make(map[string]string, len(tags)+len(c.Set))
	for k, v := range tags {
		out[k] = v
	}
	for _, k := range c.Delete {
		if err := checkChangedKey(k); err != nil {
			return nil, err
		}
		if _, both := c.Set[k]; both {
			return nil, fmt.Errorf("%w: tag %q is both set and deleted", errBadTags, k)
		}
		delete(out, k)
	}
	for k, v := range c.Set {
		if err := checkChangedKey(k); err != nil {
			return nil, err
		}
		if err := checkText("value of tag "+k, v); err != nil {
			return nil, fmt.Errorf("%w: %v", errBadTags, err)
		}
		out[k] = v
	}
	return out, nil
}

// checkChangedKey accepts what --tag accepts as a key.
func checkChangedKey(k string) error {
	if k == metaNameKey {
		return fmt.Errorf("%w: the key %q is the agent's --name, not a tag", errBadTags, metaNameKey)
	}
	if err := checkTagKey(k); err != nil {
		return fmt.Errorf("%w: %v", errBadTags, err)
	}
	return nil
}

// tagSetter is a Source whose tags change at runtime (the agent's node).
type tagSetter interface {
	// SetTags applies c to the node's tags, publishes them and returns the
	// node's record with the new metadata.
	SetTags(ctx context.Context, c tagChange) (core.NodeRecord, error)
}

// maxTagChangeBytes bounds the body of PUT /v1/tags: the metadata it makes
// is at most 512 bytes anyway.
const maxTagChangeBytes = 16 << 10

// tagsHandler serves PUT and POST /v1/tags. The body must be JSON and say
// so (Content-Type: application/json): a web page of another origin cannot
// send that without the browser asking the agent first (a CORS preflight),
// which the agent never allows, so a page the operator visits cannot
// change the tags.
func tagsHandler(ts tagSetter, logger *slog.Logger) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
			http.Error(w, "the body must be JSON, sent as Content-Type: application/json", http.StatusUnsupportedMediaType)
			return
		}
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxTagChangeBytes))
		dec.DisallowUnknownFields()
		var c tagChange
		if err := dec.Decode(&c); err != nil {
			http.Error(w, `want {"set":{"KEY":"VALUE",...},"delete":["KEY",...]}: `+err.Error(), http.StatusBadRequest)
			return
		}
		rec, err := ts.SetTags(r.Context(), c)
		if err != nil {
			code := http.StatusServiceUnavailable
			switch {
			case errors.Is(err, errBadTags), errors.Is(err, core.ErrInvalidRecord):
				code = http.StatusBadRequest
			case errors.Is(err, core.ErrInvalidState):
				code = http.StatusConflict
			}
			http.Error(w, "tags: "+err.Error(), code)
			return
		}
		_, tags, _ := decodeNodeMeta(rec.Meta)
		logger.Info("tags changed", "tags", formatTags(tags), "incarnation", rec.Incarnation)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		if err := json.NewEncoder(w).Encode(toMember(rec)); err != nil {
			logger.Debug("write response", "err", err)
		}
	}
}

// --- hearsay tags ---

type tagsOptions struct {
	http    string
	timeout time.Duration
	change  tagChange
}

const tagsUsage = `usage: hearsay tags [--http HOST:PORT] [-set KEY=VALUE ...] [-delete KEY ...]

Changes the tags a running agent publishes, like serf tags: -set adds or
replaces a tag, -delete removes one (both repeatable). The agent gossips its
new metadata; every member reports an "update" event and shows the new
tags (members, /v1/members, the live page). The same checks as --tag apply
(the key "name" is the agent's --name, not a tag; at most the preset's
metadata bytes in all). Prints the agent's tags after the change, one
KEY=VALUE a line; with neither -set nor -delete, prints them unchanged.

Flags:
`

// tagDeletes is the repeatable -delete KEY.
type tagDeletes []string

func (d *tagDeletes) String() string { return strings.Join(*d, ",") }

func (d *tagDeletes) Set(k string) error {
	if err := checkChangedKey(k); err != nil {
		return err
	}
	*d = append(*d, k)
	return nil
}

func parseTagsFlags(args []string, stderr io.Writer) (tagsOptions, error) {
	o := tagsOptions{change: tagChange{Set: tagFlag{}}}
	var del tagDeletes
	fs := clientFlagSet("tags", tagsUsage, stderr, &o.http)
	fs.DurationVar(&o.timeout, "timeout", 5*time.Second, "how long to wait for the agent")
	fs.Var(tagFlag(o.change.Set), "set", "KEY=VALUE to add or replace (repeatable)")
	fs.Var(&del, "delete", "KEY to remove (repeatable)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	o.change.Delete = del
	if fs.NArg() > 0 {
		return o, usagef("tags: unexpected argument %q", fs.Arg(0))
	}
	if err := checkHostPort("--http", o.http); err != nil {
		return o, err
	}
	if o.timeout <= 0 {
		return o, usagef("tags: --timeout must be > 0, got %v", o.timeout)
	}
	for _, k := range o.change.Delete {
		if _, both := o.change.Set[k]; both {
			return o, usagef("tags: %q is both in -set and in -delete", k)
		}
	}
	return o, nil
}

// runTags applies o's change to the agent's tags (or reads them, with no
// change) and prints them.
func runTags(ctx context.Context, o tagsOptions, stdout io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	method, path, body := http.MethodGet, "/v1/self", ""
	if len(o.change.Set) > 0 || len(o.change.Delete) > 0 {
		b, err := json.Marshal(o.change)
		if err != nil {
			return err
		}
		method, path, body = http.MethodPut, "/v1/tags", string(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://"+o.http+path, strings.NewReader(body))
	if err != nil {
		return err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("%s %s: %s: %s", method, req.URL, resp.Status, printable(strings.TrimSpace(string(msg))))
	}
	var m Member
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		return fmt.Errorf("%s %s: decode: %w", method, req.URL, err)
	}
	keys := make([]string, 0, len(m.Tags))
	for k := range m.Tags {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if _, err := fmt.Fprintln(stdout, printable(k+"="+m.Tags[k])); err != nil {
			return err
		}
	}
	return nil
}

// SetTags applies c to the agent's tags and publishes them with its name
// (one change at a time: the new metadata is built from the last one
// published).
func (s *stdNode) SetTags(ctx context.Context, c tagChange) (core.NodeRecord, error) {
	s.tagsMu.Lock()
	defer s.tagsMu.Unlock()
	tags, err := c.apply(s.tags)
	if err != nil {
		return core.NodeRecord{}, err
	}
	meta := encodeNodeMeta(s.name, tags)
	if len(meta) > s.metaLimit {
		return core.NodeRecord{}, fmt.Errorf("%w: the name and tags take %d bytes of metadata (URL-encoded), over the limit of %d",
			errBadTags, len(meta), s.metaLimit)
	}
	if err := s.Node.SetMeta(ctx, meta); err != nil {
		if errors.Is(err, std.ErrNotRunning) {
			return core.NodeRecord{}, fmt.Errorf("the node is not running: %w", err)
		}
		return core.NodeRecord{}, err
	}
	s.tags = tags
	return s.LocalNode(), nil
}
