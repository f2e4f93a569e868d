// A tiny reader of AWS credentials built on aws-sdk-go-v2, the SDK Terraform's AWS provider uses.
// It loads the shared config and credentials files the way the provider does, for the profile
// named by AWS_PROFILE, and prints the caller's ARN. LOCAL_AWS_ENDPOINT points it at the local AWS
// (this SDK version predates AWS_ENDPOINT_URL).
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
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
	cfg, err := config.LoadDefaultConfig(ctx, options...)
	if err != nil {
		fmt.Fprintln(os.Stderr, "config:", err)
		os.Exit(2)
	}
	out, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "sts:", err)
		os.Exit(1)
	}
	fmt.Println(aws.ToString(out.Arn))
	fmt.Fprintln(os.Stderr, "region:", cfg.Region)
}
