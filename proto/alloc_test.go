package proto

import (
	"testing"
	"time"

	"github.com/matryer/is"
)

var plainGET = []byte("GET /index.html?lang=en HTTP/1.1\r\nHost: example.com\r\nUser-Agent: curl/8.5.0\r\n" +
	"Accept: */*\r\nAccept-Encoding: gzip\r\nConnection: keep-alive\r\n\r\n")

// Parsing a plain GET into a reused Request with pre-sized Headers allocates nothing
// (design.md, house style 7).
func TestParseHeadAllocs(t *testing.T) {
	is := is.New(t)
	req := Request{Headers: make([]Header, 0, 16)}
	var lim Limits
	var err error
	allocs := testing.AllocsPerRun(200, func() {
		err = ParseHead(plainGET, &lim, &req)
	})
	is.NoErr(err)
	is.Equal(string(req.Path), "/index.html")
	is.Equal(allocs, 0.0)
}

// Writing the full response to that GET into a reused buffer allocates nothing, including
// reformatting the cached Date every run.
func TestWriteResponseAllocs(t *testing.T) {
	is := is.New(t)
	var dc DateCache
	out := make([]byte, 0, 512)
	body := []byte("<!doctype html><title>ownhttp</title>\n")
	now := time.Date(2025, time.March, 14, 15, 9, 26, 0, time.UTC)
	allocs := testing.AllocsPerRun(200, func() {
		now = now.Add(time.Second) // a new second: Update formats again
		dc.Update(now)
		out = AppendStatusLine(out[:0], 200)
		out = AppendHeaderBytes(out, "Date", dc.Bytes())
		out = AppendHeader(out, "Content-Type", "text/html; charset=utf-8")
		out = AppendHeaderInt(out, "Content-Length", int64(len(body)))
		out = append(out, "\r\n"...)
		out = append(out, body...)
	})
	is.Equal(string(out[:17]), "HTTP/1.1 200 OK\r\n")
	is.Equal(allocs, 0.0)
}

// A whole exchange: parse, answer, chunk-encode; still nothing allocated.
func TestExchangeAllocs(t *testing.T) {
	is := is.New(t)
	req := Request{Headers: make([]Header, 0, 16)}
	var lim Limits
	var dc DateCache
	dc.Update(time.Date(2025, time.March, 14, 15, 9, 26, 0, time.UTC))
	out := make([]byte, 0, 512)
	var err error
	allocs := testing.AllocsPerRun(200, func() {
		if err = ParseHead(plainGET, &lim, &req); err != nil {
			return
		}
		out = AppendStatusLine(out[:0], 200)
		out = AppendHeaderBytes(out, "Date", dc.Bytes())
		out = AppendHeader(out, "Transfer-Encoding", "chunked")
		if !req.KeepAlive() {
			out = AppendHeader(out, "Connection", "close")
		}
		out = append(out, "\r\n"...)
		out = AppendChunk(out, req.Path)
		out = append(out, LastChunk...)
	})
	is.NoErr(err)
	is.Equal(allocs, 0.0)
}

func BenchmarkParseHead(b *testing.B) {
	req := Request{Headers: make([]Header, 0, 16)}
	var lim Limits
	b.SetBytes(int64(len(plainGET)))
	b.ReportAllocs()
	for b.Loop() {
		if err := ParseHead(plainGET, &lim, &req); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseHeadBrowser(b *testing.B) {
	in := readFixture(b, "browser-get.http")
	req := Request{Headers: make([]Header, 0, 16)}
	var lim Limits
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if err := ParseHead(in, &lim, &req); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWriteResponse(b *testing.B) {
	var dc DateCache
	dc.Update(time.Date(2025, time.March, 14, 15, 9, 26, 0, time.UTC))
	out := make([]byte, 0, 512)
	body := []byte("hello, world\n")
	b.ReportAllocs()
	for b.Loop() {
		out = AppendStatusLine(out[:0], 200)
		out = AppendHeaderBytes(out, "Date", dc.Bytes())
		out = AppendHeader(out, "Content-Type", "text/plain; charset=utf-8")
		out = AppendHeaderInt(out, "Content-Length", int64(len(body)))
		out = append(out, "\r\n"...)
		out = append(out, body...)
	}
}

func BenchmarkChunkedDecode(b *testing.B) {
	var src []byte
	for range 16 {
		src = AppendChunk(src, make([]byte, 1000))
	}
	src = append(src, LastChunk...)
	dst := make([]byte, 0, 16000)
	var d ChunkedDecoder
	lim := Limits{}
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		d.Reset(&lim)
		var err error
		if dst, _, err = d.Decode(dst[:0], src); err != nil || !d.Done() {
			b.Fatal(err)
		}
	}
}
