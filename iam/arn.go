package iam

import (
	"strconv"
	"strings"
)

// partitions are the AWS partitions whose ARNs this package accepts.
var partitions = [...]string{"aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b", "aws-iso-e", "aws-iso-f", "aws-eusc"}

// ValidPartition reports whether p is an AWS partition: aws, aws-cn,
// aws-us-gov, aws-iso, aws-iso-b, aws-iso-e, aws-iso-f or aws-eusc.
func ValidPartition(p string) bool {
	for _, q := range partitions {
		if p == q {
			return true
		}
	}
	return false
}

// canonicalPartition returns the package's own copy of the (valid)
// partition name, so that every entity shares its bytes (lookups compare it
// without touching another cache line).
func canonicalPartition(p string) string {
	for _, q := range partitions {
		if p == q {
			return q
		}
	}
	return p
}

// accountOf returns the account of arn:PARTITION:iam::ACCOUNT:..., a
// substring of arn, so that an entity's Account shares its ARN's bytes.
func accountOf(arn, partition string) string {
	i := len("arn:") + len(partition) + len(":iam::")
	return arn[i : i+12]
}

// ValidAccount reports whether a is an AWS account ID: exactly 12 decimal
// digits.
func ValidAccount(a string) bool {
	if len(a) != 12 {
		return false
	}
	for i := 0; i < len(a); i++ {
		if a[i] < '0' || a[i] > '9' {
			return false
		}
	}
	return true
}

const (
	providerResource = "oidc-provider/"
	roleResource     = "role/"
	httpsPrefix      = "https://"
)

// OIDCProviderARN returns the ARN IAM gives a provider for url in the
// account: arn:PARTITION:iam::ACCOUNT:oidc-provider/HOST/PATH, where
// HOST/PATH is url without "https://", verbatim. It checks the partition, the
// account and the https:// prefix only; Put checks the rest of the URL.
func OIDCProviderARN(partition, account, url string) (string, error) {
	if err := checkPartitionAccount(partition, account, url); err != nil {
		return "", err
	}
	rest, ok := strings.CutPrefix(url, httpsPrefix)
	if !ok || rest == "" {
		return "", newError(CodeInvalidInput, url, "Url", "The URL must begin with https:// and name a host")
	}
	return "arn:" + partition + ":iam::" + account + ":" + providerResource + rest, nil
}

// ParseOIDCProviderARN splits a provider ARN into its partition, account and
// issuer URL ("https://" + the part after "oidc-provider/"). The error is an
// *Error with CodeInvalidInput and Field "Arn".
func ParseOIDCProviderARN(arn string) (partition, account, url string, err error) {
	partition, account, res, err := splitIAMARN(arn)
	if err != nil {
		return "", "", "", err
	}
	rest, ok := strings.CutPrefix(res, providerResource)
	if !ok || rest == "" {
		return "", "", "", newError(CodeInvalidInput, arn, "Arn", "not an OpenIDConnect provider ARN")
	}
	return partition, account, httpsPrefix + rest, nil
}

// RoleARN returns arn:PARTITION:iam::ACCOUNT:role + path + name. An empty
// path is "/". It does not validate its arguments (Put does).
func RoleARN(partition, account, path, name string) string {
	if path == "" {
		path = "/"
	}
	return "arn:" + partition + ":iam::" + account + ":role" + path + name
}

// ParseRoleARN splits a role ARN into partition, account, path ("/" or
// "/a/b/") and name (the part after the last "/"). It checks the partition,
// the account and the shape; Put checks the name and path rules. The error
// is an *Error with CodeInvalidInput and Field "Arn".
func ParseRoleARN(arn string) (partition, account, path, name string, err error) {
	partition, account, res, err := splitIAMARN(arn)
	if err != nil {
		return "", "", "", "", err
	}
	if !strings.HasPrefix(res, roleResource) {
		return "", "", "", "", newError(CodeInvalidInput, arn, "Arn", "not a role ARN")
	}
	i := strings.LastIndexByte(res, '/')
	path, name = res[len("role"):i+1], res[i+1:]
	if name == "" {
		return "", "", "", "", newError(CodeInvalidInput, arn, "Arn", "the role ARN has no role name")
	}
	return partition, account, path, name, nil
}

// splitIAMARN splits arn:PARTITION:iam::ACCOUNT:RESOURCE.
func splitIAMARN(arn string) (partition, account, resource string, err error) {
	rest, ok := strings.CutPrefix(arn, "arn:")
	if !ok {
		return "", "", "", newError(CodeInvalidInput, arn, "Arn", "not an ARN")
	}
	partition, rest, ok = strings.Cut(rest, ":")
	if !ok {
		return "", "", "", newError(CodeInvalidInput, arn, "Arn", "not an ARN")
	}
	rest, ok = strings.CutPrefix(rest, "iam::")
	if !ok {
		return "", "", "", newError(CodeInvalidInput, arn, "Arn", "not an IAM ARN (service iam, no region)")
	}
	account, resource, ok = strings.Cut(rest, ":")
	if !ok {
		return "", "", "", newError(CodeInvalidInput, arn, "Arn", "not an ARN")
	}
	if err := checkPartitionAccount(partition, account, arn); err != nil {
		return "", "", "", err
	}
	return partition, account, resource, nil
}

func checkPartitionAccount(partition, account, entity string) error {
	if !ValidPartition(partition) {
		return newError(CodeInvalidInput, entity, "Partition", "unknown partition "+quote(partition))
	}
	if !ValidAccount(account) {
		return newError(CodeInvalidInput, entity, "Account", "the account must be 12 digits")
	}
	return nil
}

// quote quotes s for a message, cutting it at 80 bytes.
func quote(s string) string {
	if len(s) > 80 {
		s = s[:80] + "..."
	}
	return strconv.Quote(s)
}
