// Command rootctl governs the root user of every AWS Organizations member
// account. See README.md.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/rootctl/rootctl/commands"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := commands.Run(ctx, os.Args, &commands.Deps{IO: commands.System()})
	stop()
	os.Exit(code)
}
