package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
)

// sseMessage is one message of a Server-Sent Events stream.
type sseMessage struct {
	// ID is the message's id field.
	ID string
	// Event is its type: "member", "dropped", "shutdown" on /v1/events;
	// "message" when the stream names none.
	Event string
	// Data is its data, lines joined by "\n".
	Data string
}

// maxSSELine bounds one line of a stream: a member event carries at most
// the record's metadata, which the wire bounds far below this.
const maxSSELine = 1 << 20

// sseReader reads the messages of a Server-Sent Events stream, such as
// /v1/events, as the HTML standard defines them.
type sseReader struct {
	sc *bufio.Scanner
}

// newSSEReader reads messages from r.
func newSSEReader(r io.Reader) *sseReader {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxSSELine)
	return &sseReader{sc: sc}
}

// Next returns the next message with data, skipping comments, fields other
// than id, event and data, and messages without data. ID is the message's
// own id field, "" when it has none. At the end of the stream it returns
// io.EOF; a message cut off by the end is dropped, as browsers do.
func (r *sseReader) Next() (sseMessage, error) {
	var m sseMessage
	var data []string
	hasData := false
	for r.sc.Scan() {
		line := r.sc.Text()
		if line == "" {
			if hasData {
				if m.Event == "" {
					m.Event = "message"
				}
				m.Data = strings.Join(data, "\n")
				return m, nil
			}
			m, data = sseMessage{}, nil
			continue
		}
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "": // a comment
		case "id":
			m.ID = value
		case "event":
			m.Event = value
		case "data":
			data, hasData = append(data, value), true
		}
	}
	if err := r.sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return sseMessage{}, fmt.Errorf("event stream: a line is longer than %d bytes", maxSSELine)
		}
		return sseMessage{}, fmt.Errorf("event stream: %w", err)
	}
	return sseMessage{}, io.EOF
}
