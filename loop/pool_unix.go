//go:build unix

package loop

import "golang.org/x/sys/unix"

// readsWithoutBlocking says that the pool engine waits for input on a plain socket holding
// no buffer: through syscall.RawConn, reading with readNow when the socket may be readable.
const readsWithoutBlocking = true

// readNow reads from the non-blocking socket fd into p; again reports that nothing was
// there to read yet (EAGAIN). Interrupted reads are retried.
func readNow(fd uintptr, p []byte) (n int, again bool, err error) {
	for {
		n, err = unix.Read(int(fd), p)
		if err != unix.EINTR {
			break
		}
	}
	if err == unix.EAGAIN {
		return 0, true, nil
	}
	return n, false, err
}
