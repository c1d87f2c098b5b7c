package proto

import "strconv"

// AppendHeader appends "name: value\r\n". The caller guarantees name is a token and value holds
// no CR, LF or NUL (header values from untrusted sources are checked where they enter).
func AppendHeader(dst []byte, name, value string) []byte {
	dst = append(dst, name...)
	dst = append(dst, ':', ' ')
	dst = append(dst, value...)
	return append(dst, '\r', '\n')
}

// AppendHeaderBytes is AppendHeader with a byte-slice value.
func AppendHeaderBytes(dst []byte, name string, value []byte) []byte {
	dst = append(dst, name...)
	dst = append(dst, ':', ' ')
	dst = append(dst, value...)
	return append(dst, '\r', '\n')
}

// AppendHeaderInt appends "name: <decimal n>\r\n".
func AppendHeaderInt(dst []byte, name string, n int64) []byte {
	dst = append(dst, name...)
	dst = append(dst, ':', ' ')
	dst = strconv.AppendInt(dst, n, 10)
	return append(dst, '\r', '\n')
}

// AppendChunk appends data as one chunk of a chunked body (RFC 9112 §7.1) with an upper-case
// hex size. Empty data appends nothing: an empty chunk would end the body early.
func AppendChunk(dst, data []byte) []byte {
	if len(data) == 0 {
		return dst
	}
	start := len(dst)
	dst = strconv.AppendUint(dst, uint64(len(data)), 16)
	upperHex(dst[start:])
	dst = append(dst, '\r', '\n')
	dst = append(dst, data...)
	return append(dst, '\r', '\n')
}

// LastChunk ends a chunked body with no trailer fields.
const LastChunk = "0\r\n\r\n"

// upperHex upper-cases the hex digits strconv just wrote (only those: the caller's bytes before
// them may end in letters a-f too).
func upperHex(hex []byte) {
	for i, c := range hex {
		if 'a' <= c && c <= 'f' {
			hex[i] = c - 'a' + 'A'
		}
	}
}
