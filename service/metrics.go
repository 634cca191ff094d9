package service

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/status"
)

// WithMetrics returns the server options that count every RPC in reg:
// stevedore_grpc_requests_total by method and status code, and
// stevedore_grpc_request_duration_seconds by method. Pass them to
// NewGRPCServer ahead of WithAuth's options so that refused calls are
// counted too. The method label is bounded: gRPC runs interceptors only for
// registered methods.
//
// A handler that panics is counted by the log line recoverUnary writes, not
// here: the panic unwinds past this interceptor before it becomes Internal.
func WithMetrics(reg prometheus.Registerer) ([]grpc.ServerOption, error) {
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "stevedore_grpc_requests_total",
		Help: "RPCs handled by the gRPC server (also those reached through the REST gateway), by method and status code.",
	}, []string{"method", "code"})
	duration := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "stevedore_grpc_request_duration_seconds",
		Help: "Time to handle an RPC; for streams, until the last message is sent.",
		// From a cached Inspect (milliseconds) to a copy of a large image.
		Buckets: []float64{.001, .005, .025, .1, .5, 2.5, 10, 60, 300, 1800},
	}, []string{"method"})
	for _, c := range []prometheus.Collector{requests, duration} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	observe := func(method string, err error, start time.Time) {
		requests.WithLabelValues(method, status.Code(err).String()).Inc()
		duration.WithLabelValues(method).Observe(time.Since(start).Seconds())
	}
	return []grpc.ServerOption{
		grpc.ChainUnaryInterceptor(func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
			start := time.Now()
			resp, err := handler(ctx, req)
			observe(info.FullMethod, err, start)
			return resp, err
		}),
		grpc.ChainStreamInterceptor(func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
			start := time.Now()
			err := handler(srv, ss)
			observe(info.FullMethod, err, start)
			return err
		}),
	}, nil
}
