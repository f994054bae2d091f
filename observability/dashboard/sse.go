package dashboard

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
)

// maxEventBytes bounds one server-sent event read from a target: a line,
// and all the data lines of one event together.
const maxEventBytes = 1 << 20

// errEventTooLarge is returned by sseReader.next for an event of more than
// maxEventBytes.
var errEventTooLarge = fmt.Errorf("dashboard: a server-sent event is larger than %d bytes", maxEventBytes)

// sseEvent is one server-sent event: its type ("message" when the stream
// names none) and its data, the data lines joined by "\n".
type sseEvent struct {
	name string
	data string
}

// sseReader reads the server-sent events of a text/event-stream body, as
// the HTML standard's parsing rules say: lines end with "\r\n", "\n" or
// "\r"; a line starting with ":" is a comment; a field's value loses one
// leading space; a blank line ends an event, which is dropped when it has
// no data; an event the stream ends in the middle of is dropped. The
// "id" and "retry" fields are ignored. It is not safe for concurrent use.
type sseReader struct {
	sc *bufio.Scanner
}

func newSSEReader(r io.Reader) *sseReader {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxEventBytes)
	sc.Split(scanLines)
	return &sseReader{sc: sc}
}

// scanLines splits at "\r\n", "\n" or a lone "\r".
func scanLines(data []byte, atEOF bool) (int, []byte, error) {
	i := bytes.IndexAny(data, "\r\n")
	switch {
	case i < 0 && atEOF && len(data) > 0:
		return len(data), data, nil
	case i < 0:
		return 0, nil, nil
	case data[i] == '\n':
		return i + 1, data[:i], nil
	case i+1 < len(data):
		if data[i+1] == '\n' {
			return i + 2, data[:i], nil
		}
		return i + 1, data[:i], nil
	case atEOF:
		return i + 1, data[:i], nil
	}
	return 0, nil, nil // a "\r" last: wait for what follows
}

// next returns the next event with data. At the end of the stream it
// returns io.EOF, or the error that ended it.
func (s *sseReader) next() (sseEvent, error) {
	var name string
	var data strings.Builder
	hasData := false
	for s.sc.Scan() {
		line := s.sc.Text()
		if line == "" {
			if hasData {
				if name == "" {
					name = "message"
				}
				return sseEvent{name: name, data: data.String()}, nil
			}
			name = ""
			continue
		}
		if line[0] == ':' {
			continue
		}
		field, value, found := strings.Cut(line, ":")
		if found {
			value = strings.TrimPrefix(value, " ")
		}
		switch field {
		case "event":
			name = value
		case "data":
			if hasData {
				data.WriteByte('\n')
			}
			if data.Len()+len(value) > maxEventBytes {
				return sseEvent{}, errEventTooLarge
			}
			data.WriteString(value)
			hasData = true
		}
	}
	if err := s.sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return sseEvent{}, errEventTooLarge
		}
		return sseEvent{}, err
	}
	return sseEvent{}, io.EOF
}

// writeEvent writes e to w in the text/event-stream format, one data line
// for each line of its data.
func writeEvent(w io.Writer, e sseEvent) error {
	var b strings.Builder
	b.WriteString("event: ")
	b.WriteString(e.name)
	b.WriteByte('\n')
	for _, line := range strings.Split(e.data, "\n") {
		b.WriteString("data: ")
		b.WriteString(line)
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	_, err := io.WriteString(w, b.String())
	return err
}
