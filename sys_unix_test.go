//go:build unix

package main

import "syscall"

// mkfifo makes a named pipe (FIFO) at path.
func mkfifo(path string) error { return syscall.Mkfifo(path, 0o600) }

// setReceiveBuffer sets a socket's receive buffer (SO_RCVBUF) to n bytes.
func setReceiveBuffer(fd uintptr, n int) error {
	return syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, n)
}
