//go:build unix

package bench

import "syscall"

// clampMSS sets a socket's TCP maximum segment size to Ethernet's 1460 bytes before it
// connects (see SlowOptions).
func clampMSS(_, _ string, rc syscall.RawConn) error {
	var err error
	if cerr := rc.Control(func(fd uintptr) {
		err = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_MAXSEG, 1460)
	}); cerr != nil {
		return cerr
	}
	return err
}
