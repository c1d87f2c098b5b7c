package features

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strconv"
	"strings"

	"ownhttp/conn"
	"ownhttp/mock/importer"
	"ownhttp/state"
)

// fromHistoryInput is the body of POST /api/mocks/from-history: the history entries to turn
// into mocks, by request id or by the recording that proxied them (one of the two).
type fromHistoryInput struct {
	IDs       []string `json:"ids"`
	Recording string   `json:"recording"`
	DryRun    bool     `json:"dry_run"`
	Partial   bool     `json:"partial"`
}

// maxFromHistoryIDs bounds one request's ids (the history ring holds fewer entries than this
// anyway at its default size).
const maxFromHistoryIDs = 10000

func decodeFromHistory(body []byte) (fromHistoryInput, error) {
	var in fromHistoryInput
	obj, e := state.DecodeJSONObject(body)
	if e != nil {
		return in, e
	}
	if msg := state.UnknownField(obj, "ids", "recording", "dry_run", "partial"); msg != "" {
		return in, invalidRequest(msg)
	}
	for key, dst := range map[string]any{"ids": &in.IDs, "recording": &in.Recording, "dry_run": &in.DryRun, "partial": &in.Partial} {
		raw, ok := obj[key]
		if !ok || string(raw) == "null" {
			continue
		}
		if json.Unmarshal(raw, dst) != nil {
			want := map[string]string{"ids": "an array of request ids", "recording": "a recording id",
				"dry_run": "true or false", "partial": "true or false"}[key]
			return in, invalidRequest(key + " must be " + want)
		}
	}
	switch {
	case len(in.IDs) == 0 && in.Recording == "":
		return in, invalidRequest("ids (an array of request ids) or recording is required")
	case len(in.IDs) > 0 && in.Recording != "":
		return in, invalidRequest("ids and recording cannot be given together")
	case len(in.IDs) > maxFromHistoryIDs:
		return in, invalidRequest("ids holds more than 10000 request ids")
	}
	for i, id := range in.IDs {
		if id == "" {
			return in, invalidRequest("ids[" + strconv.Itoa(i) + "] is empty")
		}
	}
	return in, nil
}

// mocksFromHistory is POST /api/mocks/from-history: the chosen history entries become mocks
// with the importer's inference (importer.Infer: ids as parameters, volatile fields dropped,
// repeats as sequences). The answer is the import report (import.go) with format "history";
// an id that history does not hold (any more) is a failed item, not a 404, so one stale id
// does not hide what the others would make.
func (a *App) mocksFromHistory(x *conn.Exchange, _ *params) {
	in, err := decodeFromHistory(x.Body)
	if err != nil {
		writeErr(x, err)
		return
	}
	a.withState(x, func(ctx context.Context, st *state.Actor, r *conn.Reply) {
		f := state.HistoryFilter{Recording: in.Recording}
		h, err := st.History(ctx, f)
		if err != nil {
			answerErr(r, err)
			return
		}
		if in.Recording == "" {
			h = pickEntries(h, in.IDs)
		}
		a.answerMocksFromHistory(ctx, r, st, "history", h, in.DryRun, in.Partial)
	})
}

// pickEntries returns the entries with the given request ids, in the order of ids; an id
// with no entry becomes a placeholder entry whose conversion fails with "not in history".
func pickEntries(h []state.HistoryEntry, ids []string) []state.HistoryEntry {
	byID := make(map[string]int, len(h))
	for i := range h {
		byID[h[i].RequestID] = i
	}
	out := make([]state.HistoryEntry, 0, len(ids))
	for _, id := range ids {
		if i, ok := byID[id]; ok {
			out = append(out, h[i])
		} else {
			out = append(out, state.HistoryEntry{RequestID: id})
		}
	}
	return out
}

// entryExchange is a history entry as the importer's inference reads it.
func entryExchange(e state.HistoryEntry) importer.Exchange {
	ex := importer.Exchange{Source: "history " + e.RequestID, Method: e.Method, Target: e.Path, Status: e.Status}
	if ri := e.ReplayInput; ri != nil && ri.RawTarget != "" {
		ex.Target = ri.RawTarget
	}
	res := e.Response
	switch {
	case e.Method == "":
		ex.Problem = "history holds no request with this id (any more)"
	case strings.HasPrefix(e.Path, "/api/") || strings.HasPrefix(e.Path, "/_"):
		ex.Problem = "a request to the server's own API is not turned into a mock"
	case res == nil:
		ex.Problem = "the entry keeps no response (it was recorded before responses were kept, or the connection was refused)"
	case e.Fault != "" && e.Fault != "latency":
		ex.Problem = "the answer was altered on the wire by a fault (" + e.Fault + "); the client did not get it whole"
	}
	if ex.Problem != "" || res == nil {
		return ex
	}
	ex.Status, ex.BodyTruncated = res.Status, res.BodyTruncated
	for name, value := range res.Headers {
		ex.Headers = append(ex.Headers, importer.Header{Name: name, Value: value})
	}
	if res.BodyBase64 != "" {
		b, err := base64.StdEncoding.DecodeString(res.BodyBase64)
		if err != nil {
			ex.Problem = "the kept body does not decode"
			return ex
		}
		ex.Body = b
	} else {
		ex.Body = []byte(res.Body)
	}
	return ex
}

// answerMocksFromHistory turns entries into mocks (or previews them) and answers with the
// import report; format names the source in the report ("history", "record").
func (a *App) answerMocksFromHistory(ctx context.Context, r *conn.Reply, st *state.Actor, format string,
	entries []state.HistoryEntry, dryRun, partial bool) {
	exchanges := make([]importer.Exchange, len(entries))
	for i, e := range entries {
		exchanges[i] = entryExchange(e)
	}
	a.importItems(ctx, st, r, format, importer.Infer(exchanges), state.BatchOptions{DryRun: dryRun, Partial: partial})
}
