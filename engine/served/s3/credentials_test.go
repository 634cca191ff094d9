package s3

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stevedore-dev/stevedore/engine/errdef"
)

func TestCredentialsFor(t *testing.T) {
	file := filepath.Join(t.TempDir(), "credentials")
	err := os.WriteFile(file, []byte(`# a comment
[default]
aws_access_key_id = FILEDEFAULT
aws_secret_access_key = s1

[ci]
aws_access_key_id=FILECI
aws_secret_access_key=s2
aws_session_token=tok
`), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	tests := []struct {
		name    string
		opts    Options
		env     map[string]string
		wantKey string
		wantTok string
		wantErr error
	}{
		{"options first", Options{AccessKey: "OPT", SecretKey: "s", CredentialsFile: file}, map[string]string{"AWS_ACCESS_KEY_ID": "ENV", "AWS_SECRET_ACCESS_KEY": "s"}, "OPT", "", nil},
		{"key without secret", Options{AccessKey: "OPT"}, nil, "", "", errdef.ErrInvalid},
		{"environment", Options{CredentialsFile: file}, map[string]string{"AWS_ACCESS_KEY_ID": "ENV", "AWS_SECRET_ACCESS_KEY": "s", "AWS_SESSION_TOKEN": "t"}, "ENV", "t", nil},
		{"file default profile", Options{CredentialsFile: file}, nil, "FILEDEFAULT", "", nil},
		{"file profile option", Options{CredentialsFile: file, Profile: "ci"}, nil, "FILECI", "tok", nil},
		{"file from environment", Options{}, map[string]string{"AWS_SHARED_CREDENTIALS_FILE": file, "AWS_PROFILE": "ci"}, "FILECI", "tok", nil},
		{"missing profile", Options{CredentialsFile: file, Profile: "nope"}, nil, "", "", errdef.ErrUnauthorized},
		{"missing file", Options{CredentialsFile: filepath.Join(t.TempDir(), "none")}, nil, "", "", errdef.ErrUnauthorized},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := credentialsFor(tc.opts, env(tc.env))
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			c, err := p.Retrieve(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if c.AccessKeyID != tc.wantKey || c.SessionToken != tc.wantTok {
				t.Fatalf("got key %q token %q, want %q %q", c.AccessKeyID, c.SessionToken, tc.wantKey, tc.wantTok)
			}
		})
	}
}
