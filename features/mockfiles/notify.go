package mockfiles

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
)

// settleDelay is how long a scan waits after the first notification, so that the burst
// of events one save makes (write, chmod, a rename over the file) costs one scan.
const settleDelay = 50 * time.Millisecond

// follow watches every directory below the mock directories and scans once each burst
// of notifications settles, until ctx ends (nil). It returns an error, having watched
// nothing or stopped watching, when notifications cannot be had (the caller polls).
// A directory created later is watched as it appears; a notification lost to a full
// kernel queue triggers a scan like any other.
func (w *Watcher) follow(ctx context.Context) error {
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return err
	}
	defer fw.Close()
	for _, dir := range w.cfg.Dirs {
		if err := watchTree(fw, dir); err != nil {
			return err
		}
	}
	// A change between Load and the first watch would be missed: scan once now.
	w.rescan(ctx)
	var settle <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-fw.Events:
			if !ok {
				return errors.New("notifications closed")
			}
			if ev.Has(fsnotify.Create) {
				if fi, err := os.Stat(ev.Name); err == nil && fi.IsDir() {
					if err := watchTree(fw, ev.Name); err != nil {
						return err
					}
				}
			}
			if settle == nil {
				settle = time.After(settleDelay)
			}
		case err, ok := <-fw.Errors:
			if !ok {
				return errors.New("notifications closed")
			}
			if !errors.Is(err, fsnotify.ErrEventOverflow) {
				return err
			}
			if settle == nil { // events were lost: the scan finds what they said
				settle = time.After(settleDelay)
			}
		case <-settle:
			settle = nil
			w.rescan(ctx)
		}
	}
}

// watchTree watches dir and every directory below it.
func watchTree(fw *fsnotify.Watcher, dir string) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == dir {
				return err
			}
			return nil // unreadable below: the scan skips it too
		}
		if !d.IsDir() {
			return nil
		}
		return fw.Add(p)
	})
}
