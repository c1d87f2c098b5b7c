package loop

// DefaultMaxConnections is 10000 on Windows, which has no open-files limit to derive a
// connection cap from (see the Unix version).
func DefaultMaxConnections() int { return 10000 }
