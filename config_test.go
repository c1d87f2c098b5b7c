package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"

	"ownhttp/cli"
)

// These tests change the process's environment (t.Setenv): none of them runs in parallel.

// writeConfig writes a configuration file of lines into a temporary directory and returns
// its path.
func writeConfig(t *testing.T, lines ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ownhttp.conf")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// listValue is a repeatable flag, as --mocks-dir is: every Set appends.
type listValue []string

func (l *listValue) String() string     { return strings.Join(*l, ",") }
func (l *listValue) Set(s string) error { *l = append(*l, s); return nil }
func (l *listValue) Get() any           { return []string(*l) }

// withList declares a repeatable --test-list beside the server's flags.
func withList(l *listValue) func(*flagSet) {
	return func(fs *flagSet) { fs.Var(l, "test-list", "a repeatable flag") }
}

// Each pair of sources in the order flags > env > file > defaults, for a flag of each kind.
func TestConfigPrecedence(t *testing.T) {
	file := func(t *testing.T) string {
		return writeConfig(t, "port 9001", "engine threadpool", "keepalive-timeout 31s", "access-log false",
			"state-file from-file.json")
	}
	tests := []struct {
		name  string
		args  func(t *testing.T) []string
		env   []string
		check func(is *is.I, o *options, src map[string]string)
	}{
		{"file over defaults", func(t *testing.T) []string { return []string{"--config", file(t)} }, nil,
			func(is *is.I, o *options, src map[string]string) {
				is.Equal(o.port, 9001)
				is.Equal(o.engine, "threadpool")
				is.Equal(o.keepAliveTimeout, 31*time.Second)
				is.Equal(o.accessLog, false)
				is.Equal(o.stateFile, "from-file.json")
				is.True(strings.HasPrefix(src["port"], "file "))
				is.True(strings.HasSuffix(src["port"], "ownhttp.conf:1"))
				is.True(strings.HasSuffix(src["state-file"], "ownhttp.conf:5"))
				is.Equal(src["config"], "flag")
				is.Equal(src["workers"], "") // a default
			}},
		{"env over file", func(t *testing.T) []string { return []string{"--config", file(t)} },
			[]string{"OWNHTTP_PORT=9002", "OWNHTTP_ENGINE=epoll", "OWNHTTP_KEEPALIVE_TIMEOUT=32s",
				"OWNHTTP_ACCESS_LOG=true", "OWNHTTP_STATE_FILE=from-env.json"},
			func(is *is.I, o *options, src map[string]string) {
				is.Equal(o.port, 9002)
				is.Equal(o.engine, "epoll")
				is.Equal(o.keepAliveTimeout, 32*time.Second)
				is.Equal(o.accessLog, true)
				is.Equal(o.stateFile, "from-env.json")
				is.Equal(src["port"], "env OWNHTTP_PORT")
				is.Equal(src["state-file"], "env OWNHTTP_STATE_FILE")
			}},
		{"flags over file", func(t *testing.T) []string {
			return []string{"--config", file(t), "--port", "9003", "--engine", "epoll", "--keepalive-timeout", "33s",
				"--access-log=true", "--state-file", "from-flag.json"}
		}, nil,
			func(is *is.I, o *options, src map[string]string) {
				is.Equal(o.port, 9003)
				is.Equal(o.engine, "epoll")
				is.Equal(o.keepAliveTimeout, 33*time.Second)
				is.Equal(o.accessLog, true)
				is.Equal(o.stateFile, "from-flag.json")
				is.Equal(src["port"], "flag")
			}},
		{"flags over env over file", func(t *testing.T) []string { return []string{"--config", file(t), "--port", "9004"} },
			[]string{"OWNHTTP_PORT=9005", "OWNHTTP_STATE_FILE=from-env.json"},
			func(is *is.I, o *options, src map[string]string) {
				is.Equal(o.port, 9004)
				is.Equal(o.stateFile, "from-env.json")
				is.Equal(o.engine, "threadpool") // only the file sets it
				is.Equal(src["port"], "flag")
				is.Equal(src["state-file"], "env OWNHTTP_STATE_FILE")
				is.True(strings.HasPrefix(src["engine"], "file "))
			}},
		{"OWNHTTP_CONFIG names the file", func(t *testing.T) []string { t.Setenv("OWNHTTP_CONFIG", file(t)); return nil }, nil,
			func(is *is.I, o *options, src map[string]string) {
				is.Equal(o.port, 9001)
				is.Equal(src["config"], "env OWNHTTP_CONFIG")
			}},
		{"--config over OWNHTTP_CONFIG", func(t *testing.T) []string {
			t.Setenv("OWNHTTP_CONFIG", writeConfig(t, "port 9100"))
			return []string{"--config", file(t)}
		}, nil,
			func(is *is.I, o *options, src map[string]string) { is.Equal(o.port, 9001) }},
		{"PORT ranks with the environment, over the file", func(t *testing.T) []string { return []string{"--config", file(t)} },
			[]string{"PORT=9006"},
			func(is *is.I, o *options, src map[string]string) {
				is.Equal(o.port, 9006)
				is.Equal(src["port"], "env PORT")
			}},
		{"OWNHTTP_PORT over PORT", nil, []string{"PORT=9006", "OWNHTTP_PORT=9007"},
			func(is *is.I, o *options, src map[string]string) { is.Equal(o.port, 9007) }},
		{"a file port beats the CodeCrafters default", func(t *testing.T) []string {
			return []string{"--config", writeConfig(t, "codecrafters-mode", "port 9008")}
		}, nil,
			func(is *is.I, o *options, src map[string]string) {
				is.Equal(o.codecrafters, true)
				is.Equal(o.port, 9008)
			}},
		{"the CodeCrafters default port is marked derived", func(*testing.T) []string { return []string{"--codecrafters-mode"} }, nil,
			func(is *is.I, o *options, src map[string]string) {
				is.Equal(o.port, 4221)
				is.Equal(src["port"], "default (codecrafters-mode)")
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			clearEnv(t)
			setEnv(t, tt.env)
			var args []string
			if tt.args != nil {
				args = tt.args(t)
			}
			o, fs, err := loadFlags(args, nil)
			is.NoErr(err)
			tt.check(is, o, fs.sources)
		})
	}
}

// The file format: comments, blank lines, trailing comments, "" for empty, a name alone for
// a boolean, values with spaces, and repeated lines for a repeatable flag.
func TestConfigFileFormat(t *testing.T) {
	is := is.New(t)
	clearEnv(t)
	path := writeConfig(t,
		"# a comment",
		"",
		"   workers   3   # a trailing comment",
		`state-file ""`,
		"enable-tls",
		"redirect-http false",
		"test-list a",
		"test-list b",
		"public-host lab.example.test",
		"max-targets\t7",
		"history-limit 1",
		"history-limit 2",
	)
	var list listValue
	o, fs, err := loadFlags([]string{"--config", path}, withList(&list))
	is.NoErr(err)
	is.Equal(o.workers, 3)
	is.Equal(o.stateFile, "")
	is.Equal(o.enableTLS, true)
	is.Equal(o.redirectHTTP, false)
	is.Equal(o.publicHost, "lab.example.test")
	is.Equal([]string(list), []string{"a", "b"})
	is.Equal(fs.sources["test-list"], "file "+path+":7,8") // every line that set it
	is.Equal(o.maxTargets, 7)                              // a tab separates too
	is.Equal(o.historyLimit, 2)                            // the later line wins
	is.Equal(fs.sources["history-limit"], "file "+path+":11,12")
}

// A repeatable flag given on the command line ignores the file's lines for it; from the
// environment it is set once with the whole value (the flag's Set decides how to split it).
func TestConfigRepeatableFlag(t *testing.T) {
	is := is.New(t)
	clearEnv(t)
	path := writeConfig(t, "test-list a", "test-list b")
	var list listValue
	_, fs, err := loadFlags([]string{"--config", path, "--test-list", "x", "--test-list", "y"}, withList(&list))
	is.NoErr(err)
	is.Equal([]string(list), []string{"x", "y"})
	is.Equal(fs.sources["test-list"], "flag")

	list = nil
	t.Setenv("OWNHTTP_TEST_LIST", "e")
	_, fs, err = loadFlags([]string{"--config", path}, withList(&list))
	is.NoErr(err)
	is.Equal([]string(list), []string{"e"})
	is.Equal(fs.sources["test-list"], "env OWNHTTP_TEST_LIST")
}

// An empty OWNHTTP_ variable is the empty value: a string becomes empty (over the file and
// the default); a number, duration or boolean cannot be empty. An empty PORT counts as unset.
func TestConfigEmptyEnv(t *testing.T) {
	t.Run("strings", func(t *testing.T) {
		is := is.New(t)
		clearEnv(t)
		t.Setenv("OWNHTTP_STATE_FILE", "")
		t.Setenv("OWNHTTP_SCENARIO_STATE_FILE", "")
		t.Setenv("OWNHTTP_STATIC_DIR", "")
		path := writeConfig(t, "scenario-state-file from-file.json")
		o, fs, err := loadFlags([]string{"--config", path}, nil)
		is.NoErr(err)
		is.Equal(o.stateFile, "")         // in memory, as --state-file= is
		is.Equal(o.scenarioStateFile, "") // the empty variable beats the file
		is.Equal(o.staticDir, "")
		is.Equal(fs.sources["state-file"], "env OWNHTTP_STATE_FILE")

		o, err = parseFlags([]string{"--state-file="}, io.Discard)
		is.NoErr(err)
		is.Equal(o.stateFile, "")
	})
	t.Run("PORT", func(t *testing.T) {
		is := is.New(t)
		clearEnv(t)
		t.Setenv("PORT", "")
		o, err := parseFlags(nil, io.Discard)
		is.NoErr(err)
		is.Equal(o.port, 8080)
	})
	for _, name := range []string{"OWNHTTP_PORT", "OWNHTTP_WORKERS", "OWNHTTP_KEEPALIVE_TIMEOUT", "OWNHTTP_ACCESS_LOG",
		"OWNHTTP_MAX_BODY_BYTES", "OWNHTTP_ENGINE"} {
		t.Run(name, func(t *testing.T) {
			is := is.New(t)
			clearEnv(t)
			t.Setenv(name, "")
			t.Setenv("PORT", "9000") // not a fallback for an empty OWNHTTP_PORT
			_, err := parseFlags(nil, io.Discard)
			is.True(errors.As(err, new(cli.UsageError))) // exit status 2
			is.True(strings.Contains(err.Error(), name)) // naming the variable
			t.Log(err)
		})
	}
}

// An OWNHTTP_ variable that names no flag is refused, with the closest name; the client's
// variables are not flags but are allowed.
func TestConfigUnknownEnv(t *testing.T) {
	is := is.New(t)
	clearEnv(t)
	t.Setenv("OWNHTTP_PROT", "9000")
	_, err := parseFlags(nil, io.Discard)
	is.True(errors.As(err, new(cli.UsageError)))
	is.True(strings.Contains(err.Error(), "OWNHTTP_PROT"))
	is.True(strings.Contains(err.Error(), "did you mean OWNHTTP_PORT?"))

	clearEnv(t)
	for _, name := range otherEnv {
		t.Setenv("OWNHTTP_"+name, "x")
	}
	_, err = parseFlags(nil, io.Discard)
	is.NoErr(err)
}

// Bad files: each error is a usage error on one line naming the file and line.
func TestConfigFileErrors(t *testing.T) {
	tests := []struct {
		name  string
		lines []string
		want  []string
	}{
		{"unknown name", []string{"port 1", "prot 9000"}, []string{"ownhttp.conf:2", `"prot"`, "did you mean port?"}},
		{"an environment name", []string{"OWNHTTP_PORT 9000"}, []string{"ownhttp.conf:1", "OWNHTTP_PORT"}},
		{"a flag with dashes", []string{"--port 9000"}, []string{"ownhttp.conf:1", "no dashes"}},
		{"name=value", []string{"port=9000"}, []string{"ownhttp.conf:1", "no ="}},
		{"bad number", []string{"", "workers many"}, []string{"ownhttp.conf:2", "workers", "whole number"}},
		{"bad duration", []string{"header-timeout 10"}, []string{"ownhttp.conf:1", "duration"}},
		{"bad boolean", []string{"access-log perhaps"}, []string{"ownhttp.conf:1", "true or false"}},
		{"a number without a value", []string{"workers"}, []string{"ownhttp.conf:1", "workers"}},
		{"a file naming another", []string{"config other.conf"}, []string{"ownhttp.conf:1", "config"}},
		{"a check fails", []string{"workers 0"}, []string{"--workers must be positive", "ownhttp.conf:1"}},
		{"a bad choice", []string{"engine bogus"}, []string{`"bogus"`, "ownhttp.conf:1"}},
		{"a local flag of config", []string{"json"}, []string{"ownhttp.conf:1", `"json"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			clearEnv(t)
			_, err := parseFlags([]string{"--config", writeConfig(t, tt.lines...)}, io.Discard)
			is.True(errors.As(err, new(cli.UsageError)))
			is.True(!strings.Contains(err.Error(), "\n"))
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%q does not contain %q", err, w)
				}
			}
		})
	}
	t.Run("missing file", func(t *testing.T) {
		is := is.New(t)
		clearEnv(t)
		missing := filepath.Join(t.TempDir(), "none.conf")
		for _, args := range [][]string{{"--config", missing}, {"config", "--config", missing}} {
			err := run(context.Background(), args, io.Discard, io.Discard, nil)
			is.True(errors.As(err, new(cli.UsageError)))
			is.True(strings.Contains(err.Error(), missing))
		}
	})
	t.Run("check names the variable", func(t *testing.T) {
		is := is.New(t)
		clearEnv(t)
		t.Setenv("OWNHTTP_WORKERS", "0")
		_, err := parseFlags(nil, io.Discard)
		is.True(strings.Contains(err.Error(), "--workers must be positive (OWNHTTP_WORKERS)"))
	})
}

// configOut runs `ownhttp config args…` through run and returns stdout.
func configOut(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), append([]string{"config"}, args...), &stdout, &stderr, nil)
	if stderr.Len() > 0 && err == nil {
		t.Errorf("config wrote to stderr: %s", stderr.String())
	}
	return stdout.String(), err
}

// `ownhttp config` prints every flag with its value and source, one per line, aligned.
func TestConfigCommand(t *testing.T) {
	is := is.New(t)
	clearEnv(t)
	path := writeConfig(t, "engine threadpool", `state-file ""`)
	t.Setenv("OWNHTTP_KEEPALIVE_TIMEOUT", "30s")
	t.Setenv("OWNHTTP_DEMO_TOKEN", "s3cret")
	out, err := configOut(t, "--config", path, "--port", "9200")
	is.NoErr(err)
	is.True(!strings.Contains(out, "s3cret")) // a secret never prints
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	is.Equal(len(lines), 1+len(flagEnv)) // a header and every flag
	rows := map[string][]string{}
	col := strings.Index(lines[0], "VALUE")
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		rows[f[0]] = f[1:]
		is.True(strings.HasPrefix(l[col:], f[1])) // aligned
	}
	for _, f := range flagEnv {
		is.True(rows[f.flag] != nil) // every flag is listed
	}
	is.Equal(rows["port"], []string{"9200", "flag"})
	is.Equal(rows["engine"], []string{"threadpool", "file", path + ":1"})
	is.Equal(rows["state-file"], []string{`""`, "file", path + ":2"})
	is.Equal(rows["keepalive-timeout"], []string{"30s", "env", "OWNHTTP_KEEPALIVE_TIMEOUT"})
	is.Equal(rows["demo-token"], []string{"***", "env", "OWNHTTP_DEMO_TOKEN"})
	is.Equal(rows["workers"], []string{"16", "default"})
	is.Equal(rows["proxy-allow-private"], []string{"true", "default", "(from", "host)"})
	is.Equal(rows["config"], []string{path, "flag"})
}

// `ownhttp config --json` prints an object keyed by flag name.
func TestConfigCommandJSON(t *testing.T) {
	is := is.New(t)
	clearEnv(t)
	t.Setenv("OWNHTTP_WORKERS", "4")
	out, err := configOut(t, "--json", "--access-log=false", "--demo-token", "s3cret")
	is.NoErr(err)
	var got map[string]struct {
		Value  any    `json:"value"`
		Source string `json:"source"`
	}
	is.NoErr(json.Unmarshal([]byte(out), &got))
	is.Equal(len(got), len(flagEnv)) // every flag, and not --json itself
	is.Equal(got["workers"].Value, float64(4))
	is.Equal(got["workers"].Source, "env OWNHTTP_WORKERS")
	is.Equal(got["access-log"].Value, false)
	is.Equal(got["access-log"].Source, "flag")
	is.Equal(got["keepalive-timeout"].Value, "10s")
	is.Equal(got["host"].Value, "127.0.0.1")
	is.Equal(got["host"].Source, "default")
	is.Equal(got["demo-token"].Value, "***")
	is.True(!strings.Contains(out, "s3cret"))
}

// A repeatable flag prints its values as an array in JSON.
func TestConfigSettingsRepeatable(t *testing.T) {
	is := is.New(t)
	clearEnv(t)
	var list listValue
	_, fs, err := loadFlags([]string{"--test-list", "a", "--test-list", "b"}, withList(&list))
	is.NoErr(err)
	for _, s := range fs.settings() {
		if s.Name == "test-list" {
			is.Equal(s.Value, []string{"a", "b"})
			is.Equal(s.Source, "flag")
			return
		}
	}
	t.Fatal("test-list not listed")
}

// config fails as the server would, takes --help, and is listed in the server's --help.
func TestConfigCommandUsage(t *testing.T) {
	is := is.New(t)
	clearEnv(t)
	_, err := configOut(t, "--engine", "bogus")
	is.True(errors.As(err, new(cli.UsageError)))
	_, err = configOut(t, "extra")
	is.True(errors.As(err, new(cli.UsageError)))

	var stderr bytes.Buffer
	err = run(context.Background(), []string{"config", "--help"}, io.Discard, &stderr, nil)
	is.True(errors.Is(err, flag.ErrHelp))
	is.True(strings.HasPrefix(stderr.String(), "Usage: ownhttp config"))

	stderr.Reset()
	_, err = parseFlags([]string{"--help"}, &stderr)
	is.True(errors.Is(err, flag.ErrHelp))
	is.True(strings.Contains(stderr.String(), "\n  config "))          // listed among the commands
	is.True(!strings.Contains(stderr.String(), "--json (env"))         // config's own flag is not the server's
	is.True(strings.Contains(stderr.String(), "(env OWNHTTP_CONFIG,")) // --config is
}
