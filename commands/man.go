package commands

import (
	"io"
	"strings"
)

// ManPage renders rootctl's manual page, section 1 in roff, from the same
// command tree as --help (urfave/cli's ToManWithSection). It depends on
// nothing but the code: docs/man/rootctl.1 is generated from it (go
// generate ./...) and a test keeps the two equal.
func ManPage() (string, error) {
	app := NewApp(&Deps{IO: &IOStreams{In: strings.NewReader(""), Out: io.Discard, ErrOut: io.Discard}})
	return app.ToManWithSection(1)
}
