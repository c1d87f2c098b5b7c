package importer

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// harLog is the part of a HAR 1.2 document (http://www.softwareishard.com/blog/har-12-spec/)
// the importer reads. Fields it does not read (timings, cookies, cache, pages) are ignored:
// they describe the recording, not what a mock must answer.
type harLog struct {
	Log *struct {
		Version string            `json:"version"`
		Entries []json.RawMessage `json:"entries"`
	} `json:"log"`
}

type harEntry struct {
	Request *struct {
		Method string `json:"method"`
		URL    string `json:"url"`
	} `json:"request"`
	Response *struct {
		Status  int         `json:"status"`
		Headers []harHeader `json:"headers"`
		Content *harContent `json:"content"`
	} `json:"response"`
}

type harHeader struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type harContent struct {
	Text     string `json:"text"`
	Encoding string `json:"encoding"`
}

// HAR turns a HAR 1.1 or 1.2 document — such as a browser records, or GET /api/history?format=har
// gives — into mocks with Infer's rules. Bodies are HAR's decoded content.text (base64 when
// content.encoding says so), so a recorded Content-Encoding field is dropped with the
// volatile ones. An entry that cannot be read fails as an item naming its index; a document
// that is not a HAR log is an *Error.
func HAR(data []byte, lim Limits) ([]Item, error) {
	lim = lim.WithDefaults()
	if e := checkSize("body", int64(len(data)), lim); e != nil {
		return nil, e
	}
	if e := checkJSONDepth("body", data, lim); e != nil {
		return nil, e
	}
	var doc harLog
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, errorf("body", "is not a HAR document: %s", jsonProblem(err))
	}
	if doc.Log == nil {
		return nil, errorf("log", "is missing: a HAR document is {\"log\":{\"version\":\"1.2\",\"entries\":[…]}}")
	}
	switch doc.Log.Version {
	case "1.1", "1.2":
	case "":
		return nil, errorf("log.version", "is missing (HAR 1.1 or 1.2)")
	default:
		return nil, errorf("log.version", "%q is not supported (HAR 1.1 or 1.2)", doc.Log.Version)
	}
	if doc.Log.Entries == nil {
		return nil, errorf("log.entries", "is missing")
	}
	if len(doc.Log.Entries) > lim.MaxItems {
		return nil, errorf("log.entries", "holds %d entries, more than the %d an import may take", len(doc.Log.Entries), lim.MaxItems)
	}
	exchanges := make([]Exchange, 0, len(doc.Log.Entries))
	for i, raw := range doc.Log.Entries {
		exchanges = append(exchanges, harExchange(fmt.Sprintf("log.entries[%d]", i), raw))
	}
	return Infer(exchanges), nil
}

// harExchange reads one entry; what is wrong with it goes in the exchange's Problem.
func harExchange(source string, raw json.RawMessage) Exchange {
	ex := Exchange{Source: source}
	var e harEntry
	if err := json.Unmarshal(raw, &e); err != nil {
		ex.Problem = "not a HAR entry: " + jsonProblem(err)
		return ex
	}
	if e.Request == nil || e.Response == nil {
		ex.Problem = "has no request or no response"
		return ex
	}
	ex.Method, ex.Target, ex.Status = e.Request.Method, e.Request.URL, e.Response.Status
	for _, h := range e.Response.Headers {
		if strings.EqualFold(h.Name, "Content-Encoding") {
			continue // content.text is decoded
		}
		ex.Headers = append(ex.Headers, Header(h))
	}
	if c := e.Response.Content; c != nil {
		switch strings.ToLower(c.Encoding) {
		case "":
			ex.Body = []byte(c.Text)
		case "base64":
			b, err := base64.StdEncoding.DecodeString(c.Text)
			if err != nil {
				ex.Problem = "response.content.text is not valid base64"
				return ex
			}
			ex.Body = b
		default:
			ex.Problem = fmt.Sprintf("response.content.encoding %q is not supported (base64 or none)", c.Encoding)
		}
	}
	return ex
}

// jsonProblem words a decoding error without Go type names.
func jsonProblem(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case strings.Contains(err.Error(), "unexpected end of JSON input"):
		return "the JSON is cut short (truncated file?)"
	case errors.As(err, &syn):
		return fmt.Sprintf("invalid JSON at byte %d", syn.Offset)
	case errors.As(err, &typ):
		if typ.Field != "" {
			return fmt.Sprintf("%s must not be a JSON %s", typ.Field, typ.Value)
		}
		return fmt.Sprintf("a JSON %s is not expected here", typ.Value)
	}
	return err.Error()
}
