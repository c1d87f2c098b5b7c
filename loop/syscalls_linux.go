//go:build linux

package loop

import (
	"net/netip"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Non-blocking system calls of the reactor made with RawSyscall (socket reads, writes and
// closes, accept, epoll_ctl, polls without a timeout): they never block, so they
// skip the runtime's syscall bookkeeping (entersyscall/exitsyscall), and a loop that keeps
// finding work never hands its P to the scheduler. Blocking waits still go through
// unix.EpollWait, which tells the runtime it may block.

// epollPoll returns the ready events without waiting.
func epollPoll(epfd int, events []unix.EpollEvent) (int, error) {
	n, _, errno := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(epfd),
		uintptr(unsafe.Pointer(&events[0])), uintptr(len(events)), 0, 0, 0)
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}

// sockRead reads from a non-blocking socket.
func sockRead(fd int, p []byte) (int, error) {
	n, _, errno := unix.RawSyscall(unix.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)))
	if errno != 0 {
		return -1, errno
	}
	return int(n), nil
}

// sockSend writes to a non-blocking socket; with more set the kernel may hold a partial
// segment back for what the next call sends (MSG_MORE: a response head waits for its file).
func sockSend(fd int, p []byte, more bool) (int, error) {
	flags := uintptr(unix.MSG_NOSIGNAL)
	if more {
		flags |= unix.MSG_MORE
	}
	n, _, errno := unix.RawSyscall6(unix.SYS_SENDTO, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)),
		flags, 0, 0)
	if errno != 0 {
		return -1, errno
	}
	return int(n), nil
}

// sockClose closes a connection's socket. Without SO_LINGER (never set here) closing a TCP
// socket does not wait: the kernel sends what is queued and the FIN on its own.
func sockClose(fd int) {
	unix.RawSyscall(unix.SYS_CLOSE, uintptr(fd), 0, 0)
}

// epollCtl is unix.EpollCtl without the scheduler hand-off.
func epollCtl(epfd, op, fd int, ev *unix.EpollEvent) error {
	_, _, errno := unix.RawSyscall6(unix.SYS_EPOLL_CTL, uintptr(epfd), uintptr(op), uintptr(fd),
		uintptr(unsafe.Pointer(ev)), 0, 0)
	if errno != 0 {
		return errno
	}
	return nil
}

// accept4 accepts one connection as non-blocking and close-on-exec and returns its peer
// address. Unlike unix.Accept4 it allocates nothing and asks the kernel nothing more (that
// one queries SO_PROTOCOL for every IPv4 and IPv6 peer).
func accept4(lfd int) (int, netip.AddrPort, error) {
	var rsa unix.RawSockaddrAny
	size := uint32(unix.SizeofSockaddrAny)
	fd, _, errno := unix.RawSyscall6(unix.SYS_ACCEPT4, uintptr(lfd), uintptr(unsafe.Pointer(&rsa)),
		uintptr(unsafe.Pointer(&size)), unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0, 0)
	if errno != 0 {
		return -1, netip.AddrPort{}, errno
	}
	return int(fd), rawToAddrPort(&rsa), nil
}

func rawToAddrPort(rsa *unix.RawSockaddrAny) netip.AddrPort {
	switch rsa.Addr.Family {
	case unix.AF_INET:
		p := (*unix.RawSockaddrInet4)(unsafe.Pointer(rsa))
		port := (*[2]byte)(unsafe.Pointer(&p.Port))
		return netip.AddrPortFrom(netip.AddrFrom4(p.Addr), uint16(port[0])<<8|uint16(port[1]))
	case unix.AF_INET6:
		p := (*unix.RawSockaddrInet6)(unsafe.Pointer(rsa))
		port := (*[2]byte)(unsafe.Pointer(&p.Port))
		return netip.AddrPortFrom(netip.AddrFrom16(p.Addr).Unmap(), uint16(port[0])<<8|uint16(port[1]))
	}
	return netip.AddrPort{}
}
