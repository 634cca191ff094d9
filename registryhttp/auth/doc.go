// Package auth guards the OCI registry port and the API ports of `stevedore
// serve`: users from an htpasswd file (bcrypt only), per-repository rules,
// an anonymous read-only mode, and the Docker token flow — a 401 with a
// Bearer challenge, a /token endpoint issuing short-lived HMAC-signed JWTs
// whose access claims the registry then checks on every request.
//
// Docker token authentication: https://github.com/distribution/distribution/blob/v3.0.0/docs/content/spec/auth/token.md
// OAuth2 token (POST /token): https://github.com/distribution/distribution/blob/v3.0.0/docs/content/spec/auth/oauth.md
// Token scope grammar: https://github.com/distribution/distribution/blob/v3.0.0/docs/content/spec/auth/scope.md
// JWT claims of a token: https://github.com/distribution/distribution/blob/v3.0.0/docs/content/spec/auth/jwt.md
//
// Nothing here is on unless `serve` is given an htpasswd file; DenyDeletes,
// the one policy that does not need identities, works on its own.
package auth
