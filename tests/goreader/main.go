// A tiny reader of AWS credentials built on aws-sdk-go-v2, the SDK Terraform's AWS provider uses.
// It loads the shared config and credentials files the way the provider does, for the profile
// named by AWS_PROFILE (or the default chain, which includes the container-credentials endpoint),
// and prints the caller's ARN. LOCAL_AWS_ENDPOINT points it at the local AWS (this SDK version
// predates AWS_ENDPOINT_URL).
//
// With LOOP_SECONDS=N it calls AWS once a second for N seconds, as a long `terraform apply`
// would, prints one line per call and exits 1 if any call failed.
package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

func main() {
	ctx := context.Background()
	options := []func(*config.LoadOptions) error{}
	if endpoint := os.Getenv("LOCAL_AWS_ENDPOINT"); endpoint != "" {
		resolver := aws.EndpointResolverWithOptionsFunc(
			func(service, region string, opts ...interface{}) (aws.Endpoint, error) {
				return aws.Endpoint{URL: endpoint, SigningRegion: region}, nil
			})
		options = append(options, config.WithEndpointResolverWithOptions(resolver))
	}
	// This SDK version has a known race in its own HTTP layer (aws-sdk-go-v2 issue 2737): now and
	// then a 200 answer fails with "use of closed network connection" while its body is read. It has
	// nothing to do with credentials, so it is retried here; a failed line then means what the tests
	// look for: credentials that stopped working.
	options = append(options, config.WithRetryer(func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) {
			o.Retryables = append(o.Retryables, retry.IsErrorRetryableFunc(func(err error) aws.Ternary {
				if strings.Contains(err.Error(), "use of closed network connection") {
					return aws.TrueTernary
				}
				return aws.UnknownTernary
			}))
		})
	}))
	cfg, err := config.LoadDefaultConfig(ctx, options...)
	if err != nil {
		fmt.Fprintln(os.Stderr, "config:", err)
		os.Exit(2)
	}
	client := sts.NewFromConfig(cfg)
	seconds, _ := strconv.Atoi(os.Getenv("LOOP_SECONDS"))
	if seconds <= 0 {
		out, err := client.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if err != nil {
			fmt.Fprintln(os.Stderr, "sts:", err)
			os.Exit(1)
		}
		fmt.Println(aws.ToString(out.Arn))
		fmt.Fprintln(os.Stderr, "region:", cfg.Region)
		return
	}
	failed := 0
	ticker := time.NewTicker(time.Second)
	defer ticker.Stop()
	end := time.Now().Add(time.Duration(seconds) * time.Second)
	for time.Now().Before(end) {
		out, err := client.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if err != nil {
			failed++
			fmt.Println("FAIL", err)
		} else {
			fmt.Println("ok", aws.ToString(out.Arn))
		}
		<-ticker.C
	}
	if failed > 0 {
		os.Exit(1)
	}
}
