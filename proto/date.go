package proto

import "time"

// DateCache holds the current IMF-fixdate (RFC 9110 §5.6.7) for the Date header, formatted at
// most once a second. Each event loop owns one and feeds it the time it read at wakeup; it is
// not safe for concurrent use.
type DateCache struct {
	sec int64
	buf [29]byte
}

// Update sets the cache to now, formatting only when the second changed. A time whose year
// does not have four digits cannot be written as an IMF-fixdate and leaves the cache as it was.
func (d *DateCache) Update(now time.Time) {
	s := now.Unix()
	if s == d.sec && d.buf[0] != 0 {
		return
	}
	var tmp [64]byte
	if b := now.UTC().AppendFormat(tmp[:0], TimeFormat); len(b) == len(d.buf) {
		d.sec = s
		copy(d.buf[:], b)
	}
}

// Bytes returns the formatted date; the view is valid until the next Update. Before the first
// Update it holds zero bytes, so callers Update before writing a response.
func (d *DateCache) Bytes() []byte { return d.buf[:] }

// TimeFormat is the IMF-fixdate layout used in Date, Last-Modified and Retry-After fields.
const TimeFormat = "Mon, 02 Jan 2006 15:04:05 GMT"
