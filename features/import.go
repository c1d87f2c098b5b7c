package features

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"

	"ownhttp/conn"
	"ownhttp/mock/importer"
	"ownhttp/proto"
	"ownhttp/state"
)

// POST /api/import (issue #17): files other tools keep become API mocks, created in one
// state-actor message (state.Actor.CreateMocks), so an import is atomic.

// BundleType is the content type of a bundle of files (a WireMock directory).
const BundleType = "application/vnd.ownhttp.bundle+json"

// importPath is the route of imports; IsImportRequest names its requests to the parser.
const importPath = "/api/import"

const codeInvalidImport = "invalid_import"

// IsImportRequest reports whether req is a POST /api/import, whose body is bounded by
// --max-import-bytes instead of --max-body-bytes (proto.Limits.LargeBody). It allocates
// nothing and keeps nothing.
func IsImportRequest(req *proto.Request) bool {
	return req.Method == proto.MethodPOST && string(req.Path) == importPath
}

// Item statuses of an import report.
const (
	importCreated     = "created"
	importWouldCreate = "would_create"
	importFailed      = "failed"
	importSkipped     = "skipped" // valid, but not created: the all-or-nothing import failed
)

type importItem struct {
	Source      string   `json:"source"`
	Status      string   `json:"status"`
	MockID      string   `json:"mock_id,omitempty"`
	Mock        any      `json:"mock,omitempty"`
	Unsupported []string `json:"unsupported,omitempty"`
	Error       string   `json:"error,omitempty"`
}

type importReport struct {
	Error   *importError `json:"error,omitempty"`
	Format  string       `json:"format"`
	DryRun  bool         `json:"dry_run"`
	Partial bool         `json:"partial"`
	Created int          `json:"created"`
	Failed  int          `json:"failed"`
	Items   []importItem `json:"items"`
}

type importError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

// answerImportErr answers 400 for a whole-input problem: the house error shape, with the
// field it names.
func answerImportErr(r *conn.Reply, field, msg string) {
	if field != "" {
		msg = field + ": " + msg
	}
	answerJSON(r, 400, struct {
		Error importError `json:"error"`
	}{importError{Code: codeInvalidImport, Message: msg, Field: field}})
}

// importMocks is POST /api/import?format=&partial=&dry_run=&seed= (see the README's Import).
func (a *App) importMocks(x *conn.Exchange, _ *params) {
	body := append([]byte(nil), x.Body...) // x.Body is the loop's; the handler runs off it
	bundle := isBundle(x.Req.Header("content-type"))
	rawQuery := string(x.Req.Query)
	a.withState(x, func(ctx context.Context, st *state.Actor, r *conn.Reply) {
		q, err := url.ParseQuery(rawQuery)
		if err != nil {
			answerImportErr(r, "query", "is not a valid query string")
			return
		}
		opt := state.BatchOptions{}
		for _, f := range []struct {
			name string
			p    *bool
		}{{"partial", &opt.Partial}, {"dry_run", &opt.DryRun}} {
			if v := q.Get(f.name); v != "" {
				b, err := strconv.ParseBool(v)
				if err != nil {
					answerImportErr(r, f.name, "must be true or false")
					return
				}
				*f.p = b
			}
		}
		seed := a.cfg.ImportSeed
		if v := q.Get("seed"); v != "" {
			s, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				answerImportErr(r, "seed", "must be an integer")
				return
			}
			seed = s
		}
		files := []importer.File{{Data: body}}
		if bundle {
			var e *importer.Error
			if files, e = decodeBundle(body); e != nil {
				answerImportErr(r, e.Field, e.Message)
				return
			}
		}
		lim := importer.Limits{MaxBytes: a.cfg.MaxImportBytes, MaxItems: importer.DefaultMaxItems}
		format, items, err := importer.Import(q.Get("format"), files, seed, lim)
		if err != nil {
			if ie, ok := err.(*importer.Error); ok {
				answerImportErr(r, ie.Field, ie.Message)
				return
			}
			answerErr(r, labErr(state.KindInternal, state.CodeInternal, "import failed: "+err.Error()))
			return
		}
		if len(items) == 0 {
			answerImportErr(r, "body", "holds nothing to import")
			return
		}
		a.importItems(ctx, st, r, format, items, opt)
	})
}

// importItems decodes each definition as POST /api/mocks would and creates the mocks in one
// batch; it answers with the report.
func (a *App) importItems(ctx context.Context, st *state.Actor, r *conn.Reply, format string, items []importer.Item, opt state.BatchOptions) {
	rep := importReport{Format: format, DryRun: opt.DryRun, Partial: opt.Partial, Items: make([]importItem, len(items))}
	var ins []state.MockInput
	var at []int // rep.Items index of each input
	for i, it := range items {
		ri := importItem{Source: it.Source, Unsupported: it.Unsupported}
		if len(it.Mock) > 0 {
			ri.Mock = it.Mock
		}
		switch {
		case it.Error != "":
			ri.Status, ri.Error = importFailed, it.Error
		case len(it.Mock) == 0:
			ri.Status, ri.Error = importFailed, "the importer produced no mock"
		default:
			in, e := state.DecodeMockInput(it.Mock)
			if e != nil {
				ri.Status, ri.Error = importFailed, e.Message
				break
			}
			ins, at = append(ins, in), append(at, i)
		}
		rep.Items[i] = ri
	}
	failedBefore := len(items) - len(ins)
	batchOpt := opt
	if failedBefore > 0 && !opt.Partial {
		batchOpt.DryRun = true // report what the valid items would be; create nothing
	}
	br, err := st.CreateMocks(ctx, ins, batchOpt)
	if err != nil {
		answerErr(r, err)
		return
	}
	allOrNothingFailed := !opt.Partial && failedBefore+br.Failed > 0
	for j, bi := range br.Items {
		ri := &rep.Items[at[j]]
		switch {
		case bi.Err != nil:
			ri.Status, ri.Error = importFailed, bi.Err.Message
		case bi.Created:
			ri.Status, ri.MockID, ri.Mock = importCreated, bi.Mock.ID, viewOf(bi.Mock)
		case allOrNothingFailed:
			ri.Status, ri.Mock = importSkipped, viewOf(bi.Mock)
			ri.Error = "not created: the import is all or nothing and other items failed (partial=true creates the rest)"
		default:
			ri.Status, ri.MockID, ri.Mock = importWouldCreate, bi.Mock.ID, viewOf(bi.Mock)
		}
	}
	for _, ri := range rep.Items {
		if ri.Status == importFailed {
			rep.Failed++
		}
	}
	rep.Created = br.Created
	switch {
	case allOrNothingFailed:
		rep.Error = &importError{Code: codeInvalidImport, Field: "items",
			Message: fmt.Sprintf("items: %d of %d items failed, so nothing was imported (partial=true imports the rest)", rep.Failed, len(items))}
		answerJSON(r, 400, rep)
	case opt.Partial && !opt.DryRun && rep.Created == 0:
		rep.Error = &importError{Code: codeInvalidImport, Field: "items", Message: "items: every item failed, nothing was imported"}
		answerJSON(r, 400, rep)
	case opt.DryRun || rep.Created == 0: // a dry run, or nothing to make (an empty recording)
		answerJSON(r, 200, rep)
	default:
		answerJSON(r, 201, rep)
	}
}

func isBundle(ct []byte) bool {
	mt, _, _ := bytes.Cut(ct, []byte(";"))
	return string(bytes.ToLower(bytes.TrimSpace(mt))) == BundleType
}

type bundleFile struct {
	Name          *string `json:"name"`
	Content       *string `json:"content"`
	ContentBase64 *string `json:"content_base64"`
}

// decodeBundle reads {"files":[{"name":…,"content"|"content_base64":…}]}. Names are checked
// by importer.Import.
func decodeBundle(body []byte) ([]importer.File, *importer.Error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var b struct {
		Files []bundleFile `json:"files"`
	}
	if err := dec.Decode(&b); err != nil {
		return nil, &importer.Error{Field: "body", Message: "is not a bundle {\"files\":[{\"name\":…,\"content\":…}]}: " + err.Error()}
	}
	if len(b.Files) == 0 {
		return nil, &importer.Error{Field: "files", Message: "is missing or empty"}
	}
	out := make([]importer.File, len(b.Files))
	for i, f := range b.Files {
		field := fmt.Sprintf("files[%d]", i)
		if f.Name == nil || *f.Name == "" {
			return nil, &importer.Error{Field: field + ".name", Message: "is missing"}
		}
		switch {
		case (f.Content == nil) == (f.ContentBase64 == nil):
			return nil, &importer.Error{Field: field, Message: fmt.Sprintf("(%s) needs one of content and content_base64", *f.Name)}
		case f.Content != nil:
			out[i] = importer.File{Name: *f.Name, Data: []byte(*f.Content)}
		default:
			d, err := base64.StdEncoding.DecodeString(*f.ContentBase64)
			if err != nil {
				return nil, &importer.Error{Field: field + ".content_base64", Message: fmt.Sprintf("(%s) is not valid base64", *f.Name)}
			}
			out[i] = importer.File{Name: *f.Name, Data: d}
		}
	}
	return out, nil
}
