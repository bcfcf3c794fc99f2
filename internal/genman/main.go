// Command genman writes rootctl's manual page, rootctl.1, into a
// directory: go generate ./... runs it for docs/man.
//
//	go run ./internal/genman docs/man
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/rootctl/rootctl/commands"
)

//go:generate go run . ../../docs/man

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: genman DIR")
		os.Exit(2)
	}
	if err := write(os.Args[1]); err != nil {
		fmt.Fprintf(os.Stderr, "genman: %v\n", err)
		os.Exit(1)
	}
}

// write generates rootctl.1 into dir, creating dir if needed.
func write(dir string) error {
	page, err := commands.ManPage()
	if err != nil {
		return fmt.Errorf("rendering the manual page: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "rootctl.1"), []byte(page), 0o644)
}
