package bench

import "syscall"

// clampMSS does nothing on Windows, which has no TCP_MAXSEG socket option: segments keep the
// path's MSS (see SlowOptions).
func clampMSS(_, _ string, _ syscall.RawConn) error { return nil }
