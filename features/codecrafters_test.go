package features

import (
	"bytes"
	"compress/gzip"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/matryer/is"

	"ownhttp/proto"
)

func acceptEncoding(values ...string) []proto.Header {
	hs := []proto.Header{{Name: []byte("Host"), Value: []byte("x")}}
	for _, v := range values {
		hs = append(hs, proto.Header{Name: []byte("Accept-Encoding"), Value: []byte(v)})
	}
	return hs
}

func TestAcceptsGzip(t *testing.T) {
	tests := []struct {
		name   string
		values []string // one Accept-Encoding field per value; none: no field
		want   bool
	}{
		{"absent", nil, false},
		{"empty", []string{""}, false},
		{"gzip", []string{"gzip"}, true},
		{"upper case", []string{"GZIP"}, true},
		{"x-gzip", []string{"x-gzip"}, true},
		{"among others", []string{"deflate, gzip, br"}, true},
		{"weighted", []string{"deflate, gzip;q=0.5"}, true},
		{"spaces around weight", []string{"gzip ; Q = 0.5"}, true},
		{"q=0 refuses", []string{"gzip;q=0"}, false},
		{"q=0.000 refuses", []string{"gzip;q=0.000"}, false},
		{"q=0.001 accepts", []string{"gzip;q=0.001"}, true},
		{"q=1.000", []string{"gzip;q=1.000"}, true},
		{"star", []string{"*"}, true},
		{"star q=0", []string{"*;q=0"}, false},
		{"explicit gzip beats star", []string{"gzip;q=0, *"}, false},
		{"explicit gzip beats star q=0", []string{"*;q=0, gzip"}, true},
		{"identity only", []string{"identity"}, false},
		{"other codings only", []string{"deflate, br"}, false},
		{"identity preferred", []string{"gzip;q=0.5, identity"}, false},
		{"gzip preferred", []string{"gzip, identity;q=0.5"}, true},
		{"equal weights favour gzip", []string{"gzip;q=0.5, identity;q=0.5"}, true},
		{"identity refused", []string{"gzip, identity;q=0"}, true},
		{"second field", []string{"deflate", "gzip"}, true},
		{"highest weight of repeats", []string{"gzip;q=0, gzip;q=0.3"}, true},
		{"other params ignored", []string{"gzip;level=9"}, true},
		{"empty elements", []string{" , ,gzip,,"}, true},
		{"gzip prefix is not gzip", []string{"gzipx, xgzip"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			is.Equal(acceptsGzip(acceptEncoding(tt.values...)), tt.want)
		})
	}
}

// Malformed weights make their element count as absent; none of these may panic.
func TestAcceptsGzipHostile(t *testing.T) {
	tests := []struct {
		value string
		want  bool
	}{
		{"gzip;q=", false},
		{"gzip;q=2", false},
		{"gzip;q=1.5", false},
		{"gzip;q=1.001", false},
		{"gzip;q=0.5555", false},
		{"gzip;q=-1", false},
		{"gzip;q=abc", false},
		{"gzip;q=0.5x", false},
		{"gzip;q=.5", false},
		{"gzip;q=0,5", false}, // the comma ends the element: gzip;q=0, then a coding "5"
		{"gzip;q=abc, *", true},
		{";q=1", false},
		{";;;", false},
		{"gzip;", true},
		{"gzip;=", true},
		{strings.Repeat("gzip;q=0.5;", 1000), true},
		{"\x00gzip", false},
		{"gzip\xff", false},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			is := is.New(t)
			is.Equal(acceptsGzip(acceptEncoding(tt.value)), tt.want)
		})
	}
}

func TestParseQValue(t *testing.T) {
	tests := []struct {
		in   string
		want int
		ok   bool
	}{
		{"0", 0, true}, {"1", 1000, true}, {"0.", 0, true}, {"1.", 1000, true},
		{"0.5", 500, true}, {"0.25", 250, true}, {"0.125", 125, true}, {"1.000", 1000, true},
		{"", 0, false}, {"2", 0, false}, {"1.5", 0, false}, {"0.1234", 0, false},
		{"00", 0, false}, {"0.a", 0, false}, {"+1", 0, false}, {"1e0", 0, false},
	}
	for _, tt := range tests {
		is := is.New(t)
		q, ok := parseQValue([]byte(tt.in))
		is.Equal(ok, tt.ok) // tt.in
		if ok {
			is.Equal(q, tt.want) // tt.in
		}
	}
}

func TestGzipBytes(t *testing.T) {
	is := is.New(t)
	inputs := []string{"", "abc", strings.Repeat("banana", 1000), "\x00\xff binary"}
	var wg sync.WaitGroup
	for range 8 { // the writer pool is shared by every loop
		wg.Go(func() {
			for _, in := range inputs {
				z := gzipBytes([]byte(in))
				zr, err := gzip.NewReader(bytes.NewReader(z))
				if err != nil {
					t.Error(err)
					return
				}
				out, err := io.ReadAll(zr)
				if err != nil || string(out) != in {
					t.Errorf("round trip of %d bytes: %v, got %d bytes", len(in), err, len(out))
				}
				if !zr.ModTime.IsZero() || zr.Name != "" {
					t.Errorf("header carries mtime %v or name %q", zr.ModTime, zr.Name)
				}
			}
		})
	}
	wg.Wait()
	is.Equal(gzipBytes([]byte("abc")), gzipBytes([]byte("abc"))) // deterministic
}
