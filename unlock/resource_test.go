package unlock

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// The URL rootctl addresses a queue by when its policy refuses GetQueueUrl:
// the documented form, which QueueFromURL reads back to the same queue.
func TestQueueURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  aws.Config
		want string
	}{
		{"a commercial region", aws.Config{Region: "eu-west-1"}, "https://sqs.eu-west-1.amazonaws.com/111122223333/orders"},
		{"a China region", aws.Config{Region: "cn-north-1"}, "https://sqs.cn-north-1.amazonaws.com.cn/111122223333/orders"},
		{"a custom endpoint such as the simulator", aws.Config{Region: "us-east-1", BaseEndpoint: aws.String("http://127.0.0.1:4566/")}, "http://127.0.0.1:4566/111122223333/orders"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := queueURL(tt.cfg, "111122223333", "orders")
			if got != tt.want {
				t.Fatalf("queueURL = %s, want %s", got, tt.want)
			}
			r, err := QueueFromURL(got)
			if err != nil || r.Account != "111122223333" || r.Name != "orders" {
				t.Fatalf("QueueFromURL(%s) = %+v, %v", got, r, err)
			}
			if tt.cfg.BaseEndpoint == nil && r.Region != tt.cfg.Region {
				t.Fatalf("region read back %q, want %q", r.Region, tt.cfg.Region)
			}
		})
	}
}
