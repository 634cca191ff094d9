package main

import "github.com/stevedore-dev/stevedore/service"

// policyVerifiers are what --verify-policy and --pull-policy check
// certificate signatures with (the server's own, so both agree).
var policyVerifiers = service.PolicyVerifiers
