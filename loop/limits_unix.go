//go:build unix

package loop

import "golang.org/x/sys/unix"

// DefaultMaxConnections derives a connection cap from the open-files limit (the Go runtime
// raises the soft limit to the hard one at start), leaving headroom for files, listeners and
// the epoll and event descriptors.
func DefaultMaxConnections() int {
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &rl); err != nil || rl.Cur == unix.RLIM_INFINITY {
		return 10000
	}
	n := int(rl.Cur) - 256
	if n < 64 {
		n = 64
	}
	return n
}
