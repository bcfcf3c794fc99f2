package commands

import (
	"runtime/debug"
	"strings"

	"github.com/urfave/cli/v2"
)

// Set at build time (see .goreleaser.yaml and Dockerfile):
//
//	-ldflags "-X github.com/rootctl/rootctl/commands.version=v1.2.3
//	          -X github.com/rootctl/rootctl/commands.commit=1a2b3c4
//	          -X github.com/rootctl/rootctl/commands.date=2026-11-25T10:00:00Z"
//
// Each one left unset comes from the build information the Go toolchain
// embeds in the binary.
var (
	version = ""
	commit  = ""
	date    = ""
)

// buildVersion is what rootctl --version reports.
type buildVersion struct {
	// Version is the release ("v1.2.3"), the module version Go recorded
	// (go install ...@v1.2.3, or a pseudo-version when built from a
	// checkout), or "dev".
	Version string
	// Commit is the short revision, with "-dirty" when the checkout had
	// uncommitted changes; empty when unknown.
	Commit string
	// Date is the build time (from ldflags) or, failing that, the commit
	// time Go recorded (vcs.time); empty when unknown.
	Date string
	// Built says Date is the build time rather than the commit time.
	Built bool
}

// shortRevision is as many hex digits of a revision as `git rev-parse
// --short` gives by default.
const shortRevision = 7

// resolveVersion combines what ldflags set with the toolchain's build
// information (info may be nil): each field set by ldflags wins.
func resolveVersion(ldVersion, ldCommit, ldDate string, info *debug.BuildInfo) buildVersion {
	v := buildVersion{Version: ldVersion, Commit: ldCommit, Date: ldDate, Built: ldDate != ""}
	var revision, vcsTime string
	var modified bool
	if info != nil {
		if v.Version == "" && info.Main.Version != "" && info.Main.Version != "(devel)" {
			v.Version = info.Main.Version
		}
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				revision = s.Value
			case "vcs.time":
				vcsTime = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
	}
	if v.Version == "" {
		v.Version = "dev"
	}
	if v.Commit == "" && revision != "" {
		v.Commit = revision[:min(len(revision), shortRevision)]
		if modified {
			v.Commit += "-dirty"
		}
	}
	if v.Date == "" {
		v.Date = vcsTime
	}
	return v
}

// String is the --version line: "rootctl v1.2.3 (commit 1a2b3c4, built
// 2026-11-25T10:00:00Z)", or for a build from a checkout "rootctl dev
// (commit 1a2b3c4-dirty, 2026-11-25T09:58:12Z)", the commit's time.
func (v buildVersion) String() string {
	var details []string
	if v.Commit != "" {
		details = append(details, "commit "+v.Commit)
	}
	if v.Date != "" && v.Built {
		details = append(details, "built "+v.Date)
	} else if v.Date != "" {
		details = append(details, v.Date)
	}
	if len(details) == 0 {
		return "rootctl " + v.Version
	}
	return "rootctl " + v.Version + " (" + strings.Join(details, ", ") + ")"
}

// currentVersion is this binary's version.
func currentVersion() buildVersion {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		info = nil
	}
	return resolveVersion(version, commit, date, info)
}

func printVersion(c *cli.Context) {
	printf(c.App.Writer, "%s\n", currentVersion())
}
