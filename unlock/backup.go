package unlock

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/rootctl/rootctl/awserr"
	"github.com/rootctl/rootctl/inputfile"
)

// Backup is a resource policy as it was before rootctl replaced it.
type Backup struct {
	Resource
	// Policy is the policy's exact text; nil when there was none (restoring
	// then deletes the policy).
	Policy  *string   `json:"policy"`
	TakenAt time.Time `json:"taken_at"`
	Reason  string    `json:"reason"`
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// CheckBackupDir creates dir if need be (0700) and proves a backup can be
// written there, so that an unwritable directory is found before any
// session is asked for, not just before the change.
func CheckBackupDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating the backup directory: %w", err)
	}
	f, err := os.CreateTemp(dir, ".check-*.tmp")
	if err != nil {
		return fmt.Errorf("the backup directory is not writable: %w", err)
	}
	f.Close()
	return os.Remove(f.Name())
}

// WriteBackup writes b to a new file in dir (created 0700) and returns its
// path. The file is private (0600), and complete or absent: it is written
// to a temporary name, synced, renamed, and the directory synced, all
// before the caller changes anything.
func WriteBackup(dir string, b Backup) (string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("creating the backup directory: %w", err)
	}
	data, err := json.MarshalIndent(b, "", "  ")
	if err != nil {
		return "", err
	}
	data = append(data, '\n')
	tmp, err := os.CreateTemp(dir, ".backup-*.tmp")
	if err != nil {
		return "", fmt.Errorf("writing the backup: %w", err)
	}
	defer os.Remove(tmp.Name()) // gone after the rename; cleans up on failure
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return "", fmt.Errorf("writing the backup: %w", err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return "", fmt.Errorf("writing the backup: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return "", fmt.Errorf("syncing the backup: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return "", fmt.Errorf("writing the backup: %w", err)
	}
	base := fmt.Sprintf("%s-%s-%s-%s", b.Service, b.Account, unsafeName.ReplaceAllString(b.Name, "_"), b.TakenAt.UTC().Format("20060102T150405Z"))
	for i := 0; ; i++ {
		path := filepath.Join(dir, base+".json")
		if i > 0 {
			path = filepath.Join(dir, fmt.Sprintf("%s-%d.json", base, i))
		}
		// Link, not rename: it fails instead of replacing an older backup.
		err := os.Link(tmp.Name(), path)
		if errors.Is(err, os.ErrExist) {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("writing the backup: %w", err)
		}
		if d, err := os.Open(dir); err == nil {
			err = d.Sync()
			d.Close()
			if err != nil {
				return "", fmt.Errorf("syncing the backup directory: %w", err)
			}
		}
		return path, nil
	}
}

// MaxBackupSize bounds a backup file: a resource policy is at most 20 KB
// (S3) or 20 KB as an SQS attribute, and a backup adds a few lines.
const MaxBackupSize = 1 << 20

// ReadBackup reads a file written by WriteBackup. It reads only a regular
// file of at most MaxBackupSize bytes: a named pipe, a device or a huge
// file is refused at once (inputfile.ErrNotRegular, inputfile.ErrTooLarge).
func ReadBackup(path string) (*Backup, error) {
	data, err := inputfile.Read(path, MaxBackupSize)
	if err != nil {
		return nil, err
	}
	var b Backup
	if err := json.Unmarshal(data, &b); err != nil {
		return nil, fmt.Errorf("%s is not a rootctl policy backup: %v", path, err)
	}
	switch {
	case b.Service != S3 && b.Service != SQS:
		return nil, fmt.Errorf("%s is not a rootctl policy backup: service %q", path, b.Service)
	case !awserr.ValidAccountID(b.Account) || b.Name == "":
		return nil, fmt.Errorf("%s is not a rootctl policy backup: no account or resource name", path)
	case b.Service == SQS && b.URL == "":
		return nil, fmt.Errorf("%s is not a rootctl policy backup: no queue URL", path)
	}
	if b.Policy != nil {
		if err := Validate(*b.Policy); err != nil {
			return nil, fmt.Errorf("%s: the backed-up policy: %w", path, err)
		}
	}
	return &b, nil
}
