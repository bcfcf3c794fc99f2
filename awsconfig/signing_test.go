package awsconfig

import "testing"

func TestGlobalSigningRegion(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, service, region, want string
	}{
		{"IAM from a commercial Region signs for us-east-1", "IAM", "eu-west-1", "us-east-1"},
		{"Organizations from a commercial Region signs for us-east-1", "Organizations", "ap-southeast-2", "us-east-1"},
		{"IAM in China signs for cn-north-1", "IAM", "cn-northwest-1", "cn-north-1"},
		{"Organizations in China signs for cn-northwest-1", "Organizations", "cn-north-1", "cn-northwest-1"},
		{"GovCloud signs for us-gov-west-1", "IAM", "us-gov-east-1", "us-gov-west-1"},
		{"an isolated partition is left to the SDK", "IAM", "us-iso-east-1", ""},
		{"a Regional service is left alone", "STS", "eu-west-1", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := globalSigningRegion(tt.service, tt.region); got != tt.want {
				t.Errorf("globalSigningRegion(%q, %q) = %q, want %q", tt.service, tt.region, got, tt.want)
			}
		})
	}
}
