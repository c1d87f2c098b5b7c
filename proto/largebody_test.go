package proto

import (
	"fmt"
	"testing"

	"github.com/matryer/is"
)

// Limits.LargeBody gives the requests it names MaxLargeBodyBytes instead of MaxBodyBytes,
// for a declared length and for a chunked body.
func TestLargeBodyLimit(t *testing.T) {
	is := is.New(t)
	lim := Limits{MaxBodyBytes: 10, MaxLargeBodyBytes: 100,
		LargeBody: func(req *Request) bool { return string(req.Path) == "/big" }}
	for _, c := range []struct {
		path string
		n    int
		err  error
	}{
		{"/small", 10, nil}, {"/small", 11, ErrBodyTooLarge},
		{"/big", 100, nil}, {"/big", 101, ErrBodyTooLarge},
	} {
		var req Request
		head := fmt.Sprintf("POST %s HTTP/1.1\r\nHost: h\r\nContent-Length: %d\r\n\r\n", c.path, c.n)
		is.Equal(ParseHead([]byte(head), &lim, &req), c.err)
	}
	var req Request
	is.NoErr(ParseHead([]byte("POST /big HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"), &lim, &req))
	var d ChunkedDecoder
	d.ResetFor(&lim, &req)
	_, _, err := d.Decode(nil, []byte("32\r\n"+string(make([]byte, 50))+"\r\n0\r\n\r\n"))
	is.NoErr(err) // 50 bytes: over MaxBodyBytes, within MaxLargeBodyBytes
	d.ResetFor(&lim, &req)
	_, _, err = d.Decode(nil, []byte("65\r\n"))
	is.Equal(err, ErrBodyTooLarge) // 101 bytes
	// A larger MaxBodyBytes wins over a smaller large bound.
	small := Limits{MaxBodyBytes: 10, MaxLargeBodyBytes: 5, LargeBody: lim.LargeBody}
	is.Equal(small.BodyBytesFor(&req), int64(10))
}
