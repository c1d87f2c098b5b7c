package upstream

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/matryer/is"
)

// The classifier: a table of addresses with the verdict with and without
// Config.AllowPrivate. Nothing here connects anywhere.
func TestCheckDialAddr(t *testing.T) {
	const (
		allow  = "allow"
		refuse = "refuse"
	)
	tests := []struct {
		addr            string
		private, public string // verdict with allowPrivate on, off
		reason          string // in the refusal message (when refused)
	}{
		{"169.254.169.254:80", refuse, refuse, "cloud metadata"},
		{"169.254.1.1:80", refuse, refuse, "link-local"},
		{"[fe80::1]:80", refuse, refuse, "link-local"},
		{"[fe80::1%eth0]:80", refuse, refuse, "link-local"},
		{"[::ffff:169.254.169.254]:80", refuse, refuse, "cloud metadata"},
		{"[fd00:ec2::254]:80", refuse, refuse, "cloud metadata"},
		{"100.100.100.200:80", refuse, refuse, "cloud metadata"},
		{"0.0.0.0:80", refuse, refuse, "unspecified"},
		{"0.1.2.3:80", refuse, refuse, "unspecified"},
		{"[::]:80", refuse, refuse, "unspecified"},
		{"224.0.0.1:80", refuse, refuse, "multicast"},
		{"239.255.255.250:1900", refuse, refuse, "multicast"},
		{"[ff02::1]:80", refuse, refuse, "multicast"},
		{"255.255.255.255:80", refuse, refuse, "broadcast"},
		{"240.0.0.1:80", refuse, refuse, "reserved"},
		{"[64:ff9b::a9fe:a9fe]:80", refuse, refuse, "cloud metadata"}, // NAT64 of 169.254.169.254
		{"[::a9fe:a9fe]:80", refuse, refuse, "IPv4-compatible"},
		{"127.0.0.1:80", allow, refuse, "loopback"},
		{"127.8.9.10:80", allow, refuse, "loopback"},
		{"[::1]:80", allow, refuse, "loopback"},
		{"[::ffff:127.0.0.1]:80", allow, refuse, "loopback"},
		{"10.1.2.3:80", allow, refuse, "private"},
		{"172.16.0.1:80", allow, refuse, "private"},
		{"172.31.255.255:80", allow, refuse, "private"},
		{"192.168.1.1:80", allow, refuse, "private"},
		{"100.64.0.1:80", allow, refuse, "private"},
		{"[fc00::1]:80", allow, refuse, "private"},
		{"[fd12:3456::1]:80", allow, refuse, "private"},
		{"[64:ff9b::a00:1]:80", allow, refuse, "private"}, // NAT64 of 10.0.0.1
		{"172.32.0.1:80", allow, allow, ""},
		{"100.128.0.1:80", allow, allow, ""},
		{"8.8.8.8:53", allow, allow, ""},
		{"[2001:4860:4860::8888]:443", allow, allow, ""},
		{"[::ffff:8.8.8.8]:80", allow, allow, ""},
	}
	for _, tt := range tests {
		for _, allowPrivate := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/private=%v", tt.addr, allowPrivate), func(t *testing.T) {
				is := is.New(t)
				want := tt.public
				if allowPrivate {
					want = tt.private
				}
				err := checkDialAddr(tt.addr, allowPrivate)
				if want == allow {
					is.NoErr(err)
					return
				}
				var fe *ForbiddenError
				is.True(errors.As(err, &fe))
				is.True(strings.Contains(err.Error(), tt.reason)) // the message says why
				if want == refuse && tt.private == allow {
					is.True(strings.Contains(err.Error(), "--proxy-allow-private")) // and how to allow it
				}
			})
		}
	}
}

// Hostile Control-hook addresses: anything that is not an IP address and port is refused.
func TestCheckDialAddrHostile(t *testing.T) {
	for _, addr := range []string{"", ":80", "example.com:80", "127.0.0.1", "[::1]", "127.0.0.1:x",
		"[127.0.0.1]:80x", "localhost:80", "\x00:80", strings.Repeat("9", 4096)} {
		t.Run(fmt.Sprintf("%q", addr), func(t *testing.T) {
			is := is.New(t)
			for _, allowPrivate := range []bool{true, false} {
				var fe *ForbiddenError
				is.True(errors.As(checkDialAddr(addr, allowPrivate), &fe))
			}
		})
	}
}
