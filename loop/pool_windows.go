package loop

import "errors"

// readsWithoutBlocking is false on Windows: a parked pool reader waits in net.Conn.Read with
// its read buffer lent (a socket there is read through overlapped I/O, not a descriptor
// one can read without blocking), so an idle connection also holds its 16 KiB buffer.
const readsWithoutBlocking = false

// readNow is never called on Windows (see readsWithoutBlocking).
func readNow(uintptr, []byte) (int, bool, error) { return 0, false, errors.ErrUnsupported }
