package evidence

// Open lists an audited account's credentials as open findings.
func Open(creds []Credential) []Finding {
	out := make([]Finding, len(creds))
	for i, c := range creds {
		out[i] = Finding{Credential: c, Status: StatusOpen}
	}
	return out
}

// Compare marks an account's findings against what the baseline found in
// the same account: a credential the baseline had is persisting, any other
// new; each credential of the baseline that is gone is appended, resolved.
// An account the baseline did not audit (or did not have) has a nil
// baseline: every finding is new.
func Compare(fs []Finding, baseline []Credential) []Finding {
	now := map[Credential]bool{}
	for i := range fs {
		now[fs[i].Credential] = true
		fs[i].Drift = DriftNew
		for _, b := range baseline {
			if b == fs[i].Credential {
				fs[i].Drift = DriftPersisting
				break
			}
		}
	}
	for _, b := range baseline {
		if !now[b] {
			fs = append(fs, Finding{Credential: b, Status: StatusResolved, Drift: DriftResolved})
		}
	}
	return fs
}
