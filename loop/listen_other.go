//go:build !linux

package loop

import (
	"net"
	"net/netip"
)

// listenStream opens the listening socket of a blocking engine: through the net package
// (see listenNet), as this system has no listenTCP.
func listenStream(host string, port int) (*net.TCPListener, netip.AddrPort, error) {
	return listenNet(host, port)
}
