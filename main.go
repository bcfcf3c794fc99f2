// Command rootctl governs the root user of every AWS Organizations member
// account. See README.md.
package main

import (
	"context"
	"os"

	"github.com/rootctl/rootctl/commands"
	"github.com/rootctl/rootctl/interrupt"
)

func main() {
	ctx, stop := interrupt.Notify(context.Background(), os.Stderr)
	code := commands.Run(ctx, os.Args, &commands.Deps{IO: commands.System()})
	stop()
	os.Exit(code)
}
