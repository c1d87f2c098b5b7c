package loop

import (
	"errors"
	"net"
	"net/netip"
	"syscall"
	"testing"

	"github.com/matryer/is"
)

// listenNet is how the blocking engines listen off Linux; it is portable, so it is tested
// here: a free port is picked and reported as a plain (unmapped) IPv4 address, connections
// arrive, a port already listened on is refused, and a --host that is not an address fails.
func TestListenNet(t *testing.T) {
	is := is.New(t)
	ln, addr, err := listenNet("127.0.0.1", 0)
	is.NoErr(err)
	defer ln.Close()
	is.True(addr.Addr().Is4())                                        // unmapped
	is.Equal(addr.Addr(), netip.MustParseAddr("127.0.0.1"))           // the asked address
	is.True(addr.Port() != 0)                                         // a free port was picked
	is.Equal(ln.Addr().(*net.TCPAddr).AddrPort().Port(), addr.Port()) // and reported

	c, err := net.Dial("tcp", addr.String())
	is.NoErr(err)
	defer c.Close()
	s, err := ln.Accept()
	is.NoErr(err)
	s.Close()

	_, _, err = listenNet("127.0.0.1", int(addr.Port()))
	is.True(errors.Is(err, syscall.EADDRINUSE)) // the port is ours alone

	_, _, err = listenNet("localhost", int(addr.Port()))
	is.True(errors.Is(err, syscall.EADDRINUSE)) // localhost is 127.0.0.1

	_, _, err = listenNet("lab.example", 0)
	is.True(err != nil) // not an IP address

}
