package commands

import (
	"io"

	"github.com/urfave/cli/v2"
)

// The bash and zsh scripts ask rootctl itself for the words that may come
// next (urfave/cli's --generate-bash-completion), so they never go stale.
const bashCompletion = `# bash completion for rootctl
# Load it now: source <(rootctl completion bash)
# Or for good: rootctl completion bash > /etc/bash_completion.d/rootctl
_rootctl_complete() {
	local cur="${COMP_WORDS[COMP_CWORD]}"
	local -a args=("${COMP_WORDS[@]:1:COMP_CWORD-1}")
	[[ "$cur" == -* ]] && args+=("$cur")
	local IFS=$'\n'
	COMPREPLY=($(compgen -W "$("${COMP_WORDS[0]}" "${args[@]}" --generate-bash-completion 2>/dev/null)" -- "$cur"))
}
complete -o bashdefault -o default -F _rootctl_complete rootctl
`

const zshCompletion = `#compdef rootctl
# zsh completion for rootctl
# Load it now: source <(rootctl completion zsh)
# Or for good: rootctl completion zsh > "${fpath[1]}/_rootctl"
_rootctl() {
	local cur=${words[CURRENT]}
	local -a args opts
	args=("${(@)words[2,CURRENT-1]}")
	[[ "$cur" == -* ]] && args+=("$cur")
	opts=("${(@f)$(_CLI_ZSH_AUTOCOMPLETE_HACK=1 ${words[1]} "${(@)args}" --generate-bash-completion 2>/dev/null)}")
	if [[ -n "${opts[1]}" ]]; then
		_describe 'rootctl' opts
	else
		_files
	fi
}
if [[ "$funcstack[1]" == "_rootctl" ]]; then
	_rootctl "$@"
else
	compdef _rootctl rootctl
fi
`

func completionCommand() *cli.Command {
	return &cli.Command{
		Name:      "completion",
		Usage:     "print the shell completion script for bash, zsh or fish",
		ArgsUsage: "bash|zsh|fish",
		Description: `Prints a script that completes rootctl's commands and flags.

Examples:
   rootctl completion bash > /etc/bash_completion.d/rootctl  # bash, for good
   source <(rootctl completion bash)                         # bash, this shell only
   rootctl completion zsh > "${fpath[1]}/_rootctl"           # zsh
   rootctl completion fish > ~/.config/fish/completions/rootctl.fish`,
		Action: func(c *cli.Context) error {
			switch {
			case c.NArg() == 0:
				return usageErrorf("name one shell: rootctl completion bash|zsh|fish")
			case c.NArg() > 1:
				return usageErrorf("unexpected %s: name one shell: rootctl completion bash|zsh|fish", argumentsText(c.Args().Tail()))
			}
			w := c.App.Writer
			switch shell := c.Args().First(); shell {
			case "bash":
				_, err := io.WriteString(w, bashCompletion)
				return err
			case "zsh":
				_, err := io.WriteString(w, zshCompletion)
				return err
			case "fish":
				script, err := c.App.ToFishCompletion()
				if err != nil {
					return err
				}
				_, err = io.WriteString(w, script)
				return err
			default:
				return usageErrorf("completion %q: rootctl completes bash, zsh and fish", shell)
			}
		},
	}
}
