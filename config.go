package main

// Where settings come from, and `ownhttp config`, which shows it.
//
// flagSet.load fills the flags declared in flags.go from three sources in order, each only
// for flags the sources before it left unset: the command line, the environment
// (OWNHTTP_<NAME>, and PORT for the port) and the --config file; a flag none of them sets
// keeps its default. It records where each value came from in flagSet.sources.

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	iofs "io/fs"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/peterbourgon/ff/v3"

	"ownhttp/cli"
)

// configCommand is `ownhttp config`, listed in --help beside cli.Commands.
var configCommand = cli.Command{Name: "config", Summary: "print the effective configuration and where each value came from (--json for machines)"}

// otherEnv are the OWNHTTP_ variables that are not server flags but that other parts of
// ownhttp read: the command-line client's (cli/client.go), the CPU profile of a pprof build
// (profile.go), the bench scripts' (bench/anchors.sh) and the browser tests' binary
// (OWNHTTP_BIN, e2e/run.mjs). Any other OWNHTTP_ variable that names no flag is an error,
// so a misspelt one is never silently ignored.
var otherEnv = []string{"SERVER", "BASE_URL", "TOKEN", "INSECURE", "TIMEOUT", "CPUPROFILE", "SHARED", "BIN"}

// secretFlags print as *** in `ownhttp config` when set.
var secretFlags = []string{"demo-token"}

// load parses args, then the environment, then the --config file, recording sources.
func (fs *flagSet) load(args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return cli.Usagef("%s", oneLine(err.Error()))
	}
	if fs.NArg() > 0 {
		return cli.Usagef("unexpected argument %q", fs.Arg(0))
	}
	fs.Visit(func(f *flag.Flag) { fs.sources[f.Name] = "flag" })
	if err := fs.loadEnv(); err != nil {
		return err
	}
	if path := fs.Lookup("config").Value.String(); path != "" {
		return fs.loadFile(path)
	}
	return nil
}

// loadEnv sets each flag the command line did not set from its OWNHTTP_ variable when that
// is set, empty or not: an empty value means the empty value (a string flag becomes empty; a
// number, duration or boolean cannot be empty, which is a usage error). PORT sets the port
// when neither --port nor OWNHTTP_PORT did; unlike ours, an empty PORT counts as unset. An
// OWNHTTP_ variable that is neither a flag's nor in otherEnv is a usage error. A variable
// is one Set call with its whole value: a repeatable flag that takes a list from the
// environment splits it in its own Set (and an empty value should mean no entries).
func (fs *flagSet) loadEnv() error {
	known := map[string]bool{}
	var names []string
	fs.VisitAll(func(f *flag.Flag) {
		if !fs.local[f.Name] {
			known[envName(f.Name)] = true
			names = append(names, envName(f.Name))
		}
	})
	for _, n := range otherEnv {
		known[envPrefix+"_"+n] = true
	}
	var unknown []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, envPrefix+"_") && !known[name] {
			unknown = append(unknown, name)
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		return cli.Usagef("%s is not an ownhttp setting%s; unset it", unknown[0], didYouMean(unknown[0], names))
	}

	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if err != nil || fs.local[f.Name] || fs.sources[f.Name] != "" {
			return
		}
		name := envName(f.Name)
		v, ok := os.LookupEnv(name)
		if !ok {
			return
		}
		if serr := fs.Set(f.Name, v); serr != nil {
			if v == "" {
				err = cli.Usagef("%s is set but empty: --%s wants %s (unset the variable for the default)", name, f.Name, wants(f))
			} else {
				err = cli.Usagef("%s=%q: --%s wants %s", name, v, f.Name, wants(f))
			}
			return
		}
		fs.sources[f.Name] = "env " + name
	})
	if err != nil {
		return err
	}
	if p := os.Getenv("PORT"); fs.sources["port"] == "" && p != "" {
		if _, err := strconv.Atoi(p); err != nil {
			return cli.Usagef("PORT=%q is not a port number", p)
		}
		if err := fs.Set("port", p); err != nil {
			return cli.Usagef("PORT=%q is not a port number", p)
		}
		fs.sources["port"] = "env PORT"
	}
	return nil
}

// loadFile reads the --config file with ff/v3's config-file support and its plain format:
// one "name value" per line, the flag's name without dashes, a space or a tab, the value the
// rest of the line ("" for the empty value); a name alone sets a boolean flag to true; blank lines and lines
// starting with # are skipped, and " #" starts a comment. A repeatable flag takes repeated
// lines; any other flag named twice takes the later line. Only flags the command line and the environment left unset take the file's value.
// An unknown name, a bad value, config itself or a missing file is a usage error naming the
// file and the line.
func (fs *flagSet) loadFile(path string) error {
	err := ff.Parse(fs.FlagSet, nil, ff.WithConfigFile(path), ff.WithConfigFileParser(fs.fileParser(path)))
	var pe *iofs.PathError
	switch {
	case err == nil:
		return nil
	case errors.As(err, new(cli.UsageError)):
		return err
	case errors.As(err, &pe):
		return cli.Usagef("config file %s: %v", path, pe.Err)
	}
	return cli.Usagef("config file %s: %s", path, oneLine(err.Error()))
}

// fileParser is loadFile's ff.ConfigFileParser: ff.PlainParser run on one line at a time, so
// every error names its line, and strict where ff is lenient (env names as keys, a name
// without a value for a flag that is not boolean).
func (fs *flagSet) fileParser(path string) ff.ConfigFileParser {
	return func(r io.Reader, set func(name, value string) error) error {
		sc := bufio.NewScanner(r)
		for n := 1; sc.Scan(); n++ {
			line := strings.TrimSpace(sc.Text())
			if i := strings.IndexAny(line, " \t"); i >= 0 {
				line = line[:i] + " " + line[i+1:] // a tab after the name separates too
			}
			at := fmt.Sprintf("%s:%d", path, n)
			err := ff.PlainParser(strings.NewReader(line), func(name, value string) error {
				f := fs.Lookup(name)
				switch {
				case name == "config":
					return cli.Usagef("%s: a config file cannot name another (config)", at)
				case f == nil || fs.local[name]:
					hint := ""
					if strings.HasPrefix(name, "-") || strings.Contains(name, "=") {
						hint = ` (write "name value": no dashes, no =)`
					}
					var names []string
					fs.VisitAll(func(f *flag.Flag) {
						if !fs.local[f.Name] {
							names = append(names, f.Name)
						}
					})
					return cli.Usagef("%s: unknown setting %q%s%s", at, name, hint,
						didYouMean(strings.TrimLeft(strings.ToLower(strings.ReplaceAll(name, "_", "-")), "-"), names))
				case !isBoolFlag(f) && line == name:
					return cli.Usagef("%s: %s wants %s after its name", at, name, wants(f))
				}
				if value == `""` {
					value = ""
				}
				src := fs.sources[name]
				if src != "" && !strings.HasPrefix(src, "file ") {
					return nil // the command line or the environment set it
				}
				if err := set(name, value); err != nil {
					return cli.Usagef("%s: %s %q: wants %s", at, name, value, wants(f))
				}
				if src == "" {
					fs.sources[name] = "file " + at
				} else {
					fs.sources[name] = src + "," + strconv.Itoa(n)
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
		if err := sc.Err(); err != nil {
			return cli.Usagef("config file %s: %v", path, err)
		}
		return nil
	}
}

// origin names where name's value came from, for messages: "--port", "OWNHTTP_PORT",
// "FILE:LINE" or "default".
func (fs *flagSet) origin(name string) string {
	switch src := fs.sources[name]; {
	case src == "flag":
		return "--" + name
	case strings.HasPrefix(src, "env "), strings.HasPrefix(src, "file "):
		_, s, _ := strings.Cut(src, " ")
		return s
	}
	return "default"
}

// via is origin as a suffix for a message about a flag, empty when the command line set it.
func (fs *flagSet) via(name string) string {
	if o := fs.origin(name); o != "--"+name {
		return " (" + o + ")"
	}
	return ""
}

// wants says what kind of value f takes.
func wants(f *flag.Flag) string {
	if isBoolFlag(f) {
		return "true or false"
	}
	switch kind, _ := flag.UnquoteUsage(f); kind {
	case "duration":
		return "a duration such as 10s or 500ms"
	case "int", "uint":
		return "a whole number"
	case "float":
		return "a number"
	case "string":
		return "a string"
	}
	return "a value"
}

func isBoolFlag(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// didYouMean suggests the candidate closest to name, when one is close.
func didYouMean(name string, candidates []string) string {
	best, bestD := "", 3
	for _, c := range candidates {
		if d := editDistance(name, c); d < bestD {
			best, bestD = c, d
		}
	}
	if best == "" {
		return ""
	}
	return " (did you mean " + best + "?)"
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// setting is one line of `ownhttp config`.
type setting struct {
	Name   string `json:"-"`
	Value  any    `json:"value"`
	Text   string `json:"-"`
	Source string `json:"source"`
}

// settings lists every flag of fs (but its local ones) by name with its effective value
// and source; secrets print as ***.
func (fs *flagSet) settings() []setting {
	var out []setting
	fs.VisitAll(func(f *flag.Flag) {
		if fs.local[f.Name] {
			return
		}
		s := setting{Name: f.Name, Text: f.Value.String(), Source: fs.sources[f.Name]}
		if s.Source == "" {
			s.Source = "default"
		}
		s.Value = s.Text
		if g, ok := f.Value.(flag.Getter); ok {
			switch v := g.Get().(type) {
			case time.Duration:
			case bool, int, int64, uint, uint64, float64, []string:
				s.Value = v
			}
		}
		if slices.Contains(secretFlags, f.Name) && s.Text != "" {
			s.Value, s.Text = "***", "***"
		}
		out = append(out, s)
	})
	return out
}

// runConfig is `ownhttp config [--json] [server flags]`: it loads the configuration as the
// server would (same flags, environment and --config file, same checks) and prints every
// setting with its value and source instead of serving.
func runConfig(args []string, stdout, stderr io.Writer) error {
	var asJSON bool
	_, fs, err := loadFlags(args, func(fs *flagSet) {
		fs.BoolVar(&asJSON, "json", false, "print a JSON object instead of a table")
		fs.local["json"] = true
	})
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprintf(stderr, "Usage: ownhttp config [--json] [server flags]\n\n"+
			"Prints the configuration the server would run with: every setting, its value and where\n"+
			"it came from (flag, env NAME, file PATH:LINE or default); secrets print as ***.\n"+
			"It reads the same flags, environment and --config file as the server (ownhttp --help\n"+
			"lists them) and exits without serving.\n\n  --json    print a JSON object {name: {value, source}} instead of a table\n")
		return err
	}
	if err != nil {
		return err
	}
	list := fs.settings()
	if asJSON {
		m := make(map[string]setting, len(list))
		for _, s := range list {
			m[s.Name] = s
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(m)
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tVALUE\tSOURCE")
	for _, s := range list {
		v := s.Text
		if q := strconv.Quote(v); v == "" || q[1:len(q)-1] != v || strings.ContainsAny(v, " #") {
			v = strconv.Quote(v)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", s.Name, v, s.Source)
	}
	return tw.Flush()
}
