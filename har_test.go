package main

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"

	"github.com/matryer/is"
)

// harFile is the part of a HAR 1.2 archive the tests read.
type harFile struct {
	Log struct {
		Version string `json:"version"`
		Creator struct {
			Name string `json:"name"`
		} `json:"creator"`
		Entries []struct {
			StartedDateTime string  `json:"startedDateTime"`
			Time            float64 `json:"time"`
			Request         struct {
				Method      string `json:"method"`
				URL         string `json:"url"`
				HTTPVersion string `json:"httpVersion"`
				Headers     []struct {
					Name, Value string
				} `json:"headers"`
				QueryString []struct {
					Name, Value string
				} `json:"queryString"`
				PostData *struct {
					MimeType string `json:"mimeType"`
					Text     string `json:"text"`
				} `json:"postData"`
			} `json:"request"`
			Response struct {
				Status  int `json:"status"`
				Content struct {
					Size     int    `json:"size"`
					MimeType string `json:"mimeType"`
					Text     string `json:"text"`
				} `json:"content"`
			} `json:"response"`
			Timings struct {
				Wait float64 `json:"wait"`
			} `json:"timings"`
			Ownhttp map[string]any `json:"_ownhttp"`
		} `json:"entries"`
	} `json:"log"`
}

// Issue #17: history and scenario runs as HAR 1.2 (bodies, timings, _ownhttp), and any
// history entry as a curl command that, run, gets the same answer.
func TestHistoryHARAndCurl(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		is := is.New(t)
		s := scServer(t, engine, "", "--access-log=false")
		l := newLabClient(t, s)
		l.createMock(`{"method":"POST","path_pattern":"/orders","status":201,"body":{"id":7},"match":{"body":{"json_path":"$.qty"}}}`)
		r := l.do("POST", "/orders?src=web&x=a%20b", `{"qty":2}`, "Content-Type: application/json", "Authorization: Bearer s3cret",
			"X-Quote: it's")
		is.Equal(r.status, 201)
		id := r.header.Get("X-Request-ID")
		l.waitEntry(id)

		var har harFile
		hr := l.do("GET", "/api/history?format=har&path=/orders", "")
		is.Equal(hr.status, 200)
		is.True(strings.Contains(hr.header.Get("Content-Disposition"), "history.har"))
		is.NoErr(json.Unmarshal(hr.body, &har))
		is.Equal(har.Log.Version, "1.2")
		is.Equal(har.Log.Creator.Name, "ownhttp")
		is.Equal(len(har.Log.Entries), 1)
		e := har.Log.Entries[0]
		is.Equal(e.Request.Method, "POST")
		is.Equal(e.Request.URL, "http://"+s.Addr+"/orders?src=web&x=a%20b")
		is.Equal(len(e.Request.QueryString), 2)
		is.Equal(e.Request.QueryString[1].Value, "a b")
		is.Equal(e.Request.PostData.Text, `{"qty":2}`)
		is.Equal(e.Response.Status, 201)
		is.Equal(e.Response.Content.Text, `{"id":7}`)
		is.Equal(e.Response.Content.MimeType, "application/json")
		is.True(e.StartedDateTime != "" && e.Time >= 0 && e.Timings.Wait == e.Time)
		is.Equal(e.Ownhttp["request_id"], id)
		is.True(!strings.Contains(string(hr.body), "s3cret"))

		// curl: the command, run, gets the same answer (the redacted token left out and said so).
		cr := l.do("GET", "/api/history/"+id+"?format=curl", "")
		is.Equal(cr.status, 200)
		cmd := string(cr.body)
		is.True(strings.HasPrefix(cmd, "# redacted in history, add your own: authorization\n"))
		is.True(!strings.Contains(cmd, "s3cret"))
		out, err := exec.Command("sh", "-c", strings.Replace(cmd, "curl ", "curl -s ", 1)).CombinedOutput()
		is.NoErr(err)
		is.Equal(string(out), `{"id":7}`)
		is.Equal(l.do("GET", "/api/history/nope", "").status, 404)
		is.Equal(l.do("GET", "/api/history/"+id+"?format=xml", "").status, 400)
		var one struct {
			Entry labEntry `json:"entry"`
		}
		l.do("GET", "/api/history/"+id, "").decode(t, &one)
		is.Equal(one.Entry.Response.Status, 201)

		// A scenario run as HAR: each step, with the run, the seed and the assertions.
		sc := l.scCreate(`{"name":"har","steps":[{"id":"make","method":"POST","path":"/orders","headers":{"content-type":"application/json"},"body":"{\"qty\":1}","expect":{"status":201}}]}`)
		run, _ := l.scRun(sc.ID, `{"seed":3}`)
		rr := l.do("GET", "/api/scenarios/runs/"+run.RunID+"?format=har", "")
		is.Equal(rr.status, 200)
		var rh harFile
		is.NoErr(json.Unmarshal(rr.body, &rh))
		is.Equal(len(rh.Log.Entries), 1)
		is.Equal(rh.Log.Entries[0].Response.Status, 201)
		is.Equal(rh.Log.Entries[0].Ownhttp["run_id"], run.RunID)
		is.Equal(rh.Log.Entries[0].Ownhttp["seed"], 3.0)
		is.Equal(len(rh.Log.Entries[0].Ownhttp["assertions"].([]any)), 1)
	})
}
