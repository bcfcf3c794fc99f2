package interrupt

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
)

// ExitCode is the exit status after a second signal: 128 + SIGINT, what a
// shell reports for Ctrl-C, and rootctl's code for an interrupted run.
const ExitCode = 130

// Handler turns the first signal into a cancelled run and the second into
// an ended process.
type Handler struct {
	// ErrOut receives the notes (stderr).
	ErrOut io.Writer
	// Tracker names the calls in flight at the second signal.
	Tracker *Tracker
	// Exit ends the process (os.Exit outside tests).
	Exit func(code int)
}

// Watch returns a child of parent that carries h.Tracker (see WithTracker)
// and is cancelled at the first value received on sigs, with a one-line
// note on h.ErrOut. At the second value it writes which calls were in
// flight and calls h.Exit(ExitCode). stop ends the watch and releases the
// context; call it once the run is over.
func (h *Handler) Watch(parent context.Context, sigs <-chan os.Signal) (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancel(WithTracker(parent, h.Tracker))
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		received := 0
		for {
			select {
			case <-done:
				return
			case sig := <-sigs:
				received++
				if received == 1 {
					cancel()
					fmt.Fprintf(h.ErrOut, "rootctl: interrupting%s: finishing calls already sent; press Ctrl-C again to exit now\n", from(sig))
					continue
				}
				h.exitNow()
				return
			}
		}
	}()
	var once sync.Once
	return ctx, func() {
		once.Do(func() {
			close(done)
			wg.Wait()
			cancel()
		})
	}
}

// exitNow says what was in flight and ends the process.
func (h *Handler) exitNow() {
	var calls []string
	if h.Tracker != nil {
		calls = h.Tracker.Describe()
	}
	switch len(calls) {
	case 0:
		fmt.Fprintln(h.ErrOut, "rootctl: interrupted again; exiting now. No AWS call was in flight.")
	case 1:
		fmt.Fprintf(h.ErrOut, "rootctl: interrupted again; exiting now. In flight: %s; its outcome is unknown (check before running again)\n", calls[0])
	default:
		fmt.Fprintf(h.ErrOut, "rootctl: interrupted again; exiting now. In flight, outcome unknown (check before running again):\n  %s\n", strings.Join(calls, "\n  "))
	}
	h.Exit(ExitCode)
}

// from names a signal other than Ctrl-C's, for the note.
func from(sig os.Signal) string {
	switch sig {
	case os.Interrupt:
		return ""
	case syscall.SIGTERM:
		return " (SIGTERM)"
	case syscall.SIGHUP:
		return " (SIGHUP)"
	}
	return " (" + sig.String() + ")"
}

// Notify is Watch on the process's SIGINT, SIGTERM and SIGHUP, with notes
// on errOut, a tracker on the wall clock and os.Exit.
func Notify(parent context.Context, errOut io.Writer) (ctx context.Context, stop func()) {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	h := &Handler{ErrOut: errOut, Tracker: NewTracker(nil), Exit: os.Exit}
	ctx, stopWatch := h.Watch(parent, sigs)
	return ctx, func() {
		signal.Stop(sigs)
		stopWatch()
	}
}
