package importer

import "ownhttp/mock"

// checkSize refuses an input past lim.MaxBytes; field names it.
func checkSize(field string, n int64, lim Limits) *Error {
	if n > lim.MaxBytes {
		return errorf(field, "is %d bytes, more than the %d an import may read", n, lim.MaxBytes)
	}
	return nil
}

// checkJSONDepth refuses JSON whose arrays and objects nest deeper than lim.MaxDepth,
// before any decoder recurses into it (mock.JSONTooDeep).
func checkJSONDepth(field string, data []byte, lim Limits) *Error {
	if at := mock.JSONTooDeep(data, lim.MaxDepth); at >= 0 {
		return errorf(field, "nests deeper than %d levels (at byte %d)", lim.MaxDepth, at)
	}
	return nil
}
