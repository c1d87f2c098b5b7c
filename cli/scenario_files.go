package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"ownhttp/internal/atomicfile"
	"ownhttp/state"
)

// cliRun is "ownhttp scenario run FILE|DIR…": it reads scenario files (JSON, validated
// exactly as the server validates POST /api/scenarios, state.DecodeScenario, with their
// includes expanded; or Hurl files, state.ParseHurl) and runs each from here with the
// server's own engine (state.RunPlan: chaos, variables, captures, assertions, retries,
// report). A directory stands for its *.json and *.hurl files, recursively, in name order.
// Local steps are real HTTP requests to --server plus the step's raw path; target steps go
// through POST {base}/api/proxy/request; a step's expect.calls are counted with POST
// {base}/api/requests/count once its response is in.
//
// Variables come from OWNHTTP_VAR_name (and OWNHTTP_SECRET_name, secret), then each
// --vars-file (name=value lines), then --var name=value and --secret name=value, the later
// winning; secret values are shown as *** in every report and line printed or written.
//
// Every file is read before anything runs: an invalid one stops the command (exit 2). With
// --jobs N, N files run at once. One file prints as always: a progress line per step as it
// finishes, then the summary (or, with --json, the report alone on stdout and the progress
// on stderr). Several files print each file's lines once it is done, then a line per file
// and the totals (--json: {"runs":[…]} on stdout). --junit FILE writes one JUnit XML report
// for all files (a testsuite each), --report-json FILE one JSON report.
//
// Unless --store=false, each finished run is stored by the server: the scenario is created
// there (or replaced, when one has its name) and the report added to its runs (POST
// /api/scenarios/{id}/runs), so it shows in scenario list, the run history and the tower's
// timeline. A run the server cannot store is one warning line on stderr; the exit status
// is the run's. Exit status: 0 when every run passed, 3 when one failed.
func cliRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fset, cc := newCLIFlags("run", "base-url")
	seed := fset.Int64("seed", state.DefaultChaosSeed, "chaos seed of the run")
	junit := fset.String("junit", "", "also write a JUnit XML report to this file")
	reportJSON := fset.String("report-json", "", "also write a JSON report of every run to this file")
	live := fset.Bool("live", false, "print STEP START and STEP END lines instead of the progress lines")
	maxSteps := fset.Int("max-steps", state.DefaultMaxSteps, "most steps a scenario may have")
	maxAssertions := fset.Int("max-assertions", state.DefaultMaxAssertions, "most assertions a step may have")
	jobs := fset.Int("jobs", 1, "how many files run at once")
	store := fset.Bool("store", true, "store each run on the server (scenario list, run history, timeline)")
	var vars, secrets, varsFiles listFlag
	fset.Var(&vars, "var", "a variable, name=value (repeatable)")
	fset.Var(&secrets, "secret", "a secret variable, name=value, shown as *** (repeatable)")
	fset.Var(&varsFiles, "vars-file", "a file of name=value lines (repeatable)")
	pos, err := parseCLIFlags(fset, args)
	if errors.Is(err, flag.ErrHelp) {
		cliHelp(fset, "FILE|DIR...", stdout)
		return err
	}
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return Usagef("scenario run: want at least one scenario FILE or DIR")
	}
	if *maxSteps <= 0 || *maxAssertions <= 0 {
		return Usagef("scenario run: --max-steps and --max-assertions must be positive")
	}
	if *jobs <= 0 {
		return Usagef("scenario run: --jobs must be positive")
	}
	given, err := gatherVariables(os.Environ(), varsFiles, vars, secrets)
	if err != nil {
		return err
	}
	client, err := newCLIClient(cc.server, cc.token, cc.insecure, cc.timeout, cc.timeout)
	if err != nil {
		return err
	}
	files, err := expandScenarioArgs(pos)
	if err != nil {
		fmt.Fprintf(stderr, "ownhttp: cannot read scenario file: %s\n", oneLine(err.Error()))
		return exitFailure
	}
	limits := state.ScenarioLimits{MaxSteps: *maxSteps, MaxAssertions: *maxAssertions}
	runs := make([]fileRun, len(files))
	for i, file := range files {
		sc, code, err := loadScenarioFile(file, limits)
		if err != nil {
			fmt.Fprintf(stderr, "ownhttp: %s\n", oneLine(err.Error()))
			return code
		}
		if sc.ID == "" {
			sc.ID = randomHex(6) // as the server names a scenario without an id
		}
		runs[i] = fileRun{file: file, scenario: sc}
	}

	single := len(runs) == 1
	var outMu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	slots := make(chan struct{}, *jobs)
	for i := range runs {
		fr := &runs[i]
		wg.Add(1)
		slots <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			var buf bytes.Buffer
			progress := io.Writer(&buf)
			if single {
				progress = stdout
				if cc.json {
					progress = stderr // stdout carries the report alone
				}
			}
			var plan *state.RunPlan
			redact := func(s string) string { return plan.Redact(s) }
			r := &localRunner{client: client, vars: given, onPlan: func(p *state.RunPlan) { plan = p }}
			var progressMu sync.Mutex
			line := func(s string) {
				progressMu.Lock()
				defer progressMu.Unlock()
				io.WriteString(progress, redact(s))
			}
			if *live {
				r.onStart = func(st state.Step) {
					line(fmt.Sprintf("STEP START scenario=%s step=%s target=%s\n", fr.scenario.ID, st.ID, st.TargetID))
				}
				r.onEnd = func(req state.StepRequest, res state.StepResult) { line(stepEndLine(res)) }
			} else {
				r.onEnd = func(req state.StepRequest, res state.StepResult) { line(progressLine(req, res)) }
			}
			report, err := r.run(ctx, fr.scenario, *seed)
			outMu.Lock()
			defer outMu.Unlock()
			if err != nil {
				if firstErr == nil {
					firstErr = err
				}
				return
			}
			fr.report, fr.ran = report, true
			if *store {
				if msg := storeRun(ctx, client, fr); msg != "" {
					fmt.Fprintf(stderr, "ownhttp: run of %s not stored on the server: %s\n", fr.file, msg)
				}
			}
			if !single {
				fmt.Fprintf(stdout, "== %s\n", fr.file)
				stdout.Write(buf.Bytes())
				if !cc.json {
					writeRunSummary(stdout, fr.report)
				}
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return client.reportRequestError(stderr, firstErr)
	}

	switch {
	case single && cc.json:
		writeJSONOut(stdout, runs[0].report)
	case single:
		writeRunSummary(stdout, runs[0].report)
	case cc.json:
		writeJSONOut(stdout, buildRunsReport(runs))
	default:
		writeFilesSummary(stdout, runs)
	}
	if *junit != "" {
		if err := writeJUnitFile(*junit, runs); err != nil {
			fmt.Fprintf(stderr, "ownhttp: cannot write JUnit report: %s\n", oneLine(err.Error()))
			return exitFailure
		}
	}
	if *reportJSON != "" {
		b, _ := json.MarshalIndent(buildRunsReport(runs), "", "  ")
		if err := atomicfile.Write(*reportJSON, append(b, '\n'), 0o644); err != nil {
			fmt.Fprintf(stderr, "ownhttp: cannot write JSON report: %s\n", oneLine(err.Error()))
			return exitFailure
		}
	}
	for _, fr := range runs {
		if fr.report.Status != state.StatusPass {
			return exitFailed
		}
	}
	return nil
}

// fileRun is one scenario file and its run.
type fileRun struct {
	file     string
	scenario state.Scenario
	report   state.RunReport
	ran      bool
}

// listFlag is a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// Prefixes of the environment variables that give variables.
const (
	envVarPrefix    = envPrefix + "_VAR_"
	envSecretPrefix = envPrefix + "_SECRET_"
)

// gatherVariables builds a run's variables from the environment (OWNHTTP_VAR_name,
// OWNHTTP_SECRET_name), the variables files, then --var and --secret (later ones win).
func gatherVariables(environ []string, files, vars, secrets []string) (state.Variables, error) {
	v := state.Variables{Values: map[string]string{}, Secret: map[string]bool{}}
	set := func(name, value string, secret bool) {
		v.Values[name] = value
		if secret {
			v.Secret[name] = true
		} else {
			delete(v.Secret, name)
		}
	}
	sort.Strings(environ)
	for _, kv := range environ {
		for _, p := range []struct {
			prefix string
			secret bool
		}{{envVarPrefix, false}, {envSecretPrefix, true}} {
			if rest, ok := strings.CutPrefix(kv, p.prefix); ok {
				name, value, e := state.ParseVariable(rest)
				if e != nil {
					return v, Usagef("scenario run: %s%s", p.prefix, e.Message)
				}
				set(name, value, p.secret)
			}
		}
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			return v, Usagef("scenario run: --vars-file: %s", oneLine(err.Error()))
		}
		values, e := state.ParseVariablesFile(data)
		if e != nil {
			return v, Usagef("scenario run: --vars-file %s: %s", file, e.Message)
		}
		for name, value := range values {
			set(name, value, false)
		}
	}
	for _, list := range []struct {
		items  []string
		secret bool
	}{{vars, false}, {secrets, true}} {
		for _, item := range list.items {
			name, value, e := state.ParseVariable(item)
			if e != nil {
				return v, Usagef("scenario run: %s", e.Message)
			}
			set(name, value, list.secret)
		}
	}
	return v, nil
}

// expandScenarioArgs turns the command line's files and directories into files: a
// directory stands for its *.json and *.hurl files, recursively, sorted by path.
func expandScenarioArgs(args []string) ([]string, error) {
	var out []string
	for _, arg := range args {
		if info, err := os.Stat(arg); err != nil || !info.IsDir() {
			out = append(out, arg) // reading it says what is wrong
			continue
		}
		var found []string
		err := filepath.WalkDir(arg, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if ext := filepath.Ext(path); !d.IsDir() && (ext == ".json" || ext == ".hurl") {
				found = append(found, path)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		if len(found) == 0 {
			return nil, fmt.Errorf("%s holds no .json or .hurl file", arg)
		}
		sort.Strings(found)
		out = append(out, found...)
	}
	return out, nil
}

// loadScenarioFile reads a JSON or Hurl scenario file, its includes expanded (included
// files are read relative to the file that includes them). The error says which file and
// comes with its exit status: 1 for a file that cannot be read, 2 for an invalid one.
func loadScenarioFile(file string, limits state.ScenarioLimits) (state.Scenario, ExitCode, error) {
	sc, err := decodeScenarioFile(file, limits)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			return sc, exitFailure, fmt.Errorf("cannot read scenario file: %v", err)
		}
		return sc, exitValidation, fmt.Errorf("invalid scenario %s: %v", file, err)
	}
	load := func(from, name string) (state.Scenario, string, error) {
		dir := filepath.Dir(file)
		if from != "" {
			dir = filepath.Dir(from)
		}
		path := name
		if !filepath.IsAbs(path) {
			path = filepath.Join(dir, name)
		}
		abs, err := filepath.Abs(path)
		if err != nil {
			return state.Scenario{}, "", err
		}
		inner, err := decodeScenarioFile(path, limits)
		if err != nil {
			return state.Scenario{}, "", errors.New(oneLine(err.Error()))
		}
		return inner, abs, nil
	}
	top, _ := filepath.Abs(file)
	sc, e := state.ExpandIncludes(sc, limits, func(from, name string) (state.Scenario, string, error) {
		if from == "" {
			from = top
		}
		return load(from, name)
	})
	if e != nil {
		return sc, exitValidation, fmt.Errorf("invalid scenario %s: %s", file, e.Message)
	}
	return sc, 0, nil
}

// decodeScenarioFile decodes one file, without expanding its includes.
func decodeScenarioFile(file string, limits state.ScenarioLimits) (state.Scenario, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return state.Scenario{}, err
	}
	var sc state.Scenario
	var e *state.Error
	if strings.EqualFold(filepath.Ext(file), ".hurl") {
		sc, e = state.ParseHurl(filepath.Base(file), data, limits)
	} else {
		sc, e = state.DecodeScenario(data, limits)
	}
	if e != nil {
		return sc, errors.New(e.Message)
	}
	return sc, nil
}

// runsReport is the JSON report of several runs (--report-json, and --json with several
// files).
type runsReport struct {
	Status  string         `json:"status"`
	Summary runsSummary    `json:"summary"`
	Runs    []runsReportIt `json:"runs"`
}

type runsSummary struct {
	Files  int `json:"files"`
	Passed int `json:"passed"`
	Failed int `json:"failed"`
}

type runsReportIt struct {
	File     string          `json:"file"`
	Scenario string          `json:"scenario"`
	Report   state.RunReport `json:"report"`
}

func buildRunsReport(runs []fileRun) runsReport {
	out := runsReport{Status: state.StatusPass, Runs: []runsReportIt{}}
	for _, fr := range runs {
		out.Runs = append(out.Runs, runsReportIt{File: fr.file, Scenario: fr.scenario.Name, Report: fr.report})
		out.Summary.Files++
		if fr.report.Status == state.StatusPass {
			out.Summary.Passed++
		} else {
			out.Summary.Failed++
			out.Status = state.StatusFail
		}
	}
	return out
}

// writeFilesSummary writes a line per file and the totals:
//
//	PASS examples/a.json  2 steps  12.3ms
//	FAIL flow.hurl        1 passed, 1 failed  40.1ms
//	Files: 2 | Passed: 1 | Failed: 1
func writeFilesSummary(w io.Writer, runs []fileRun) {
	fmt.Fprintln(w, strings.Repeat("=", 72))
	rep := buildRunsReport(runs)
	for _, fr := range runs {
		fmt.Fprintf(w, "%s %s  passed=%d failed=%d  %sms\n", passFail(fr.report.Status), fr.file,
			fr.report.Summary.Passed, fr.report.Summary.Failed, pyFloat(fr.report.Summary.DurationMS))
	}
	fmt.Fprintf(w, "Files: %d | Passed: %d | Failed: %d\n", rep.Summary.Files, rep.Summary.Passed, rep.Summary.Failed)
}

// storeRun stores a finished run on the server: the scenario (created, or replaced when
// one has its name) and the report. It returns why it could not, or "".
func storeRun(ctx context.Context, c *cliClient, fr *fileRun) string {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	status, body, err := c.api(ctx, http.MethodGet, "/api/scenarios", nil)
	if err != nil {
		return rootCause(err)
	}
	if status != http.StatusOK {
		return answerText(status, body)
	}
	var list struct {
		Scenarios []struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"scenarios"`
	}
	if err := json.Unmarshal(body, &list); err != nil {
		return "GET /api/scenarios: " + err.Error()
	}
	payload, err := json.Marshal(fr.scenario)
	if err != nil {
		return err.Error()
	}
	id := ""
	for _, s := range list.Scenarios {
		if strings.EqualFold(strings.TrimSpace(s.Name), fr.scenario.Name) {
			id = s.ID
		}
	}
	if id == "" {
		status, body, err = c.api(ctx, http.MethodPost, "/api/scenarios", payload)
	} else {
		status, body, err = c.api(ctx, http.MethodPut, "/api/scenarios/"+url.PathEscape(id), payload)
	}
	if err != nil {
		return rootCause(err)
	}
	var created struct {
		Scenario struct {
			ID string `json:"id"`
		} `json:"scenario"`
	}
	if status/100 != 2 || json.Unmarshal(body, &created) != nil || created.Scenario.ID == "" {
		return answerText(status, body)
	}
	id = created.Scenario.ID
	report := fr.report
	report.ScenarioID = id
	payload, err = json.Marshal(report)
	if err != nil {
		return err.Error()
	}
	status, body, err = c.api(ctx, http.MethodPost, "/api/scenarios/"+url.PathEscape(id)+"/runs", payload)
	if err != nil {
		return rootCause(err)
	}
	if status != http.StatusCreated {
		return answerText(status, body)
	}
	fr.report.ScenarioID = id
	return ""
}

// answerText is an error answer of the server in one line.
func answerText(status int, body []byte) string {
	s := fmt.Sprintf("%d %s", status, http.StatusText(status))
	if b := bytes.TrimSpace(body); len(b) > 0 {
		s += ": " + clip(oneLine(string(b)), 300)
	}
	return s
}

// progressLine is writeProgress's line as a string.
func progressLine(req state.StepRequest, res state.StepResult) string {
	var b strings.Builder
	writeProgress(&b, req, res)
	return b.String()
}

// stepEndLine is writeStepEnd's line as a string.
func stepEndLine(res state.StepResult) string {
	var b strings.Builder
	writeStepEnd(&b, res)
	return b.String()
}
