package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/matryer/is"

	"ownhttp/internal/testkit"
	"ownhttp/state"
)

// The secret the flow tests give as --secret api_token (and in a run request's secrets).
const flowSecret = "S3cr3t-T0ken-of-the-flow"

// startJobsServer starts a server with the example mocks (examples/mocks, jobs.json among
// them) and waits until they are loaded.
func startJobsServer(t *testing.T, engine string) (*labClient, string) {
	t.Helper()
	s := testkit.Start(t, run, engine, "--access-log=false", "--mocks-dir", filepath.Join("examples", "mocks"))
	l := newLabClient(t, s)
	testkit.Eventually(t, "jobs mocks loaded", func() bool { return l.do("GET", "/api/mocks/jobs-status", "").status == 200 })
	return l, s.URL()
}

// runsReportFile is the --report-json file.
type runsReportFile struct {
	Status  string `json:"status"`
	Summary struct {
		Files, Passed, Failed int
	} `json:"summary"`
	Runs []struct {
		File     string          `json:"file"`
		Scenario string          `json:"scenario"`
		Report   state.RunReport `json:"report"`
	} `json:"runs"`
}

// The acceptance test of issue #18: the example flow (create a job, capture its id, fetch
// it, poll until it is done), as JSON and as Hurl, runs from the command line against the
// example mocks, two files at once, with one JUnit and one JSON report; each run is stored by
// the server (scenario list, run history, the live events the timeline shows); the secret
// given on the command line reaches no report, no output and no history entry.
func TestExampleJobFlow(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		is := is.New(t)
		l, base := startJobsServer(t, engine)
		dir := t.TempDir()
		junit, reportJSON := filepath.Join(dir, "junit.xml"), filepath.Join(dir, "report.json")
		res := runCLI(t, context.Background(), "scenario", "run", filepath.Join("examples", "scenarios"),
			"--base-url", base, "--jobs", "2", "--junit", junit, "--report-json", reportJSON,
			"--secret", "api_token="+flowSecret)
		is.Equal(res.stderr, "")
		is.Equal(res.code, 0) // every run passed
		is.True(strings.Contains(res.stdout, "Files: 2 | Passed: 2 | Failed: 0\n"))

		data, err := os.ReadFile(reportJSON)
		is.NoErr(err)
		var rep runsReportFile
		is.NoErr(json.Unmarshal(data, &rep))
		is.Equal(rep.Status, "pass")
		is.Equal(len(rep.Runs), 2)
		wantIDs := map[string][]string{"job_flow.hurl": {"step-1", "step-2", "step-3"}, "job_flow.json": {"create", "fetch", "poll"}}
		for _, run := range rep.Runs {
			is.Equal(run.Report.Status, "pass")
			var ids []string
			for _, s := range run.Report.StepResults {
				ids = append(ids, s.StepID)
			}
			is.Equal(ids, wantIDs[filepath.Base(run.File)])
			poll := run.Report.StepResults[2]
			is.Equal(poll.Response.Status, 200)
			is.True(strings.Contains(poll.Response.Body, `"state":"done"`)) // polled until done
		}
		is.Equal(rep.Runs[1].Report.StepResults[2].Captures["result_url"], "/reports/j-42.csv") // files run in name order
		xml, err := os.ReadFile(junit)
		is.NoErr(err)
		is.Equal(strings.Count(string(xml), "<testsuite "), 2) // one report for both files
		is.True(!strings.Contains(string(xml), "<failure"))

		// Stored by the server: listed, in the run history, and in the live events.
		list := expectJSON[[]state.Scenario](l, "GET", "/api/scenarios", "", 200, "scenarios")
		ids := map[string]string{}
		for _, sc := range list {
			ids[sc.Name] = sc.ID
		}
		is.True(ids["Job flow"] != "")
		is.True(ids["job_flow.hurl"] != "")
		runs := expectJSON[[]state.RunReport](l, "GET", "/api/scenarios/"+ids["Job flow"]+"/runs", "", 200, "runs")
		is.Equal(len(runs), 1)
		is.Equal(runs[0].Status, "pass")
		events := string(l.do("GET", "/api/events/snapshot?limit=500", "").body)
		is.True(strings.Contains(events, `"run_id":"`+runs[0].RunID+`"`))
		is.True(strings.Contains(events, "scenario.run.completed"))

		// The secret went out (the body of the create step) but was never kept.
		history := string(l.do("GET", "/api/history?limit=500", "").body)
		is.True(strings.Contains(history, `\"token\":\"***\"`)) // the body the mock received, masked
		for name, text := range map[string]string{"stdout": res.stdout, "report": string(data), "junit": string(xml),
			"history": history, "events": events, "runs": string(l.do("GET", "/api/scenarios/"+ids["Job flow"]+"/runs", "").body)} {
			if strings.Contains(text, flowSecret) {
				t.Fatalf("%s holds the secret", name)
			}
		}

		// A second run of the directory stores a second run of each scenario (the scenario
		// is replaced, not duplicated).
		res = runCLI(t, context.Background(), "scenario", "run", filepath.Join("examples", "scenarios"), "--base-url", base)
		is.Equal(res.code, 0)
		is.Equal(len(expectJSON[[]state.Scenario](l, "GET", "/api/scenarios", "", 200, "scenarios")), 2)
		is.Equal(len(expectJSON[[]state.RunReport](l, "GET", "/api/scenarios/"+ids["Job flow"]+"/runs", "", 200, "runs")), 2)
	})
}

// A server-side run takes variables and secrets in its request; the secrets reach neither
// the report nor history, and a scenario that includes a file is refused by the server.
func TestServerRunSecrets(t *testing.T) {
	is := is.New(t)
	l, _ := startJobsServer(t, "epoll")
	data, err := os.ReadFile(filepath.Join("examples", "scenarios", "job_flow.json"))
	is.NoErr(err)
	r := l.do("POST", "/api/scenarios", string(data))
	is.Equal(r.status, 201)
	var created struct{ Scenario state.Scenario }
	is.NoErr(json.Unmarshal(r.body, &created))
	r = l.do("POST", "/api/scenarios/"+created.Scenario.ID+"/run", `{"vars":{"job_name":"nightly-report"},"secrets":{"api_token":"`+flowSecret+`"}}`)
	is.Equal(r.status, 200)
	is.True(strings.Contains(string(r.body), `"status":"pass"`))
	is.True(strings.Contains(string(r.body), `"x-api-token":"***"`))
	history := string(l.do("GET", "/api/history?limit=500", "").body)
	is.True(strings.Contains(history, "/jobs/j-42/status")) // the run's requests are there
	for name, text := range map[string]string{"report": string(r.body), "history": history} {
		if strings.Contains(text, flowSecret) {
			t.Fatalf("%s holds the secret", name)
		}
	}

	// The same through run-remote, its variables from the command line.
	res := runCLI(t, context.Background(), "scenario", "run-remote", created.Scenario.ID, "--server", l.base,
		"--var", "job_name=nightly-report", "--secret", "api_token="+flowSecret, "--json")
	is.Equal(res.code, 0)
	is.True(strings.Contains(res.stdout, `"x-api-token": "***"`))
	is.True(!strings.Contains(res.stdout, flowSecret))

	// Hostile bodies of the two new endpoints: a JSON error naming what is wrong.
	for _, tc := range []struct{ target, body, code, message string }{
		{"/api/history/secrets", `[1]`, "invalid_json", ""},
		{"/api/history/secrets", `{"values":[1]}`, "invalid_request", "values must be a list of strings"},
		{"/api/history/secrets", `{"values":["` + strings.Repeat("x", 4097) + `"]}`, "invalid_request", "secret values must be at most 4096 bytes"},
		{"/api/scenarios/" + created.Scenario.ID + "/runs", `{"run_id":"r1","status":"maybe"}`, "invalid_scenario", "run report: status must be pass or fail"},
		{"/api/scenarios/" + created.Scenario.ID + "/runs", `{"run_id":"r1","status":"pass","step_results":[{"status":"x"}]}`, "invalid_scenario", "run report: step_results[0].status must be pass, fail or skip"},
		{"/api/scenarios/" + created.Scenario.ID + "/runs", `{"run_id":"a/b","status":"pass"}`, "invalid_scenario", ""},
	} {
		r := l.do("POST", tc.target, tc.body)
		is.Equal(r.status, 400) // a bad body
		e := r.apiError(t)
		is.Equal(e.Code, tc.code)
		if tc.message != "" {
			is.Equal(e.Message, tc.message)
		}
	}

	r = l.do("POST", "/api/scenarios", `{"name":"inc","steps":[{"id":"a","include":"job_flow.json"}]}`)
	is.Equal(r.status, 400)
	is.True(strings.Contains(string(r.body), "include is expanded by ownhttp scenario run; the server reads no files"))
}

// Includes from the command line: a file includes the example flow twice with other
// parameters, and reads both includes' captures.
func TestScenarioRunInclude(t *testing.T) {
	is := is.New(t)
	_, base := startJobsServer(t, "epoll")
	flow, err := filepath.Abs(filepath.Join("examples", "scenarios", "job_flow.json"))
	is.NoErr(err)
	main := writeFile(t, "main.json", `{"name":"twice","steps":[
		{"id":"first","include":{"file":`+string(mustJSON(t, flow))+`,"vars":{"job_name":"nightly-report"}}},
		{"id":"second","include":{"file":`+string(mustJSON(t, flow))+`}},
		{"id":"both","method":"GET","path":"/jobs/{{first.job_id}}","expect":{"assert":[
			{"capture":"second.result_url","op":"==","value":"/reports/j-42.csv"}]}}]}`)
	res := runCLI(t, context.Background(), "scenario", "run", main, "--base-url", base, "--json", "--store=false")
	is.Equal(res.code, 0)
	var rep state.RunReport
	is.NoErr(json.Unmarshal([]byte(res.stdout), &rep))
	var ids []string
	for _, s := range rep.StepResults {
		ids = append(ids, s.StepID)
	}
	is.Equal(ids, []string{"first.create", "first.fetch", "first.poll", "second.create", "second.fetch", "second.poll", "both"})
}

// Several files, one of them failing: exit status 3, each file's lines then the totals, and
// the reports say which step failed (with expected, actual and where) and which were skipped.
func TestScenarioRunManyFilesFailing(t *testing.T) {
	is := is.New(t)
	_, base := startJobsServer(t, "epoll")
	dir := t.TempDir()
	pass := writeFile(t, "pass.hurl", "GET /jobs/j-42\nHTTP 200\n[Asserts]\njsonpath \"$.id\" == \"j-42\"\n")
	fail := writeFile(t, "fail.json", `{"name":"failing","vars":{"mode":"quick"},"steps":[
		{"id":"skipped","method":"GET","path":"/jobs/j-42","skip_if":{"capture":"mode","op":"==","value":"quick"}},
		{"id":"wrong","method":"GET","path":"/jobs/j-42","expect":{"assert":[{"jsonpath":"$.owner.id","op":">","value":10}]}},
		{"id":"never","method":"GET","path":"/jobs/j-42"}]}`)
	junit, reportJSON := filepath.Join(dir, "junit.xml"), filepath.Join(dir, "report.json")
	res := runCLI(t, context.Background(), "scenario", "run", pass, fail, "--base-url", base, "--store=false",
		"--junit", junit, "--report-json", reportJSON)
	is.Equal(res.code, 3) // a run failed
	is.True(strings.Contains(res.stdout, "== "+pass+"\n"))
	is.True(strings.Contains(res.stdout, "SKIP skipped "))
	is.True(strings.Contains(res.stdout, "FAIL wrong "))
	is.True(strings.Contains(res.stdout, `reason: assert 0: jsonpath "$.owner.id" > 10: actual 7`))
	is.True(strings.HasSuffix(res.stdout, "Files: 2 | Passed: 1 | Failed: 1\n"))
	xml, err := os.ReadFile(junit)
	is.NoErr(err)
	is.Equal(strings.Count(string(xml), "<failure "), 1)
	is.Equal(strings.Count(string(xml), "<skipped "), 2) // skip_if, and the step after the failure
	data, err := os.ReadFile(reportJSON)
	is.NoErr(err)
	var rep runsReportFile
	is.NoErr(json.Unmarshal(data, &rep))
	is.Equal(rep.Status, "fail")
	is.Equal(rep.Summary.Failed, 1)
	is.Equal(rep.Runs[1].Report.StepResults[0].Status, "skip")
}
