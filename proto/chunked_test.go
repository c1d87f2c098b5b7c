package proto

import (
	"bytes"
	"math"
	"strings"
	"testing"

	"github.com/matryer/is"
)

// decodeWhole feeds src to a fresh decoder in one call.
func decodeWhole(src []byte, lim *Limits) (body []byte, consumed int, done bool, err error) {
	var d ChunkedDecoder
	d.Reset(lim)
	body, consumed, err = d.Decode(nil, src)
	return body, consumed, d.Done(), err
}

// decodeBytewise feeds src one byte at a time, as a connection that reads one byte per
// wakeup would: bytes the decoder did not consume are kept and offered again with the next.
// Once the decoder is Done no further bytes are offered.
func decodeBytewise(src []byte, lim *Limits) (body []byte, consumed int, done bool, err error) {
	var d ChunkedDecoder
	d.Reset(lim)
	var pending []byte
	for k := 0; k < len(src) && !d.Done(); k++ {
		pending = append(pending, src[k])
		var n int
		body, n, err = d.Decode(body, pending)
		consumed += n
		pending = append([]byte(nil), pending[n:]...)
		if err != nil {
			return body, consumed, d.Done(), err
		}
	}
	return body, consumed, d.Done(), nil
}

type chunkCase struct {
	name string
	in   string // chunked body, possibly followed by bytes of the next message
	file string // or a request fixture whose body (after the head) is the input
	lim  Limits
	body string // decoded data
	rest string // what follows the body in the input, left unconsumed
}

var validChunks = []chunkCase{
	{name: "one chunk", in: "3\r\nabc\r\n0\r\n\r\n", body: "abc"},
	{name: "empty body", in: "0\r\n\r\n", body: ""},
	{name: "several chunks, upper- and lower-case hex", in: "A\r\n0123456789\r\nb\r\nhello world\r\n0\r\n\r\n", body: "0123456789hello world"},
	{name: "leading zeros", in: "0003\r\nabc\r\n000\r\n\r\n", body: "abc"},
	{name: "extension ignored (RFC 9112 §7.1.1)", in: "3;ext=1\r\nabc\r\n0\r\n\r\n", body: "abc"},
	{name: "extension after BWS", in: "3 ;x\r\nabc\r\n0\t;last\r\n\r\n", body: "abc"},
	{name: "several extensions, quoted value", in: "3;a=1;b=\"x; y\"\r\nabc\r\n0;z\r\n\r\n", body: "abc"},
	{name: "extension with obs-text", in: "3;n=caf\xc3\xa9\r\nabc\r\n0\r\n\r\n", body: "abc"},
	{name: "whitespace after the size, as net/http accepts", in: "3 \r\nabc\r\n0\r\n\r\n", body: "abc"},
	{name: "chunk data holds CRLF and NUL", in: "6\r\n\r\n\x00\r\n \r\n0\r\n\r\n", body: "\r\n\x00\r\n "},
	{name: "trailers parsed and discarded (RFC 9112 §7.1.2)", in: "3\r\nabc\r\n0\r\nX-Checksum: abc\r\nX-Other:\tv \r\n\r\n", body: "abc"},
	{name: "bytes after the body are not consumed", in: "3\r\nabc\r\n0\r\n\r\nGET / HTTP/1.1\r\n\r\n", body: "abc", rest: "GET / HTTP/1.1\r\n\r\n"},
	{name: "bytes after trailers are not consumed", in: "1\r\nz\r\n0\r\nT: 1\r\n\r\n0\r\n\r\n", body: "z", rest: "0\r\n\r\n"},
	{name: "body exactly MaxBodyBytes", in: "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n", lim: Limits{MaxBodyBytes: 5}, body: "abcde"},
	{name: "size line exactly at the line limit", in: "3;xxxxxxxxxxx\r\nabc\r\n0\r\n\r\n", lim: Limits{MaxHeaderBytes: 14}, body: "abc"},
	{name: "request fixture body", file: "chunked-trailers.http", body: "Wikipedia"},
}

type hostileChunkCase struct {
	name string
	in   string
	lim  Limits
	want *Error
}

var hostileChunks = []hostileChunkCase{
	{name: "bad hex", in: "g\r\nabc\r\n0\r\n\r\n", want: ErrBadChunk},
	{name: "hex prefix", in: "0x3\r\nabc\r\n0\r\n\r\n", want: ErrBadChunk},
	{name: "negative size", in: "-3\r\nabc\r\n", want: ErrBadChunk},
	{name: "empty size line", in: "\r\nabc\r\n", want: ErrBadChunk},
	{name: "whitespace before the size", in: " 3\r\nabc\r\n", want: ErrBadChunk},
	{name: "two sizes", in: "1 2\r\nab\r\n0\r\n\r\n", want: ErrBadChunk},
	{name: "extension without a size", in: ";x\r\n", want: ErrBadChunk},
	{name: "control in an extension", in: "3;a\x00b\r\nabc\r\n", want: ErrBadChunk},
	{name: "bare LF after the size", in: "3\nabc\r\n", want: ErrBadChunk},
	{name: "bare CR after the size", in: "3\rabc\r\n", want: ErrBadChunk},
	{name: "bare LF in an extension", in: "3;x\nabc\r\n", want: ErrBadChunk},
	{name: "missing CRLF after data", in: "3\r\nabcd\r\n0\r\n\r\n", want: ErrBadChunk},
	{name: "data followed by CR only", in: "3\r\nabc\rX0\r\n\r\n", want: ErrBadChunk},
	{name: "data followed by LF only", in: "3\r\nabc\n0\r\n\r\n", want: ErrBadChunk},
	{name: "CR then junk where the trailers end", in: "0\r\n\rX", want: ErrBadChunk},
	{name: "size line over the line limit", in: "3;" + strings.Repeat("x", 20) + "\r\nabc\r\n", lim: Limits{MaxHeaderBytes: 14}, want: ErrBadChunk},
	{name: "size overflow", in: "ffffffffffffffffff\r\n", lim: Limits{MaxBodyBytes: math.MaxInt64}, want: ErrChunkSizeOverflow},
	{name: "size 2^63 overflows int64", in: "8000000000000000\r\n", lim: Limits{MaxBodyBytes: math.MaxInt64}, want: ErrChunkSizeOverflow},
	{name: "size overflow with the default limits is still 400", in: "ffffffffffffffffff\r\n", want: ErrChunkSizeOverflow},
	{name: "size overflow before an extension", in: "fffffffffffffffffff;x\r\n", want: ErrChunkSizeOverflow},
	{name: "size over the default MaxBodyBytes", in: "80001\r\n", want: ErrBodyTooLarge},
	{name: "size over MaxBodyBytes before an extension", in: "6;x\r\nabcdef\r\n", lim: Limits{MaxBodyBytes: 5}, want: ErrBodyTooLarge},
	{name: "size over MaxBodyBytes before BWS", in: "6 ;x\r\nabcdef\r\n", lim: Limits{MaxBodyBytes: 5}, want: ErrBodyTooLarge},
	{name: "one chunk over MaxBodyBytes", in: "6\r\nabcdef\r\n0\r\n\r\n", lim: Limits{MaxBodyBytes: 5}, want: ErrBodyTooLarge},
	{name: "sum of chunks over MaxBodyBytes", in: "3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n", lim: Limits{MaxBodyBytes: 5}, want: ErrBodyTooLarge},
	{name: "sum over a huge MaxBodyBytes does not overflow", in: "1\r\na\r\n7fffffffffffffff\r\n", lim: Limits{MaxBodyBytes: math.MaxInt64}, want: ErrBodyTooLarge},
	{name: "trailer without a colon", in: "0\r\nNoColon\r\n\r\n", want: ErrBadTrailer},
	{name: "trailer with space before the colon", in: "0\r\nX-T : v\r\n\r\n", want: ErrBadTrailer},
	{name: "trailer with obs-fold", in: "0\r\nX-T: v\r\n folded\r\n\r\n", want: ErrBadTrailer},
	{name: "trailer with NUL", in: "0\r\nX-T: a\x00b\r\n\r\n", want: ErrBadTrailer},
	{name: "trailer with a bare CR", in: "0\r\nX-T: a\rb\r\n\r\n", want: ErrBadTrailer},
	{name: "trailer with a bare LF", in: "0\r\nX-T: v\n\r\n", want: ErrBadTrailer},
	{name: "trailer line that is a bare LF", in: "0\r\n\n", want: ErrBadTrailer},
	{name: "trailer section over the limit", in: "0\r\nX-T: " + strings.Repeat("v", 40) + "\r\n\r\n", lim: Limits{MaxHeaderBytes: 32}, want: ErrBadTrailer},
	{name: "trailer section over the limit across lines", in: "0\r\n" + strings.Repeat("X: 12345\r\n", 5) + "\r\n", lim: Limits{MaxHeaderBytes: 32}, want: ErrBadTrailer},
}

func (c *chunkCase) input(t testing.TB) []byte {
	if c.file == "" {
		return []byte(c.in)
	}
	in := readFixture(t, c.file)
	var req Request
	if err := ParseHead(in, &Limits{}, &req); err != nil {
		t.Fatal(err)
	}
	return in[req.HeadLen:]
}

func TestChunkedValid(t *testing.T) {
	for _, tc := range validChunks {
		t.Run(tc.name, func(t *testing.T) {
			is := is.New(t)
			in := tc.input(t)
			for _, decode := range []func([]byte, *Limits) ([]byte, int, bool, error){decodeWhole, decodeBytewise} {
				body, n, done, err := decode(in, &tc.lim)
				is.NoErr(err)
				is.True(done)
				is.Equal(string(body), tc.body)
				is.Equal(string(in[n:]), tc.rest) // nothing after the body is consumed
			}
		})
	}
}

func TestChunkedHostile(t *testing.T) {
	for _, tc := range hostileChunks {
		t.Run(tc.name, func(t *testing.T) {
			is := is.New(t)
			_, n1, done1, err1 := decodeWhole([]byte(tc.in), &tc.lim)
			is.Equal(err1, tc.want)
			is.True(!done1)
			_, n2, _, err2 := decodeBytewise([]byte(tc.in), &tc.lim)
			is.Equal(err2, tc.want) // byte by byte: the same error
			is.Equal(n2, n1)        // found at the same offset
		})
	}
}

func TestChunkedNeedsMore(t *testing.T) {
	is := is.New(t)
	in := []byte("3\r\nabc\r\n0\r\nX: 1\r\n\r\n")
	// Every proper prefix leaves the decoder unfinished and error-free.
	for n := range len(in) {
		body, _, done, err := decodeWhole(in[:n], &Limits{})
		is.NoErr(err)
		is.True(!done)
		is.True(bytes.HasPrefix([]byte("abc"), body))
	}
}

// The largest chunk size an int64 holds is no overflow: with a limit that allows it, the
// decoder simply waits for the data.
func TestChunkedLargestSize(t *testing.T) {
	is := is.New(t)
	for _, decode := range []func([]byte, *Limits) ([]byte, int, bool, error){decodeWhole, decodeBytewise} {
		body, n, done, err := decode([]byte("7fffffffffffffff\r\nabc"), &Limits{MaxBodyBytes: math.MaxInt64})
		is.NoErr(err)
		is.True(!done)
		is.Equal(n, 21)
		is.Equal(string(body), "abc")
	}
}

func TestChunkedDoneConsumesNothing(t *testing.T) {
	is := is.New(t)
	var d ChunkedDecoder
	d.Reset(&Limits{})
	body, n, err := d.Decode(nil, []byte("1\r\nx\r\n0\r\n\r\n"))
	is.NoErr(err)
	is.True(d.Done())
	is.Equal(n, 11)
	body, n, err = d.Decode(body, []byte("more"))
	is.NoErr(err)
	is.Equal(n, 0)
	is.Equal(string(body), "x")

	d.Reset(&Limits{}) // reusable for the next body
	is.True(!d.Done())
	body, _, err = d.Decode(body[:0], []byte("2\r\nyz\r\n0\r\n\r\n"))
	is.NoErr(err)
	is.True(d.Done())
	is.Equal(string(body), "yz")
}

// The encoder's output decodes back to the input.
func TestAppendChunkRoundTrip(t *testing.T) {
	is := is.New(t)
	var enc []byte
	var want []byte
	for _, n := range []int{1, 9, 10, 15, 16, 255, 256, 4095, 4096, 70000} {
		data := bytes.Repeat([]byte{byte('a' + n%26)}, n)
		enc = AppendChunk(enc, data)
		want = append(want, data...)
	}
	enc = append(enc, LastChunk...)
	body, n, done, err := decodeWhole(enc, &Limits{MaxBodyBytes: 1 << 20})
	is.NoErr(err)
	is.True(done)
	is.Equal(n, len(enc))
	is.True(bytes.Equal(body, want))
}
