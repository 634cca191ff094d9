package main

import (
	"fmt"
	"io"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// rfc3339Millis is the time format of every log line: RFC 3339 in UTC with
// milliseconds, readable and sortable alike.
const rfc3339Millis = "2006-01-02T15:04:05.000Z07:00"

// newLogger is zap's production logger (caller, stacks on errors) writing
// to w as format: "json" (one object per line, for collectors), "console"
// (tab-separated, for people) or "" (console when w is a terminal, else
// json). Times are RFC 3339 in UTC. There is no sampling: one line per
// request is the point, and sampling would drop them under load.
func newLogger(w io.Writer, level zapcore.Level, format string) (*zap.Logger, error) {
	if format == "" {
		format = "json"
		if isTerminal(w) {
			format = "console"
		}
	}
	cfg := zap.NewProductionEncoderConfig()
	cfg.EncodeTime = func(t time.Time, enc zapcore.PrimitiveArrayEncoder) {
		enc.AppendString(t.UTC().Format(rfc3339Millis))
	}
	var enc zapcore.Encoder
	switch format {
	case "json":
		enc = zapcore.NewJSONEncoder(cfg)
	case "console":
		cfg.EncodeLevel = zapcore.CapitalLevelEncoder
		enc = zapcore.NewConsoleEncoder(cfg)
	default:
		return nil, usageError{fmt.Errorf("--log-format %q: want console or json", format)}
	}
	sink := zapcore.Lock(zapcore.AddSync(w))
	core := zapcore.NewCore(enc, sink, level)
	return zap.New(core, zap.AddCaller(), zap.AddStacktrace(zapcore.ErrorLevel), zap.ErrorOutput(sink)), nil
}
