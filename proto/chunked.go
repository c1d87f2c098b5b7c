package proto

import "bytes"

// ChunkedDecoder decodes a chunked request body (RFC 9112 §7.1) incrementally. Feed it the
// bytes after the head as they arrive; it keeps its position between calls, so chunk sizes and
// data are examined once. The exception is a trailer field line, which is consumed only when
// its LF has arrived: bytes Decode did not consume must be passed again, ahead of the new
// ones. The zero value is ready after Reset.
type ChunkedDecoder struct {
	state     chunkState
	remaining int64 // data bytes left in the current chunk
	total     int64 // decoded bytes so far
	maxBody   int64
	maxLine   int // chunk-size line and trailer section bound
	lineLen   int // bytes of the current size line or trailer section seen so far
	sizeSeen  bool
	ext       extState
}

type extState uint8

const (
	extNone extState = iota
	extBWS           // whitespace after the size: only more whitespace or ';' may follow
	extIn            // inside chunk-ext, ignored up to CRLF
)

type chunkState uint8

const (
	chunkSize chunkState = iota
	chunkSizeLF
	chunkData
	chunkDataCR
	chunkDataLF
	chunkTrailerStart
	chunkTrailerEndLF
	chunkDone
)

// Reset prepares the decoder for a new body with the given limits.
func (d *ChunkedDecoder) Reset(lim *Limits) {
	*d = ChunkedDecoder{maxBody: lim.BodyBytes(), maxLine: lim.headerBytes()}
}

// ResetFor prepares the decoder for the body of req, bounded by lim.BodyBytesFor(req).
func (d *ChunkedDecoder) ResetFor(lim *Limits, req *Request) {
	*d = ChunkedDecoder{maxBody: lim.BodyBytesFor(req), maxLine: lim.headerBytes()}
}

// Done reports whether the last chunk and the trailer section have been consumed.
func (d *ChunkedDecoder) Done() bool { return d.state == chunkDone }

// Decode consumes bytes from src, appending chunk data to dst. It returns the grown dst and the
// number of bytes of src consumed; src[n:] is either an unfinished trailer line, to be passed
// again with more bytes, or (once Done) what follows the body, which belongs to the next
// request. Errors are *Error values: 400, or 413 as soon as a chunk-size would take the
// decoded body past MaxBodyBytes. Trailer fields are checked for syntax and discarded.
func (d *ChunkedDecoder) Decode(dst, src []byte) ([]byte, int, error) {
	i := 0
	for i < len(src) && d.state != chunkDone {
		c := src[i]
		switch d.state {
		case chunkSize:
			// chunk-size [ chunk-ext ] CRLF, chunk-size = 1*HEXDIG; extensions are ignored.
			d.lineLen++
			if d.lineLen > d.maxLine {
				return dst, i, ErrBadChunk
			}
			switch {
			case d.ext == extIn:
				if c == '\r' {
					d.state = chunkSizeLF
				} else if c < ' ' && c != '\t' || c == 0x7f {
					return dst, i, ErrBadChunk
				}
			case d.ext == extBWS:
				switch c {
				case '\r':
					d.state = chunkSizeLF
				case ';':
					d.ext = extIn
				case ' ', '\t':
				default:
					return dst, i, ErrBadChunk
				}
			case isHex(c):
				// §7.1: recipients MUST anticipate large hexadecimal numerals and prevent
				// integer overflow; the size is checked against the body limit once it ends.
				if d.remaining > (1<<59)-1 {
					return dst, i, ErrChunkSizeOverflow
				}
				d.remaining = d.remaining<<4 | int64(unhex(c))
				d.sizeSeen = true
			case !d.sizeSeen:
				return dst, i, ErrBadChunk
			case c == '\r', c == ';', c == ' ', c == '\t':
				// The size has ended: a chunk that would take the body past MaxBodyBytes is
				// refused before any of its data arrives.
				if d.remaining > d.maxBody-d.total { // not total+remaining: that can overflow
					return dst, i, ErrBodyTooLarge
				}
				switch c {
				case '\r':
					d.state = chunkSizeLF
				case ';':
					d.ext = extIn // chunk-ext is ignored up to CRLF
				default:
					d.ext = extBWS
				}
			default:
				return dst, i, ErrBadChunk
			}
			i++
		case chunkSizeLF:
			if c != '\n' {
				return dst, i, ErrBadChunk
			}
			i++
			d.lineLen, d.sizeSeen, d.ext = 0, false, extNone
			if d.remaining == 0 {
				d.state = chunkTrailerStart
			} else {
				d.state = chunkData
			}
		case chunkData:
			n := int64(len(src) - i)
			if n > d.remaining {
				n = d.remaining
			}
			dst = append(dst, src[i:i+int(n)]...)
			i += int(n)
			d.remaining -= n
			d.total += n
			if d.remaining == 0 {
				d.state = chunkDataCR
			}
		case chunkDataCR:
			if c != '\r' {
				return dst, i, ErrBadChunk
			}
			i++
			d.state = chunkDataLF
		case chunkDataLF:
			if c != '\n' {
				return dst, i, ErrBadChunk
			}
			i++
			d.state = chunkSize
		case chunkTrailerStart:
			// trailer-section = *( field-line CRLF ) CRLF
			if c == '\r' {
				d.state = chunkTrailerEndLF
				i++
				continue
			}
			end := bytes.IndexByte(src[i:], '\n')
			if end < 0 {
				if d.lineLen+len(src)-i > d.maxLine {
					return dst, i, ErrBadTrailer
				}
				return dst, i, nil // wait for the whole field line
			}
			line := src[i : i+end]
			d.lineLen += end + 1
			if d.lineLen > d.maxLine || len(line) == 0 || line[len(line)-1] != '\r' {
				return dst, i, ErrBadTrailer
			}
			if _, _, err := parseField(line[:len(line)-1]); err != nil {
				return dst, i, ErrBadTrailer
			}
			i += end + 1
		case chunkTrailerEndLF:
			if c != '\n' {
				return dst, i, ErrBadChunk
			}
			i++
			d.state = chunkDone
		}
	}
	return dst, i, nil
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}
