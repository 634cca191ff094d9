package service

import (
	"github.com/stevedore-dev/stevedore/engine/policy"
	"github.com/stevedore-dev/stevedore/engine/sign/keyless"
)

// PolicyVerifiers are what trust policies verify certificate signatures
// with: sigstore-go, through package keyless (outside engine/, see its doc).
var PolicyVerifiers = policy.Verifiers{Certs: keyless.Load}
