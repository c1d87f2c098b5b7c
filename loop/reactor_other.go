//go:build !linux

package loop

import (
	"fmt"
	"runtime"
)

// Reactor is the epoll engine, which needs Linux; elsewhere Listen fails and the default
// engine is the threadpool (see DefaultEngine).
type Reactor struct{ Engine }

// Listen fails off Linux: the epoll engine needs Linux.
func Listen(Config) (*Reactor, error) {
	return nil, fmt.Errorf("the epoll engine needs Linux (this system is %s): use --engine threadpool", runtime.GOOS)
}

// EpollSupported reports whether this build has the epoll engine: only on Linux.
const EpollSupported = false

// DefaultEngine is the engine used when none is asked for: epoll on Linux, threadpool
// elsewhere.
const DefaultEngine = "threadpool"
