package main

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The agent publishes its --name and its --tag pairs in its record's
// metadata, the only free-form field a record carries to every member.
//
// Encoding: URL query encoding (application/x-www-form-urlencoded, what
// net/url's Values.Encode writes and a browser's URLSearchParams reads),
// keys in byte order, each key once. The key "name" holds --name; every
// other key is a tag. An agent named web-1 with --tag role=db --tag
// zone=eu-1 publishes
//
//	name=web-1&role=db&zone=eu-1
//
// The whole encoding must fit the preset's MaxMetadataBytes (512 bytes in
// every preset), which --name and --tag are checked against at start.
//
// Metadata that does not decode this way (a node of another program that
// puts something else there) is shown raw, with no name and no tags.

// metaNameKey is the metadata key that holds the agent's --name.
const metaNameKey = "name"

// encodeNodeMeta returns the metadata an agent named name with tags
// publishes.
func encodeNodeMeta(name string, tags map[string]string) []byte {
	v := make(url.Values, len(tags)+1)
	for k, val := range tags {
		v.Set(k, val)
	}
	v.Set(metaNameKey, name)
	return []byte(v.Encode())
}

// decodeNodeMeta reads metadata written by encodeNodeMeta: the name (empty
// when there is none) and the tags (never nil). ok is false, with no name
// and no tags, for metadata in another format: not valid UTF-8, not a URL
// query, a key given twice or a key that --tag would refuse.
func decodeNodeMeta(meta []byte) (name string, tags map[string]string, ok bool) {
	tags = map[string]string{}
	if !utf8.Valid(meta) {
		return "", tags, false
	}
	v, err := url.ParseQuery(string(meta))
	if err != nil {
		return "", map[string]string{}, false
	}
	for k, vals := range v {
		if len(vals) != 1 || (k != metaNameKey && checkTagKey(k) != nil) || !utf8.ValidString(vals[0]) {
			return "", map[string]string{}, false
		}
		if k == metaNameKey {
			name = vals[0]
			continue
		}
		tags[k] = vals[0]
	}
	return name, tags, true
}

// tagFlag is the repeatable --tag key=value.
type tagFlag map[string]string

func (t tagFlag) String() string {
	return formatTags(t)
}

func (t tagFlag) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok {
		return fmt.Errorf("want key=value, got %q", s)
	}
	if k == metaNameKey {
		return fmt.Errorf("the key %q is reserved for --name", metaNameKey)
	}
	if err := checkTagKey(k); err != nil {
		return err
	}
	if err := checkText("value of tag "+k, v); err != nil {
		return err
	}
	if _, dup := t[k]; dup {
		return fmt.Errorf("tag %q given twice", k)
	}
	t[k] = v
	return nil
}

// checkTagKey accepts keys of ASCII letters, digits and . _ - : / (as in
// role, zone or app.example.com/tier).
func checkTagKey(k string) error {
	if k == "" {
		return fmt.Errorf("empty tag key")
	}
	for _, r := range k {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._-:/", r)) {
			return fmt.Errorf("tag key %q: only ASCII letters, digits and . _ - : / are allowed", k)
		}
	}
	return nil
}

// checkText refuses text that would not print as itself: invalid UTF-8,
// control and format characters (terminal escapes, bidirectional
// overrides).
func checkText(what, s string) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("%s is not valid UTF-8", what)
	}
	for _, r := range s {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return fmt.Errorf("%s %q holds the control character %U", what, s, r)
		}
	}
	return nil
}

// formatTags writes tags as key=value pairs in key order, separated by
// commas, as serf members does.
func formatTags(tags map[string]string) string {
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(k + "=" + tags[k])
	}
	return b.String()
}
