package main

import (
	"errors"
	"syscall"
)

// mkfifo fails on Windows, which has no named pipes in the file system: the tests that
// serve a FIFO are for Unix systems.
func mkfifo(string) error { return errors.ErrUnsupported }

// setReceiveBuffer sets a socket's receive buffer (SO_RCVBUF) to n bytes.
func setReceiveBuffer(fd uintptr, n int) error {
	return syscall.SetsockoptInt(syscall.Handle(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, n)
}
