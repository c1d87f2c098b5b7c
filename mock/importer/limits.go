package importer

import "strconv"

// checkSize refuses an input past lim.MaxBytes; field names it.
func checkSize(field string, n int64, lim Limits) *Error {
	if n > lim.MaxBytes {
		return errorf(field, "is %d bytes, more than the %d an import may read", n, lim.MaxBytes)
	}
	return nil
}

// checkJSONDepth refuses JSON whose arrays and objects nest deeper than lim.MaxDepth,
// before any decoder recurses into it. It scans bytes only (strings are skipped, escapes
// honoured); the JSON's validity is the decoder's business.
func checkJSONDepth(field string, data []byte, lim Limits) *Error {
	depth, inString := 0, false
	for i := 0; i < len(data); i++ {
		c := data[i]
		if inString {
			switch c {
			case '\\':
				i++
			case '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '[', '{':
			depth++
			if depth > lim.MaxDepth {
				return errorf(field, "nests deeper than %d levels (at byte %s)", lim.MaxDepth, strconv.Itoa(i))
			}
		case ']', '}':
			depth--
		}
	}
	return nil
}
