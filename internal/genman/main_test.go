package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/rootctl/rootctl/commands"
)

// TestCommittedManPageIsCurrent keeps docs/man/rootctl.1 from drifting
// from the help it is generated from.
func TestCommittedManPageIsCurrent(t *testing.T) {
	t.Parallel()
	committed, err := os.ReadFile(filepath.Join("..", "..", "docs", "man", "rootctl.1"))
	if err != nil {
		t.Fatalf("reading the committed manual page: %v (run: go generate ./...)", err)
	}
	fresh, err := commands.ManPage()
	if err != nil {
		t.Fatal(err)
	}
	if string(committed) != fresh {
		t.Fatalf("docs/man/rootctl.1 differs from the help it is generated from (run: go generate ./... and commit docs/man)")
	}
}

// TestWriteCreatesTheDirectory checks what go generate runs: the page lands
// in the directory named, created if missing.
func TestWriteCreatesTheDirectory(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "docs", "man")
	if err := write(dir); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dir, "rootctl.1"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := commands.ManPage()
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Fatalf("rootctl.1 written by genman differs from commands.ManPage()")
	}
}
