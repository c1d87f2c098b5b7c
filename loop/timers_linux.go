//go:build linux

package loop

import "time"

// wireTimers are an event loop's precise timers for wired responses (conn.Wire): delays,
// paced pieces and hangs, due at conn.Conn.WireDeadline. The loop's sweep applies the other
// deadlines coarsely; these must fire on time, and thousands in flight cost one heap entry
// each — no goroutine, no thread. A min-heap on the due time; an entry whose connection
// closed or moved its deadline is skipped when it comes up (entry.timerAt no longer
// matches), so nothing is ever removed from the middle.
type wireTimers []wireTimer

type wireTimer struct {
	at time.Time
	e  *entry
}

// schedule records that e's connection wants a step at its current wire deadline (zero:
// none), unless that timer is already set.
func (t *wireTimers) schedule(e *entry) {
	at := e.c.WireDeadline()
	if at.IsZero() || at.Equal(e.timerAt) {
		return
	}
	e.timerAt = at
	h := append(*t, wireTimer{at, e})
	for i := len(h) - 1; i > 0; {
		p := (i - 1) / 2
		if !h[i].at.Before(h[p].at) {
			break
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
	*t = h
}

// next returns the earliest due time (zero: none).
func (t wireTimers) next() time.Time {
	if len(t) == 0 {
		return time.Time{}
	}
	return t[0].at
}

// pop removes and returns the earliest timer.
func (t *wireTimers) pop() wireTimer {
	h := *t
	top := h[0]
	last := len(h) - 1
	h[0] = h[last]
	h[last] = wireTimer{}
	h = h[:last]
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < len(h) && h[l].at.Before(h[m].at) {
			m = l
		}
		if r < len(h) && h[r].at.Before(h[m].at) {
			m = r
		}
		if m == i {
			break
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
	if len(h) == 0 && cap(h) > 1024 {
		h = nil // a burst of delayed responses does not keep its heap
	}
	*t = h
	return top
}

// fire steps every connection whose wire timer is due at now.
func (l *eventLoop) fireTimers(now time.Time) {
	for len(l.timers) > 0 && !now.Before(l.timers[0].at) {
		t := l.timers.pop()
		e := t.e
		if e.closed || !t.at.Equal(e.timerAt) {
			continue
		}
		e.timerAt = time.Time{}
		e.c.OnTimer(now)
		l.sync(e)
	}
}
