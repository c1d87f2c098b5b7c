// Package atomicfile replaces files so that a crash at any moment leaves either the old
// content or the whole new one, never a half-written file. Every file the server or the CLI
// writes (state files, the development certificate, the ready file, JUnit reports) goes
// through Write.
package atomicfile

import (
	"fmt"
	"os"
	"path/filepath"
)

// Write replaces name with data, created with mode perm: it writes a temporary file beside
// name (a dot file ending in .tmp), fsyncs it, renames it over name and fsyncs the
// directory. Missing parent directories are created (mode 0755). On error the temporary
// file is removed and name is unchanged.
func Write(name string, data []byte, perm os.FileMode) (err error) {
	dir := filepath.Dir(name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(name)+".*.tmp")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err = f.Chmod(perm); err != nil {
		return err
	}
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(f.Name(), name); err != nil {
		return fmt.Errorf("install %s: %w", name, err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync() // the rename is durable only once the directory is
}
