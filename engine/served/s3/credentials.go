package s3

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/stevedore-dev/stevedore/engine/errdef"
)

// envLookup is os.Getenv; tests pass their own.
var envLookup = os.Getenv

// credentialsFor picks static credentials in the order the AWS tools use for
// the sources we support: explicit options, the environment, then the shared
// credentials file. SSO, credential_process, IMDS and role assumption need
// the SDK's config module and its dependency tree; they are left out on
// purpose, and a replica that needs them can export the resulting keys into
// the environment.
//
// AWS SDKs and tools reference guide, environment variables and the shared
// credentials file: https://docs.aws.amazon.com/sdkref/latest/guide/file-format.html
func credentialsFor(o Options, getenv func(string) string) (aws.CredentialsProvider, error) {
	if o.AccessKey != "" {
		if o.SecretKey == "" {
			return nil, fmt.Errorf("s3: an access key without a secret key: %w", errdef.ErrInvalid)
		}
		return credentials.NewStaticCredentialsProvider(o.AccessKey, o.SecretKey, o.SessionToken), nil
	}
	if id, secret := getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_SECRET_ACCESS_KEY"); id != "" && secret != "" {
		return credentials.NewStaticCredentialsProvider(id, secret, getenv("AWS_SESSION_TOKEN")), nil
	}
	path := o.CredentialsFile
	if path == "" {
		path = getenv("AWS_SHARED_CREDENTIALS_FILE")
	}
	if path == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return nil, fmt.Errorf("s3: no credentials in options or environment, and no home directory for ~/.aws/credentials: %w", errdef.ErrUnauthorized)
		}
		path = filepath.Join(home, ".aws", "credentials")
	}
	profile := o.Profile
	if profile == "" {
		profile = getenv("AWS_PROFILE")
	}
	if profile == "" {
		profile = "default"
	}
	v, err := readCredentialsFile(path, profile)
	if err != nil {
		return nil, err
	}
	return credentials.NewStaticCredentialsProvider(v["aws_access_key_id"], v["aws_secret_access_key"], v["aws_session_token"]), nil
}

// readCredentialsFile returns the keys of section profile of the INI file
// path, failing unless both the access key id and the secret are there.
func readCredentialsFile(path, profile string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("s3: no credentials in options or environment, and %v: %w", err, errdef.ErrUnauthorized)
	}
	defer f.Close()
	vals := map[string]string{}
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		if strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]") {
			in = strings.TrimSpace(line[1:len(line)-1]) == profile
			continue
		}
		if k, v, ok := strings.Cut(line, "="); ok && in {
			vals[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("s3: reading %s: %w", path, err)
	}
	if vals["aws_access_key_id"] == "" || vals["aws_secret_access_key"] == "" {
		return nil, fmt.Errorf("s3: profile %q of %s has no aws_access_key_id and aws_secret_access_key: %w", profile, path, errdef.ErrUnauthorized)
	}
	return vals, nil
}
