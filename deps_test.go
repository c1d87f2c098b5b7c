package main

// This file enforces the import rules of design.md, as Go's own go/build/deps_test.go does:
//
//	stdlib < proto, assets, state
//	proto < conn
//	conn, x/sys/unix < loop
//	conn, proto, state, assets < features
//	loop, features, state < bench
//	state, bench, proto < cli (which imports only those three itself: cli/cli_test.go checks it)
//	loop, features, state, bench, cli, oklog/run, ff/v3 < main
//	stdlib < internal/atomicfile (state, loop and above), internal/sse (cli and above),
//	internal/logwriter (main)
//	everything < internal/testkit, which only _test.go files import
//	loop and features never import each other; proto, conn and loop never import state.
//
// "a < b" means b may import a and everything a may import, so the lattice is transitive for
// the module's own packages (main may import conn through loop). Third-party packages are not
// inherited: golang.org/x/sys/unix is imported in loop and nowhere else, oklog/run and ff/v3 in
// main only, fsnotify in features/mockfiles only, kin-openapi and
// yaml/v4 in mock/importer only. The standard library is allowed everywhere except: net/http and net/textproto never
// appear in proto, conn or loop (the server's wire is ours), and net/http/httptest never appears
// outside _test.go files. features may use net/http as an outbound client.
//
// The check reads every non-test .go file with go/parser (imports only), so it needs neither
// the network nor a build. A package below a folder (bench/cmd/load) follows the folder's rule
// and may import the rest of its own folder, except that features' subpackages (metrics,
// files, upstream) never import features itself.

import (
	"fmt"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/matryer/is"
)

// importRule is what the non-test files below one top-level folder may import.
type importRule struct {
	// internal lists the module's top-level folders this folder may import (the transitive
	// closure of the design lattice). A folder may always import its own subpackages.
	internal []string
	// external lists the third-party packages it may import; each entry also allows the
	// packages below it (ff/v3 allows ff/v3/ffcli).
	external []string
	// externalIn lists third-party packages that one package of the folder alone may
	// import: the third-party package's path to that package's directory.
	externalIn map[string]string
	// noStd lists the standard-library packages (and those below them) it must not import.
	noStd []string
	// leafSubpackages forbids the folder's subpackages to import the folder's own package
	// (features/metrics never imports features, which imports it).
	leafSubpackages bool
}

// rootFolder is the key of the module root (package main) in importRules.
const rootFolder = ""

var (
	ownWire = []string{"net/http", "net/textproto"}

	// importRules is the table, keyed by top-level folder. Folders that do not exist yet
	// (assets, bench, state) are listed so the rule is in place when they arrive.
	importRules = map[string]importRule{
		"proto":               {noStd: ownWire},
		"assets":              {},
		"internal/atomicfile": {},
		"internal/sse":        {},
		"internal/logwriter":  {},
		"internal/memtrim":    {},
		"mock": {externalIn: map[string]string{"github.com/getkin/kin-openapi/openapi3": "mock/importer",
			"go.yaml.in/yaml/v4": "mock/importer"}},
		"state": {internal: []string{"mock", "internal/atomicfile"}},
		"conn":  {internal: []string{"proto"}, noStd: ownWire},
		"loop": {internal: []string{"conn", "proto", "internal/atomicfile"},
			external: []string{"golang.org/x/sys/unix"}, noStd: ownWire},
		"features": {internal: []string{"conn", "proto", "state", "mock", "assets", "internal/atomicfile"}, leafSubpackages: true,
			externalIn: map[string]string{"github.com/fsnotify/fsnotify": "features/mockfiles"}},
		"bench": {internal: []string{"loop", "features", "state", "mock", "conn", "proto", "assets", "internal/atomicfile"}},
		"cli": {internal: []string{"state", "mock", "bench", "proto", "loop", "features", "conn", "assets",
			"internal/atomicfile", "internal/sse"}},
		rootFolder: {internal: []string{"loop", "features", "state", "mock", "bench", "cli", "conn", "proto", "assets",
			"internal/atomicfile", "internal/sse", "internal/logwriter", "internal/memtrim"},
			external: []string{"github.com/oklog/run", "github.com/peterbourgon/ff/v3"}},
		// The test harness may use every package; no rule lists it, so only _test.go files
		// import it.
		"internal/testkit": {internal: []string{"loop", "features", "state", "mock", "bench", "cli", "conn", "proto", "assets",
			"internal/atomicfile", "internal/sse", "internal/logwriter", "internal/memtrim"}},
	}

	// forbiddenEverywhere are standard-library packages no non-test file may import, with why.
	forbiddenEverywhere = map[string]string{
		"net/http/httptest": "httptest belongs in _test.go files",
	}

	// noGoFolders hold no Go code at all.
	noGoFolders = []string{"e2e"}
)

// folderOf is the folder whose rule governs the module-relative directory dir: its first
// element, or its first two below internal/ (each internal package is a folder of its own).
func folderOf(dir string) string {
	first, rest, _ := strings.Cut(dir, "/")
	if first == "internal" {
		second, _, _ := strings.Cut(rest, "/")
		return first + "/" + second
	}
	return first
}

// folderName is how messages name a folder.
func folderName(folder string) string {
	if folder == rootFolder {
		return "main (the module root)"
	}
	return folder
}

// underAny reports whether importPath is one of prefixes or below one of them.
func underAny(importPath string, prefixes []string) (string, bool) {
	for _, p := range prefixes {
		if importPath == p || strings.HasPrefix(importPath, p+"/") {
			return p, true
		}
	}
	return "", false
}

func listOr(items []string, none string) string {
	if len(items) == 0 {
		return none
	}
	return strings.Join(items, ", ")
}

// checkImports returns one message per import of file that rules forbid. file is the
// module-relative, slash-separated path of a non-test .go file; module is the module path.
func checkImports(rules map[string]importRule, module, file string, imports []string) []string {
	dir := path.Dir(file)
	folder := rootFolder
	if dir != "." {
		folder = folderOf(dir)
	}
	if slices.Contains(noGoFolders, folder) {
		return []string{fmt.Sprintf("%s: %s/ must hold no Go code", file, folder)}
	}
	rule, ok := rules[folder]
	if !ok {
		return []string{fmt.Sprintf("%s: folder %s/ has no import rule; add one to design.md and to importRules in deps_test.go", file, folder)}
	}
	var bad []string
	for _, imp := range imports {
		fail := func(format string, args ...any) {
			bad = append(bad, fmt.Sprintf("%s: forbidden import %q: ", file, imp)+fmt.Sprintf(format, args...))
		}
		switch {
		case imp == module:
			fail("the module root is package main and cannot be imported")
		case strings.HasPrefix(imp, module+"/"):
			target := folderOf(strings.TrimPrefix(imp, module+"/"))
			if rule.leafSubpackages && dir != folder && imp == module+"/"+folder {
				fail("a package below %s/ must not import %s itself", folder, folder)
				continue
			}
			if target == folder || slices.Contains(rule.internal, target) {
				continue
			}
			fail("%s may import only these folders of the module: %s", folderName(folder), listOr(rule.internal, "none"))
		case !strings.Contains(strings.SplitN(imp, "/", 2)[0], "."):
			// The standard library: the first path element has no dot.
			if why, no := forbiddenEverywhere[imp]; no {
				fail("%s", why)
			} else if p, no := underAny(imp, rule.noStd); no {
				fail("%s must not import %s (the server's wire is ours)", folderName(folder), p)
			}
		default:
			if _, yes := underAny(imp, rule.external); yes {
				continue
			}
			if only, yes := rule.externalIn[imp]; yes {
				if dir == only {
					continue
				}
				fail("only %s may import it", only)
				continue
			}
			fail("%s may import only these third-party packages: %s", folderName(folder), listOr(rule.external, "none"))
		}
	}
	return bad
}

// modulePath reads the module line of root/go.mod.
func modulePath(root string) (string, error) {
	b, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		return "", err
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "module"); ok {
			rest = strings.TrimSpace(rest)
			if p, err := strconv.Unquote(rest); err == nil {
				return p, nil
			}
			if rest != "" {
				return rest, nil
			}
		}
	}
	return "", fmt.Errorf("%s: no module line", filepath.Join(root, "go.mod"))
}

// moduleViolations checks every non-test .go file of the module rooted at root, the way the go
// tool sees the module: it skips testdata, directories named with a leading . or _, and nested
// modules. It returns the violations and the module-relative files it checked.
func moduleViolations(root string, rules map[string]importRule) (bad, files []string, err error) {
	module, err := modulePath(root)
	if err != nil {
		return nil, nil, err
	}
	fset := token.NewFileSet()
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if p == root {
				return nil
			}
			if name == "testdata" || name == "node_modules" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") {
				return filepath.SkipDir
			}
			if _, err := os.Stat(filepath.Join(p, "go.mod")); err == nil {
				return filepath.SkipDir // another module
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") ||
			strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		f, err := parser.ParseFile(fset, p, nil, parser.ImportsOnly)
		if err != nil {
			return fmt.Errorf("%s: %w", rel, err)
		}
		var imports []string
		for _, spec := range f.Imports {
			imp, err := strconv.Unquote(spec.Path.Value)
			if err != nil {
				return fmt.Errorf("%s: import %s: %w", rel, spec.Path.Value, err)
			}
			imports = append(imports, imp)
		}
		files = append(files, rel)
		bad = append(bad, checkImports(rules, module, rel, imports)...)
		return nil
	})
	return bad, files, err
}

// TestDeps enforces design.md's import rules on the module's non-test files.
func TestDeps(t *testing.T) {
	is := is.New(t)
	bad, files, err := moduleViolations(".", importRules)
	is.NoErr(err) // every non-test .go file parses
	// The walk must have seen the module, or the check passes vacuously.
	is.True(slices.Contains(files, "main.go")) // scanned main.go
	for _, dir := range []string{"proto", "conn", "loop", "features"} {
		is.True(slices.ContainsFunc(files, func(f string) bool { return strings.HasPrefix(f, dir+"/") })) // scanned every core folder
	}
	for _, b := range bad {
		t.Error(b)
	}
}

// TestDepsRulesFollowDesign checks the table itself against the lattice's stated properties.
func TestDepsRulesFollowDesign(t *testing.T) {
	is := is.New(t)
	may := func(from, to string) bool { return slices.Contains(importRules[from].internal, to) }

	is.True(!may("loop", "features")) // loop never imports features
	is.True(!may("features", "loop")) // features never imports loop
	is.True(!may("mock", "state"))    // the mock engine is pure: it never imports state
	for _, f := range []string{"proto", "conn", "loop"} {
		is.True(!may(f, "state"))                                 // proto, conn and loop never import state
		is.True(slices.Equal(importRules[f].noStd, ownWire))      // proto, conn and loop keep net/http and net/textproto out
		is.True(len(importRules[f].external) == 0 || f == "loop") // only loop has a third-party import
	}
	for folder, r := range importRules {
		for _, ext := range r.external {
			if ext == "golang.org/x/sys/unix" {
				is.Equal(folder, "loop") // x/sys/unix is allowed in loop and nowhere else
			}
		}
		for _, to := range r.internal {
			_, known := importRules[to]
			is.True(known)            // every allowed folder has a rule of its own
			is.True(to != folder)     // a folder does not list itself
			is.True(!may(to, folder)) // no cycles of length two
			// "<" is transitive inside the module: what to may import, folder may too.
			for _, via := range importRules[to].internal {
				if !may(folder, via) {
					t.Errorf("importRules: %s may import %s, which may import %s, but %s may not", folderName(folder), to, via, folderName(folder))
				}
			}
		}
	}
}

// TestDepsChecker proves the checker fails on what the rules forbid and passes the rest.
func TestDepsChecker(t *testing.T) {
	tests := []struct {
		file    string
		imports []string
		bad     []string // the imports expected to be reported, in order
	}{
		// Allowed.
		{"proto/request.go", []string{"bytes", "errors", "strconv"}, nil},
		{"proto/sub/x.go", []string{"ownhttp/proto"}, nil},
		{"conn/conn.go", []string{"ownhttp/proto", "ownhttp/proto/sub", "net/netip"}, nil},
		{"loop/reactor.go", []string{"golang.org/x/sys/unix", "ownhttp/conn", "ownhttp/proto", "net"}, nil},
		{"features/app.go", []string{"ownhttp/conn", "ownhttp/proto", "ownhttp/state", "ownhttp/assets", "net/http"}, nil},
		{"features/app.go", []string{"ownhttp/features/metrics", "ownhttp/features/files", "ownhttp/features/upstream"}, nil},
		{"features/upstream/upstream.go", []string{"ownhttp/conn", "ownhttp/proto", "ownhttp/state", "net/http"}, nil},
		{"features/mockfiles/notify.go", []string{"github.com/fsnotify/fsnotify", "ownhttp/state"}, nil},
		{"assets/assets.go", []string{"embed", "crypto/sha256"}, nil},
		{"bench/bench.go", []string{"ownhttp/loop", "ownhttp/features", "ownhttp/state", "ownhttp/conn"}, nil},
		{"bench/cmd/load/main.go", []string{"ownhttp/bench", "ownhttp/loop"}, nil},
		{"cli/cli.go", []string{"ownhttp/state", "ownhttp/bench", "ownhttp/proto", "net/http"}, nil},
		{"main.go", []string{"ownhttp/loop", "ownhttp/features", "ownhttp/state", "ownhttp/bench", "ownhttp/cli", "ownhttp/conn", "ownhttp/proto",
			"github.com/oklog/run", "github.com/peterbourgon/ff/v3", "github.com/peterbourgon/ff/v3/ffcli", "net/http"}, nil},

		// Forbidden.
		{"proto/request.go", []string{"bytes", "ownhttp/conn"}, []string{"ownhttp/conn"}},
		{"proto/request.go", []string{"net/http", "net/textproto"}, []string{"net/http", "net/textproto"}},
		{"conn/conn.go", []string{"net/http/httputil"}, []string{"net/http/httputil"}},
		{"conn/conn.go", []string{"golang.org/x/sys/unix"}, []string{"golang.org/x/sys/unix"}},
		{"loop/pool.go", []string{"net/http", "ownhttp/features", "ownhttp/state"}, []string{"net/http", "ownhttp/features", "ownhttp/state"}},
		{"features/proxy.go", []string{"ownhttp/loop", "golang.org/x/sys/unix"}, []string{"ownhttp/loop", "golang.org/x/sys/unix"}},
		{"features/x.go", []string{"net/http/httptest", "github.com/matryer/is"}, []string{"net/http/httptest", "github.com/matryer/is"}},
		{"features/metrics/metrics.go", []string{"ownhttp/features", "ownhttp/features/files", "ownhttp/loop"}, []string{"ownhttp/features", "ownhttp/loop"}},
		{"features/app.go", []string{"github.com/fsnotify/fsnotify"}, []string{"github.com/fsnotify/fsnotify"}},
		{"state/model.go", []string{"ownhttp/proto", "github.com/fsnotify/fsnotify"}, []string{"ownhttp/proto", "github.com/fsnotify/fsnotify"}},
		{"mock/criteria.go", []string{"regexp", "ownhttp/state", "ownhttp/proto"}, []string{"ownhttp/state", "ownhttp/proto"}},
		{"assets/assets.go", []string{"ownhttp/proto"}, []string{"ownhttp/proto"}},
		{"bench/cmd/load/main.go", []string{"github.com/oklog/run"}, []string{"github.com/oklog/run"}},
		{"cli/cli.go", []string{"github.com/peterbourgon/ff/v3"}, []string{"github.com/peterbourgon/ff/v3"}},
		{"main.go", []string{"golang.org/x/sys/unix", "net/http/httptest", "ownhttp", "github.com/peterbourgon/ff"},
			[]string{"golang.org/x/sys/unix", "net/http/httptest", "ownhttp", "github.com/peterbourgon/ff"}},
		{"main.go", []string{"ownhttp/certs"}, []string{"ownhttp/certs"}},
		{"main.go", []string{"ownhttp/internal/testkit", "ownhttp/internal/atomicfile"}, []string{"ownhttp/internal/testkit"}},
		{"features/app.go", []string{"ownhttp/internal/sse"}, []string{"ownhttp/internal/sse"}},
		{"internal/sse/sse.go", []string{"ownhttp/proto", "bufio"}, []string{"ownhttp/proto"}},
		{"state/persist.go", []string{"ownhttp/internal/atomicfile", "ownhttp/internal/testkit"}, []string{"ownhttp/internal/testkit"}},
		{"internal/testkit/server.go", []string{"ownhttp/loop", "ownhttp/internal/sse", "net/http"}, nil},
		{"main.go", []string{"ownhttp/internal/logwriter"}, nil},
		{"features/observe.go", []string{"ownhttp/internal/logwriter"}, []string{"ownhttp/internal/logwriter"}},
		{"internal/logwriter/logwriter.go", []string{"io", "sync", "ownhttp/proto"}, []string{"ownhttp/proto"}},
	}
	for _, tt := range tests {
		t.Run(tt.file+" "+strings.Join(tt.imports, ","), func(t *testing.T) {
			is := is.New(t)
			got := checkImports(importRules, "ownhttp", tt.file, tt.imports)
			is.Equal(len(got), len(tt.bad)) // number of violations
			for i, msg := range got {
				is.True(strings.HasPrefix(msg, tt.file+": ")) // the message names the file
				is.True(strings.Contains(msg, strconv.Quote(tt.bad[i])))
			}
		})
	}

	// Files in a folder without a rule, or in a folder that holds no Go, fail whatever they import.
	for _, file := range []string{"newthing/x.go", "e2e/helper.go"} {
		t.Run(file, func(t *testing.T) {
			is := is.New(t)
			got := checkImports(importRules, "ownhttp", file, []string{"fmt"})
			is.Equal(len(got), 1)
			is.True(strings.HasPrefix(got[0], file+": "))
		})
	}
}

// TestDepsWalk runs the whole check on a synthetic module: it reports the non-test file that
// breaks a rule, and ignores test files, testdata and dot directories.
func TestDepsWalk(t *testing.T) {
	is := is.New(t)
	root := t.TempDir()
	write := func(name, src string) {
		p := filepath.Join(root, filepath.FromSlash(name))
		is.NoErr(os.MkdirAll(filepath.Dir(p), 0o755))
		is.NoErr(os.WriteFile(p, []byte(src), 0o644))
	}
	write("go.mod", "module example.com/own\n\ngo 1.26\n")
	write("main.go", "package main\n\nimport _ \"example.com/own/loop\"\n\nfunc main() {}\n")
	write("loop/loop.go", "package loop\n\nimport _ \"golang.org/x/sys/unix\"\n")
	write("proto/bad.go", "package proto\n\nimport (\n\t\"bytes\"\n\t_ \"example.com/own/conn\"\n)\n\nvar _ bytes.Buffer\n")
	write("proto/bad_test.go", "package proto\n\nimport _ \"net/http/httptest\"\n")
	write("proto/testdata/x.go", "package x\n\nimport _ \"example.com/own/state\"\n")
	write(".git/x.go", "package x\n\nimport _ \"example.com/own/state\"\n")

	bad, files, err := moduleViolations(root, importRules)
	is.NoErr(err)
	slices.Sort(files)
	is.Equal(files, []string{"loop/loop.go", "main.go", "proto/bad.go"}) // non-test files only
	is.Equal(len(bad), 1)                                                // one violation
	is.Equal(bad[0], `proto/bad.go: forbidden import "example.com/own/conn": proto may import only these folders of the module: none`)

	// A file that does not parse is an error, not a pass.
	write("conn/broken.go", "package conn\n\nimport (\n")
	_, _, err = moduleViolations(root, importRules)
	is.True(err != nil) // a broken file fails the check
}
