package commands

import "strings"

func (r *StatusReport) render(s *screen) error {
	t := s.table(cols("Setting", "Value"))
	admins := strings.Join(r.DelegatedAdministrators, ", ")
	if admins == "" {
		admins = "none"
	}
	rows := [][]string{
		{"Caller", r.CallerARN},
		{"Caller role", r.CallerRole},
		{"Organization", r.Setup.OrganizationID},
		{"Management account", r.ManagementAccount},
		{"Feature set", r.FeatureSet},
		{"Trusted access (iam.amazonaws.com)", string(r.TrustedAccess)},
		{"RootCredentialsManagement", string(r.RootCredentialsManagement)},
		{"RootSessions", string(r.RootSessions)},
		{"IAM delegated administrators", admins},
		{"Caller can use AssumeRoot", yesNo(r.CanAssumeRoot)},
	}
	for _, row := range rows {
		t.Append(row[0], row[1])
	}
	if err := t.Render(); err != nil {
		return err
	}
	if len(r.Missing) == 0 {
		s.printf("\nCentralized root access is fully enabled.\n")
		return nil
	}
	s.printf("\nMissing:\n")
	for _, f := range r.Missing {
		s.printf("  - %s\n      fix: %s\n", f.Missing, f.Command)
		if f.AWSCommand != "" {
			s.printf("      or:  %s\n", f.AWSCommand)
		}
	}
	return nil
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
