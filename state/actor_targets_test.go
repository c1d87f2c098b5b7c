package state

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/matryer/is"
)

func TestActorTargetsDurableAndSnapshot(t *testing.T) {
	is := is.New(t)
	cfg := scenarioActorConfig(t)
	a := newActor(t, cfg)
	is.Equal(a.TargetSnapshot().Len(), 0) // published by New, before Run
	startActor(t, a)
	ctx := testCtx(t)

	x, err := a.CreateTarget(ctx, mustTarget(t, `{"name":"fixture","base_url":"http://127.0.0.1:9000"}`))
	is.NoErr(err)
	// Visible to the proxy without a round trip as soon as the call returns…
	got, ok := a.TargetSnapshot().Target(x.ID)
	is.True(ok)
	is.Equal(*got, x)
	// …and already on disk.
	var f struct {
		Version int      `json:"version"`
		Targets []Target `json:"targets"`
	}
	read := func() {
		dir := StoreDir(cfg.TargetFile)
		f.Version, f.Targets = storeVersion(t, dir), readEntryFiles[Target](t, filepath.Join(dir, "targets"), "created_at")
	}
	read()
	is.Equal(f.Version, StoreVersion)
	is.Equal(f.Targets, []Target{bareTarget(x)})

	u, err := a.UpdateTarget(ctx, x.ID, TargetInput{Enabled: ptr(false)})
	is.NoErr(err)
	is.True(!u.Enabled)
	read()
	is.True(!f.Targets[0].Enabled)
	g, err := a.GetTarget(ctx, x.ID)
	is.NoErr(err)
	is.Equal(g, u)
	list, err := a.ListTargets(ctx)
	is.NoErr(err)
	is.Equal(list, []Target{u})
	_, err = a.CreateTarget(ctx, mustTarget(t, `{"name":"FIXTURE","base_url":"http://x"}`))
	is.Equal(KindOf(err), KindConflict)

	is.NoErr(a.DeleteTarget(ctx, x.ID))
	read()
	is.Equal(len(f.Targets), 0)
	_, ok = a.TargetSnapshot().Target(x.ID)
	is.True(!ok)
	_, err = a.GetTarget(ctx, x.ID)
	is.Equal(KindOf(err), KindNotFound)
	is.Equal(KindOf(a.DeleteTarget(ctx, x.ID)), KindNotFound)
	is.Equal(a.Stats().PersistWrites, uint64(3))
}

func TestActorTargetFileCorruptOrTooNew(t *testing.T) {
	is := is.New(t)
	cfg := scenarioActorConfig(t)
	is.NoErr(os.MkdirAll(filepath.Dir(cfg.TargetFile), 0o755))
	is.NoErr(os.WriteFile(cfg.TargetFile, []byte(`not json`), 0o600))
	a := newActor(t, cfg)
	is.Equal(a.TargetSnapshot().Len(), 0)
	data, err := os.ReadFile(fmt.Sprintf("%s.corrupt.%d", cfg.TargetFile, t0.Unix()))
	is.NoErr(err)
	is.Equal(string(data), "not json")

	is.NoErr(os.WriteFile(filepath.Join(StoreDir(cfg.TargetFile), "store.json"), []byte(`{"version":3}`), 0o600))
	_, err = New(cfg, nil)
	is.True(err != nil)
	is.True(strings.Contains(err.Error(), "--target-state-file"))
}
