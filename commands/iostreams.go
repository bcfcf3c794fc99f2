package commands

import (
	"bufio"
	"io"
	"os"

	"github.com/mattn/go-isatty"
)

// IOStreams are the standard streams a command reads and writes, and what
// is known about them. Commands never reach for os.Stdout: tests pass
// buffers, and a pipe never receives a spinner or a prompt.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer

	// InTTY and ErrTTY report whether stdin and stderr are terminals:
	// prompts need the first, progress displays the second.
	InTTY  bool
	ErrTTY bool
	// NoColor is set by NO_COLOR.
	NoColor bool

	in *bufio.Reader
}

// System returns the process's own streams.
func System() *IOStreams {
	return &IOStreams{
		In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr,
		InTTY:   isatty.IsTerminal(os.Stdin.Fd()),
		ErrTTY:  isatty.IsTerminal(os.Stderr.Fd()),
		NoColor: os.Getenv("NO_COLOR") != "",
	}
}

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
