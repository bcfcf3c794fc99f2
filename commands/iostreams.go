package commands

import (
	"bufio"
	"io"
	"os"

	"golang.org/x/term"
)

// IOStreams are the standard streams a command reads and writes, and what
// is known about them. Commands never reach for os.Stdout: tests pass
// buffers, and a pipe never receives a spinner or a prompt.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer

	// InTTY, OutTTY and ErrTTY report whether stdin, stdout and stderr are
	// terminals: prompts need the first, colour the second, progress
	// displays the third.
	InTTY  bool
	OutTTY bool
	ErrTTY bool
	// Width is stdout's width in columns when stdout is a terminal, measured
	// once at start-up; 0 otherwise (a pipe or a file takes every column).
	Width int
	// NoColor is set by NO_COLOR (https://no-color.org) or TERM=dumb.
	NoColor bool
	// Quiet is set by --quiet: no progress and no notes on stderr; errors,
	// warnings and prompts still appear.
	Quiet bool

	in *bufio.Reader
}

// System returns the process's own streams.
func System() *IOStreams {
	s := &IOStreams{
		In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr,
		InTTY:   term.IsTerminal(int(os.Stdin.Fd())),
		OutTTY:  term.IsTerminal(int(os.Stdout.Fd())),
		ErrTTY:  term.IsTerminal(int(os.Stderr.Fd())),
		NoColor: os.Getenv("NO_COLOR") != "" || os.Getenv("TERM") == "dumb",
	}
	if s.OutTTY {
		if w, _, err := term.GetSize(int(os.Stdout.Fd())); err == nil && w > 0 {
			s.Width = w
		}
	}
	return s
}

// Infof writes a note for the user on stderr, unless --quiet; like printf,
// it makes every argument safe for the terminal.
func (s *IOStreams) Infof(format string, args ...any) {
	if !s.Quiet {
		printf(s.ErrOut, format, args...)
	}
}

// Progress reports whether a live progress display belongs on stderr.
func (s *IOStreams) Progress() bool { return s.ErrTTY && !s.Quiet }

// Color makes text safe for the terminal (termSafe) and wraps it in the
// ANSI colour code when stdout is a terminal that takes colour.
func (s *IOStreams) Color(code, text string) termText {
	text = termSafe(text)
	if !s.OutTTY || s.NoColor || text == "" {
		return termText(text)
	}
	return termText("\033[" + code + "m" + text + "\033[0m")
}

// ANSI colours for Color.
const (
	colorRed    = "31"
	colorGreen  = "32"
	colorYellow = "33"
)

// ReadLine reads one line from In, without its line ending.
func (s *IOStreams) ReadLine() (string, error) {
	if s.in == nil {
		s.in = bufio.NewReader(s.In)
	}
	line, err := s.in.ReadString('\n')
	if err != nil && (err != io.EOF || line == "") {
		return "", err
	}
	for len(line) > 0 && (line[len(line)-1] == '\n' || line[len(line)-1] == '\r') {
		line = line[:len(line)-1]
	}
	return line, nil
}
