package cli

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/matryer/is"
)

// Variables come from the environment, then the files, then --var and --secret; the later
// source wins, and a secret stays secret only while its last source is a secret one.
func TestGatherVariables(t *testing.T) {
	is := is.New(t)
	file := filepath.Join(t.TempDir(), "vars.env")
	is.NoErr(os.WriteFile(file, []byte("# comment\n\nhost=files\nuser = ann\npw=from-file\n"), 0o644))
	env := []string{"OWNHTTP_VAR_host=env", "OWNHTTP_VAR_only_env=1", "OWNHTTP_SECRET_token=t0k", "OWNHTTP_SECRET_pw=env-pw", "PATH=/bin"}
	v, err := gatherVariables(env, []string{file}, []string{"user=bob", "eq=a=b"}, []string{"user=carol"})
	is.NoErr(err)
	is.Equal(v.Values, map[string]string{"host": "files", "only_env": "1", "token": "t0k", "pw": "from-file", "user": "carol", "eq": "a=b"})
	is.Equal(v.Secret, map[string]bool{"token": true, "user": true}) // pw: the file, not a secret, came last

	for _, tc := range []struct {
		name             string
		env, files, vars []string
		want             string
	}{
		{"bad --var", nil, nil, []string{"x"}, `scenario run: variable "x" must be name=value, the name letters, digits, _ and -`},
		{"bad name", nil, nil, []string{"a.b=1"}, `scenario run: variable "a.b=1" must be name=value, the name letters, digits, _ and -`},
		{"bad env", []string{"OWNHTTP_VAR_=1"}, nil, nil, `scenario run: OWNHTTP_VAR_variable "=1" must be name=value, the name letters, digits, _ and -`},
		{"missing file", nil, []string{filepath.Join(t.TempDir(), "none")}, nil, "scenario run: --vars-file: open "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := gatherVariables(tc.env, tc.files, tc.vars, nil)
			if err == nil || len(err.Error()) < len(tc.want) || err.Error()[:len(tc.want)] != tc.want {
				t.Fatalf("error = %v, want %q", err, tc.want)
			}
		})
	}
	bad := filepath.Join(t.TempDir(), "bad.env")
	is.NoErr(os.WriteFile(bad, []byte("a=1\nnot a variable\n"), 0o644))
	_, err = gatherVariables(nil, []string{bad}, nil, nil)
	is.True(err != nil)
	is.Equal(err.Error(), `scenario run: --vars-file `+bad+`: line 2: variable "not a variable" must be name=value, the name letters, digits, _ and -`)
}

// A directory stands for its .json and .hurl files, recursively, in name order; one without
// any is an error.
func TestExpandScenarioArgs(t *testing.T) {
	is := is.New(t)
	dir := t.TempDir()
	for _, name := range []string{"b.hurl", "a.json", "notes.txt", filepath.Join("sub", "c.json")} {
		is.NoErr(os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755))
		is.NoErr(os.WriteFile(filepath.Join(dir, name), []byte("{}"), 0o644))
	}
	files, err := expandScenarioArgs([]string{"x.json", dir})
	is.NoErr(err)
	is.Equal(files, []string{"x.json", filepath.Join(dir, "a.json"), filepath.Join(dir, "b.hurl"), filepath.Join(dir, "sub", "c.json")})
	_, err = expandScenarioArgs([]string{t.TempDir()})
	is.True(err != nil)
}
