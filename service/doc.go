// Package service puts the engine behind the stevedore.v1 gRPC API (the
// contract in proto/stevedore/v1) and its REST gateway: request and response
// conversion, blob streaming, the one table from error class to gRPC status,
// and the interceptors every RPC passes through.
//
// It starts no goroutine and opens no listener: NewGRPCServer returns a
// *grpc.Server and NewGateway an http.Handler, which cmd/stevedore serves and
// tests mount on bufconn or httptest.
package service
